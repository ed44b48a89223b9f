import FieldCrypto
import FieldLedger
import FieldStore
import Foundation
import GRDB

/// 8. The storage upgrade in place: the merged county, turned back into storage 1's layout (the
/// tables and indexes that code kept, filled from the same commits), opened with this build,
/// which upgrades it in one transaction and compares what it shows before and after. Beside it,
/// the baseline: `VACUUM INTO` of the same storage-1 file (every page read and written once).
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
        progress("storage upgrade \(run)/\(options.repeats): the county in storage 1, opened by this build")
        let folder = NSTemporaryDirectory() + "fieldlog-bench-upgrade-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let storage1 = folder + "/storage-1.sqlite"
        let source = try DatabaseQueue(path: hubPath)
        try source.writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [storage1]) }
        try source.close()
        try downgradeToStorage1(storage1)
        sizes.before = fileMB(storage1)
        let copy = folder + "/baseline.sqlite"
        baseline.append(
            try seconds {
                let queue = try DatabaseQueue(path: storage1)
                try queue.writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
            }
        )
        runs.append(
            try seconds {
                _ = try Ledger.open(path: storage1, root: county.root.publicKey, key: SigningKey.generate())
            }
        )
        sizes.after = fileMB(storage1)
    }
    let ratio = FieldlogBench.median(runs) / FieldlogBench.median(baseline)
    report.add(
        ScenarioResult(
            name: "storage upgrade",
            unit: "s",
            runs: runs,
            baselineName: "VACUUM INTO of the storage-1 file",
            baselineRuns: baseline,
            ratio: ratio,
            target: "reported (docs/operations.md)",
            met: nil,
            figures: [
                "commits": Double(county.commitCount + county.registry.count),
                "storage-1 file MB": sizes.before,
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

/// Storage 2 back to storage 1's tables, indexes and guards, from the same commits: what a
/// replica written by storage-1 code held (docs/storage.md describes both layouts).
func downgradeToStorage1(_ path: String) throws {
    let queue = try DatabaseQueue(path: path)
    try queue.write { db in
        let guards = try String.fetchAll(
            db,
            sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_guard\\_%' ESCAPE '\\'"
        )
        for name in guards { try db.execute(sql: "DROP TRIGGER \"\(name)\"") }
        try db.execute(
            sql: """
                CREATE TABLE _commits_1(
                    id BLOB PRIMARY KEY, author BLOB NOT NULL, scope TEXT NOT NULL, seq INTEGER NOT NULL,
                    hlc INTEGER NOT NULL, schema_version INTEGER NOT NULL, registry_seq INTEGER NOT NULL,
                    body BLOB NOT NULL, signature BLOB NOT NULL, status INTEGER NOT NULL, reason TEXT,
                    reason_code TEXT, received INTEGER NOT NULL);
                INSERT INTO _commits_1 SELECT id, author, scope, seq, hlc, schema_version, registry_seq, body, signature,
                    status, reason, reason_code, received FROM _commits;
                CREATE TABLE _feeds_1(author BLOB NOT NULL, scope TEXT NOT NULL, head_seq INTEGER NOT NULL,
                    fork_seq INTEGER, PRIMARY KEY(author, scope)) WITHOUT ROWID;
                INSERT INTO _feeds_1 SELECT author, scope, head_seq, fork_seq FROM _feeds;
                DROP VIEW _commits;
                DROP TABLE _log;
                DROP TABLE _forks;
                DROP TABLE _feeds;
                ALTER TABLE _commits_1 RENAME TO _commits;
                ALTER TABLE _feeds_1 RENAME TO _feeds;
                CREATE INDEX _commits_feed ON _commits(author, scope, seq);
                CREATE INDEX _commits_waiting ON _commits(author, scope, seq) WHERE status = 1;
                CREATE INDEX _commits_cut_off ON _commits(author) WHERE status = 2 AND reason_code = 'revoked';
                CREATE TABLE _writer(token INTEGER);
                DELETE FROM _meta WHERE key = 'storage_version';
                """
        )
        let tables = try String.fetchAll(
            db,
            sql:
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'"
        )
        for table in tables where try db.columns(in: table).map(\.name).starts(with: ["id", "scope", "deleted"]) {
            for event in ["INSERT", "UPDATE", "DELETE"] {
                try db.execute(
                    sql: """
                        CREATE TRIGGER "_guard_\(table)_\(event.lowercased())" BEFORE \(event) ON "\(table)"
                        WHEN NOT EXISTS (SELECT 1 FROM _writer)
                        BEGIN SELECT RAISE(ABORT, 'fieldlog: \(table) is a replicated table'); END
                        """
                )
            }
        }
    }
    try queue.writeWithoutTransaction { db in try db.execute(sql: "VACUUM") }
}
