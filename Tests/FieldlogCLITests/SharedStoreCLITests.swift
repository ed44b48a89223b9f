import FieldCrypto
import FieldLedger
import Foundation
import Testing

/// The tests' PostgreSQL cluster, when `make test` started one.
let testCluster = ProcessInfo.processInfo.environment["FIELDLOG_TEST_POSTGRES"].flatMap {
    $0.isEmpty ? nil : URLComponents(string: $0)
}

/// `fieldlog hub serve --store`: two hub processes of the built binary on one PostgreSQL database
/// of the tests' private cluster (tools/postgres/with-cluster.sh), with the operator's commands
/// through `$FIELDLOG_STORE` (docs/scale-out.md).
@Suite(.serialized, .enabled(if: testCluster != nil)) struct SharedStoreCLITests {
    static var cluster: URLComponents? { testCluster }

    /// A new database on the tests' cluster (made with Debian's createdb); returns its URL.
    static func database() async throws -> String {
        try await CLI.offThePool { try blockingDatabase() }
    }

    static func blockingDatabase() throws -> String {
        let cluster = try #require(Self.cluster)
        let name = "cli_" + UUID().uuidString.prefix(8).lowercased()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/lib/postgresql/15/bin/createdb")
        process.arguments = [
            "-h", cluster.host ?? "127.0.0.1", "-p", "\(cluster.port ?? 5432)", "-U", cluster.user ?? "", name,
        ]
        process.environment = ["PGPASSWORD": cluster.password ?? ""]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CLI.Failure(message: "createdb failed") }
        var components = cluster
        components.path = "/" + name
        return components.string!
    }

    /// Starts `hub serve --store` on an ephemeral port; returns the process and its URL.
    static func serve(_ hub: CLI, store: String) throws -> (Process, String) {
        let (server, text) = try CLI.start(["hub", "serve", "--port", "0", "--store", store], home: hub.home) {
            $0.contains("listening on") && $0.hasSuffix("\n")
        }
        guard
            let url = text.split(separator: "\n").first(where: { $0.contains("listening on") })?.split(separator: " ")
                .last.map(String.init), url.hasPrefix("http://")
        else {
            kill(server.processIdentifier, SIGKILL)
            throw CLI.Failure(message: "the hub process did not say where it listens: \(text)")
        }
        return (server, url)
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Runs a command to its end; returns its status and output. The output goes to files, not
    /// pipes: a server the command starts (PostgreSQL) may inherit a pipe's end and keep it open,
    /// and reading a pipe to its end would then wait for the server to stop.
    static func shell(_ arguments: [String]) async throws -> CLI.Result {
        try await CLI.offThePool { try blockingShell(arguments) }
    }

    static func blockingShell(_ arguments: [String]) throws -> CLI.Result {
        let base = NSTemporaryDirectory() + "fieldlog-shell-\(UUID().uuidString)"
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return CLI.Result(
            status: process.terminationStatus,
            stdout: String(decoding: FileManager.default.contents(atPath: base + ".out") ?? Data(), as: UTF8.self),
            stderr: String(decoding: FileManager.default.contents(atPath: base + ".err") ?? Data(), as: UTF8.self)
        )
    }

    /// One number from the store, by psql.
    static func count(_ store: String, _ sql: String) async throws -> Int {
        let result = try await shell(["psql", store, "-tAc", sql])
        guard result.status == 0, let value = Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw CLI.Failure(message: "psql failed: \(result.stderr)")
        }
        return value
    }

    /// A county of two folders, a hub and a laptop enrolled through the store: the laptop's visit
    /// of the demo county's 王强, and its key.
    static func county(_ folder: String, store: String) async throws -> (hub: CLI, laptop: CLI, key: String) {
        var hub = CLI(home: folder + "/hub-1")
        let laptop = CLI(home: folder + "/laptop")
        try await hub.ok(["hub", "init", "--name", "高唐县"])
        for kind in ["departments", "cadres", "enterprises", "linkages"] {
            try await hub.ok(["registry", "import", kind, CLITests.demoData + "/\(kind).csv"])
        }
        hub.environment["FIELDLOG_STORE"] = store
        let made =
            try await hub.ok(["hub", "enroll-code", "--role", "cadre", "--cadre", "王强", "--json"]).json
            as? [String: Any]
        let key = try #require(
            (try await laptop.ok(["init", "--json"]).json as? [String: String])?["publicKey"]
        )
        return (hub, laptop, try #require(made?["code"] as? String) + " " + key)
    }

    /// `count` visits written on the laptop in process (as many `visit add` would, faster).
    static func writeVisits(_ laptop: CLI, _ count: Int) async throws {
        try await CLI.offThePool { try blockingWriteVisits(laptop, count) }
    }

    static func blockingWriteVisits(_ laptop: CLI, _ count: Int) throws {
        let key = try KeyFile.read(from: laptop.home + "/keys/device.key", passphrase: "correct horse 正确")
        let ledger = try Ledger.open(path: laptop.home + "/replica.sqlite", root: nil, key: key)
        for index in 0..<count {
            _ = try ledger.addVisit(VisitInput(enterprise: "山东高唐纺织有限公司", topics: "走访 \(index)"))
        }
    }

    @Test func twoHubProcessesServeOneCountyAndTheOperatorRevokesThroughTheStore() async throws {
        let store = try await Self.database()
        let folder = CLI.temporaryFolder("shared")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var operatorShell = CLI(home: folder + "/hub-1")
        operatorShell.environment["FIELDLOG_STORE"] = store
        let first = CLI(home: folder + "/hub-1")
        let second = CLI(home: folder + "/hub-2")
        let laptop = CLI(home: folder + "/laptop")
        let created = try await first.ok(["hub", "init", "--name", "高唐县", "--json"]).json as? [String: String]
        let fingerprint = try #require(created?["rootFingerprint"])
        for kind in ["departments", "cadres", "enterprises", "linkages"] {
            try await first.ok(["registry", "import", kind, CLITests.demoData + "/\(kind).csv"])
        }
        // The second process's folder holds only the root key file.
        try FileManager.default.createDirectory(atPath: second.home + "/keys", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: first.home + "/keys/device.key",
            toPath: second.home + "/keys/device.key"
        )

        // The code goes to the store, so that any process redeems it.
        let made =
            try await operatorShell.ok(["hub", "enroll-code", "--role", "cadre", "--cadre", "王强", "--json"]).json
            as? [String: Any]
        let code = try #require(made?["code"] as? String)
        let (one, url1) = try Self.serve(first, store: store)
        defer { if one.isRunning { kill(one.processIdentifier, SIGKILL) } }
        let (two, url2) = try Self.serve(second, store: store)
        defer { if two.isRunning { kill(two.processIdentifier, SIGKILL) } }

        // Enrolled at the second process, which holds only what it followed from the log.
        try await laptop.ok(["init"])
        try await laptop.ok(["enroll", "--hub", url2, "--code", code, "--root-fingerprint", fingerprint])
        let spent = try await laptop.run(["enroll", "--hub", url1, "--code", code])
        #expect(spent.status != 0, "a spent code is refused at the other process too")
        try await laptop.ok(["visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "用工"])
        let pushed = try await laptop.ok(["sync", "--hub", url1, "--json"]).json as? [String: Any]
        #expect(pushed?["sent"] as? Int == 1)
        #expect((pushed?["divergentScopes"] as? [Any])?.isEmpty == true)
        // The second process may not have followed the log yet when asked: then the laptop sends
        // the commit there too, and it is stored once (idempotent); either way the sync ends with
        // no divergence, and the next one is up to date.
        let elsewhere = try await laptop.ok(["sync", "--hub", url2, "--json"]).json as? [String: Any]
        #expect((elsewhere?["divergentScopes"] as? [Any])?.isEmpty == true)
        #expect((elsewhere?["refusedThere"] as? [Any])?.isEmpty == true)
        #expect(try await laptop.ok(["sync", "--hub", url2]).stdout.contains("up to date"))

        // The operator revokes the laptop through the store, while both processes serve.
        let key = try #require(
            (try await laptop.ok(["key", "--json"]).json as? [String: Any])?["publicKey"] as? String
        )
        try await operatorShell.ok(["hub", "revoke", "--key", key])
        try await laptop.ok(["visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "融资"])
        for url in [url2, url1] {
            let refused = try await laptop.run(["sync", "--hub", url])
            #expect(refused.status != 0, "\(url): \(refused.stdout)")
            #expect(refused.stderr.contains("revoked"), "\(url): \(refused.stderr)")
        }
        // What the first process holds is what the log holds: a rebuilt third process agrees.
        let third = CLI(home: folder + "/hub-3")
        try FileManager.default.createDirectory(atPath: third.home + "/keys", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: first.home + "/keys/device.key",
            toPath: third.home + "/keys/device.key"
        )
        let (three, url3) = try Self.serve(third, store: store)
        defer { if three.isRunning { kill(three.processIdentifier, SIGKILL) } }
        #expect(url3.hasPrefix("http://127.0.0.1:"))
        kill(one.processIdentifier, SIGTERM)
        kill(two.processIdentifier, SIGTERM)
        kill(three.processIdentifier, SIGTERM)
        one.waitUntilExit()
        two.waitUntilExit()
        three.waitUntilExit()
        let visits = try await third.ok(["visit", "list", "--json"]).json as? [Any]
        #expect(visits?.count == 1, "the third process's replica holds the laptop's visit")
    }
}

extension SharedStoreCLITests {
    /// A process killed (SIGKILL) while it takes a push: the laptop syncs again through another
    /// process, and the log ends with each of its commits once and every process agreeing.
    @Test func aProcessKilledInAPushIsRetriedAtAnotherWithNothingLostOrDoubled() async throws {
        let store = try await Self.database()
        let folder = CLI.temporaryFolder("shared-kill")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (hub, laptop, codeAndKey) = try await Self.county(folder, store: store)
        let (code, key) = (String(codeAndKey.split(separator: " ")[0]), String(codeAndKey.split(separator: " ")[1]))
        let second = CLI(home: folder + "/hub-2")
        try FileManager.default.createDirectory(atPath: second.home + "/keys", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: hub.home + "/keys/device.key",
            toPath: second.home + "/keys/device.key"
        )
        let (one, url1) = try Self.serve(hub, store: store)
        defer { if one.isRunning { kill(one.processIdentifier, SIGKILL) } }
        let (two, url2) = try Self.serve(second, store: store)
        defer { if two.isRunning { kill(two.processIdentifier, SIGKILL) } }
        try await laptop.ok(["enroll", "--hub", url1, "--code", code])
        try await Self.writeVisits(laptop, 400)
        let feed = "SELECT count(*) FROM fieldlog_log WHERE author = decode('\(key)', 'hex')"
        #expect(try await Self.count(store, feed) == 0)
        // The push goes to the first process, which is killed once the log holds the push (its
        // transaction committed) and before the laptop had its answer, or earlier.
        let sync = Task { try await laptop.run(["sync", "--hub", url1]) }
        var polls = 0
        while try await Self.count(store, feed) == 0, polls < 2000, one.isRunning { polls += 1 }
        kill(one.processIdentifier, SIGKILL)
        let cut = try await sync.value
        if cut.status != 0 {
            #expect(cut.stderr.split(separator: "\n").count == 1, "one sentence: \(cut.stderr)")
            #expect(!cut.stderr.contains("NIO") && !cut.stderr.contains("errno"), "\(cut.stderr)")
        }
        // Again, through the other process: everything arrives once.
        let retried = try await laptop.ok(["sync", "--hub", url2, "--json"]).json as? [String: Any]
        #expect((retried?["divergentScopes"] as? [Any])?.isEmpty == true, "\(String(describing: retried))")
        #expect((retried?["refusedThere"] as? [Any])?.isEmpty == true)
        #expect(try await Self.count(store, feed) == 400, "each of the laptop's commits is in the log once")
        #expect(try await Self.count(store, "SELECT count(*) FROM fieldlog_log WHERE fork") == 0)
        kill(two.processIdentifier, SIGTERM)
        two.waitUntilExit()
        let visits = try await second.ok(["visit", "list", "--json"]).json as? [Any]
        #expect(visits?.count == 400, "the other process holds every visit")
    }

    /// PostgreSQL stopped while a laptop syncs, then started again: the sync fails in one
    /// sentence, and the next one completes. The laptop pushes two batches (2,000 commits and
    /// 500); the database stops as soon as the first is in the log, so every later request of the
    /// sync (they all record their nonces there) finds it down. The cluster is a private one of
    /// this test, so that the other tests' database is not stopped under them.
    @Test func aDatabaseRestartedDuringASyncFailsItClearlyAndTheNextCompletes() async throws {
        let script = Self.root + "/tools/postgres/cluster.sh"
        let started = try await Self.shell([script, "start"])
        try #require(started.status == 0, "\(started.stderr)")
        func exported(_ name: String) -> String? {
            started.stdout.split(separator: "\n").first { $0.hasPrefix("export \(name)=") }
                .map { String($0.dropFirst("export \(name)=".count)) }
        }
        let store = try #require(exported("FIELDLOG_TEST_POSTGRES"))
        let directory = try #require(exported("FIELDLOG_TEST_PGDIR"))
        defer { _ = try? Self.blockingShell([script, "stop", directory]) }
        let folder = CLI.temporaryFolder("shared-restart")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (hub, laptop, codeAndKey) = try await Self.county(folder, store: store)
        let (code, key) = (String(codeAndKey.split(separator: " ")[0]), String(codeAndKey.split(separator: " ")[1]))
        let (server, url) = try Self.serve(hub, store: store)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        try await laptop.ok(["enroll", "--hub", url, "--code", code])
        try await Self.writeVisits(laptop, 2500)
        let sync = Task { try await laptop.run(["sync", "--hub", url]) }
        let feed = "SELECT count(*) FROM fieldlog_log WHERE author = decode('\(key)', 'hex')"
        var polls = 0
        while try await Self.count(store, feed) == 0, polls < 5000 { polls += 1 }
        let paused = try await Self.shell([script, "pause", directory])
        #expect(paused.status == 0, "\(paused.stderr)")
        let during = try await sync.value
        #expect(during.status != 0, "the sync went on without the database")
        #expect(during.stderr.split(separator: "\n").count == 1, "one sentence: \(during.stderr)")
        #expect(during.stderr.contains("database"), "\(during.stderr)")
        #expect(!during.stderr.contains("PSQL") && !during.stderr.contains("NIO"), "\(during.stderr)")
        let resumed = try await Self.shell([script, "resume", directory])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let after = try await laptop.ok(["sync", "--hub", url, "--json"]).json as? [String: Any]
        #expect((after?["divergentScopes"] as? [Any])?.isEmpty == true, "\(String(describing: after))")
        #expect(server.isRunning, "the hub process rode out the restart")
        #expect(try await Self.count(store, feed) == 2500)
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        let visits = try await hub.ok(["visit", "list", "--json"]).json as? [Any]
        #expect(visits?.count == 2500)
    }
}

extension SharedStoreCLITests {
    /// A hub process with a key of its own, listed by the operator with the role `hub`: it holds no
    /// root key, signs its answers with its own, which the laptop believes because its registry
    /// lists it, enrolls no one, and once revoked is no longer believed (or no longer answers).
    @Test func aProcessWithItsOwnKeyServesUntilTheOperatorRevokesIt() async throws {
        let store = try await Self.database()
        let folder = CLI.temporaryFolder("shared-key")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (hub, laptop, codeAndKey) = try await Self.county(folder, store: store)
        let code = String(codeAndKey.split(separator: " ")[0])
        let process = CLI(home: folder + "/hub-2")
        let processKey = try #require(
            (try await process.ok(["init", "--json"]).json as? [String: String])?["publicKey"]
        )
        let fingerprint = try #require(
            (try await hub.ok(["key", "--json"]).json as? [String: Any])?["fingerprint"] as? String
        )
        // Before the root's process has published the county, there is no root to check against.
        let early = try await process.run(
            ["hub", "serve", "--port", "0", "--store", store, "--root-fingerprint", fingerprint]
        )
        #expect(early.status != 0 && early.stderr.contains("none yet"), "\(early.stderr)")
        let (one, url1) = try Self.serve(hub, store: store)
        defer { if one.isRunning { kill(one.processIdentifier, SIGKILL) } }
        // Another root than the one the operator told: refused, and no replica made.
        let wrongRoot = try await process.run(
            ["hub", "serve", "--port", "0", "--store", store, "--root-fingerprint", "0000-0000-0000-0000-0000"]
        )
        #expect(wrongRoot.status != 0 && wrongRoot.stderr.contains("--root-fingerprint"), "\(wrongRoot.stderr)")
        #expect(!FileManager.default.fileExists(atPath: process.home + "/replica.sqlite"))
        // Not listed yet: it refuses to start, saying what the operator must do.
        let unlisted = try await process.run(
            ["hub", "serve", "--port", "0", "--store", store, "--root-fingerprint", fingerprint]
        )
        #expect(unlisted.status != 0)
        #expect(unlisted.stderr.contains("--role hub"), "\(unlisted.stderr)")
        try await hub.ok(["registry", "enroll", "--key", processKey, "--role", "hub", "--label", "枢纽二号"])
        let (two, url2) = try CLI.start(
            ["hub", "serve", "--port", "0", "--store", store, "--root-fingerprint", fingerprint],
            home: process.home
        ) { $0.contains("listening on") && $0.hasSuffix("\n") }
        defer { if two.isRunning { kill(two.processIdentifier, SIGKILL) } }
        let address = try #require(
            url2.split(separator: "\n").first { $0.contains("listening on") }?.split(separator: " ").last.map(
                String.init
            )
        )
        // It enrolls no one (it has no root key); the root's process does.
        let elsewhere = try await laptop.run(["enroll", "--hub", address, "--code", code])
        #expect(elsewhere.status != 0)
        #expect(elsewhere.stderr.contains("does not enroll"), "\(elsewhere.stderr)")
        try await laptop.ok(["enroll", "--hub", url1, "--code", code])
        try await laptop.ok(["visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "用工"])
        let synced = try await laptop.ok(["sync", "--hub", address, "--json"]).json as? [String: Any]
        #expect(synced?["sent"] as? Int == 1, "answers signed by the process's own key are believed")
        // Revoked: the process stops answering, or the laptop stops believing it once its
        // registry says so; the root's process still serves.
        try await hub.ok(["hub", "revoke", "--key", processKey])
        try await laptop.ok(["visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "融资"])
        var refusals: [String] = []
        for _ in 0..<2 {
            let refused = try await laptop.run(["sync", "--hub", address])
            if refused.status != 0 { refusals.append(refused.stderr) }
        }
        #expect(!refusals.isEmpty, "a revoked process is neither answering nor believed")
        for refusal in refusals {
            #expect(refusal.split(separator: "\n").count == 1, "\(refusal)")
            #expect(refusal.contains("hub process"), "\(refusal)")
        }
        let root = try await laptop.ok(["sync", "--hub", url1, "--json"]).json as? [String: Any]
        #expect((root?["divergentScopes"] as? [Any])?.isEmpty == true)
    }
}
