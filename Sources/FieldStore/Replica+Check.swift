import FieldCrypto
import Foundation
import GRDB

/// What `Replica.check()` found: an operator's fsck, and the tests' oracle.
public struct CheckReport: Sendable, Codable, Equatable {
    /// Stored commits read (applied, held and excluded).
    public var commits = 0
    /// Rows and cells recomputed from the applied commits.
    public var rows = 0
    public var cells = 0
    /// How many differences there are, and the first ones (at most `CheckReport.kept`), in the
    /// order found: the log, the registry's versions, the visible rows, then each row's merge state.
    public var differenceCount = 0
    public var differences: [String] = []
    /// What SQLite's `PRAGMA integrity_check` reported, unless it was "ok".
    public var integrity: [String] = []

    public static let kept = 100

    /// True when nothing differs and SQLite found the file sound.
    public var isClean: Bool { differenceCount == 0 && integrity.isEmpty }

    mutating func differ(_ text: String) {
        differenceCount += 1
        if differences.count < Self.kept { differences.append(text) }
    }
}

extension Replica {
    /// Recomputes every row's state from the log (the bodies of the applied commits, by the rule of
    /// docs/merge.md) and compares it with what is stored: each commit's id and signature, the
    /// stored merge state, every visible row and cell, and the open conflicts. Runs SQLite's
    /// integrity check too. Reads only; safe beside a running hub or app.
    ///
    /// A county's rows are recomputed in parts of about 20,000 commits' worth, so that memory stays
    /// bounded; each part reads the log once.
    public func check(progress: ((String) -> Void)? = nil) throws -> CheckReport {
        try database.read { db in
            var report = CheckReport()
            progress?("SQLite 完整性检查 (integrity check)")
            report.integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM _commits") ?? 0
            report.commits = total
            let parts = max(1, total / 20_000)
            for part in 0..<parts {
                progress?("重算第 \(part + 1)/\(parts) 部分 (recomputing part \(part + 1) of \(parts))")
                try checkPart(db, part: part, of: parts, verify: part == 0, into: &report)
            }
            return report
        }
    }

    private func checkPart(
        _ db: Database,
        part: Int,
        of parts: Int,
        verify: Bool,
        into report: inout CheckReport
    )
        throws
    {
        func inPart(_ row: Data) -> Bool { parts == 1 || Int(row.last ?? 0) % parts == part }
        // The log: every applied commit's changes to rows of this part.
        var logged: [RowKey: [String: [KeyedVersion]]] = [:]
        var applied: Set<CommitID> = []
        // Per row, the keys of every commit in `_log` that writes it, whatever its status.
        var writers: [RowKey: Set<Int64>] = [:]
        let commits = try Row.fetchCursor(
            db,
            // Every commit stored, in the order the file holds them (no sort of the whole log).
            sql: """
                SELECT l.k, l.id, f.author, f.scope, l.k & 4294967295 AS seq, l.status, l.body, l.signature,
                       NULL AS place
                FROM _log l JOIN _feeds f ON f.feed = l.k >> 32
                UNION ALL
                SELECT NULL, x.id, f.author, f.scope, x.seq, 2, x.body, x.signature, (x.feed << 32) | x.seq
                FROM _forks x JOIN _feeds f ON f.feed = x.feed
                """
        )
        while let row = try commits.next() {
            let idData: Data = row["id"]
            let body = [UInt8](row["body"] as Data)
            let signature = [UInt8](row["signature"] as Data)
            let id = CommitID(unchecked: [UInt8](idData))
            let signed: SignedCommit
            do {
                signed =
                    verify
                    ? try WireRecord.decode(WireRecord.encode(body: Data(body), signature: Data(signature)))
                    : try SignedCommit(trustedBody: body, id: id, signature: signature)
            } catch {
                report.differ("commit \(id.hex): its stored bytes do not decode or verify (\(error.message))")
                continue
            }
            let commit = signed.commit
            if verify {
                if signed.id != id { report.differ("commit \(id.hex): its body hashes to \(signed.id.hex)") }
                if Data(commit.author.bytes) != row["author"] as Data || commit.scope != row["scope"] as String
                    || Int64(commit.sequence) != row["seq"] as Int64
                {
                    report.differ("commit \(id.hex): its author, scope or sequence is stored otherwise than signed")
                }
            }
            guard let k = row["k"] as Int64? else {
                // A commit a readmission moved out of its place in `_log` (docs/merge.md,
                // "Readmission") stays named, by that place's key, in the rows it was applied to.
                let place: Int64 = row["place"]
                for change in commit.changes where inPart(Data(change.row.bytes16)) {
                    writers[RowKey(table: change.table, row: Data(change.row.bytes16)), default: []].insert(place)
                }
                continue
            }
            let isApplied = row["status"] as Int == CommitStatus.applied.rawValue
            if isApplied { applied.insert(id) }
            for change in commit.changes {
                let rowData = Data(change.row.bytes16)
                guard inPart(rowData) else { continue }
                let key = RowKey(table: change.table, row: rowData)
                writers[key, default: []].insert(k)
                guard isApplied else { continue }
                let version = KeyedVersion(
                    k: k,
                    scope: commit.scope,
                    version: CellVersion(
                        commit: id,
                        timestamp: commit.timestamp,
                        author: commit.author,
                        value: change.value,
                        supersedes: change.supersedes
                    )
                )
                // A commit setting one cell twice counts once, as the engine stores it.
                var cell = logged[key, default: [:]][change.column, default: []]
                if !cell.contains(where: { $0.version.commit == id }) {
                    cell.append(version)
                    logged[key, default: [:]][change.column] = cell
                }
            }
        }
        try compareStoredVersions(db, logged: logged, applied: applied, inPart: inPart, into: &report)
        try compareVisible(db, logged: logged, inPart: inPart, into: &report)
        try compareMergeState(db, logged: logged, writers: writers, inPart: inPart, into: &report)
    }

