import FieldCrypto
import Foundation
import GRDB

/// An open conflict: a cell with more than one head holding different values.
public struct Conflict: Sendable, Equatable {
    public var table: String
    public var row: UUID
    public var column: String
    public var scope: String
    /// The heads, the shown (winning) one first.
    public var heads: [CellVersion]
}

/// One signed change of a row, for its history.
public struct HistoryEntry: Sendable {
    public var commit: CommitID
    public var author: PublicKey
    public var timestamp: Timestamp
    public var sequence: UInt64
    public var scope: String
    public var column: String
    public var value: Value
    public var status: CommitStatus
    public var reason: String?
}

/// A stored commit's summary.
public struct StoredCommit: Sendable {
    public var id: CommitID
    public var author: PublicKey
    public var scope: String
    public var sequence: UInt64
    public var status: CommitStatus
    public var reason: String?
    public var reasonCode: String?
}

/// The feed of one author in one scope, as held here.
public struct FeedState: Sendable, Codable, Equatable {
    public var author: String
    public var scope: String
    public var head: UInt64
    public var forkedAt: UInt64?
}

extension Replica {
    /// Every open conflict, in a stable order.
    public func conflicts(scope: String? = nil) throws -> [Conflict] {
        try database.read { db in
            var sql = "SELECT tbl, row, col, scope FROM _conflicts"
            var arguments: StatementArguments = []
            if let scope {
                sql += " WHERE scope = ?"
                arguments = [scope]
            }
            sql += " ORDER BY scope, tbl, row, col"
            let cache = CommitCache()
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let rowData: Data = row["row"]
                let heads = try Self.cellHeads(db, table: row["tbl"], row: rowData, column: row["col"], cache: cache)
                return Conflict(
                    table: row["tbl"],
                    row: UUID(bytes16: [UInt8](rowData)),
                    column: row["col"],
                    scope: row["scope"],
                    heads: heads
                )
            }
        }
    }

    /// The open conflict of one cell, if it has one.
    public func conflict(table: String, row: UUID, column: String) throws -> Conflict? {
        try database.read { db in
            guard
                let scope = try String.fetchOne(
                    db,
                    sql: "SELECT scope FROM _conflicts WHERE tbl = ? AND row = ? AND col = ?",
                    arguments: [table, Data(row.bytes16), column]
                )
            else { return nil }
            let heads = try Self.cellHeads(db, table: table, row: Data(row.bytes16), column: column)
            return Conflict(table: table, row: row, column: column, scope: scope, heads: heads)
        }
    }

    /// Every version ever written to a row, oldest first, with the commit's standing.
    public func history(table: String, row: UUID) throws -> [HistoryEntry] {
        try database.read { db in try Self.history(db, table: table, row: Data(row.bytes16)) }
    }

    /// `history(table:row:)` inside the caller's transaction: the changes to the row of every commit
    /// its merge state lists (every commit ever applied to it), decoded from their bodies, in the
    /// order of time, author and column.
    static func history(
        _ db: Database,
        table: String,
        row: Data,
        cache: CommitCache? = nil
    ) throws -> [HistoryEntry] {
        let state = try rowState(db, table: table, row: row)
        let id = UUID(bytes16: [UInt8](row))
        var entries: [HistoryEntry] = []
        let ruled = try Integrator.ruledFeeds(db)
        for k in state.cells.commits {
            // The commit at this place of the log, and in a feed an operator's readmission reads,
            // the ones it moved aside from there (docs/merge.md, "Readmission"): each shows its
            // own changes to the row.
            var atPlace = try loggedCommit(db, k: k, cache: cache).map { [$0] } ?? []
            guard ruled.contains(LogKey.feed(k)) else {
                entries += Self.historyEntries(of: atPlace, table: table, row: id)
                continue
            }
            atPlace += try Row.fetchAll(
                db.cachedStatement(sql: "SELECT id, reason, body, signature FROM _forks WHERE feed = ? AND seq = ?"),
                arguments: [LogKey.feed(k), Int64(LogKey.sequence(k))]
            ).map { row in
                LoggedCommit(
                    signed: try SignedCommit(
                        trustedBody: [UInt8](row["body"] as Data),
                        id: try CommitID(bytes: [UInt8](row["id"] as Data)),
                        signature: [UInt8](row["signature"] as Data)
                    ),
                    status: .excluded,
                    reason: row["reason"]
                )
            }
            entries += Self.historyEntries(of: atPlace, table: table, row: id)
        }
        return entries.sorted { a, b in
            if a.timestamp != b.timestamp { return a.timestamp < b.timestamp }
            if a.author != b.author { return a.author.bytes.lexicographicallyPrecedes(b.author.bytes) }
            return Array(a.column.utf8).lexicographicallyPrecedes(Array(b.column.utf8))
        }
    }

    /// The changes of some commits to one row, a column once per commit (its first change).
    private static func historyEntries(of commits: [LoggedCommit], table: String, row id: UUID) -> [HistoryEntry] {
        var entries: [HistoryEntry] = []
        for logged in commits {
            let commit = logged.signed.commit
            var seen: Set<String> = []
            for change in commit.changes where change.row == id && change.table == table {
                guard seen.insert(change.column).inserted else { continue }
                entries.append(
                    HistoryEntry(
                        commit: logged.signed.id,
                        author: commit.author,
                        timestamp: commit.timestamp,
                        sequence: commit.sequence,
                        scope: commit.scope,
                        column: change.column,
                        value: change.value,
                        status: logged.status,
                        reason: logged.reason
                    )
                )
            }
        }
        return entries
    }

    /// Which replicated table holds a row with this id, if any (a visible row, or one every version
    /// of which is excluded).
    public func table(containing row: UUID) throws -> String? {
        try database.read { db in
            let id = Data(row.bytes16)
            for table in tables.keys.sorted() {
                let found = try Bool.fetchOne(
                    db.cachedStatement(sql: "SELECT EXISTS(SELECT 1 FROM \"\(table)\" WHERE id = ?)"),
                    arguments: [id]
                )
                if found == true { return table }
            }
            return try String.fetchOne(
                db.cachedStatement(sql: "SELECT tbl FROM _tombs WHERE row = ? LIMIT 1"),
                arguments: [id]
            )
        }
    }

    /// Commits that are not applied (held or excluded), newest first.
    public func unappliedCommits(limit: Int = 1000) throws -> [StoredCommit] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT id, author, scope, seq, status, reason, reason_code FROM _commits WHERE status != 0 ORDER BY received DESC, author, scope, seq LIMIT ?",
                arguments: [limit]
            ).map(Self.storedCommit)
        }
    }

    static func storedCommit(_ row: Row) throws -> StoredCommit {
        StoredCommit(
            id: try CommitID(bytes: [UInt8](row["id"] as Data)),
            author: try PublicKey(bytes: [UInt8](row["author"] as Data)),
            scope: row["scope"],
            sequence: UInt64(row["seq"] as Int64),
            status: CommitStatus(rawValue: row["status"]) ?? .excluded,
            reason: row["reason"],
            reasonCode: row["reason_code"]
        )
    }

    /// Every feed held here.
    public func feeds() throws -> [FeedState] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT f.author, f.scope, \(FeedRecord.headSQL("f")) AS head_seq, f.fork_seq FROM _feeds f ORDER BY f.author, f.scope"
            ).map { row in
                FeedState(
                    author: Hex.encode([UInt8](row["author"] as Data)),
                    scope: row["scope"],
                    head: UInt64(row["head_seq"] as Int64),
                    forkedAt: (row["fork_seq"] as Int64?).map(UInt64.init)
                )
            }
        }
    }

    /// Counts of stored commits by status.
    public func commitCounts() throws -> (applied: Int, pending: Int, excluded: Int) {
        try database.read { db in
            var counts = (applied: 0, pending: 0, excluded: 0)
            let sql = """
                SELECT status, COUNT(*) AS n FROM (SELECT status FROM _log UNION ALL SELECT 2 AS status FROM _forks)
                GROUP BY status
                """
            for row in try Row.fetchAll(db, sql: sql) {
                switch CommitStatus(rawValue: row["status"]) {
                case .applied: counts.applied = row["n"]
                case .pending: counts.pending = row["n"]
                case .excluded: counts.excluded = row["n"]
                case nil: break
                }
            }
            return counts
        }
    }

    /// Every scope that has visible rows or conflicts here.
    public func scopes() throws -> [String] {
        try database.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT f.scope FROM _feeds f
                    WHERE EXISTS (SELECT 1 FROM _log WHERE k BETWEEN f.feed << 32 AND (f.feed << 32) | 4294967295 AND status = 0)
                    ORDER BY f.scope
                    """
            )
        }
    }

    /// The digest of a scope's visible state: BLAKE2b-256 over its rows (every table, by id, every
    /// column in name order, values canonically encoded) and its open conflicts with their heads.
    /// Two replicas holding the same commits of a scope show the same digest (see `docs/merge.md`).
    public func digest(scope: String) throws -> String {
        try database.read { db in try Self.digest(db, tables: tables, scope: scope, sparse: sparseTables) }
    }

    /// `digest(scope:)` inside the caller's transaction (the storage upgrade compares them).
    /// - Parameter layout: where the conflicts' heads are read (storage 3's `_cells`; the storage
    ///   upgrade reads storage 2's `_versions` before it).
    static func digest(
        _ db: Database,
        tables: [String: Set<String>],
        scope: String,
        layout: MergeStateLayout = .cells,
        sparse: Set<String> = []
    ) throws -> String {
        let hasher = BLAKE2b.Hasher()
        hasher.update(field: "fieldlog scope digest v1")
        hasher.update(field: scope)
        for table in tables.keys.sorted() {
            if sparse.contains(table),
                try Bool.fetchOne(
                    db.cachedStatement(sql: "SELECT EXISTS(SELECT 1 FROM \"\(table)\" WHERE scope = ?)"),
                    arguments: [scope]
                ) != true
            {
                continue
            }
            let columns = tables[table]!.sorted()
            let list = (["id"] + columns).map { "\"\($0)\"" }.joined(separator: ", ")
            let rows = try Row.fetchCursor(
                db,
                sql: "SELECT \(list) FROM \"\(table)\" WHERE scope = ? ORDER BY id",
                arguments: [scope]
            )
            var count: UInt32 = 0
            hasher.update(field: table)
            while let row = try rows.next() {
                count += 1
                hasher.update([UInt8](row["id"] as Data))
                for column in columns {
                    var bytes: [UInt8] = []
                    Value(databaseValue: row[column] as DatabaseValue).appendCanonical(to: &bytes)
                    hasher.update(bytes)
                }
            }
            hasher.update(bigEndian: count)
        }
        let conflicts = try Row.fetchAll(
            db,
            sql: "SELECT tbl, row, col FROM _conflicts WHERE scope = ? ORDER BY tbl, row, col",
            arguments: [scope]
        )
        hasher.update(field: "conflicts")
        hasher.update(bigEndian: UInt32(conflicts.count))
        for conflict in conflicts {
            let row: Data = conflict["row"]
            hasher.update(field: conflict["tbl"])
            hasher.update([UInt8](row))
            hasher.update(field: conflict["col"])
            let heads: [CommitID]
            switch layout {
            case .cells:
                heads = try rowState(db, table: conflict["tbl"], row: row).cells.heads(of: conflict["col"]).map(\.id)
            case .versions:
                heads = Merge.heads(
                    of: try Self.storage2Versions(
                        db,
                        table: conflict["tbl"],
                        row: row,
                        column: conflict["col"],
                        scope: scope
                    )
                ).map(\.commit)
            }
            for head in heads.sorted() { hasher.update(head.bytes) }
        }
        return Hex.encode(hasher.finalize())
    }

    /// Every stored commit in wire form, in feed order (the registry first, then by author, scope and
    /// sequence), for bundles and peers.
    /// Excluded commits travel too, as evidence: every receiver judges each commit itself.
    /// - Parameter scopes: only these scopes (all when nil).
    public func exportRecords(scopes: Set<String>? = nil, _ body: ([UInt8]) throws -> Void) throws {
        try database.read { db in
            var filter = ""
            if let scopes {
                filter =
                    " AND scope IN ("
                    + scopes.sorted().map { "'\($0.replacingOccurrences(of: "'", with: "''"))'" }.joined(separator: ",")
                    + ")"
            }
            // The registry first: a replica taking the records judges every other author's standing
            // by the registry it holds, so the registry must be there before their commits.
            for part in ["scope = 'registry'", "scope <> 'registry'"] {
                let feeds = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT feed, fork_seq IS NOT NULL OR EXISTS(SELECT 1 FROM _forks x WHERE x.feed = _feeds.feed)
                        FROM _feeds WHERE \(part)\(filter) ORDER BY author, scope
                        """
                )
                for feed in feeds {
                    let rows = try Self.feedCommits(db, feed: feed[0], after: 0, forked: feed[1])
                    while let row = try rows.next() {
                        let bodyData: Data = row["body"]
                        let signature: Data = row["signature"]
                        try body(WireRecord.encode(body: bodyData, signature: signature))
                    }
                }
            }
        }
    }
}

