import FieldCrypto
import Foundation
import GRDB

/// A commit's place in the log: `k = feed << 32 | seq`, so a feed's commits are contiguous and in
/// sequence order in `_log`'s B-tree. A feed holds at most 2^32 − 1 commits.
enum LogKey {
    static let maxSequence: UInt64 = 0xFFFF_FFFF

    static func make(_ feed: Int64, _ sequence: UInt64) -> Int64 { feed << 32 | Int64(sequence) }
    /// The lowest key of a feed (sequence 0, never used).
    static func first(_ feed: Int64) -> Int64 { feed << 32 }
    /// The highest key a feed can have.
    static func last(_ feed: Int64) -> Int64 { feed << 32 | Int64(maxSequence) }
    static func sequence(_ k: Int64) -> UInt64 { UInt64(k & Int64(maxSequence)) }
    static func feed(_ k: Int64) -> Int64 { k >> 32 }
}

/// A row of `_feeds`: a feed (author, scope) under the local number its commits are keyed by.
struct FeedRecord {
    var number: Int64
    var head: UInt64
    var forkSeq: Int64?
    /// The head is kept in the log, not in `head_seq` (`headInLog`): a local device's own feed.
    var headInLog = false

    /// `head_seq` of a feed whose head is the last key of its range in `_log`: a feed this
    /// replica's local writes extend, so that a local commit writes nothing to `_feeds`. Only an
    /// unforked feed is kept so (it holds nothing in the log past its head).
    static let headInLog: Int64 = -1

    /// A feed's head in SQL, for the `_feeds` row named `alias`: `head_seq`, or the sequence of
    /// the last key of its range in `_log` when `head_seq` is `headInLog`.
    static func headSQL(_ alias: String) -> String {
        """
        (CASE WHEN \(alias).head_seq >= 0 THEN \(alias).head_seq ELSE COALESCE((SELECT MAX(k) FROM _log \
        WHERE k BETWEEN \(alias).feed << 32 AND (\(alias).feed << 32) | 4294967295) & 4294967295, 0) END)
        """
    }

    static func find(_ db: Database, author: PublicKey, scope: String) throws -> FeedRecord? {
        try find(db, author: Data(author.bytes), scope: scope)
    }

    static func find(_ db: Database, author: Data, scope: String) throws -> FeedRecord? {
        try Row.fetchOne(
            db.cachedStatement(
                sql:
                    "SELECT f.feed, \(headSQL("f")), f.fork_seq, f.head_seq < 0 FROM _feeds f WHERE f.scope = ? AND f.author = ?"
            ),
            arguments: [scope, author]
        ).map { row in
            FeedRecord(number: row[0], head: UInt64(row[1] as Int64), forkSeq: row[2], headInLog: row[3])
        }
    }
}

extension Replica {
    /// The storage layout this build reads and writes (`docs/storage.md`).
    static let storageVersion = 4

    /// Storage 3's addition: the merge state of rows no valid version shows (every commit that
    /// wrote them excluded), which no visible row holds. A visible row keeps its own in `_cells`.
    static let storage3Tables = """
        CREATE TABLE _tombs(
            tbl TEXT NOT NULL,
            row BLOB NOT NULL,
            cells BLOB NOT NULL,
            PRIMARY KEY(tbl, row)
        ) WITHOUT ROWID;
        """