    /// The registry's stored versions (`_versions`, which keeps the registry scope only) against the
    /// log.
    private func compareStoredVersions(
        _ db: Database,
        logged: [RowKey: [String: [KeyedVersion]]],
        applied: Set<CommitID>,
        inPart: (Data) -> Bool,
        into report: inout CheckReport
    ) throws {
        var matched = 0
        let stored = try Row.fetchCursor(
            db,
            sql: "SELECT tbl, row, col, commit_id, scope, author, seq, hlc, value, supersedes, valid FROM _versions"
        )
        while let row = try stored.next() {
            let rowData: Data = row["row"]
            guard inPart(rowData) else { continue }
            guard row["scope"] as String == Commit.registryScope else {
                report.differ(
                    "\(row["tbl"] as String) \(Hex.encode(rowData)): a version kept outside the registry scope"
                )
                continue
            }
            let table: String = row["tbl"]
            let column: String = row["col"]
            let version = try Self.cellVersion(row)
            let place = "\(table) \(UUID(bytes16: [UInt8](rowData)).lowercased) \(column), commit \(version.commit.hex)"
            guard row["valid"] as Int == 1 else {
                if applied.contains(version.commit) { report.differ("\(place): stored as not valid, but applied") }
                continue
            }
            guard
                let expected = logged[RowKey(table: table, row: rowData)]?[column]?.first(where: {
                    $0.version.commit == version.commit
                })
            else {
                report.differ("\(place): a valid version with no applied commit writing it")
                continue
            }
            matched += 1
            // `supersedes` is a set: a local write keeps its heads' order, the body a sorted one.
            var alike = version
            alike.supersedes = expected.version.supersedes
            if expected.version != alike || Set(expected.version.supersedes) != Set(version.supersedes)
                || expected.scope != row["scope"] as String
                || Int64(LogKey.sequence(expected.k)) != row["seq"] as Int64
            {
                report.differ("\(place): the stored version differs from the signed change")
            }
        }
        let expectedCount = logged.values.reduce(0) {
            $0 + $1.values.reduce(0) { $0 + $1.count { $0.scope == Commit.registryScope } }
        }
        if matched != expectedCount {
            report.differ("\(expectedCount - matched) applied change(s) have no valid stored version")
        }
    }

