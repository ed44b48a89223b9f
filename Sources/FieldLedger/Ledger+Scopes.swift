import FieldCrypto
import FieldStore
import Foundation
import GRDB

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
        try read { db in try standing(of: key, db) }
    }

    /// The scopes a device may read: the registry, and the enterprises its user may see — a
    /// cadre's linked enterprises (lead or assisting, active), a department's enterprises with a
    /// demand assigned to it (lead or co-department), everything for coordinators, supervisors
    /// and operators. Empty for an unknown or revoked device.
    public func readableScopes(of key: PublicKey) throws -> Set<String> {
        try read { db in try readableScopes(of: key, standing: try standing(of: key, db), db) }
    }

    /// A device's standing and readable scopes, read together from one snapshot of the registry.
    public func identity(of key: PublicKey) throws -> DeviceIdentity {
        try read { db in
            let standing = try standing(of: key, db)
            return DeviceIdentity(
                key: key,
                standing: standing,
                readableScopes: try readableScopes(of: key, standing: standing, db)
            )
        }
    }

    func standing(of key: PublicKey, _ db: Database) throws -> DeviceStanding {
        if key == replica.root { return .enrolled(.operator) }
        guard
            let row = try Row.fetchOne(
                db,
                sql: "SELECT role, COALESCE(revoked, 0) AS revoked FROM devices WHERE id = ? AND deleted = 0",
                arguments: [Data(RegistryIDs.device(key).bytes16)]
            )
        else { return .unknown }
        if row["revoked"] as Int == 1 { return .revoked }
        guard let role = Role(rawValue: row["role"] ?? "") else { return .unknown }
        return .enrolled(role)
    }

    func readableScopes(of key: PublicKey, standing: DeviceStanding, _ db: Database) throws -> Set<String> {
        guard case .enrolled(let role) = standing else { return [] }
        var scopes: Set<String> = [Commit.registryScope]
        let device = Data(RegistryIDs.device(key).bytes16)
        let enterprises: [Data]
        switch role {
        case .coordinator, .supervisor, .operator:
            enterprises = try Data.fetchAll(db, sql: "SELECT id FROM enterprises WHERE deleted = 0")
        case .cadre:
            enterprises = try Data.fetchAll(
                db,
                sql: """
                    SELECT l.enterprise_id FROM linkages l JOIN devices d ON d.cadre_id = l.cadre_id
                    WHERE d.id = ? AND l.active = 1 AND l.deleted = 0
                    """,
                arguments: [device]
            )
        case .department:
            guard
                let department = try Data.fetchOne(
                    db,
                    sql: "SELECT department_id FROM devices WHERE id = ?",
                    arguments: [device]
                )
            else {
                return scopes
            }
            let hex = UUID(bytes16: [UInt8](department)).lowercased
            // Assigned to it as lead or co-department, now or before (an assign or reassign event
            // names it), or by the columns of a demand row written that way.
            enterprises = try Data.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT d.enterprise_id FROM demand_events e JOIN demands d ON d.id = e.demand_id
                    WHERE e.deleted = 0 AND d.deleted = 0 AND e.action IN ('assign', 'reassign') AND e.data LIKE ?
                    UNION
                    SELECT DISTINCT enterprise_id FROM demands WHERE deleted = 0 AND (lead_department_id = ? OR co_department_ids LIKE ?)
                    """,
                arguments: ["%\(hex)%", department, "%\(hex)%"]
            )
        }
        for enterprise in enterprises where enterprise.count == 16 {
            scopes.insert(RegistryIDs.scope(of: UUID(bytes16: [UInt8](enterprise))))
        }
        return scopes
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
        let devices: [Device] = try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT d.public_key, COALESCE(d.code, '') AS code, COALESCE(d.role, '') AS role,
                           COALESCE(c.name, p.name, d.label, '') AS holder, COALESCE(d.revoked, 0) AS revoked
                    FROM devices d LEFT JOIN cadres c ON c.id = d.cadre_id LEFT JOIN departments p ON p.id = d.department_id
                    WHERE d.deleted = 0 ORDER BY d.code
                    """
            ).compactMap { row in
                guard let key = try? PublicKey(hex: row["public_key"] ?? "") else { return nil }
                return Device(
                    key: key,
                    code: row["code"],
                    role: row["role"],
                    holder: row["holder"],
                    revoked: row["revoked"] as Int == 1
                )
            }
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
