/// The replicated tables, declared as numbered SQL migrations (`schema/NNN_name.sql`).
///
/// Every replicated table has `id BLOB PRIMARY KEY`, `scope TEXT NOT NULL` and
/// `deleted INTEGER NOT NULL DEFAULT 0`, then its own columns. Tables whose names start with `_`
/// belong to the engine. Adding a table or column is a new migration, hence a new schema version.
public struct ReplicaSchema: Sendable {
    /// One migration.
    public struct Migration: Sendable {
        public var version: UInt32
        public var name: String
        public var sql: String

        public init(version: UInt32, name: String, sql: String) {
            self.version = version
            self.name = name
            self.sql = sql
        }
    }

    public var migrations: [Migration]

    public init(migrations: [Migration]) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// The schema version: the highest migration number.
    public var version: UInt32 { migrations.last?.version ?? 0 }

    /// Only the migrations up to `version`: a replica built from an older release.
    public func upTo(_ version: UInt32) -> ReplicaSchema {
        ReplicaSchema(migrations: migrations.filter { $0.version <= version })
    }
}