    /// Storage 2's commit tables. `_commits` is a read-only view of every stored commit with the
    /// columns storage 1's table had: the rare reads (checks, counts, listings) use it, and a build
    /// of storage 1 cannot open the file (it would index `_commits`, and a view cannot be indexed),
    /// so it never runs on what would look to it like an empty log.
    static let storage2Tables = """
        CREATE TABLE _feeds(
            feed INTEGER PRIMARY KEY,
            author BLOB NOT NULL,
            scope TEXT NOT NULL,
            head_seq INTEGER NOT NULL,
            fork_seq INTEGER,
            UNIQUE(scope, author)
        );
        CREATE INDEX _feeds_author ON _feeds(author, scope);
        CREATE TABLE _log(
            k INTEGER PRIMARY KEY,
            id BLOB NOT NULL,
            hlc INTEGER NOT NULL,
            schema_version INTEGER NOT NULL,
            registry_seq INTEGER NOT NULL,
            status INTEGER NOT NULL,
            reason TEXT,
            reason_code TEXT,
            received INTEGER NOT NULL,
            body BLOB NOT NULL,
            signature BLOB NOT NULL
        );
        CREATE INDEX _log_pending ON _log(k) WHERE status = 1;
        CREATE INDEX _log_cut_off ON _log(k) WHERE status = 2 AND reason_code = 'revoked';
        CREATE TABLE _forks(
            feed INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            id BLOB NOT NULL,
            hlc INTEGER NOT NULL,
            schema_version INTEGER NOT NULL,
            registry_seq INTEGER NOT NULL,
            body BLOB NOT NULL,
            signature BLOB NOT NULL,
            reason TEXT,
            reason_code TEXT,
            received INTEGER NOT NULL,
            PRIMARY KEY(feed, seq, id)
        ) WITHOUT ROWID;
        CREATE VIEW _commits AS
            SELECT l.id, f.author, f.scope, l.k & 4294967295 AS seq, l.hlc, l.schema_version, l.registry_seq,
                   l.body, l.signature, l.status, l.reason, l.reason_code, l.received
            FROM _log l JOIN _feeds f ON f.feed = l.k >> 32
            UNION ALL
            SELECT x.id, f.author, f.scope, x.seq, x.hlc, x.schema_version, x.registry_seq,
                   x.body, x.signature, 2, x.reason, x.reason_code, x.received
            FROM _forks x JOIN _feeds f ON f.feed = x.feed;
        """

    /// Brings the engine's tables to `storageVersion`: creates them in a new replica, or migrates a
    /// replica of storage 1 or 2 in the caller's transaction (1 → 2 → 3). Refuses a replica of a
    /// later storage.
    static func upgradeStorage(_ db: Database, tables: [String: Set<String>]) throws {
        if let stored = try meta(db, "storage_version").flatMap({ Int($0) }) {
            guard stored <= storageVersion else {
                throw StoreError(
                    .database,
                    "this replica was written by a later fieldlog (storage \(stored); this build reads \(storageVersion)): open it with that fieldlog"
                )
            }
            if stored == storageVersion { return }
        }
        let hasStorage1 =
            try Bool.fetchOne(
                db,
                sql: "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_commits')"
            ) ?? false
        let stored = try meta(db, "storage_version").flatMap({ Int($0) })
        if hasStorage1 {
            try migrateStorage1(db, tables: tables)
            try migrateStorage2(db, tables: tables)
        } else if stored == 2 {
            try migrateStorage2(db, tables: tables)
        } else if stored == 3 {
            // Storage 3 → 4 changes no data: every `head_seq` of storage 3 is its feed's head, which
            // storage 4 reads as it is (docs/storage.md). Only a build of storage 4 writes
            // `FeedRecord.headInLog`, and the version keeps a build of storage 3 from reading it.
        } else {
            try db.execute(sql: storage2Tables + storage3Tables)
        }
        try setMeta(db, "storage_version", String(storageVersion))
    }

