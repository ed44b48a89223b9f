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

    static func find(_ db: Database, author: PublicKey, scope: String) throws -> FeedRecord? {
        try find(db, author: Data(author.bytes), scope: scope)
    }

    static func find(_ db: Database, author: Data, scope: String) throws -> FeedRecord? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT feed, head_seq, fork_seq FROM _feeds WHERE scope = ? AND author = ?"),
            arguments: [scope, author]
        ).map { row in
            FeedRecord(number: row[0], head: UInt64(row[1] as Int64), forkSeq: row[2])
        }
    }
}

extension Replica {
    /// The storage layout this build reads and writes (`docs/storage.md`).
    static let storageVersion = 2

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

    /// Brings the commit tables to `storageVersion`: creates them in a new replica, or migrates a
    /// replica of storage 1 in the caller's transaction. Refuses a replica of a later storage.
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
        if hasStorage1 {
            try migrateStorage1(db, tables: tables)
        } else {
            try db.execute(sql: storage2Tables)
        }
        try setMeta(db, "storage_version", String(storageVersion))
    }

    /// Storage 1 → 2, in place: `_commits` (keyed by id, four indexes) becomes `_log` keyed by
    /// feed and sequence, a second commit numbered alike goes to `_forks`, `_feeds` gains local
    /// feed numbers, and the guard asks `fieldlog_engine()` instead of the `_writer` table. What the
    /// replica shows is taken before and after (`StorageFingerprint`); any difference throws, and
    /// the caller's transaction rolls everything back.
    static func migrateStorage1(_ db: Database, tables: [String: Set<String>]) throws {
        let before = try StorageFingerprint(db, tables: tables)
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
        let after = try StorageFingerprint(db, tables: tables)
        if let difference = before.firstDifference(from: after) {
            throw StoreError(
                .database,
                "upgrading this replica's storage would change \(difference); nothing was changed: keep it with the previous fieldlog and report it"
            )
        }
    }
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

    init(_ db: Database, tables: [String: Set<String>]) throws {
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
        for scope in scopes { digests[scope] = try Replica.digest(db, tables: tables, scope: scope) }
    }

    /// The first thing that differs, in words, or nil.
    func firstDifference(from other: StorageFingerprint) -> String? {
        if counts != other.counts { return "its counts of commits by status (\(counts) to \(other.counts))" }
        if feeds != other.feeds { return "its feeds (\(feeds.count) to \(other.feeds.count))" }
        if commits != other.commits { return "its stored commits" }
        for scope in Set(digests.keys).union(other.digests.keys).sorted() where digests[scope] != other.digests[scope] {
            return "the digest of scope \(scope)"
        }
        return nil
    }
}