extension Value {
    /// The canonical encoding used in commits (tag, then the value).
    func appendCanonical(to out: inout [UInt8]) {
        out.append(tag)
        switch self {
        case .null: break
        case .integer(let int): out += BigEndian.bytes(UInt64(bitPattern: int))
        case .real(let double): out += BigEndian.bytes((double == 0 ? 0.0 : double).bitPattern)
        case .text(let text):
            let bytes = Array(text.utf8)
            out += BigEndian.bytes(UInt32(bytes.count))
            out += bytes
        case .blob(let blob):
            out += BigEndian.bytes(UInt32(blob.count))
            out += blob
        }
    }
}

/// One feed's head as a sync exchanges it.
public struct FeedHead: Codable, Hashable, Sendable {
    /// The author's key, hex.
    public var author: String
    public var scope: String
    /// The highest sequence number held (stored, whatever its status).
    public var head: UInt64

    public init(author: String, scope: String, head: UInt64) {
        self.author = author
        self.scope = scope
        self.head = head
    }
}

extension Replica {
    /// The heads of every feed held in `scopes` (all scopes when nil), sorted by scope then author.
    /// Read in that order straight from `_feeds` (its scopes are ASCII and its authors raw bytes, so
    /// SQLite's order is the order of the hex strings); only the wanted feeds are converted.
    public func heads(scopes: Set<String>? = nil) throws -> [FeedHead] {
        try database.read { db in
            var heads: [FeedHead] = []
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: "SELECT f.scope, f.author, \(FeedRecord.headSQL("f")) FROM _feeds f ORDER BY f.scope, f.author"
                )
            )
            while let row = try rows.next() {
                let scope: String = row[0]
                if let scopes, !scopes.contains(scope) { continue }
                let author: Data = row[1]
                heads.append(FeedHead(author: Hex.encode(author), scope: scope, head: UInt64(row[2] as Int64)))
            }
            return heads
        }
    }

    /// `Replica.headsDigest(heads(scopes:))`, hashed straight from `_feeds` without building the
    /// heads: the first request of every sync computes it, on both sides.
    public func headsDigest(scopes: Set<String>?) throws -> String {
        let hasher = BLAKE2b.Hasher()
        hasher.update(field: "fieldlog heads v1")
        var buffer: [UInt8] = []
        buffer.reserveCapacity(70_000)
        func field(_ bytes: UnsafeRawBufferPointer) {
            let count = UInt32(bytes.count)
            buffer.append(contentsOf: [
                UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff),
            ])
            buffer.append(contentsOf: bytes)
        }
        try database.read { db in
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: "SELECT f.scope, f.author, \(FeedRecord.headSQL("f")) FROM _feeds f ORDER BY f.scope, f.author"
                )
            )
            while let row = try rows.next() {
                let scope: String = row[0]
                if let scopes, !scopes.contains(scope) { continue }
                var utf8 = scope
                utf8.withUTF8 { field(UnsafeRawBufferPointer($0)) }
                var hex = Hex.encode(row[1] as Data)
                hex.withUTF8 { field(UnsafeRawBufferPointer($0)) }
                buffer.append(contentsOf: BigEndian.bytes(UInt64(row[2] as Int64)))
                if buffer.count >= 65_536 {
                    hasher.update(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
        }
        hasher.update(buffer)
        return Hex.encode(hasher.finalize())
    }

    /// The feeds of `scopes` excluded from a fork on, each with the sequence it is excluded from.
    public func forkPoints(scopes: Set<String>) throws -> [FeedHead] {
        try database.read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT author, scope, fork_seq FROM _feeds WHERE fork_seq IS NOT NULL ORDER BY scope, author"
                )
            ).compactMap { row in
                let scope: String = row[1]
                guard scopes.contains(scope) else { return nil }
                return FeedHead(
                    author: Hex.encode([UInt8](row[0] as Data)),
                    scope: scope,
                    head: UInt64(row[2] as Int64)
                )
            }
        }
    }

    /// Whether a feed holds commits in `_forks`: a forked feed, or one an operator's readmission
    /// reads again, whose other branch stays as evidence (docs/merge.md, "Readmission").
    static func holdsEvidence(_ db: Database, feed: Int64) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS(SELECT 1 FROM _forks WHERE feed = ?)"),
            arguments: [feed]
        ) ?? false
    }

    /// A feed's stored commits after `sequence`, in sequence order (then by id, for the evidence of
    /// a fork): a range of `_log`, and `_forks` when the feed forked (nothing else is there).
    static func feedCommits(_ db: Database, feed: Int64, after sequence: UInt64, forked: Bool) throws -> RowCursor {
        let from = LogKey.make(feed, min(sequence, LogKey.maxSequence)) + 1
        guard forked else {
            return try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT body, signature FROM _log WHERE k BETWEEN ? AND ? ORDER BY k"),
                arguments: [from, LogKey.last(feed)]
            )
        }
        return try Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT body, signature FROM (
                        SELECT k & 4294967295 AS seq, id, body, signature FROM _log WHERE k BETWEEN ? AND ?
                        UNION ALL
                        SELECT seq, id, body, signature FROM _forks WHERE feed = ? AND seq > ?)
                    ORDER BY seq, id
                    """
            ),
            arguments: [from, LogKey.last(feed), feed, Int64(min(sequence, LogKey.maxSequence))]
        )
    }

    /// BLAKE2b-256 (hex) over heads, per scope: what a sync compares first.
    public static func headsDigest(_ heads: [FeedHead]) -> String {
        let hasher = BLAKE2b.Hasher()
        hasher.update(field: "fieldlog heads v1")
        func inOrder(_ a: FeedHead, _ b: FeedHead) -> Bool { (a.scope, a.author) < (b.scope, b.author) }
        let sorted = zip(heads, heads.dropFirst()).allSatisfy { !inOrder($1, $0) } ? heads : heads.sorted(by: inOrder)
        for head in sorted {
            hasher.update(field: head.scope)
            hasher.update(field: head.author)
            hasher.update(BigEndian.bytes(head.head))
        }
        return Hex.encode(hasher.finalize())
    }

    /// Stored commits of the given feeds after the given sequence numbers, in feed order, at most
    /// `maxCommits` and about `maxBytes` (at least one commit is returned if any is due).
    /// - Returns: the wire records, and whether more remain.
    public func records(
        after feeds: [FeedHead],
        maxCommits: Int,
        maxBytes: Int
    ) throws -> (records: [[UInt8]], more: Bool) {
        try database.read { db in
            var out: [[UInt8]] = []
            var bytes = 0
            // The registry first: other commits cite it and would otherwise wait for it.
            let ordered = feeds.sorted { a, b in
                let ra = a.scope == Commit.registryScope
                let rb = b.scope == Commit.registryScope
                if ra != rb { return ra }
                return (a.scope, a.author) < (b.scope, b.author)
            }
            for feed in ordered {
                guard let author = Hex.decode(feed.author),
                    let stored = try FeedRecord.find(db, author: Data(author), scope: feed.scope),
                    feed.head < LogKey.maxSequence
                else { continue }
                let rows = try Self.feedCommits(
                    db,
                    feed: stored.number,
                    after: feed.head,
                    forked: try stored.forkSeq != nil || Self.holdsEvidence(db, feed: stored.number)
                )
                while let row = try rows.next() {
                    if out.count >= maxCommits || (bytes >= maxBytes && !out.isEmpty) { return (out, true) }
                    let body: Data = row["body"]
                    let signature: Data = row["signature"]
                    let record = WireRecord.encode(body: body, signature: signature)
                    bytes += record.count
                    out.append(record)
                }
            }
            return (out, false)
        }
    }
}

extension Replica {
    /// The heads of one author's feeds: scope → highest sequence held (a prefix read of `_feeds`).
    public func heads(of author: PublicKey) throws -> [String: UInt64] {
        try database.read { db in
            var heads: [String: UInt64] = [:]
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT f.scope, \(FeedRecord.headSQL("f")) FROM _feeds f WHERE f.author = ?"),
                arguments: [Data(author.bytes)]
            )
            while let row = try rows.next() { heads[row[0]] = UInt64(row[1] as Int64) }
            return heads
        }
    }

    /// The rows of `table` with an open conflict in any cell (without reading the versions).
    public func conflictedRows(in table: String) throws -> Set<UUID> {
        try database.read { db in
            Set(
                try Data.fetchAll(db, sql: "SELECT DISTINCT row FROM _conflicts WHERE tbl = ?", arguments: [table])
                    .map { UUID(bytes16: [UInt8]($0)) }
            )
        }
    }

    /// How many cells hold an open conflict.
    public func conflictCount() throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM _conflicts") ?? 0 }
    }
}

extension Replica {
    /// The held commits waiting for `reasonCode` (a read of the pending index only).
    public func heldCommits(reasonCode: String) throws -> [StoredCommit] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT l.id, f.author, f.scope, l.k & 4294967295 AS seq, l.status, l.reason, l.reason_code
                    FROM _log l JOIN _feeds f ON f.feed = l.k >> 32
                    WHERE l.status = 1 AND l.reason_code = ?
                    """,
                arguments: [reasonCode]
            ).map(Self.storedCommit)
        }
    }
}