    /// Storage 1 → 2, in place: `_commits` (keyed by id, four indexes) becomes `_log` keyed by
    /// feed and sequence, a second commit numbered alike goes to `_forks`, `_feeds` gains local
    /// feed numbers, and the guard asks `fieldlog_engine()` instead of the `_writer` table. What the
    /// replica shows is taken before and after (`StorageFingerprint`); any difference throws, and
    /// the caller's transaction rolls everything back.
    static func migrateStorage1(_ db: Database, tables: [String: Set<String>]) throws {
        let before = try StorageFingerprint(db, tables: tables, layout: .versions)
        if let seq = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM _commits"), seq > Int64(LogKey.maxSequence) {
            throw StoreError(
                .database,
                "this replica holds a commit numbered \(seq), past the \(LogKey.maxSequence) a feed can hold in this build; keep it with the previous fieldlog and report it"
            )
        }
        let guards = try String.fetchAll(
            db,
            sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_guard\\_%' ESCAPE '\\'"
        )
        for name in guards { try db.execute(sql: "DROP TRIGGER \"\(name)\"") }
        try db.execute(
            sql: """
                ALTER TABLE _feeds RENAME TO _feeds_storage1;
                ALTER TABLE _commits RENAME TO _commits_storage1;
                \(storage2Tables)
                INSERT INTO _feeds(author, scope, head_seq, fork_seq)
                    SELECT author, scope, head_seq, fork_seq FROM _feeds_storage1 ORDER BY scope, author;
                CREATE TEMP TABLE _numbered AS
                    SELECT c.rowid AS r, (f.feed << 32) | c.seq AS k, f.feed, c.seq,
                           ROW_NUMBER() OVER (PARTITION BY c.author, c.scope, c.seq ORDER BY c.received, c.rowid) AS n
                    FROM _commits_storage1 c JOIN _feeds f ON f.author = c.author AND f.scope = c.scope;
                INSERT INTO _log(k, id, hlc, schema_version, registry_seq, body, signature, status, reason, reason_code, received)
                    SELECT n.k, c.id, c.hlc, c.schema_version, c.registry_seq, c.body, c.signature, c.status, c.reason,
                           c.reason_code, c.received
                    FROM temp._numbered n JOIN _commits_storage1 c ON c.rowid = n.r WHERE n.n = 1 ORDER BY n.k;
                INSERT INTO _forks(feed, seq, id, hlc, schema_version, registry_seq, body, signature, reason, reason_code, received)
                    SELECT n.feed, n.seq, c.id, c.hlc, c.schema_version, c.registry_seq, c.body, c.signature, c.reason,
                           c.reason_code, c.received
                    FROM temp._numbered n JOIN _commits_storage1 c ON c.rowid = n.r WHERE n.n > 1;
                DROP TABLE temp._numbered;
                DROP TABLE _commits_storage1;
                DROP TABLE _feeds_storage1;
                DROP TABLE IF EXISTS _writer;
                """
        )
        for table in tables.keys.sorted() { try installGuards(db, table: table) }
        let after = try StorageFingerprint(db, tables: tables, layout: .versions)
        if let difference = before.firstDifference(from: after) {
            throw StoreError(
                .database,
                "upgrading this replica's storage would change \(difference); nothing was changed: keep it with the previous fieldlog and report it"
            )
        }
    }

    /// Storage 2 → 3, in place: each row's merge state (the commits applied to it and its cells'
    /// heads) is computed from `_versions` and kept in the row's `_cells` (or in `_tombs` for a row
    /// no valid version shows), and `_versions` keeps the registry scope only. What the replica
    /// shows, every row's history included, is taken before and after; any difference throws, and
    /// the caller's transaction rolls everything back.
    static func migrateStorage2(_ db: Database, tables: [String: Set<String>]) throws {
        let before = try StorageFingerprint(db, tables: tables, layout: .versions, histories: true)
        try db.execute(sql: storage3Tables)
        let versions = try Row.fetchCursor(
            db,
            sql: """
                SELECT v.tbl, v.row, v.col, v.commit_id, v.hlc, v.author, v.value, v.supersedes, v.valid, v.scope,
                       (f.feed << 32) | v.seq AS k
                FROM _versions v JOIN _feeds f ON f.scope = v.scope AND f.author = v.author
                ORDER BY v.tbl, v.row
                """
        )
        var current: RowKey?
        var rows: [(k: Int64, scope: String, column: String, valid: Bool, version: CellVersion)] = []
        func flush() throws {
            guard let key = current, tables[key.table] != nil else { return }
            var cells = RowCells()
            for k in Set(rows.map(\.k)).sorted() { cells.insert(commit: k) }
            let valid = rows.filter(\.valid)
            let owning = valid.map(\.scope).min { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            if let owning {
                for column in Set(valid.map(\.column)).sorted() {
                    let inScope = valid.filter { $0.column == column && $0.scope == owning }
                    let heads = Merge.heads(of: inScope.map(\.version)).map { head in
                        RowCells.Head(
                            commit: cells.commits.firstIndex(
                                of: inScope.first { $0.version.commit == head.commit }!.k
                            )!,
                            id: head.commit,
                            timestamp: head.timestamp
                        )
                    }
                    cells.setHeads(column, heads)
                }
            }
            let encoded = Data(cells.encoded())
            try asEngine(db) {
                try db.cachedStatement(sql: "UPDATE \"\(key.table)\" SET _cells = ? WHERE id = ?")
                    .execute(arguments: [encoded, key.row])
            }
            if db.changesCount == 0 {
                try db.cachedStatement(sql: "INSERT INTO _tombs(tbl, row, cells) VALUES (?, ?, ?)")
                    .execute(arguments: [key.table, key.row, encoded])
            }
        }
        while let row = try versions.next() {
            let key = RowKey(table: row[0], row: row[1])
            if key != current {
                try flush()
                current = key
                rows = []
            }
            rows.append((row["k"], row["scope"], row["col"], row["valid"] as Int == 1, try cellVersion(row)))
        }
        try flush()
        try db.execute(sql: "DELETE FROM _versions WHERE scope <> 'registry'")
        let after = try StorageFingerprint(db, tables: tables, layout: .cells, histories: true)
        if let difference = before.firstDifference(from: after) {
            throw StoreError(
                .database,
                "upgrading this replica's storage would change \(difference); nothing was changed: keep it with the previous fieldlog and report it"
            )
        }
    }

    /// Storage 2's valid versions of one cell in one scope (the upgrade reads them before it).
    static func storage2Versions(
        _ db: Database,
        table: String,
        row: Data,
        column: String,
        scope: String
    ) throws -> [CellVersion] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT commit_id, hlc, author, value, supersedes FROM _versions
                    WHERE tbl = ? AND row = ? AND col = ? AND valid = 1 AND scope = ?
                    """
            ),
            arguments: [table, row, column, scope]
        ).map(cellVersion)
    }
}

/// Where a layout keeps each cell's heads: storage 1 and 2 in `_versions`, storage 3 in `_cells`.
enum MergeStateLayout {
    case versions
    case cells
}

/// What a replica shows, whatever its storage: commits by status, the feeds, every stored commit
/// byte for byte, the scopes and each scope's digest. The storage upgrade takes it before and
/// after and compares; its queries read `_commits` and `_feeds` by the column names both layouts
/// have.
struct StorageFingerprint: Equatable {
    var counts: [Int: Int] = [:]
    var feeds: [String] = []
    var commits = ""
    var digests: [String: String] = [:]
    var histories = ""

    init(
        _ db: Database,
        tables: [String: Set<String>],
        layout: MergeStateLayout,
        histories withHistories: Bool = false
    ) throws {
        for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) FROM _commits GROUP BY status") {
            counts[row[0]] = row[1]
        }
        feeds = try Row.fetchAll(db, sql: "SELECT scope, author, head_seq, fork_seq FROM _feeds ORDER BY scope, author")
            .map { row in
                "\(row[0] as String) \(Hex.encode(row[1] as Data)) \(row[2] as Int64) \((row[3] as Int64?).map(String.init) ?? "-")"
            }
        let hasher = BLAKE2b.Hasher()
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT id, body, signature, status, reason, reason_code, received FROM _commits
                ORDER BY author, scope, seq, id
                """
        )
        while let row = try rows.next() {
            for column in 0..<3 {
                let bytes = [UInt8](row[column] as Data)
                hasher.update(bigEndian: UInt32(bytes.count))
                hasher.update(bytes)
            }
            hasher.update(
                field: "\(row[3] as Int) \(row[4] as String? ?? "-") \(row[5] as String? ?? "-") \(row[6] as Int64)"
            )
        }
        commits = Hex.encode(hasher.finalize())
        let scopes = try String.fetchAll(db, sql: "SELECT DISTINCT scope FROM _commits WHERE status = 0")
        for scope in scopes {
            digests[scope] = try Replica.digest(db, tables: tables, scope: scope, layout: layout)
        }
        if withHistories { histories = try Self.histories(db, tables: tables, layout: layout) }
    }

    /// A hash of every row's history (`Replica.history`), read from the layout's own tables.
    static func histories(_ db: Database, tables: [String: Set<String>], layout: MergeStateLayout) throws -> String {
        let hasher = BLAKE2b.Hasher()
        func add(_ table: String, _ row: Data, _ entry: HistoryEntry) {
            hasher.update(
                field:
                    "\(table) \(Hex.encode(row)) \(entry.commit.hex) \(entry.author.hex) \(entry.timestamp.rawValue) \(entry.sequence) \(entry.scope) \(entry.column) \(entry.value) \(entry.status.rawValue) \(entry.reason ?? "-")"
            )
        }
        switch layout {
        case .versions:
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT v.tbl, v.row, v.commit_id, v.author, v.hlc, v.seq, v.scope, v.col, v.value,
                           COALESCE(l.status, 2) AS status, COALESCE(l.reason, x.reason) AS reason
                    FROM _versions v
                    JOIN _feeds f ON f.scope = v.scope AND f.author = v.author
                    LEFT JOIN _log l ON l.k = (f.feed << 32) | v.seq AND l.id = v.commit_id
                    LEFT JOIN _forks x ON x.feed = f.feed AND x.seq = v.seq AND x.id = v.commit_id
                    WHERE l.k IS NOT NULL OR x.id IS NOT NULL
                    ORDER BY v.tbl, v.row, v.hlc, v.author, v.col
                    """
            )
            while let row = try rows.next() {
                add(
                    row[0],
                    row[1],
                    HistoryEntry(
                        commit: try CommitID(bytes: [UInt8](row[2] as Data)),
                        author: try PublicKey(bytes: [UInt8](row[3] as Data)),
                        timestamp: Timestamp(rawValue: UInt64(bitPattern: row[4] as Int64)),
                        sequence: UInt64(row[5] as Int64),
                        scope: row[6],
                        column: row[7],
                        value: Value(databaseValue: row[8] as DatabaseValue),
                        status: CommitStatus(rawValue: row[9]) ?? .excluded,
                        reason: row[10]
                    )
                )
            }
        case .cells:
            let cache = Replica.CommitCache()
            for table in tables.keys.sorted() {
                let ids = try Data.fetchAll(
                    db,
                    sql: "SELECT id FROM \"\(table)\" UNION SELECT row FROM _tombs WHERE tbl = ? ORDER BY 1",
                    arguments: [table]
                )
                for id in ids {
                    for entry in try Replica.history(db, table: table, row: id, cache: cache) { add(table, id, entry) }
                }
            }
        }
        return Hex.encode(hasher.finalize())
    }

    /// The first thing that differs, in words, or nil.
    func firstDifference(from other: StorageFingerprint) -> String? {
        if counts != other.counts { return "its counts of commits by status (\(counts) to \(other.counts))" }
        if feeds != other.feeds { return "its feeds (\(feeds.count) to \(other.feeds.count))" }
        if commits != other.commits { return "its stored commits" }
        for scope in Set(digests.keys).union(other.digests.keys).sorted() where digests[scope] != other.digests[scope] {
            return "the digest of scope \(scope)"
        }
        if histories != other.histories { return "the history of some row" }
        return nil
    }
}
