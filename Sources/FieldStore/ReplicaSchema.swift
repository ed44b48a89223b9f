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
    /// Tables created by a migration numbered this or later count in a scope's digest only when
    /// the scope holds a row of them (docs/merge.md, "Digest of a scope"): a schema that adds a
    /// table leaves the digest of every scope that holds none of it as it was. Nil: every table
    /// counts, empty or not.
    public var sparseFrom: UInt32?

    public init(migrations: [Migration], sparseFrom: UInt32? = nil) {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.sparseFrom = sparseFrom
    }

    /// The tables a scope's digest leaves out when the scope holds no row of them (`sparseFrom`).
    public var sparseTables: Set<String> {
        guard let sparseFrom else { return [] }
        var names: Set<String> = []
        for migration in migrations where migration.version >= sparseFrom {
            for line in migration.sql.split(separator: "\n") {
                let words = line.split(whereSeparator: { $0 == " " || $0 == "(" })
                guard words.count >= 3, words[0].uppercased() == "CREATE", words[1].uppercased() == "TABLE" else {
                    continue
                }
                names.insert(String(words[2]))
            }
        }
        return names
    }

    /// The schema version: the highest migration number.
    public var version: UInt32 { migrations.last?.version ?? 0 }

    /// Only the migrations up to `version`: a replica built from an older release.
    public func upTo(_ version: UInt32) -> ReplicaSchema {
        ReplicaSchema(migrations: migrations.filter { $0.version <= version }, sparseFrom: sparseFrom)
    }
}
