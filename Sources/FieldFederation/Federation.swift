import AsyncHTTPClient
import FieldCore
import FieldCrypto
import FieldLedger
import FieldStore
import FieldSync
import Foundation

/// A city or province hub's counties: one replica per county, each under that county's own root,
/// pinned by its fingerprint when the county was joined (`fieldlog federation join`).
///
/// The data folder holds the hub's device key (`keys/device.key`, one key enrolled in every county)
/// and `counties/<root fingerprint>/replica.sqlite`. The folder name is the pin: a replica whose
/// root is not the one its folder names is refused when opened. Each county is pulled from its own
/// hub with the devices' signed protocol, and the replica's engine verifies every commit again
/// (its signature, its author's standing in that county's registry, the role's permissions) as it
/// would on a laptop. Nothing is ever written to a county: the role `federation` writes nothing.
public final class Federation: Sendable {
    /// The data folder.
    public let folder: String
    /// The hub's device key (the one enrolled in every county as `federation`).
    public let publicKey: PublicKey
    public let counties: [FederatedCounty]

    /// The folder of the counties' replicas.
    public static func countiesFolder(_ folder: String) -> String { folder + "/counties" }

    /// Opens every county joined so far (none is fine: a new city hub).
    /// - Throws: `FederationError` when a county's replica is not under the root its folder names.
    public init(folder: String, publicKey: PublicKey, profile: DeadlineProfile = .shandong2115) throws {
        self.folder = folder
        self.publicKey = publicKey
        let base = Self.countiesFolder(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        var counties: [FederatedCounty] = []
        for name in names.sorted() where FileManager.default.fileExists(atPath: "\(base)/\(name)/replica.sqlite") {
            counties.append(
                try FederatedCounty.open(folder: "\(base)/\(name)", publicKey: publicKey, profile: profile)
            )
        }
        self.counties = counties.sorted { ($0.name, $0.fingerprint) < ($1.name, $1.fingerprint) }
    }

    /// The county whose root fingerprint (dashes optional) or name is `text`.
    public func county(named text: String) throws(FederationError) -> FederatedCounty {
        let compact = PublicKey.fingerprintDigits(typed: text)
        if let found = counties.first(where: { $0.folderName == compact || $0.name == text }) { return found }
        throw FederationError(
            "no county \(text) is joined here; `fieldlog federation status` lists them by name and root fingerprint"
        )
    }

    /// Joins a county: learns the key its hub answers with and compares it with the pinned root
    /// fingerprint before anything is spent or kept, redeems the one-time code its operator made
    /// for this hub (`fieldlog hub enroll-code --role federation`), and keeps the registry the hub
    /// answered with. Without a code (the operator enrolled this hub's key with `registry enroll
    /// --key … --role federation`), or when this key is enrolled there already, the registry comes
    /// with a pull. The caller then pulls the county (`pull`).
    ///
    /// - Throws: `FederationError` when the fingerprint differs, the county is already joined, or
    ///   this hub is enrolled there with another role (its device is then left for the county's
    ///   operator to revoke, and nothing is kept here).
    public static func join(
        folder: String,
        key: SigningKey,
        hub: String,
        code: String?,
        rootFingerprint: String,
        name: String,
        client: HTTPClient,
        profile: DeadlineProfile = .shandong2115
    ) async throws -> FederatedCounty {
        guard let pinned = PublicKey.fingerprintDigits(typed: rootFingerprint) else {
            throw FederationError(
                "--root-fingerprint \(rootFingerprint) is not a key fingerprint (20 hex digits, dashes optional); ask the county's operator for it"
            )
        }
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw FederationError("give the county's name with --name, e.g. 高唐县") }
        let place = "\(countiesFolder(folder))/\(pinned)"
        guard !FileManager.default.fileExists(atPath: place + "/replica.sqlite") else {
            throw FederationError("the county \(rootFingerprint) is already joined here; pull it instead")
        }
        // The hub's key is learnt and compared with the pin before the code is spent.
        let root = try await Enrollment.answeringKey(hub: hub, key: key, client: client)
        guard root.fingerprintDigits == pinned else {
            throw FederationError(
                "the hub at \(hub) answers for the county root \(root.fingerprint), not \(rootFingerprint); nothing was kept and the code is unspent: do not trust this hub, tell the county's operator"
            )
        }
        var records: [[UInt8]] = []
        if let code {
            do {
                let enrolled = try await Enrollment.enroll(hub: hub, code: code, label: nil, key: key, client: client)
                guard enrolled.root == root else {
                    throw FederationError(
                        "the hub at \(hub) changed its key during the join; do not trust it, tell the county's operator"
                    )
                }
                records = enrolled.records
            } catch let error as SyncError where error.hubCode == "already_enrolled" {
                // A join that stopped after the code was spent (the machine stopped): this key is
                // enrolled there already, and the registry comes with a pull instead.
            }
        }
        // The registry is taken into a replica in a temporary folder first, and moved into place
        // only once it shows this hub enrolled as `federation`.
        let staging = "\(countiesFolder(folder))/.joining-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        do {
            let ledger = try Ledger.open(
                path: staging + "/replica.sqlite",
                root: root,
                publicKey: key.publicKey,
                signer: nil,
                profile: profile
            )
            if records.isEmpty {
                var transport = HTTPTransport(baseURL: hub, key: key, hubKey: root, client: client)
                transport.acceptHubProcess = { candidate in ledger.isHubProcess(candidate) }
                _ = try await SyncClient(replica: ledger.syncEngine, peer: hub).sync(over: transport)
            } else {
                _ = try ledger.importRecords(records)
            }
            let role = try ledger.enrolledRole()
            guard role == .federation else {
                throw FederationError(
                    "this hub's key (\(key.publicKey.fingerprint)) is enrolled in \(name) as \(role?.displayName ?? "no role"), not as 上级汇聚枢纽; ask its operator to revoke it and make a code with --role federation"
                )
            }
            try ledger.setCountyName(name)
            try ledger.rememberHub(hub)
        }
        try FileManager.default.moveItem(atPath: staging, toPath: place)
        return try FederatedCounty.open(folder: place, publicKey: key.publicKey, profile: profile)
    }

    /// Pulls one county from its hub over the signed protocol; every commit is verified by the
    /// county's replica as it is taken in. Answers signed by the county root or by a hub process
    /// the county's registry lists are believed, as on a laptop.
    public static func pull(
        _ county: FederatedCounty,
        key: SigningKey,
        client: HTTPClient,
        progress: ((SyncProgress) -> Void)? = nil
    ) async throws -> SyncSummary {
        guard let hub = try county.ledger.rememberedHub() else {
            throw FederationError("the county \(county.name) has no hub address; join it again")
        }
        let ledger = county.ledger
        var transport = HTTPTransport(baseURL: hub, key: key, hubKey: ledger.rootKey, client: client)
        transport.acceptHubProcess = { candidate in ledger.isHubProcess(candidate) }
        let summary = try await SyncClient(replica: ledger.syncEngine, peer: hub).sync(
            over: transport,
            progress: progress
        )
        try ledger.noteSynced(target: hub, refused: summary.refusedThere)
        return summary
    }
}

