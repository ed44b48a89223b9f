import FieldCrypto
import FieldLedger
import FieldStore
import Foundation
import GRDB
import Testing

/// `fieldlog hub serve` killed with SIGKILL while several laptops push at once (the pushes its
/// writer takes together, in one transaction): what a sync was told was taken is on the hub, the
/// hub's file passes `PRAGMA integrity_check` and `fieldlog check` (every row is what its log
/// gives), and after a restart everything converges.
@Suite(.serialized) struct HubCrashTests {
    /// (cadre, enterprise) of each laptop: one device each, and a second device of 王强.
    static let laptops = [
        ("王强", "山东高唐纺织有限公司"), ("李娜", "高唐县金源机械制造有限公司"), ("陈刚", "山东泉林新材料有限公司"),
        ("刘洋", "高唐蓝山新能源科技有限公司"), ("王强", "高唐县鑫盛食品有限公司"),
    ]

    struct Laptop {
        var cli: CLI
        var key: SigningKey
        var enterprise: String
    }

    @Test func killedHubGroupsLoseNoAcknowledgedPush() async throws {
        let seed =
            UInt64(ProcessInfo.processInfo.environment["FIELDLOG_TEST_SEED"] ?? "") ?? UInt64.random(in: 1...1_000_000)
        var rng = CrashTests.SplitMix(state: seed)
        let folder = CLI.temporaryFolder("hub-crash")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let hub = CLI(home: folder + "/hub")
        let created = try await hub.ok(["hub", "init", "--name", "高唐县", "--json"]).json as? [String: String]
        let fingerprint = created?["rootFingerprint"] ?? ""
        for kind in ["departments", "cadres", "enterprises", "linkages"] {
            try await hub.ok(["registry", "import", kind, CLITests.demoData + "/\(kind).csv"])
        }
        var laptops: [Laptop] = []
        for (index, (cadre, enterprise)) in Self.laptops.enumerated() {
            let cli = CLI(home: folder + "/laptop\(index)")
            let key = SigningKey.generate()
            try KeyFile.write(
                key,
                passphrase: "correct horse 正确",
                to: cli.home + "/keys/device.key",
                parameters: .minimum
            )
            try await hub.ok(["registry", "enroll", "--key", key.publicKey.hex, "--role", "cadre", "--cadre", cadre])
            try await hub.ok(["registry", "export-enrollment", "--out", folder + "/enroll\(index).bundle"])
            try await cli.ok(["join", folder + "/enroll\(index).bundle", "--root-fingerprint", fingerprint])
            laptops.append(Laptop(cli: cli, key: key, enterprise: enterprise))
        }
        var killedInFlight = 0
        // Five rounds, and up to five more while no kill has yet caught a push in flight: on a fast
        // run all five syncs may end together, before the kill.
        for round in 0..<10 where round < 5 || killedInFlight == 0 {
            // Each laptop writes a few visits, then all push at once; the hub dies when the first
            // sync ends, with the others' pushes in flight or waiting for its writer.
            var ownHeads: [[String: UInt64]] = []
            for laptop in laptops {
                let ledger = try Ledger.open(path: laptop.cli.home + "/replica.sqlite", root: nil, key: laptop.key)
                for visit in 0..<(5 + Int(rng.next() % 20)) {
                    try ledger.addVisit(VisitInput(enterprise: laptop.enterprise, topics: "第\(round)轮第\(visit)次走访"))
                }
                ownHeads.append(try ledger.replica.heads(of: laptop.key.publicKey))
            }
            let (server, url) = try HubCLITests.serve(hub)
            let clis = laptops.map(\.cli)
            let statuses = try await CLI.offThePool { try Self.syncAllAndKill(clis, hub: url, server: server) }
            killedInFlight += statuses.filter { $0 != 0 }.count
            let hubPath = hub.home + "/replica.sqlite"
            let integrity = try Self.integrity(hubPath)
            #expect(integrity == ["ok"], "seed \(seed) round \(round): \(integrity)")
            // The operator's own check, as the hub's identity: every row is what its log gives.
            let check = try await hub.run(["check", "--json"])
            #expect(check.status == 0, "seed \(seed) round \(round): \(check.stdout.prefix(600)) \(check.stderr)")
            for (index, laptop) in laptops.enumerated() where statuses[index] == 0 {
                let held = try Self.heads(hubPath, of: laptop.key.publicKey)
                for (scope, head) in ownHeads[index] {
                    #expect(
                        (held[scope] ?? 0) >= head,
                        "seed \(seed) round \(round): laptop \(index)'s sync exited 0 with #\(head) of \(scope); the hub holds #\(held[scope] ?? 0)"
                    )
                }
            }
        }
        #expect(killedInFlight > 0, "seed \(seed): the kills never caught a push in flight")
        // Restarted, with no faults: every laptop's commits reach the hub, and the scopes agree.
        let (server, url) = try HubCLITests.serve(hub)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        for _ in 0..<2 {
            for laptop in laptops { try await laptop.cli.ok(["sync", "--hub", url]) }
        }
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(try await hub.run(["check"]).status == 0, "seed \(seed)")
        let hubDigests =
            (try await hub.ok(["status", "--json"]).json as? [String: Any])?["digests"] as? [String: String]
        for (index, laptop) in laptops.enumerated() {
            let digests =
                (try await laptop.cli.ok(["status", "--json"]).json as? [String: Any])?["digests"] as? [String: String]
            #expect(digests?.isEmpty == false, "seed \(seed)")
            for (scope, digest) in digests ?? [:] {
                #expect(hubDigests?[scope] == digest, "seed \(seed): laptop \(index), scope \(scope)")
            }
        }
    }

    static func integrity(_ path: String) throws -> [String] {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: path, configuration: configuration).read { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check")
        }
    }

    /// The heads of one author's feeds in the file, read with SQL (the hub is not running).
    static func heads(_ path: String, of author: PublicKey) throws -> [String: UInt64] {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: path, configuration: configuration).read { db in
            var heads: [String: UInt64] = [:]
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT scope, head_seq FROM _feeds WHERE author = ?",
                arguments: [Data(author.bytes)]
            )
            for row in rows { heads[row["scope"]] = UInt64(row["head_seq"] as Int64) }
            return heads
        }
    }

    /// Starts `fieldlog sync --hub` for every laptop at once, SIGKILLs the hub as soon as the first
    /// of them ends, and returns each sync's exit status. Blocking: run it off the pool.
    static func syncAllAndKill(_ laptops: [CLI], hub url: String, server: Process) throws -> [Int32] {
        let ended = DispatchSemaphore(value: 0)
        var processes: [Process] = []
        for laptop in laptops {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = ["sync", "--hub", url, "--json"]
            var env = ProcessInfo.processInfo.environment
            env["FIELDLOG_HOME"] = laptop.home
            env["FIELDLOG_KDF"] = "minimum"
            env["FIELDLOG_PASSPHRASE"] = "correct horse 正确"
            process.environment = env
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.terminationHandler = { _ in ended.signal() }
            processes.append(process)
        }
        for process in processes { try process.run() }
        ended.wait()
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
        for process in processes { process.waitUntilExit() }
        return processes.map(\.terminationStatus)
    }
}
