import FieldCrypto
import FieldLedger
import FieldStore
import Foundation
import GRDB

/// 8. The storage upgrade in place: the merged county, turned back into storage 2's layout (a
/// `_versions` row per cell of every commit ever applied, no `_cells`, no `_tombs`, filled from
/// the same commits), opened with this build, which upgrades it in one transaction and compares
/// what it shows, every row's history included, before and after. Beside it, the baseline:
/// `VACUUM INTO` of the same storage-2 file (every page read and written once).
func runStorageUpgrade(
    _ county: SyntheticCounty,
    hubPath: String,
    _ options: Options,
    _ report: inout BenchReport
)
    throws
{
    var runs: [Double] = []
    var baseline: [Double] = []
    var sizes: (before: Double, after: Double) = (0, 0)
    for run in 1...options.repeats {
        progress("storage upgrade \(run)/\(options.repeats): the county in storage 2, opened by this build")
        let folder = NSTemporaryDirectory() + "fieldlog-bench-upgrade-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let storage2 = folder + "/storage-2.sqlite"
        let source = try DatabaseQueue(path: hubPath)
        try source.writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [storage2]) }
        try source.close()
        try downgradeToStorage2(storage2)
        sizes.before = fileMB(storage2)
        let copy = folder + "/baseline.sqlite"
        baseline.append(
            try seconds {
                let queue = try DatabaseQueue(path: storage2)
                try queue.writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
            }
        )
        runs.append(
            try seconds {
                _ = try Ledger.open(path: storage2, root: county.root.publicKey, key: SigningKey.generate())
            }
        )
        sizes.after = fileMB(storage2)
    }
    let ratio = FieldlogBench.median(runs) / FieldlogBench.median(baseline)
    report.add(
        ScenarioResult(
            name: "storage upgrade",
            unit: "s",
            runs: runs,
            baselineName: "VACUUM INTO of the storage-2 file",
            baselineRuns: baseline,
            ratio: ratio,
            target: "reported (docs/operations.md)",
            met: nil,
            figures: [
                "commits": Double(county.commitCount + county.registry.count),
                "storage-2 file MB": sizes.before,
                "upgraded file MB (before VACUUM)": sizes.after,
            ]
        )
    )
}

func fileMB(_ path: String) -> Double {
    let bytes = ["", "-wal"].compactMap {
        (try? FileManager.default.attributesOfItem(atPath: path + $0)[.size] as? Int) ?? nil
    }
    return Double(bytes.reduce(0, +)) / 1e6
}

/// Storage 3 back to storage 2, from the same commits: each row's commits, read from its merge
/// state (`_cells`, or `_tombs`; the encoding is in docs/storage.md), give back its `_versions`
/// rows (valid while the commit is applied; a commit setting a cell twice keeps its first change),
/// and the storage-3 additions go.
func downgradeToStorage2(_ path: String) throws {
    let queue = try DatabaseQueue(path: path)
    try queue.write { db in
        let tables = try String.fetchAll(
            db,
            sql:
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'"
        ).filter { try db.columns(in: $0).contains { $0.name == "_cells" } }
        let insert = try db.makeStatement(
            sql: """
                INSERT INTO _versions(tbl, row, col, commit_id, scope, author, seq, hlc, value, supersedes, valid)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """
        )
        let read = try db.makeStatement(sql: "SELECT id, status, body FROM _log WHERE k = ?")
        var states: [(table: String, row: Data, cells: Data)] = []
        for table in tables {
            for row in try Row.fetchAll(db, sql: "SELECT id, _cells FROM \"\(table)\"") {
                states.append((table, row[0], row[1]))
            }
        }
        for row in try Row.fetchAll(db, sql: "SELECT tbl, row, cells FROM _tombs") {
            states.append((row[0], row[1], row[2]))
        }
        // A registry import writes hundreds of rows in one commit: decode such a commit once.
        var large: [Int64: Commit] = [:]
        for state in states {
            let id = UUID(bytes16: [UInt8](state.row))
            for k in mergeStateCommits([UInt8](state.cells)) {
                guard let logged = try Row.fetchOne(read, arguments: [k]) else { continue }
                let commit = try large[k] ?? CommitCodec.decode([UInt8](logged[2] as Data))
                if commit.changes.count >= 16 { large[k] = commit }
                guard commit.scope != "registry" else { continue }
                for change in commit.changes where change.row == id && change.table == state.table {
                    try insert.execute(arguments: [
                        change.table, state.row, change.column, logged[0] as Data, commit.scope,
                        Data(commit.author.bytes), Int64(commit.sequence), Int64(bitPattern: commit.timestamp.rawValue),
                        change.value.databaseValue,
                        change.supersedes.isEmpty ? nil : Data(change.supersedes.flatMap(\.bytes)),
                        logged[1] as Int == 0 ? 1 : 0,
                    ])
                }
            }
        }
        let guards = try String.fetchAll(
            db,
            sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_guard\\_%' ESCAPE '\\'"
        )
        // The guards call fieldlog_engine(), which this plain connection lacks: set aside and back.
        let definitions = try String.fetchAll(
            db,
            sql: "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_guard\\_%' ESCAPE '\\'"
        )
        for name in guards { try db.execute(sql: "DROP TRIGGER \"\(name)\"") }
        for table in tables { try db.execute(sql: "ALTER TABLE \"\(table)\" DROP COLUMN _cells") }
        for definition in definitions { try db.execute(sql: definition) }
        try db.execute(sql: "DROP TABLE _tombs; UPDATE _meta SET value = '2' WHERE key = 'storage_version'")
    }
    try queue.writeWithoutTransaction { db in try db.execute(sql: "VACUUM") }
}

/// The commit keys at the head of a row's merge state (docs/storage.md, storage 3): a format byte
/// 1, a varint count, then each key as a varint.
func mergeStateCommits(_ bytes: [UInt8]) -> [Int64] {
    var offset = 1
    func varint() -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { break }
            shift += 7
        }
        return value
    }
    guard bytes.first == 1 else { return [] }
    return (0..<varint()).map { _ in Int64(bitPattern: varint()) }
}
