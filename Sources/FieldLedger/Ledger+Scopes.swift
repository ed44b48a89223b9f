import FieldCrypto
import FieldStore
import Foundation

/// Where a device stands in the registry this replica holds.
public enum DeviceStanding: Sendable, Equatable {
    case unknown
    case revoked
    case enrolled(Role)
}

/// Who signed a request, as the registry this replica holds knows them: the key, its standing, and
/// the scopes it may read (empty unless enrolled).
public struct DeviceIdentity: Sendable, Equatable {
    public var key: PublicKey
    public var standing: DeviceStanding
    public var readableScopes: Set<String>
}

extension Ledger {
    /// The standing of a device key in the current registry. The root key is the operator.
    public func standing(of key: PublicKey) throws -> DeviceStanding {
        try read { try $0.standing(of: key, root: replica.root) }
    }

    /// The scopes a device may read: the registry, and the enterprises its user may see — a
    /// cadre's linked enterprises (lead or assisting, active), a department's enterprises with a
    /// demand assigned to it (lead or co-department), everything for coordinators, supervisors
    /// and operators. Empty for an unknown or revoked device.
    public func readableScopes(of key: PublicKey) throws -> Set<String> {
        try read { store in
            try store.readableScopes(of: key, standing: try store.standing(of: key, root: replica.root))
        }
    }

    /// Whether `key` is a process of the county hub that the registry lists and has not revoked
    /// (role `hub`): a device believes a sync answer signed by it as one signed by the root.
    public func isHubProcess(_ key: PublicKey) -> Bool {
        guard case .enrolled(let role) = (try? standing(of: key)) ?? .unknown else { return false }
        return role == .hub
    }

    /// A device's standing and readable scopes, read together from one snapshot of the registry.
    public func identity(of key: PublicKey) throws -> DeviceIdentity {
        try read { store in
            let standing = try store.standing(of: key, root: replica.root)
            return DeviceIdentity(
                key: key,
                standing: standing,
                readableScopes: try store.readableScopes(of: key, standing: standing)
            )
        }
    }
}

extension Ledger {
    /// The enrolled device a person names: its device code (`D002`), its fingerprint (dashes
    /// optional), its public key, or its holder as `registry list devices` shows it: the cadre or
    /// department holding it (all of whose devices read the same scopes), else its label. The
    /// county root key names the operator.
    ///
    /// - Throws: `LedgerError.notFound` when the registry this replica holds knows no such device,
    ///   `.notPermitted` when it is revoked, `.ambiguous` when a holder's devices have different
    ///   roles.
    public func enrolledDevice(named text: String) throws -> PublicKey {
        let wanted = text.trimmingCharacters(in: .whitespaces)
        guard !wanted.isEmpty else {
            throw LedgerError(.missingField, "name the device: its code (D002), fingerprint, public key, or its holder")
        }
        let compact = wanted.lowercased().replacingOccurrences(of: "-", with: "")
        let root = replica.root
        if [root.hex, root.fingerprint.replacingOccurrences(of: "-", with: "")].contains(compact) { return root }
        struct Device {
            var key: PublicKey
            var code: String
            var role: String
            var holder: String
            var revoked: Bool
        }
        let devices: [Device] = try read { try $0.liveDevices() }.compactMap { device in
            guard let key = try? PublicKey(hex: device.publicKey ?? "") else { return nil }
            return Device(
                key: key,
                code: device.code ?? "",
                role: device.roleText ?? "",
                holder: device.holder ?? "",
                revoked: device.revoked
            )
        }
        let lookup =
            "look it up with `fieldlog registry list devices`; if it was enrolled lately, import the operator's latest bundle or sync with the hub first"
        if let device = devices.first(where: {
            $0.code.lowercased() == wanted.lowercased() || $0.key.hex == compact
                || $0.key.fingerprint.replacingOccurrences(of: "-", with: "") == compact
        }) {
            guard !device.revoked else {
                throw LedgerError(
                    .notPermitted,
                    "device \(device.code) (\(device.key.fingerprint)) is revoked: nothing may be carried to it"
                )
            }
            return device.key
        }
        let held = devices.filter { $0.holder == wanted && !$0.revoked }
        guard let first = held.first else {
            if devices.contains(where: { $0.holder == wanted }) {
                throw LedgerError(.notPermitted, "every device of \(wanted) is revoked: nothing may be carried to them")
            }
            throw LedgerError(
                .notFound,
                "no enrolled device is \(wanted) (a device code, fingerprint, public key, or its holder); \(lookup)"
            )
        }
        guard held.allSatisfy({ $0.role == first.role }) else {
            let codes = held.map { "\($0.code) (\($0.role))" }.joined(separator: ", ")
            throw LedgerError(
                .ambiguous,
                "\(wanted) holds devices with different roles, \(codes); name the device by its code"
            )
        }
        return first.key
    }
}
