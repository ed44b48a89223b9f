import FieldCrypto
import Foundation
import GRDB
import Logging
import Synchronization

/// Settings of a replica that are not part of its data.
public struct ReplicaOptions: Sendable {
    /// How far ahead of the local clock a commit's timestamp may be before it is held (default 10 minutes).
    public var maxFutureDrift: UInt64 = 10 * 60 * 1000
    /// How far ahead of the local clock a commit may be stamped and still be held for later
    /// (default 30 days); a commit stamped further ahead is refused and not stored.
    public var maxHeldAhead: UInt64 = 30 * 24 * 3600 * 1000
    /// How many schema versions ahead of this build a commit may be and still be held for an
    /// upgrade (default 8); one further ahead is refused and not stored.
    public var maxSchemaAhead: UInt32 = 8
    /// How many registry commits ahead of this replica's a commit may cite and still be held for
    /// the registry to arrive (default 10,000); one citing further ahead is refused and not stored.
    /// A replica whose own key is the root (`localAuthor == root`: the hub) holds every registry
    /// commit there is, so it refuses any commit citing one it does not have.
    public var maxRegistryAhead: UInt64 = 10_000
    /// The key this replica writes with, when it is known (the ledger sets it).
    public var localAuthor: PublicKey?
    /// Commits per SQLite transaction when importing.
    public var batchSize = 2000
    /// The wall clock, in Unix milliseconds; tests replace it.
    public var wallClock: @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) }
    /// Where the engine logs (ids and counts only).
    public var logger = Logger(label: "fieldlog.store")
    /// Called with each commit this replica writes itself, inside the write's transaction, after
    /// the engine took it and before the transaction commits: if it throws, the write is rolled
    /// back and the error is the write's. A hub process on a shared log appends its own commits
    /// to the log here, so that a commit is never in its replica without being in the log.
    public var localCommitGate: (@Sendable (SignedCommit) throws -> Void)?

    public init() {}
}

/// A commit's standing in a replica.
public enum CommitStatus: Int, Sendable, Codable {
    /// Valid: its changes are part of the visible state.
    case applied = 0
    /// Stored, waiting for something (its predecessor, registry commits, the clock, a schema upgrade).
    case pending = 1
    /// Stored as evidence, never part of the state (fork, revocation, not authorized).
    case excluded = 2
}

/// A local SQLite replica: the commits it holds, and the visible tables computed from them.
///
/// All state is in the database; this object holds only the connection pool and configuration,
/// so it is safe to share between tasks.
public final class Replica: Sendable {
    /// The database. Reads are free; writes to replicated tables are refused unless they come from the engine.
    public let database: any DatabaseWriter
    /// The county's root key: the only author of registry commits.
    public let root: PublicKey
    /// The replicated schema this build knows.
    public let schema: ReplicaSchema
    let policy: any ReplicaPolicy
    /// The settings it was opened with.
    public let options: ReplicaOptions
    /// Replicated tables and their writable columns (including `deleted`).
    let tables: [String: Set<String>]
    /// The tables a scope's digest counts only where they hold rows (`ReplicaSchema.sparseFrom`).
    let sparseTables: Set<String>
    /// Per replicated table, its writable columns in order and the statement that inserts a new
    /// visible row with all of them (id, scope, the columns, `_cells`): built once, not per row.
    let rowInserts: [String: (columns: [String], sql: String)]
    /// Answers derived from the registry (cut-offs, policy verdicts, the registry head), valid
    /// while the registry generation they were computed at is current. The generation is stored
    /// in the database and bumped in the same transaction as any change of the registry, so every
    /// process sharing the file sees a change.
    let registryCache = Mutex(RegistryCache())
    /// The hybrid clock of this process's local writes (see `Replica.localTick`): never written
    /// to the database by a local write.
    let localClock = Mutex(LocalClock())
    /// What the last local write left for the next (`Replica.localTransaction`).
    let localWriteMemo = Mutex<LocalWriteMemo?>(nil)

