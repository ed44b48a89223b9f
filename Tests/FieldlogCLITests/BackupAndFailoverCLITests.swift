import Foundation
import Testing

/// docs/operations.md's backup and failover runbook, followed step by step on clusters of the
/// tests' own (tools/postgres/cluster.sh), with hub processes of the built binary: a county is
/// restored from a base backup and the archived WAL, and fails over to a synchronous streaming
/// standby. Each time a process on a new folder rebuilds its replica from the log, and a laptop's
/// sync finds it holding the same state (no divergent scope), pushing again only what a restore
/// lost.
@Suite(.serialized, .enabled(if: testCluster != nil)) struct BackupAndFailoverCLITests {
    static let script = SharedStoreCLITests.root + "/tools/postgres/cluster.sh"

    /// A cluster folder and its URL, from the exports cluster.sh prints.
    struct Cluster {
        var folder: String
        var url: String
    }

    static func cluster(_ arguments: [String]) async throws -> Cluster {
        let result = try await SharedStoreCLITests.shell(["bash", script] + arguments)
        func value(_ name: String) -> String? {
            result.stdout.split(separator: "\n").first { $0.hasPrefix("export \(name)=") }
                .map { String($0.dropFirst("export \(name)=".count)) }
        }
        guard result.status == 0, let folder = value("FIELDLOG_TEST_PGDIR"), let url = value("FIELDLOG_TEST_POSTGRES")
        else { throw CLI.Failure(message: "cluster.sh \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
        return Cluster(folder: folder, url: url)
    }

    static func step(_ arguments: [String]) async throws {
        let result = try await SharedStoreCLITests.shell(["bash", script] + arguments)
        guard result.status == 0 else {
            throw CLI.Failure(message: "cluster.sh \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
    }

    static func psql(_ url: String, _ sql: String) async throws -> String {
        let result = try await SharedStoreCLITests.shell(["psql", url, "-tAc", sql])
        guard result.status == 0 else { throw CLI.Failure(message: "psql failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A laptop's sync with one process: what it pushed, and that it agrees with the hub.
    static func sync(_ laptop: CLI, _ hub: String) async throws -> Int {
        let result = try await laptop.ok(["sync", "--hub", hub, "--json"]).json as? [String: Any]
        #expect((result?["divergentScopes"] as? [Any])?.isEmpty == true, "\(String(describing: result))")
        return try #require(result?["sent"] as? Int)
    }

    /// A process on a new folder holding only the root key file, on `store`.
    static func process(_ hub: CLI, _ name: String, folder: String, store: String) throws -> (Process, String) {
        let fresh = CLI(home: folder + "/" + name)
        try FileManager.default.createDirectory(atPath: fresh.home + "/keys", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: hub.home + "/keys/device.key", toPath: fresh.home + "/keys/device.key")
        return try SharedStoreCLITests.serve(fresh, store: store)
    }

    @Test func aCountyIsRestoredFromItsBackupAndFailsOverToItsStandby() async throws {
        let folder = CLI.temporaryFolder("backup")
        var clusters: [String] = []
        var servers: [Process] = []
        defer {
            for server in servers where server.isRunning { kill(server.processIdentifier, SIGKILL) }
            for cluster in clusters {
                _ = try? SharedStoreCLITests.blockingShell(["bash", Self.script, "stop", cluster])
            }
            try? FileManager.default.removeItem(atPath: folder)
        }
        // Backups, step 1: archiving on.
        let primary = try await Self.cluster(["start"])
        clusters.append(primary.folder)
        try await Self.step(["archive", primary.folder])
        let (hub, laptop, codeAndKey) = try await SharedStoreCLITests.county(folder, store: primary.url)
        let (one, url1) = try SharedStoreCLITests.serve(hub, store: primary.url)
        servers.append(one)
        try await laptop.ok(["enroll", "--hub", url1, "--code", String(codeAndKey.split(separator: " ")[0])])
        // The laptop's commits in a log.
        let laptops =
            "SELECT count(*) FROM fieldlog_log WHERE author = decode('\(codeAndKey.split(separator: " ")[1])', 'hex')"
        try await SharedStoreCLITests.writeVisits(laptop, 4)
        #expect(try await Self.sync(laptop, url1) == 4)

        // Step 2: the base backup; then more syncs, whose WAL is archived.
        try await Self.step(["basebackup", primary.folder])
        try await SharedStoreCLITests.writeVisits(laptop, 3)
        #expect(try await Self.sync(laptop, url1) == 3)
        let segment = try await Self.psql(primary.url, "SELECT pg_walfile_name(pg_switch_wal())")
        var archived = false
        for _ in 0..<600 where !archived {
            archived =
                try await Self.psql(
                    primary.url,
                    "SELECT count(*) FROM pg_stat_archiver WHERE last_archived_wal >= '\(segment)'"
                ) == "1"
        }
        #expect(archived, "the segment \(segment) was archived")

        // A streaming standby, synchronous (failover steps 1 and 2); two more visits, acknowledged
        // only once the standby holds them.
        let standby = try await Self.cluster(["standby", primary.folder])
        clusters.append(standby.folder)
        try await Self.step(["synchronous", primary.folder])
        try await SharedStoreCLITests.writeVisits(laptop, 2)
        #expect(try await Self.sync(laptop, url1) == 2)

        // The primary's machine dies with its process: the WAL of the last two visits was never
        // archived.
        kill(one.processIdentifier, SIGKILL)
        one.waitUntilExit()
        try await Self.step(["crash", primary.folder])

        // Failover step 3: promote the standby; a process on a new folder rebuilds its replica
        // from the log, and holds everything the laptop synced.
        try await Self.step(["promote", standby.folder])
        let (two, url2) = try Self.process(hub, "after-failover", folder: folder, store: standby.url)
        servers.append(two)
        #expect(try await Self.sync(laptop, url2) == 0, "nothing acknowledged was lost")
        #expect(try await SharedStoreCLITests.count(standby.url, laptops) == 9)

        // Backups, step 3: the base backup and the archive make a new cluster; step 4, a process
        // on a new folder. The laptop pushes again what the restore lost, and they agree.
        let restored = try await Self.cluster(["restore", primary.folder])
        clusters.append(restored.folder)
        let inLog = try await SharedStoreCLITests.count(restored.url, laptops)
        #expect(inLog == 7, "the visits synced before the archived segment ended are restored, not the last two")
        let (three, url3) = try Self.process(hub, "after-restore", folder: folder, store: restored.url)
        servers.append(three)
        #expect(try await Self.sync(laptop, url3) == 2)
        #expect(try await Self.sync(laptop, url3) == 0)
        for server in [two, three] {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
            #expect(server.terminationStatus == 0)
        }
    }
}