/// What proves a feed forked: every commit held at the sequence where it forked (two or more
/// different commits, each signed by the feed's author), by id and time, and where the feed stands.
public struct ForkEvidence: Sendable, Equatable {
    public var author: String
    public var scope: String
    public var sequence: UInt64
    public var commits: [(id: String, milliseconds: UInt64)]
    /// Where the feed is excluded from; nil when an operator's readmission made it whole again
    /// (docs/merge.md, "Readmission"): valid up to `head`, its other branch kept as evidence.
    public var excludedFrom: UInt64?
    /// The last sequence of the feed's valid chain.
    public var head: UInt64

    public static func == (a: ForkEvidence, b: ForkEvidence) -> Bool {
        a.author == b.author && a.scope == b.scope && a.sequence == b.sequence
            && a.commits.map(\.id) == b.commits.map(\.id) && a.excludedFrom == b.excludedFrom && a.head == b.head
    }
}

extension Replica {
    /// The evidence of every forked feed, by author and scope: the feeds excluded from a fork on, and
    /// the ones a readmission made whole again.
    public func forkEvidence() throws -> [ForkEvidence] {
        try database.read { db in
            let feeds = try Row.fetchAll(
                db,
                sql: """
                    SELECT f.feed, f.author, f.scope, f.fork_seq, \(FeedRecord.headSQL("f")) AS head,
                           (SELECT MIN(x.seq) FROM _forks x WHERE x.feed = f.feed) AS first_aside
                    FROM _feeds f WHERE f.fork_seq IS NOT NULL OR EXISTS(SELECT 1 FROM _forks x WHERE x.feed = f.feed)
                    ORDER BY f.author, f.scope
                    """
            )
            return try feeds.map { feed in
                let number: Int64 = feed["feed"]
                let excludedFrom: Int64? = feed["fork_seq"]
                let sequence = [excludedFrom, feed["first_aside"] as Int64?].compactMap { $0 }.min()!
                let commits = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, hlc FROM _log WHERE k = ?
                        UNION ALL SELECT id, hlc FROM _forks WHERE feed = ? AND seq = ?
                        ORDER BY 2, 1
                        """,
                    arguments: [LogKey.make(number, UInt64(sequence)), number, sequence]
                ).map { row in
                    (
                        id: Hex.encode([UInt8](row[0] as Data)),
                        milliseconds: Timestamp(rawValue: UInt64(row[1] as Int64)).milliseconds
                    )
                }
                return ForkEvidence(
                    author: Hex.encode([UInt8](feed["author"] as Data)),
                    scope: feed["scope"],
                    sequence: UInt64(sequence),
                    commits: commits,
                    excludedFrom: excludedFrom.map(UInt64.init),
                    head: UInt64(feed["head"] as Int64)
                )
            }
        }
    }
}
