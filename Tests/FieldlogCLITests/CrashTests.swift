import FieldCrypto
import FieldLedger
import Foundation
import GRDB
import Testing

@testable import FieldStore

/// A `fieldlog bundle import` killed with SIGKILL at random points leaves a database that passes
/// `PRAGMA integrity_check`, holds no partial commit, and converges on the next import.
@Suite(.serialized) struct CrashTests {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func killedImportsLeaveNoPartialCommit() async throws {
        let seed =
            UInt64(ProcessInfo.processInfo.environment["FIELDLOG_TEST_SEED"] ?? "") ?? UInt64.random(in: 1...1_000_000)
        var rng = SplitMix(state: seed)
        let folder = CLI.temporaryFolder("crash")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // The source: an operator replica with 1,500 single-visit commits.
        let root = SigningKey.generate()
        let source = try Ledger.open(path: folder + "/source.sqlite", root: root.publicKey, key: root)
        try source.addDepartments([DepartmentInput(name: "县工业和信息化局")])
        try source.addEnterprises([EnterpriseInput(name: "山东高唐纺织有限公司", uscc: "91371082775260043P")])
        for index in 0..<1500 {
            try source.addVisit(VisitInput(enterprise: "山东高唐纺织有限公司", topics: "第\(index)次走访：用工、融资、用地"))
        }
        let bundle = folder + "/big.bundle"
        let total = try CommitBundle.write(from: source.replica, to: bundle)
        let scope = RegistryIDs.scope(of: try source.enterprise(named: "山东高唐纺织有限公司"))
        let expectedDigest = try source.replica.digest(scope: scope)
        // The target: a device folder with a key and an empty replica of the same county.
        let home = folder + "/target"
        let deviceKey = SigningKey.generate()
        try KeyFile.write(deviceKey, passphrase: "p", to: home + "/keys/device.key", parameters: .minimum)
        _ = try Ledger.open(
            path: home + "/replica.sqlite",
            root: root.publicKey,
            publicKey: deviceKey.publicKey,
            signer: nil
        )
        var kills = 0
        for round in 0..<12 {
            let killAfter = 1 + Int(rng.next() % 20)
            if try await CLI.offThePool({ try Self.importAndKill(bundle, home: home, afterProgressLines: killAfter) }) {
                kills += 1
            }
            try checkDatabase(home + "/replica.sqlite", seed: seed, round: round)
        }
        #expect(kills >= 10, "seed \(seed): only \(kills) imports were killed before finishing")
        // A later import completes and converges with the source.
        let result = try await CLI(home: home).run(["bundle", "import", bundle, "--json"], passphrase: nil)
        #expect(result.status == 0, "seed \(seed): \(result.stderr)")
        let target = try Ledger.open(
            path: home + "/replica.sqlite",
            root: nil,
            publicKey: deviceKey.publicKey,
            signer: nil
        )
        #expect(try target.replica.commitCounts().applied == total, "seed \(seed)")
        #expect(try target.replica.digest(scope: scope) == expectedDigest, "seed \(seed)")
    }

    /// Starts `fieldlog bundle import` with a batch of 20 and SIGKILLs it after it has reported
    /// `lines` batches; returns whether it was still running then. Blocking: run it off the pool.
    static func importAndKill(_ bundle: String, home: String, afterProgressLines lines: Int) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["bundle", "import", bundle, "--progress"]
        var env = ProcessInfo.processInfo.environment
        env["FIELDLOG_HOME"] = home
        env["FIELDLOG_BATCH_SIZE"] = "20"
        process.environment = env
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var seen = 0
        var buffer = Data()
        let reader = errors.fileHandleForReading
        while seen < lines {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            seen = buffer.split(separator: UInt8(ascii: "\n")).count
        }
        var killed = false
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            killed = true
        }
        process.waitUntilExit()
        return killed
    }

    func checkDatabase(_ path: String, seed: UInt64, round: Int) throws {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.read { db in
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            #expect(integrity == ["ok"], "seed \(seed) round \(round): \(integrity)")
            // Every applied commit is in the merge state of every row it writes, and no row's merge
            // state lists a commit the log lacks.
            func cells(_ table: String, _ row: Data) throws -> RowCells? {
                let data =
                    try Data.fetchOne(db, sql: "SELECT _cells FROM \"\(table)\" WHERE id = ?", arguments: [row])
                    ?? Data.fetchOne(
                        db,
                        sql: "SELECT cells FROM _tombs WHERE tbl = ? AND row = ?",
                        arguments: [table, row]
                    )
                return try data.map { try RowCells(decoding: [UInt8]($0)) }
            }
            let applied = try Row.fetchAll(db, sql: "SELECT k, body FROM _log WHERE status = 0")
            for row in applied {
                let commit = try CommitCodec.decode([UInt8](row["body"] as Data))
                var listed = 0
                for change in commit.changes {
                    let state = try cells(change.table, Data(change.row.bytes16))
                    if state?.commits.contains(row["k"] as Int64) == true { listed += 1 }
                }
                #expect(listed == commit.changes.count, "seed \(seed) round \(round): partial commit")
            }
            let logged = Set(try Int64.fetchAll(db, sql: "SELECT k FROM _log"))
            var orphans = 0
            let tables = try String.fetchAll(
                db,
                sql:
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'"
            )
            for table in tables {
                for data in try Data.fetchAll(db, sql: "SELECT _cells FROM \"\(table)\"") {
                    orphans += try RowCells(decoding: [UInt8](data)).commits.filter { !logged.contains($0) }.count
                }
            }
            #expect(orphans == 0, "seed \(seed) round \(round)")
            let visits = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM visits") ?? -1
            let visitCommits =
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM _commits WHERE status = 0 AND scope LIKE 'ent:%'") ?? -2
            #expect(visits == visitCommits, "seed \(seed) round \(round): visible rows do not match applied commits")
        }
    }
}
