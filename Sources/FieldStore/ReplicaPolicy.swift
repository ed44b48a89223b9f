import FieldCrypto
import Foundation
import GRDB

/// What a policy says of a commit.
public enum PolicyVerdict: Sendable {
    case allow
    case deny(StoreError)
}

/// The domain's rules for accepting commits, supplied to the engine (FieldLedger implements it).
///
/// Every answer must depend only on the commit and the registry snapshot it is given, never on
/// the local clock or on what else this replica happens to hold: that is what makes every replica
/// accept the same commits.
public protocol ReplicaPolicy: Sendable {
    /// Whether `commit` may be applied, judged against the registry as of `commit.registrySequence`.
    /// Registry commits (scope `registry`) reach this only when authored by the root key.
    func authorize(_ commit: Commit, registry: RegistrySnapshot) throws -> PolicyVerdict

    /// The positional cut-offs (revocations, closed feeds) in force in the latest registry this replica holds.
    func revocations(registry: RegistrySnapshot) throws -> [Revocation]

    /// The operators' decisions on forked feeds in force in the latest registry this replica holds
    /// (docs/merge.md, "Readmission"): at most one per feed and sequence.
    func readmissions(registry: RegistrySnapshot) throws -> [Readmission]

    /// Whether the registry held here ever enrolled `author` (whatever became of it since). A commit
    /// by an author it never enrolled is refused before anything is stored or held: anyone can make
    /// a key, so such a commit is evidence of nothing, and holding it would let one device park
    /// junk on every replica. The answer may only turn from false to true as registry commits
    /// arrive, never back, so a refused commit is taken when it is offered again after its author's
    /// enrollment.
    func isKnownAuthor(_ author: PublicKey, registry: RegistrySnapshot) throws -> Bool

    /// What, besides the author, scope and registry sequence, the verdict on `commit` depends on,
    /// so that the engine may reuse a verdict for commits that share all of it; nil: never reuse.
    func verdictKey(for commit: Commit) -> String?
}

extension ReplicaPolicy {
    public func verdictKey(for commit: Commit) -> String? { nil }
    public func isKnownAuthor(_ author: PublicKey, registry: RegistrySnapshot) throws -> Bool { true }
    public func readmissions(registry: RegistrySnapshot) throws -> [Readmission] { [] }
}

/// An operator's decision on a forked feed, written in the registry: from `sequence` on, the feed
/// of `author` in `scope` is the chain that begins with the commit `chosen` (numbered `sequence`),
/// or nothing when `chosen` is nil. Until such a decision, a forked feed is excluded from its fork
/// on (docs/merge.md, "Forks" and "Readmission").
public struct Readmission: Sendable, Hashable {
    public var author: PublicKey
    public var scope: String
    public var sequence: UInt64
    public var chosen: CommitID?

    public init(author: PublicKey, scope: String, sequence: UInt64, chosen: CommitID?) {
        self.author = author
        self.scope = scope
        self.sequence = sequence
        self.chosen = chosen
    }
}

/// A device cut off at fixed points of its feeds: nothing after `lastAccepted[scope]` is accepted
/// from it, whatever registry state its commits cite. For a revoked device (`coversAllScopes`),
/// a scope not listed is cut at 0; for a feed closed when a cadre is unlinked, only the listed
/// scopes are cut.
public struct Revocation: Sendable, Hashable {
    public var author: PublicKey
    public var lastAccepted: [String: UInt64]
    public var coversAllScopes: Bool

    public init(author: PublicKey, lastAccepted: [String: UInt64], coversAllScopes: Bool = true) {
        self.author = author
        self.lastAccepted = lastAccepted
        self.coversAllScopes = coversAllScopes
    }

    /// The last sequence accepted in `scope`, or nil if this cut-off does not concern that scope.
    public func cutoff(in scope: String) -> UInt64? {
        lastAccepted[scope] ?? (coversAllScopes ? 0 : nil)
    }

    /// Both cut-offs at once: the smaller limit wherever either applies.
    func combined(with other: Revocation) -> Revocation {
        var merged = Revocation(
            author: author,
            lastAccepted: [:],
            coversAllScopes: coversAllScopes || other.coversAllScopes
        )
        for scope in Set(lastAccepted.keys).union(other.lastAccepted.keys) {
            let limits = [cutoff(in: scope), other.cutoff(in: scope)].compactMap { $0 }
            merged.lastAccepted[scope] = limits.min()
        }
        return merged
    }
}