/// One county of a federation: its replica, opened without a signing key (nothing is written to a
/// county), its name as the city's operator gave it, and its pinned root.
public struct FederatedCounty: Sendable {
    public let name: String
    public let ledger: Ledger
    /// The folder's name: the root fingerprint without dashes.
    public let folderName: String

    /// The county root's fingerprint.
    public var fingerprint: String { ledger.rootKey.fingerprint }

    static func open(folder: String, publicKey: PublicKey, profile: DeadlineProfile) throws -> FederatedCounty {
        let folderName = (folder as NSString).lastPathComponent
        let ledger = try Ledger.open(
            path: folder + "/replica.sqlite",
            root: nil,
            publicKey: publicKey,
            signer: nil,
            profile: profile
        )
        guard ledger.rootKey.fingerprintDigits == folderName else {
            throw FederationError(
                "\(folder) holds the county root \(ledger.rootKey.fingerprint), not the one its folder pins; move it out and join that county again"
            )
        }
        return FederatedCounty(name: try ledger.countyName() ?? folderName, ledger: ledger, folderName: folderName)
    }
}

/// Something a federation cannot do, in one sentence saying what to do next.
public struct FederationError: FieldlogError {
    public var message: String
    public var codeName: String { "federation" }

    public init(_ message: String) { self.message = message }
}
