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
        let state =
            freshRows.contains(key.row) ? Replica.RowState() : try Replica.rowState(db, table: key.table, row: key.row)
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
            cells.setHeads(
                change.column,
                [RowCells.Head(commit: index, id: change.id, timestamp: change.timestamp)],
                compacting: false
            )
            values[change.column] = change.value
        }
        cells.dropUnusedHeads()
        if state.scope == nil {
            // A new row: the columns no change sets show what the slow path shows for a cell
            // without a version (NULL, and `deleted` 0).
            let columns = replica.rowInserts[key.table]?.columns ?? []
            try insertRow(
                key,
                scope: rowScope,
                values: columns.map { values[$0]?.databaseValue ?? ($0 == "deleted" ? 0.databaseValue : .null) },
                cells: cells
            )
        } else {
            let ordered = values.keys.sorted()
            try updateRow(
                key,
                scope: nil,
                columns: ordered,
                values: ordered.map { values[$0]!.databaseValue },
                cells: cells
            )
        }
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
        let columns = replica.rowInserts[key.table]!.columns
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
        if state.scope == nil {
            try insertRow(key, scope: owning, values: values, cells: cells)
        } else {
            try updateRow(key, scope: owning, columns: columns, values: values, cells: cells)
        }
    }

    /// Inserts a new visible row with every column (`Replica.rowInserts`): `values` are in the
    /// order of its columns. The arguments are existentials: GRDB's initializer from a sequence of
    /// concrete values builds a key path on every call, which cost more than the insert.
    private func insertRow(_ key: RowKey, scope: String, values: [DatabaseValue], cells: RowCells) throws {
        guard let insert = replica.rowInserts[key.table] else {
            throw StoreError(.unknownTable, "no replicated table named \(key.table)")
        }
        var arguments: [(any DatabaseValueConvertible)?] = [key.row.databaseValue, scope.databaseValue]
        arguments.reserveCapacity(values.count + 3)
        for value in values { arguments.append(value) }
        arguments.append(Data(cells.encoded()).databaseValue)
        try db.cachedStatement(sql: insert.sql).execute(arguments: StatementArguments(arguments))
    }

    /// Updates a visible row's columns (its scope too when one is given) and its merge state.
    private func updateRow(
        _ key: RowKey,
        scope: String?,
        columns: [String],
        values: [DatabaseValue],
        cells: RowCells
    )
        throws
    {
        let assigned = (scope == nil ? [] : ["scope"]) + columns + ["_cells"]
        let assignments = assigned.map { "\"\($0)\" = ?" }.joined(separator: ", ")
        var arguments: [(any DatabaseValueConvertible)?] = scope.map { [$0] } ?? []
        arguments.reserveCapacity(values.count + 3)
        for value in values { arguments.append(value) }
        arguments += [Data(cells.encoded()), key.row]
        try db.cachedStatement(sql: "UPDATE \"\(key.table)\" SET \(assignments) WHERE id = ?").execute(
            arguments: StatementArguments(arguments)
        )
    }
}