/// A policy that accepts every well-formed commit; for engine tests of the merge alone.
public struct AcceptAllPolicy: ReplicaPolicy {
    public init() {}
    public func verdictKey(for commit: Commit) -> String? { "" }
    public func authorize(_ commit: Commit, registry: RegistrySnapshot) throws -> PolicyVerdict { .allow }
    public func revocations(registry: RegistrySnapshot) throws -> [Revocation] { [] }
}

/// The registry (the root's feed in scope `registry`) as it stood after a given sequence number.
///
/// Because one key writes the registry and its feed is a chain, the value of a registry cell as of
/// sequence `n` is the value written by the highest-numbered applied commit `≤ n` that wrote it.
public struct RegistrySnapshot {
    let db: Database
    /// The county root key.
    public let root: PublicKey
    /// The registry sequence number this snapshot shows.
    public let sequence: UInt64

    init(db: Database, root: PublicKey, sequence: UInt64) {
        self.db = db
        self.root = root
        self.sequence = sequence
    }

    /// The value of a registry cell as of this snapshot; `.null` if it was never written.
    public func value(_ table: String, row: UUID, column: String) throws -> Value {
        let value = try DatabaseValue.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT value FROM _versions
                    WHERE tbl = ? AND row = ? AND col = ? AND scope = ? AND author = ? AND seq <= ? AND valid = 1
                    ORDER BY seq DESC LIMIT 1
                    """
            ),
            arguments: [table, Data(row.bytes16), column, Commit.registryScope, Data(root.bytes), Int64(sequence)]
        )
        return value.map { Value(databaseValue: $0) } ?? .null
    }

    /// Whether any version of a registry cell up to this snapshot holds a value (not NULL), whatever
    /// later versions hold: an answer that can only turn from false to true as the registry grows.
    public func wasEverSet(_ table: String, row: UUID, column: String) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT EXISTS(SELECT 1 FROM _versions
                    WHERE tbl = ? AND row = ? AND col = ? AND scope = ? AND author = ? AND seq <= ? AND valid = 1 AND value IS NOT NULL)
                    """
            ),
            arguments: [table, Data(row.bytes16), column, Commit.registryScope, Data(root.bytes), Int64(sequence)]
        ) ?? false
    }

    /// The rows of a registry table whose `column` holds `value` in this snapshot.
    public func rows(_ table: String, where column: String, equals value: Value) throws -> [UUID] {
        let candidates = try Data.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT DISTINCT row FROM _versions
                    WHERE tbl = ? AND col = ? AND value = ? AND scope = ? AND author = ? AND seq <= ? AND valid = 1
                    """
            ),
            arguments: [table, column, value.databaseValue, Commit.registryScope, Data(root.bytes), Int64(sequence)]
        )
        var out: [UUID] = []
        for raw in candidates where raw.count == 16 {
            let row = UUID(bytes16: [UInt8](raw))
            if try self.value(table, row: row, column: column) == value { out.append(row) }
        }
        return out
    }

    /// Every row of a registry table written in this snapshot and not deleted, in id order.
    public func rows(_ table: String) throws -> [UUID] {
        let candidates = try Data.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT DISTINCT row FROM _versions
                    WHERE tbl = ? AND scope = ? AND author = ? AND seq <= ? AND valid = 1 ORDER BY row
                    """
            ),
            arguments: [table, Commit.registryScope, Data(root.bytes), Int64(sequence)]
        )
        return try candidates.filter { $0.count == 16 }.map { UUID(bytes16: [UInt8]($0)) }.filter {
            try value(table, row: $0, column: "deleted") != .integer(1)
        }
    }

    /// Whether the row was written in this snapshot and is not deleted.
    public func rowExists(_ table: String, row: UUID) throws -> Bool {
        let written =
            try Bool.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT EXISTS(SELECT 1 FROM _versions WHERE tbl = ? AND row = ? AND scope = ? AND author = ?
                        AND seq <= ? AND valid = 1)
                        """
                ),
                arguments: [table, Data(row.bytes16), Commit.registryScope, Data(root.bytes), Int64(sequence)]
            ) ?? false
        guard written else { return false }
        return try value(table, row: row, column: "deleted") != .integer(1)
    }
}