    /// Every row's merge state (`_cells`, or `_tombs` for a row no valid version shows) against the
    /// log: the commits it lists are the ones written to the row, every applied one among them, and
    /// each column's heads are the ones the rule gives, winner first.
    private func compareMergeState(
        _ db: Database,
        logged: [RowKey: [String: [KeyedVersion]]],
        writers: [RowKey: Set<Int64>],
        inPart: (Data) -> Bool,
        into report: inout CheckReport
    ) throws {
        var states: [RowKey: RowState] = [:]
        for table in tables.keys.sorted() {
            let rows = try Row.fetchCursor(db, sql: "SELECT id, _cells FROM \"\(table)\"")
            while let row = try rows.next() {
                let id: Data = row[0]
                guard inPart(id) else { continue }
                let place = "\(table) \(UUID(bytes16: [UInt8](id)).lowercased)"
                guard let data = row[1] as Data? else {
                    report.differ("\(place): the row has no merge state (_cells)")
                    continue
                }
                do {
                    states[RowKey(table: table, row: id)] = RowState(
                        scope: "",
                        cells: try RowCells(decoding: [UInt8](data))
                    )
                } catch {
                    report.differ("\(place): its merge state (_cells) does not decode")
                }
            }
        }
        for row in try Row.fetchAll(db, sql: "SELECT tbl, row, cells FROM _tombs") {
            let key = RowKey(table: row[0], row: row[1])
            guard inPart(key.row) else { continue }
            let place = "\(key.table) \(UUID(bytes16: [UInt8](key.row)).lowercased)"
            if states[key] != nil { report.differ("\(place): both a visible row and a tomb") }
            do {
                let cells = try RowCells(decoding: [UInt8](row[2] as Data))
                if !cells.heads.isEmpty { report.differ("\(place): a tomb with heads") }
                states[key] = RowState(scope: nil, cells: cells, isTomb: true)
            } catch {
                report.differ("\(place): its merge state (_tombs) does not decode")
            }
        }
        for (key, state) in states.sorted(by: { a, b in
            a.key.table != b.key.table ? a.key.table < b.key.table : a.key.row.lexicographicallyPrecedes(b.key.row)
        }) {
            let place = "\(key.table) \(UUID(bytes16: [UInt8](key.row)).lowercased)"
            let listed = Set(state.cells.commits)
            if listed.count != state.cells.commits.count { report.differ("\(place): a commit listed twice") }
            if !listed.isSubset(of: writers[key] ?? []) {
                report.differ("\(place): its merge state lists a commit that does not write it")
            }
            let columns = logged[key] ?? [:]
            let applied = Set(columns.values.joined().map(\.k))
            if !applied.isSubset(of: listed) {
                report.differ("\(place): an applied commit writing it is missing from its merge state")
            }
            let owning = columns.values.joined().map(\.scope).min {
                Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8))
            }
            if state.isTomb != (owning == nil) {
                report.differ(
                    state.isTomb ? "\(place): a tomb with applied commits" : "\(place): shown, with no applied commit"
                )
            }
            var expected: [String: [RowCells.Head]] = [:]
            if let owning {
                for (column, versions) in columns {
                    let heads = Merge.heads(of: versions.filter { $0.scope == owning }.map(\.version))
                    guard !heads.isEmpty else { continue }
                    expected[column] = heads.map { head in
                        let k = versions.first { $0.version.commit == head.commit }!.k
                        return RowCells.Head(
                            commit: state.cells.commits.firstIndex(of: k) ?? -1,
                            id: head.commit,
                            timestamp: head.timestamp
                        )
                    }
                }
            }
            for column in Set(expected.keys).union(state.cells.columns.keys).sorted() {
                let stored = state.cells.columns[column] == nil ? [] : state.cells.heads(of: column)
                if stored != (expected[column] ?? []) {
                    report.differ(
                        "\(place) \(column): its stored heads (\(stored.count)) differ from the rule's (\(expected[column]?.count ?? 0))"
                    )
                }
            }
        }
        for key in Set(logged.keys).subtracting(states.keys).sorted(by: { a, b in
            a.table != b.table ? a.table < b.table : a.row.lexicographicallyPrecedes(b.row)
        }) {
            report.differ(
                "\(key.table) \(UUID(bytes16: [UInt8](key.row)).lowercased): no merge state, though applied commits write it"
            )
        }
    }

    /// Every visible row, cell and open conflict against a recompute from the log.
    private func compareVisible(
        _ db: Database,
        logged: [RowKey: [String: [KeyedVersion]]],
        inPart: (Data) -> Bool,
        into report: inout CheckReport
    ) throws {
        var conflicts: Set<String> = []
        let ordered = logged.sorted { a, b in
            a.key.table != b.key.table ? a.key.table < b.key.table : a.key.row.lexicographicallyPrecedes(b.key.row)
        }
        for (key, columns) in ordered {
            let scopes = columns.values.flatMap { $0.map(\.scope) }
            guard let owning = scopes.min(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }),
                let allColumns = tables[key.table]
            else { continue }
            let place = "\(key.table) \(UUID(bytes16: [UInt8](key.row)).lowercased)"
            report.rows += 1
            guard
                let visible = try Row.fetchOne(
                    db,
                    sql: "SELECT * FROM \"\(key.table)\" WHERE id = ?",
                    arguments: [key.row]
                )
            else {
                report.differ("\(place): the log has it, the table has no such row")
                continue
            }
            if visible["scope"] as String != owning {
                report.differ("\(place): shown in scope \(visible["scope"] as String), the log puts it in \(owning)")
            }
            for column in allColumns.sorted() {
                report.cells += 1
                let versions = (columns[column] ?? []).filter { $0.scope == owning }.map(\.version)
                let shown = Value(databaseValue: visible[column] as DatabaseValue)
                if let resolved = Merge.resolve(versions) {
                    if resolved.value != shown,
                        try !Self.storedAlike(db, key: key, column: column, value: resolved.value)
                    {
                        report.differ("\(place) \(column): shows \(shown), the log gives \(resolved.value)")
                    }
                    if resolved.isConflict {
                        conflicts.insert("\(key.table) \(Hex.encode(key.row)) \(column) \(owning)")
                    }
                } else if shown != (column == "deleted" ? .integer(0) : .null) {
                    report.differ("\(place) \(column): shows \(shown), but no applied commit wrote it")
                }
            }
        }
        for table in tables.keys.sorted() {
            let ids = try Data.fetchCursor(db, sql: "SELECT id FROM \"\(table)\"")
            while let id = try ids.next() {
                if inPart(id), logged[RowKey(table: table, row: id)] == nil {
                    report.differ(
                        "\(table) \(UUID(bytes16: [UInt8](id)).lowercased): a visible row no applied commit wrote"
                    )
                }
            }
        }
        var stored: Set<String> = []
        for row in try Row.fetchAll(db, sql: "SELECT tbl, row, col, scope FROM _conflicts") {
            let rowData: Data = row["row"]
            guard inPart(rowData) else { continue }
            stored.insert(
                "\(row["tbl"] as String) \(Hex.encode(rowData)) \(row["col"] as String) \(row["scope"] as String)"
            )
        }
        for missing in conflicts.subtracting(stored).sorted() {
            report.differ("conflict \(missing): open by the log, not stored")
        }
        for extra in stored.subtracting(conflicts).sorted() {
            report.differ("conflict \(extra): stored, but the log has no conflict there")
        }
    }

    /// Whether a cell shows `value` as its column stores it: SQLite applies the column's affinity
    /// to a bound value it compares with (a REAL 3.0 in an INTEGER column reads back as 3).
    private static func storedAlike(_ db: Database, key: RowKey, column: String, value: Value) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: "SELECT \"\(column)\" IS ? FROM \"\(key.table)\" WHERE id = ?",
            arguments: [value.databaseValue, key.row]
        ) ?? false
    }
}