    /// Opens (creating if needed) the replica at `path`. A new replica needs `root`; an existing one
    /// must have been created with the same root.
    /// - Parameter path: a file path, or `nil` for a private in-memory database (tests).
    public static func open(
        path: String?,
        root: PublicKey?,
        schema: ReplicaSchema,
        policy: any ReplicaPolicy,
        options: ReplicaOptions = ReplicaOptions()
    ) throws -> Replica {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = false
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // The guard triggers call an application function; a build whose SQLite distrusts
            // the schema by default would refuse that inside a trigger.
            try db.execute(sql: "PRAGMA trusted_schema = ON")
            // Statement and savepoint journals in memory: every statement that may need undoing
            // inside a transaction (a trigger's, an upsert's, each push's savepoint in a hub
            // group) copies each page it changes first. On disk that was a temporary file and
            // two writes per page (docs/performance.md).
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            db.add(function: Self.engineFunction(for: db))
        }
        let writer: any DatabaseWriter
        if let path {
            writer = try DatabasePool(path: path, configuration: configuration)
        } else {
            writer = try DatabaseQueue(configuration: configuration)
        }
        // The writer's page cache: 64 MiB instead of SQLite's 2 MiB, so that merging into a large
        // replica finds the B-tree pages it needs in memory (readers keep the default).
        try writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA cache_size = -65536") }
        let (storedRoot, tables) = try writer.write { db in
            try Self.installEngineTables(db)
            let storedRoot = try Self.meta(db, "root").flatMap { try? PublicKey(hex: $0) }
            let resolvedRoot: PublicKey
            switch (storedRoot, root) {
            case (nil, nil):
                throw StoreError(.database, "this replica has no root key yet; create it with the county's root key")
            case (nil, let given?):
                try Self.setMeta(db, "root", given.hex)
                resolvedRoot = given
            case (let stored?, let given):
                if let given, given != stored {
                    throw StoreError(
                        .notAuthorized,
                        "this replica belongs to the county with root \(stored.fingerprint), not \(given.fingerprint)"
                    )
                }
                resolvedRoot = stored
            }
            let tables = try Self.migrate(db, schema: schema)
            try Self.upgradeStorage(db, tables: tables)
            return (resolvedRoot, tables)
        }
        let replica = Replica(
            database: writer,
            root: storedRoot,
            schema: schema,
            policy: policy,
            options: options,
            tables: tables
        )
        // Commits held for the clock or a schema upgrade may be applicable now.
        _ = try replica.settlePending()
        return replica
    }

    private init(
        database: any DatabaseWriter,
        root: PublicKey,
        schema: ReplicaSchema,
        policy: any ReplicaPolicy,
        options: ReplicaOptions,
        tables: [String: Set<String>]
    ) {
        self.database = database
        self.root = root
        self.schema = schema
        self.policy = policy
        self.options = options
        self.tables = tables
        self.sparseTables = schema.sparseTables.intersection(tables.keys)
        self.rowInserts = Dictionary(
            uniqueKeysWithValues: tables.map { table, columns in
                let ordered = columns.sorted()
                let names = (["id", "scope"] + ordered + ["_cells"]).map { "\"\($0)\"" }.joined(separator: ", ")
                let marks = Array(repeating: "?", count: ordered.count + 3).joined(separator: ", ")
                return (table, (ordered, "INSERT INTO \"\(table)\"(\(names)) VALUES (\(marks))"))
            }
        )
    }

    /// The engine's tables every storage version shares: settings, cell versions, open conflicts.
    /// The commit log's tables depend on the storage version (`Replica+Storage.swift`).
    static func installEngineTables(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS _meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS _versions(
                    tbl TEXT NOT NULL,
                    row BLOB NOT NULL,
                    col TEXT NOT NULL,
                    commit_id BLOB NOT NULL,
                    scope TEXT NOT NULL,
                    author BLOB NOT NULL,
                    seq INTEGER NOT NULL,
                    hlc INTEGER NOT NULL,
                    value,
                    supersedes BLOB,
                    valid INTEGER NOT NULL,
                    PRIMARY KEY(tbl, row, col, commit_id)
                ) WITHOUT ROWID;
                -- No index of versions by commit: an exclusion finds a commit's cells from its body.
                DROP INDEX IF EXISTS _versions_commit;
                CREATE TABLE IF NOT EXISTS _conflicts(
                    tbl TEXT NOT NULL,
                    row BLOB NOT NULL,
                    col TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    PRIMARY KEY(tbl, row, col)
                ) WITHOUT ROWID;
                """
        )
    }

    /// Runs the schema's migrations not yet applied, installs the write guards, and returns the tables.
    static func migrate(_ db: Database, schema: ReplicaSchema) throws -> [String: Set<String>] {
        let current = UInt32(try meta(db, "schema_version").flatMap { UInt32($0) } ?? 0)
        for migration in schema.migrations where migration.version > current {
            try db.execute(sql: migration.sql)
        }
        if schema.version > current {
            try setMeta(db, "schema_version", String(schema.version))
        }
        var tables: [String: Set<String>] = [:]
        let names = try String.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'"
            )
        )
        for name in names {
            // The engine's own columns (`_cells`: the row's merge state) begin with `_`: not
            // replicated, not validated, not in digests or exports.
            var allColumns = try db.columns(in: name).map(\.name)
            if !allColumns.contains("_cells") {
                try db.execute(sql: "ALTER TABLE \"\(name)\" ADD COLUMN _cells BLOB")
                allColumns.append("_cells")
            }
            let columns = allColumns.filter { !$0.hasPrefix("_") }
            guard columns.starts(with: ["id", "scope", "deleted"]) else {
                throw StoreError(
                    .database,
                    "replicated table \(name) must begin with columns id, scope, deleted (schema error in this build)"
                )
            }
            tables[name] = Set(columns.dropFirst(2))
            // A scope's rows in id order: the state digest and the scope's listings read them so.
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS \"_scope_\(name)\" ON \"\(name)\"(scope, id)")
            try installGuards(db, table: name)
        }
        return tables
    }

    /// The write guard of a replicated table: a write outside the engine (`asEngine`) aborts.
    static func installGuards(_ db: Database, table name: String) throws {
        for event in ["INSERT", "UPDATE", "DELETE"] {
            try db.execute(
                sql: """
                    CREATE TRIGGER IF NOT EXISTS "_guard_\(name)_\(event.lowercased())" BEFORE \(event) ON "\(name)"
                    WHEN NOT fieldlog_engine()
                    BEGIN
                        SELECT RAISE(ABORT, 'fieldlog: \(name) is a replicated table; change it with the fieldlog command, a direct write would never sync');
                    END
                    """
            )
        }
    }

    static func meta(_ db: Database, _ key: String) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM _meta WHERE key = ?"), arguments: [key])
    }

    static func setMeta(_ db: Database, _ key: String, _ value: String) throws {
        try db.cachedStatement(
            sql: "INSERT INTO _meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        ).execute(arguments: [key, value]
        )
    }

    /// Reads a value stored beside the data (for the layers above: the local author, display settings).
    public func metaValue(_ key: String) throws -> String? {
        try database.read { db in try Self.meta(db, "app." + key) }
    }

    /// Stores a value beside the data.
    public func setMetaValue(_ key: String, _ value: String) throws {
        try database.write { db in try Self.setMeta(db, "app." + key, value) }
    }

    /// The last hybrid-clock reading, persisted so that it never goes backwards across restarts.
    static func clock(_ db: Database) throws -> Timestamp {
        Timestamp(rawValue: UInt64(try meta(db, "hlc").flatMap { UInt64($0) } ?? 0))
    }

    /// The stored clock and the registry generation, in one read (a local write needs both).
    static func engineSettings(_ db: Database) throws -> (clock: Timestamp, generation: Int64) {
        var clock: UInt64 = 0
        var generation: Int64 = 0
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT key, value FROM _meta WHERE key IN ('hlc', 'registry_generation')")
        )
        while let row = try rows.next() {
            let value: String = row[1]
            if row[0] as String == "hlc" { clock = UInt64(value) ?? 0 } else { generation = Int64(value) ?? 0 }
        }
        return (Timestamp(rawValue: clock), generation)
    }

    static func setClock(_ db: Database, _ value: Timestamp) throws {
        try setMeta(db, "hlc", String(value.rawValue))
    }

    /// Runs `body` as the engine: replicated tables accept writes only inside it. The guard
    /// triggers ask `fieldlog_engine()`, which answers from `engineConnections` for the connection
    /// it runs on; nothing is written for it.
    static func asEngine<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        let handle = UInt(bitPattern: db.sqliteConnection)
        engineConnections.withLock { $0[handle, default: 0] += 1 }
        defer {
            engineConnections.withLock { connections in
                connections[handle, default: 1] -= 1
                if connections[handle] == 0 { connections[handle] = nil }
            }
        }
        return try body()
    }

    /// The SQLite connections (by handle) inside `asEngine`, with its nesting depth.
    static let engineConnections = Mutex<[UInt: Int]>([:])

    /// `fieldlog_engine()`: 1 while the connection it is registered on runs inside `asEngine`.
    /// A connection without it (the `sqlite3` shell, another program) cannot prepare a write to
    /// a replicated table at all ("no such function"), so direct writes stay refused.
    static func engineFunction(for db: Database) -> DatabaseFunction {
        let handle = UInt(bitPattern: db.sqliteConnection)
        return DatabaseFunction("fieldlog_engine", argumentCount: 0, pure: false) { _ in
            engineConnections.withLock { $0[handle] != nil }
        }
    }

    /// The applied head of the root's registry feed: the registry state new local commits cite.
    /// The registry generation: bumped whenever a registry commit is applied or unapplied.
    static func registryGeneration(_ db: Database) throws -> Int64 {
        try meta(db, "registry_generation").flatMap { Int64($0) } ?? 0
    }

    /// A new random value rather than a count: a transaction that bumps it and then rolls back
    /// must never leave a value that a later, different registry state could take again.
    static func bumpRegistryGeneration(_ db: Database) throws {
        try setMeta(db, "registry_generation", String(Int64.random(in: 1...Int64.max)))
    }

    /// The registry head, from the cache when `generation` (read in this transaction) is current.
    func cachedRegistryHead(_ db: Database, generation: Int64) throws -> UInt64 {
        if let head = registryCache.withLock({ $0.generation == generation ? $0.head : nil }) { return head }
        let head = try Self.registryHead(db, root: root)
        registryCache.withLock { cache in
            cache.reset(to: generation)
            cache.head = head
        }
        return head
    }

    static func registryHead(_ db: Database, root: PublicKey) throws -> UInt64 {
        guard let feed = try FeedRecord.find(db, author: root, scope: Commit.registryScope) else { return 0 }
        let k = try Int64.fetchOne(
            db.cachedStatement(
                sql: "SELECT k FROM _log WHERE k BETWEEN ? AND ? AND status = 0 ORDER BY k DESC LIMIT 1"
            ),
            arguments: [LogKey.first(feed.number), LogKey.last(feed.number)]
        )
        return k.map(LogKey.sequence) ?? 0
    }

    /// The latest registry this replica has applied.
    func currentRegistry(_ db: Database) throws -> RegistrySnapshot {
        RegistrySnapshot(db: db, root: root, sequence: try Self.registryHead(db, root: root))
    }

    /// Reads the registry as it stands now, for the layers above.
    public func readRegistry<T>(_ body: (RegistrySnapshot) throws -> T) throws -> T {
        try database.read { db in try body(try currentRegistry(db)) }
    }
}

/// The clock of local writes, in memory: the last reading given, and the authors whose stored
/// commits it has been set past.
struct LocalClock {
    var last = Timestamp(rawValue: 0)
    var authors: Set<PublicKey> = []
}

/// What `Replica.registryCache` holds for one registry generation.
struct RegistryCache {
    var generation: Int64 = -1
    var head: UInt64?
    var revocations: [PublicKey: Revocation]?
    var readmissions: [Integrator.FeedKey: [UInt64: FeedChoice]]?
    var verdicts: [VerdictKey: PolicyVerdict] = [:]

    /// What a policy verdict is reused for: the author, the scope, the registry sequence it was
    /// judged against and the policy's own `verdictKey`.
    struct VerdictKey: Hashable {
        var author: PublicKey
        var scope: String
        var registrySequence: UInt64
        var policyKey: String
    }

    mutating func reset(to generation: Int64) {
        guard generation != self.generation else { return }
        self = RegistryCache()
        self.generation = generation
    }
}
