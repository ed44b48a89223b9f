import FieldCrypto
import FieldStore
import Foundation

/// What clients of the ledger (the CLI, the screens) need of the replica beneath it, asked of the
/// ledger, so that no client reaches into the engine: the county's identity and settings, commits
/// carried in and out, and the replica's standing for `status`. The sync layer, which speaks to
/// replicas rather than ledgers, is handed the engine once, by `syncEngine`.
extension Ledger {
    /// The county root key this replica trusts.
    public var rootKey: PublicKey { replica.root }

    /// The county's name, as the operator created it.
    public func countyName() throws -> String? { try replica.metaValue(Self.countyKey) }

    /// Records the county's name (the operator's replica, at creation).
    public func setCountyName(_ name: String) throws { try replica.setMetaValue(Self.countyKey, name) }

    /// The hub this replica last enrolled or synced with, remembered for the next sync.
    public func rememberedHub() throws -> String? { try replica.metaValue(Self.hubKey) }

    /// Remembers the hub's address for the next sync.
    public func rememberHub(_ address: String) throws { try replica.setMetaValue(Self.hubKey, address) }

    static let countyKey = "county"
    static let hubKey = "hub.url"

    /// Takes commits (a bundle's, an enrollment's), each checked; see `Replica.importRecords`.
    public func importRecords(
        _ records: some Sequence<[UInt8]>,
        progress: ((Int) -> Void)? = nil
    ) throws -> ImportReport {
        try replica.importRecords(records, progress: progress)
    }

    /// Writes the commits of `scopes` (every scope when nil) to a bundle file; returns how many.
    public func writeBundle(scopes: Set<String>?, to path: String) throws -> Int {
        try CommitBundle.write(from: replica, scopes: scopes, to: path)
    }

    /// The head of every feed held, for a signed export's provenance.
    public func feedHeads() throws -> [FeedHead] { try replica.heads() }

    /// Every open cell conflict (the shown value first).
    public func openConflicts() throws -> [Conflict] { try replica.conflicts() }

    /// How many commits are applied, held (pending) and excluded.
    public func commitCounts() throws -> (applied: Int, pending: Int, excluded: Int) { try replica.commitCounts() }

    /// Commits held or excluded, newest first, with why.
    public func unappliedCommits(limit: Int) throws -> [StoredCommit] { try replica.unappliedCommits(limit: limit) }

    /// The state digest of every scope held (what two replicas compare to know they agree).
    public func scopeDigests() throws -> [String: String] {
        var digests: [String: String] = [:]
        for scope in try replica.scopes() { digests[scope] = try replica.digest(scope: scope) }
        return digests
    }

    /// Feeds quarantined for a fork (one author, one sequence, two commits).
    public func quarantinedFeeds() throws -> [FeedState] { try replica.feeds().filter { $0.forkedAt != nil } }

    /// `fieldlog check`: every row recomputed from the signed log and compared with what is
    /// stored, and SQLite's integrity check (`Replica.check`).
    public func check(progress: ((String) -> Void)? = nil) throws -> CheckReport {
        try replica.check(progress: progress)
    }

    /// The replica engine, for the sync layer: it exchanges commits between replicas and knows
    /// nothing of the ledger above them.
    public var syncEngine: Replica { replica }
}
