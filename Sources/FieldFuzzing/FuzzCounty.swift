import FieldCrypto
import FieldHub
import FieldLedger
import FieldStore
import Foundation
import Logging
import Synchronization

/// The county every hostile input is tried against: a hub and a cadre's laptop, in memory, on a
/// fixed clock, with the hub's request handling for each (the hub, and the laptop's `fieldlog
/// serve`). Rebuilt every `uses` inputs, so that what the accepted inputs add stays small.
final class FuzzCounty: Sendable {
    /// 2026-01-01T00:00:00Z, in milliseconds: every replica's clock and every server's.
    static let now: UInt64 = 1_767_225_600_000
    static let root = key(1)
    static let cadre = key(2)
    static let department = key(3)
    static let stranger = key(4)
    static let hubPort = 8080
    static let peerPort = 8081

    static func key(_ byte: UInt8) -> SigningKey {
        // A fixed seed of 32 equal bytes is a valid seed: this cannot fail.
        try! SigningKey(seed: [UInt8](repeating: byte, count: 32))
    }

    let hub: Ledger
    let laptop: Ledger
    let hubHandler: HubHandler
    let peerHandler: HubHandler
    /// The scope of the enterprise the cadre is linked to, and of one it is not.
    let linked: String
    let unlinked: String
    let registryHead: UInt64
    let schemaVersion: UInt32

    init() throws {
        var options = ReplicaOptions()
        options.wallClock = { FuzzCounty.now }
        options.logger.logLevel = .critical
        hub = try Ledger.open(path: nil, root: Self.root.publicKey, key: Self.root, options: options)
        _ = try hub.importRegistry(.departments, csv: "单位名称,类型\n县市场监管局,县直部门\n", name: "departments.csv")
        _ = try hub.importRegistry(.cadres, csv: "姓名,职务,单位\n王强,副县长,县市场监管局\n", name: "cadres.csv")
        _ = try hub.importRegistry(
            .enterprises,
            csv: "企业名称,统一社会信用代码\n甲企业,91371082775260043P\n乙企业,91110108551385082Q\n",
            name: "enterprises.csv"
        )
        _ = try hub.importRegistry(.linkages, csv: "包联领导,企业名称,包联角色\n王强,甲企业,主包\n", name: "linkages.csv")
        _ = try hub.enroll(publicKey: Self.cadre.publicKey, role: .cadre, cadre: "王强")
        _ = try hub.enroll(publicKey: Self.department.publicKey, role: .department, department: "县市场监管局")
        laptop = try Ledger.open(path: nil, root: Self.root.publicKey, key: Self.cadre, options: options)
        var registry: [[UInt8]] = []
        try hub.replica.exportRecords { registry.append($0) }
        _ = try laptop.replica.importRecords(registry)
        linked = RegistryIDs.scope(of: try hub.enterprise(named: "甲企业"))
        unlinked = RegistryIDs.scope(of: try hub.enterprise(named: "乙企业"))
        registryHead = try hub.replica.readRegistry { $0.sequence }
        schemaVersion = hub.replica.schema.version
        var logger = Logger(label: "fieldlog.fuzz")
        logger.logLevel = .critical
        hubHandler = HubHandler(
            configuration: Self.configuration(hub, Self.root, port: Self.hubPort, peer: false, logger: logger)
        )
        peerHandler = HubHandler(
            configuration: Self.configuration(laptop, Self.cadre, port: Self.peerPort, peer: true, logger: logger)
        )
    }

    static func configuration(
        _ ledger: Ledger,
        _ key: SigningKey,
        port: Int,
        peer: Bool,
        logger: Logger
    ) -> HubConfiguration {
        var configuration = HubConfiguration(ledger: ledger, hubKey: key)
        configuration.port = port
        configuration.isPeer = peer
        configuration.logger = logger
        configuration.maxNonces = 4096
        configuration.clock = { Int64(FuzzCounty.now / 1000) }
        return configuration
    }

    private static let state = Mutex<(county: FuzzCounty?, uses: Int)>((nil, 0))

    /// The county for the next input: the same one for `uses` inputs, then a new one.
    static func current(uses limit: Int = 200) -> FuzzCounty {
        state.withLock { state in
            if let county = state.county, state.uses < limit {
                state.uses += 1
                return county
            }
            // Building it from fixed data cannot fail short of a bug, which must trap.
            let county = try! FuzzCounty()
            state = (county, 1)
            return county
        }
    }

    /// What must hold after any input: no replica stores a commit by an author its registry never
    /// enrolled (docs/merge.md, "Refused before anything is held"), as `LedgerPolicy.isKnownAuthor`
    /// judges it on the registry held (the root may write a device row that enrolls nobody usable).
    /// Returns the first such author's fingerprint, or nil.
    ///
    /// The fuzzer signs as the root too, and two registry commits it numbers alike fork the root's
    /// feed: the registry is excluded from there on (docs/merge.md), enrollments included, so
    /// devices enrolled before are no longer known. That is the documented end of a root key used
    /// on two machines, not a stranger's commit stored, and the rule is not checked then.
    func strangerStored(in ledger: Ledger) -> String? {
        guard let feeds = try? ledger.replica.feeds() else { return "(the feeds cannot be read)" }
        if feeds.contains(where: {
            $0.scope == "registry" && $0.author == Self.root.publicKey.hex && $0.forkedAt != nil
        }) {
            return nil
        }
        for feed in feeds where feed.scope != "registry" {
            guard let author = try? PublicKey(hex: feed.author) else { return feed.author }
            let known = try? ledger.replica.readRegistry { try LedgerPolicy().isKnownAuthor(author, registry: $0) }
            if known != true { return author.fingerprint + " in " + feed.scope }
        }
        return nil
    }
}
