import FieldCrypto
import Foundation
import GRDB

extension Replica {
    /// Checks that every change names a known table and writable column, and that `deleted` is 0 or 1.
    func validateChanges(_ changes: [Change]) -> StoreError? {
        for change in changes {
            if let error = validateChange(change) { return error }
        }
        return nil
    }

    /// `validateChanges` for one change (a local write checks each cell as it is set).
    func validateChange(_ change: Change) -> StoreError? {
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
        if case .text(let text) = change.value, Self.containsNUL(text) {
            return StoreError(
                .invalidValue,
                "text in \(change.table).\(change.column) contains a NUL character (U+0000), which fieldlog does not store; remove it"
            )
        }
        return nil
    }

    static func containsNUL(_ text: String) -> Bool {
        let found = text.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.isEmpty ? false : memchr(bytes.baseAddress!, 0, bytes.count) != nil
        }
        return found ?? text.utf8.contains(0)
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

    /// A row's place and merge state: its scope when a visible row shows it, and its `_cells` (or
    /// its `_tombs` entry, when every version of it is excluded).
    struct RowState {
        var scope: String?
        var cells = RowCells()
        var isTomb = false
    }

    static func rowState(_ db: Database, table: String, row: Data) throws -> RowState {
        if let visible = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT scope, _cells FROM \"\(table)\" WHERE id = ?"),
            arguments: [row]
        ) {
            guard let data = visible[1] as Data? else {
                throw StoreError(
                    .database,
                    "row \(UUID(bytes16: [UInt8](row)).lowercased) of \(table) has no merge state; run fieldlog check"
                )
            }
            return RowState(scope: visible[0], cells: try RowCells(decoding: [UInt8](data)))
        }
        if let data = try Data.fetchOne(
            db.cachedStatement(sql: "SELECT cells FROM _tombs WHERE tbl = ? AND row = ?"),
            arguments: [table, row]
        ) {
            return RowState(scope: nil, cells: try RowCells(decoding: [UInt8](data)), isTomb: true)
        }
        return RowState()
    }

    /// A commit held in the log, by its key.
    struct LoggedCommit {
        var signed: SignedCommit
        var status: CommitStatus
        var reason: String?
    }

    static func loggedCommit(
        _ db: Database,
        k: Int64,
        known: [CommitID: SignedCommit] = [:],
        cache: CommitCache? = nil
    ) throws -> LoggedCommit? {
        if let signed = cache?.entries[k] {
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT status, reason FROM _log WHERE k = ?"),
                    arguments: [k]
                )
            else { return nil }
            return LoggedCommit(signed: signed, status: CommitStatus(rawValue: row[0]) ?? .excluded, reason: row[1])
        }
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, status, reason, body, signature FROM _log WHERE k = ?"),
                arguments: [k]
            )
        else { return nil }
        let id = try CommitID(bytes: [UInt8](row[0] as Data))
        let signed =
            try known[id]
            ?? SignedCommit(trustedBody: [UInt8](row[3] as Data), id: id, signature: [UInt8](row[4] as Data))
        cache?.keep(signed, at: k)
        return LoggedCommit(signed: signed, status: CommitStatus(rawValue: row[1]) ?? .excluded, reason: row[2])
    }

    /// Decoded commits by log key, for reads that meet one commit on many rows: a registry import
    /// writes hundreds of rows in one commit, and decoding its body once per row would make reading
    /// them quadratic. Only commits of several changes are kept, and at most `capacity`.
    final class CommitCache {
        fileprivate var entries: [Int64: SignedCommit] = [:]
        let capacity: Int

        init(capacity: Int = 64) { self.capacity = capacity }

        fileprivate func keep(_ signed: SignedCommit, at k: Int64) {
            guard signed.commit.changes.count >= 16 else { return }
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[k] = signed
        }

        /// Drops what is kept for a key whose commit moved (a readmission swaps the commits of a
        /// place between `_log` and `_forks`).
        func forget(_ k: Int64) { entries[k] = nil }
    }

    /// One version of a cell with the commit's key and scope.
    struct KeyedVersion {
        var k: Int64
        var scope: String
        var version: CellVersion
    }

    /// Every valid version of a row, by column: the changes to it of every commit in its merge
    /// state that is applied now. A commit setting one cell twice counts once, its first change.
    static func appliedVersions(
        _ db: Database,
        table: String,
        row: Data,
        cells: RowCells,
        known: [CommitID: SignedCommit] = [:],
        cache: CommitCache? = nil
    ) throws -> [String: [KeyedVersion]] {
        let id = UUID(bytes16: [UInt8](row))
        var byColumn: [String: [KeyedVersion]] = [:]
        for k in cells.commits {
            guard let logged = try loggedCommit(db, k: k, known: known, cache: cache), logged.status == .applied
            else { continue }
            let commit = logged.signed.commit
            for change in commit.changes where change.row == id && change.table == table {
                if byColumn[change.column]?.contains(where: { $0.k == k }) == true { continue }
                byColumn[change.column, default: []].append(
                    KeyedVersion(
                        k: k,
                        scope: commit.scope,
                        version: CellVersion(
                            commit: logged.signed.id,
                            timestamp: commit.timestamp,
                            author: commit.author,
                            value: change.value,
                            supersedes: change.supersedes
                        )
                    )
                )
            }
        }
        return byColumn
    }

    /// The heads of one cell, winner first, each with the value its commit wrote.
    static func cellHeads(
        _ db: Database,
        table: String,
        row: Data,
        column: String,
        state known: RowState? = nil,
        cache: CommitCache? = nil
    ) throws -> [CellVersion] {
        let state = try known ?? rowState(db, table: table, row: row)
        let id = UUID(bytes16: [UInt8](row))
        var heads: [CellVersion] = []
        for head in state.cells.heads(of: column) {
            guard let logged = try loggedCommit(db, k: state.cells.commits[head.commit], cache: cache),
                logged.signed.id == head.id,
                let change = logged.signed.commit.changes.first(where: {
                    $0.row == id && $0.table == table && $0.column == column
                })
            else {
                throw StoreError(
                    .database,
                    "a head of \(table) \(id.lowercased) \(column) is missing from the log; run fieldlog check"
                )
            }
            heads.append(
                CellVersion(
                    commit: head.id,
                    timestamp: logged.signed.commit.timestamp,
                    author: logged.signed.commit.author,
                    value: change.value,
                    supersedes: change.supersedes
                )
            )
        }
        return Merge.heads(of: heads)
    }
}
