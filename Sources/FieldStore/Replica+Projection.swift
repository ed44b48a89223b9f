import FieldCrypto
import Foundation
import GRDB

extension Replica {
    /// Checks that every change names a known table and writable column, and that `deleted` is 0 or 1.
    func validateChanges(_ changes: [Change]) -> StoreError? {
        for change in changes {
            guard let columns = tables[change.table] else {
                return StoreError(.unknownTable, "no replicated table named \(change.table)")
            }
            guard columns.contains(change.column) else {
                return StoreError(.unknownColumn, "table \(change.table) has no column \(change.column)")
            }
            if change.column == "deleted" && change.value != .integer(0) && change.value != .integer(1) {
                return StoreError(.invalidValue, "the deleted flag of a row is 0 or 1")
            }
            // SQLite keeps a NUL inside text, but text is read back up to the first NUL: a value
            // that cannot be read back exactly is refused rather than stored.
            if case .text(let text) = change.value, text.utf8.contains(0) {
                return StoreError(
                    .invalidValue,
                    "text in \(change.table).\(change.column) contains a NUL character (U+0000), which fieldlog does not store; remove it"
                )
            }
        }
        return nil
    }

    /// The valid versions of one cell, in the scope given.
    static func versions(
        _ db: Database,
        table: String,
        row: Data,
        column: String,
        scope: String
    ) throws -> [CellVersion] {
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT commit_id, hlc, author, value, supersedes FROM _versions
                    WHERE tbl = ? AND row = ? AND col = ? AND valid = 1 AND scope = ?
                    """
            ),
            arguments: [table, row, column, scope]
        )
        return try rows.map(cellVersion)
    }

    /// A `_versions` row (commit_id, hlc, author, value, supersedes) as a cell version.
    static func cellVersion(_ row: Row) throws -> CellVersion {
        let supersedesData: Data? = row["supersedes"]
        var supersedes: [CommitID] = []
        if let supersedesData {
            let bytes = [UInt8](supersedesData)
            supersedes = stride(from: 0, to: bytes.count, by: 32).map {
                CommitID(unchecked: Array(bytes[$0..<$0 + 32]))
            }
        }
        return CellVersion(
            commit: CommitID(unchecked: [UInt8](row["commit_id"] as Data)),
            timestamp: Timestamp(rawValue: UInt64(bitPattern: row["hlc"] as Int64)),
            author: try PublicKey(bytes: [UInt8](row["author"] as Data)),
            value: Value(databaseValue: row["value"] as DatabaseValue),
            supersedes: supersedes
        )
    }

    /// Recomputes the visible values of some columns of a row from the valid versions.
    ///
    /// A row belongs to the smallest scope (by UTF-8 order) that holds valid versions of it; versions
    /// written in other scopes are kept but not shown (a row id reused across scopes is an anomaly).
    /// The caller runs as the engine (`asEngine`). One query reads every valid version of the row.
    func recompute(_ db: Database, table: String, row: Data, columns: Set<String>) throws {
        guard let allColumns = tables[table] else { return }
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT col, scope, commit_id, hlc, author, value, supersedes FROM _versions WHERE tbl = ? AND row = ? AND valid = 1"
            ),
            arguments: [table, row]
        )
        let owning = rows.map { $0["scope"] as String }.min { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        guard let owning else {
            try db.cachedStatement(sql: "DELETE FROM \"\(table)\" WHERE id = ?").execute(arguments: [row])
            try db.cachedStatement(sql: "DELETE FROM _conflicts WHERE tbl = ? AND row = ?").execute(arguments: [
                table, row,
            ])
            return
        }
        var byColumn: [String: [CellVersion]] = [:]
        for version in rows where version["scope"] as String == owning {
            byColumn[version["col"], default: []].append(try Self.cellVersion(version))
        }
        let visibleScope = try String.fetchOne(
            db.cachedStatement(sql: "SELECT scope FROM \"\(table)\" WHERE id = ?"),
            arguments: [row]
        )
        var toCompute = columns
        // Conflicts already open on this row: only those can need deleting (none for a new row).
        let openConflicts =
            visibleScope == nil
            ? []
            : Set(
                try String.fetchAll(
                    db.cachedStatement(sql: "SELECT col FROM _conflicts WHERE tbl = ? AND row = ?"),
                    arguments: [table, row]
                )
            )
        if visibleScope == nil {
            try db.cachedStatement(sql: "INSERT INTO \"\(table)\"(id, scope) VALUES (?, ?)").execute(arguments: [
                row, owning,
            ])
        } else if visibleScope != owning {
            try db.cachedStatement(sql: "UPDATE \"\(table)\" SET scope = ? WHERE id = ?").execute(arguments: [
                owning, row,
            ])
            toCompute = allColumns
        }
        let ordered = toCompute.sorted()
        var values: [DatabaseValue] = []
        for column in ordered {
            if let resolved = Merge.resolve(byColumn[column] ?? []) {
                values.append(resolved.value.databaseValue)
                if resolved.isConflict {
                    try db.cachedStatement(
                        sql: "INSERT OR REPLACE INTO _conflicts(tbl, row, col, scope) VALUES (?, ?, ?, ?)"
                    ).execute(arguments: [table, row, column, owning])
                } else if openConflicts.contains(column) {
                    try db.cachedStatement(sql: "DELETE FROM _conflicts WHERE tbl = ? AND row = ? AND col = ?")
                        .execute(arguments: [table, row, column])
                }
            } else {
                values.append(column == "deleted" ? 0.databaseValue : .null)
                if openConflicts.contains(column) {
                    try db.cachedStatement(sql: "DELETE FROM _conflicts WHERE tbl = ? AND row = ? AND col = ?")
                        .execute(arguments: [table, row, column])
                }
            }
        }
        guard !ordered.isEmpty else { return }
        let assignments = ordered.map { "\"\($0)\" = ?" }.joined(separator: ", ")
        try db.cachedStatement(sql: "UPDATE \"\(table)\" SET \(assignments) WHERE id = ?")
            .execute(arguments: StatementArguments(values + [row.databaseValue]))
    }
}
