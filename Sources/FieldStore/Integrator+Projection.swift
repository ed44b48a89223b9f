import FieldCrypto
import Foundation
import GRDB

/// What one integrating transaction did to one row.
struct RowWork {
    /// One change an applied commit made to the row, in the order the commits were applied.
    struct Change {
        var k: Int64
        var id: CommitID
        var scope: String
        var timestamp: Timestamp
        var column: String
        var value: Value
        var supersedes: [CommitID]
    }

    var applied: [Change] = []
    /// An applied commit that wrote the row was taken back (excluded).
    var unapplied = false
    /// The columns touched (the report counts them).
    var columns: Set<String> = []
}

extension Integrator {
    /// Brings a row's visible values, its merge state (`_cells`) and its open conflicts up to date
    /// with what this transaction applied and took back.
    ///
    /// The fast path: every change applied supersedes every current head of its cell, in the row's
    /// scope, and nothing was taken back; each becomes its cell's only head (`Merge.supersedesEveryHead`
    /// says why that is exact). Anything else takes the slow path: the row is recomputed from the
    /// bodies of every commit applied to it, by the rule of docs/merge.md.
    mutating func project(_ key: RowKey, _ work: RowWork) throws {
        guard replica.tables[key.table] != nil else { return }
        let state = try Replica.rowState(db, table: key.table, row: key.row)
        if !work.unapplied, !state.isTomb, try fastPath(key, work, state) { return }
        try slowPath(key, work, state)
    }

    private mutating func fastPath(_ key: RowKey, _ work: RowWork, _ state: Replica.RowState) throws -> Bool {
        guard let rowScope = state.scope ?? work.applied.first?.scope else { return false }
        var cells = state.cells
        var values: [String: Value] = [:]
        var settled: Set<String> = []
        var currentK: Int64?
        var index = 0
        for change in work.applied {
            guard change.scope == rowScope else { return false }
            if change.k != currentK {
                let inserted = cells.insert(commit: change.k)
                // A commit applied to the row before (taken back and applied again): slow path.
                guard inserted.isNew else { return false }
                index = inserted.index
                currentK = change.k
            }
            let heads = cells.heads(of: change.column)
            // A commit setting one cell twice counts once, its first change.
            if heads.count == 1 && heads[0].id == change.id { continue }
            guard Merge.supersedesEveryHead(change.supersedes, heads: heads.map(\.id)) else { return false }
            if heads.count > 1 { settled.insert(change.column) }
            cells.setHeads(change.column, [RowCells.Head(commit: index, id: change.id, timestamp: change.timestamp)])
            values[change.column] = change.value
        }
        let ordered = values.keys.sorted()
        try writeRow(
            key,
            scope: state.scope == nil ? rowScope : nil,
            isNew: state.scope == nil,
            columns: ordered,
            values: ordered.map { values[$0]!.databaseValue },
            cells: cells
        )
        for column in settled.sorted() {
            try db.cachedStatement(sql: "DELETE FROM _conflicts WHERE tbl = ? AND row = ? AND col = ?")
                .execute(arguments: [key.table, key.row, column])
        }
        return true
    }

    /// Recomputes the whole row from the commits applied to it. A row belongs to the smallest scope
    /// (by UTF-8 order) that holds valid versions of it; versions written in other scopes are kept
    /// but not shown (a row id reused across scopes is an anomaly). A row no valid version shows
    /// any more keeps its merge state in `_tombs`, for its history.
    private mutating func slowPath(_ key: RowKey, _ work: RowWork, _ state: Replica.RowState) throws {
        var cells = state.cells
        for change in work.applied { cells.insert(commit: change.k) }
        let versions = try Replica.appliedVersions(
            db,
            table: key.table,
            row: key.row,
            cells: cells,
            known: decoded,
            cache: commitCache
        )
        let owning = versions.values.joined().map(\.scope).min {
            Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8))
        }
        guard let owning else {
            cells.clearHeads()
            if state.scope != nil {
                try db.cachedStatement(sql: "DELETE FROM \"\(key.table)\" WHERE id = ?").execute(arguments: [key.row])
            }
            try db.cachedStatement(sql: "DELETE FROM _conflicts WHERE tbl = ? AND row = ?").execute(arguments: [
                key.table, key.row,
            ])
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO _tombs(tbl, row, cells) VALUES (?, ?, ?)").execute(
                arguments: [key.table, key.row, Data(cells.encoded())]
            )
            return
        }
        if state.isTomb {
            try db.cachedStatement(sql: "DELETE FROM _tombs WHERE tbl = ? AND row = ?").execute(arguments: [
                key.table, key.row,
            ])
        }
        let openConflicts =
            state.scope == nil
            ? []
            : Set(
                try String.fetchAll(
                    db.cachedStatement(sql: "SELECT col FROM _conflicts WHERE tbl = ? AND row = ?"),
                    arguments: [key.table, key.row]
                )
            )
        let columns = replica.tables[key.table]!.sorted()
        var values: [DatabaseValue] = []
        for column in columns {
            let inScope = (versions[column] ?? []).filter { $0.scope == owning }
            guard let resolved = Merge.resolve(inScope.map(\.version)) else {
                values.append(column == "deleted" ? 0.databaseValue : .null)
                cells.setHeads(column, [])
                if openConflicts.contains(column) {
                    try db.cachedStatement(sql: "DELETE FROM _conflicts WHERE tbl = ? AND row = ? AND col = ?")
                        .execute(arguments: [key.table, key.row, column])
                }
                continue
            }
            values.append(resolved.value.databaseValue)
            let heads = resolved.heads.map { head in
                let k = inScope.first { $0.version.commit == head.commit }!.k
                return RowCells.Head(
                    commit: cells.commits.firstIndex(of: k)!,
                    id: head.commit,
                    timestamp: head.timestamp
                )
            }
            cells.setHeads(column, heads)
            if resolved.isConflict {
                try db.cachedStatement(
                    sql: "INSERT OR REPLACE INTO _conflicts(tbl, row, col, scope) VALUES (?, ?, ?, ?)"
                ).execute(arguments: [key.table, key.row, column, owning])
            } else if openConflicts.contains(column) {
                try db.cachedStatement(sql: "DELETE FROM _conflicts WHERE tbl = ? AND row = ? AND col = ?")
                    .execute(arguments: [key.table, key.row, column])
            }
        }
        try writeRow(key, scope: owning, isNew: state.scope == nil, columns: columns, values: values, cells: cells)
    }

    /// Inserts a row (with its scope) or updates it (its scope too when one is given), with its
    /// merge state.
    private func writeRow(
        _ key: RowKey,
        scope: String?,
        isNew: Bool,
        columns: [String],
        values: [DatabaseValue],
        cells: RowCells
    ) throws {
        let encoded = Data(cells.encoded()).databaseValue
        if isNew {
            let names = (["id", "scope"] + columns + ["_cells"]).map { "\"\($0)\"" }.joined(separator: ", ")
            let marks = Array(repeating: "?", count: columns.count + 3).joined(separator: ", ")
            try db.cachedStatement(sql: "INSERT INTO \"\(key.table)\"(\(names)) VALUES (\(marks))").execute(
                arguments: StatementArguments([key.row.databaseValue, scope.databaseValue] + values + [encoded])
            )
        } else {
            let assigned = (scope == nil ? [] : ["scope"]) + columns + ["_cells"]
            let assignments = assigned.map { "\"\($0)\" = ?" }.joined(separator: ", ")
            try db.cachedStatement(sql: "UPDATE \"\(key.table)\" SET \(assignments) WHERE id = ?").execute(
                arguments: StatementArguments(
                    (scope.map { [$0.databaseValue] } ?? []) + values + [encoded, key.row.databaseValue]
                )
            )
        }
    }
}
