import Foundation
import Testing

/// `fieldlog hub init|serve` and `fieldlog sync` through the built binary, on a loopback port.
@Suite(.serialized) struct HubCLITests {
    /// Starts `fieldlog hub serve` on an ephemeral loopback port; returns the process and its URL.
    static func serve(_ hub: CLI) throws -> (Process, String) {
        let (server, text) = try CLI.start(["hub", "serve", "--port", "0"], home: hub.home) { $0.contains("\n") }
        guard let url = text.split(separator: " ").last.map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }),
            url.hasPrefix("http://")
        else {
            kill(server.processIdentifier, SIGKILL)
            throw CLI.Failure(message: "the hub did not say where it listens: \(text)")
        }
        return (server, url)
    }

    /// Runs a Python script of the repository (path relative to its root) and collects its output.
    /// The wait happens off the cooperative pool (`CLI.offThePool`).
    static func python(_ script: String, _ arguments: [String]) async throws -> CLI.Result {
        try await CLI.offThePool { try blockingPython(script, arguments) }
    }

    static func blockingPython(_ script: String, _ arguments: [String]) throws -> CLI.Result {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent(script).path] + arguments
        // Standard error goes to a file, so that a long report there cannot fill a pipe while
        // standard output is being read.
        let errPath = NSTemporaryDirectory() + "fieldlog-python-stderr-\(UUID().uuidString).txt"
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = FileManager.default.contents(atPath: errPath) ?? Data()
        return CLI.Result(
            status: process.terminationStatus,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self)
        )
    }

    /// An independent client (tools/interop/fieldlog_client.py: Python, the `http-message-signatures`
    /// package, no fieldlog code) enrolls with a one-time code, syncs everything it may read,
    /// verifies the hub's signature on every response and every commit's signature, and sees a
    /// body changed after signing refused. With another hub key expected, it refuses the hub.
    @Test func anIndependentPythonClientSyncsWithTheHub() async throws {
        let folder = CLI.temporaryFolder("interop")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let hub = CLI(home: folder + "/hub")
        let created = try await hub.ok(["hub", "init", "--name", "高唐县", "--json"]).json as? [String: String]
        let rootKey = try #require(created?["rootKey"], "hub init printed \(String(describing: created))")
        for kind in ["departments", "cadres", "enterprises", "linkages"] {
            try await hub.ok(["registry", "import", kind, CLITests.demoData + "/\(kind).csv"])
        }
        try await hub.ok(["visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "用工"])
        func code() async throws -> String {
            let made =
                try await hub.ok(["hub", "enroll-code", "--role", "cadre", "--cadre", "王强", "--json"]).json
                as? [String: Any]
            return try #require(made?["code"] as? String)
        }
        let (good, other) = (try await code(), try await code())
        let (server, url) = try Self.serve(hub)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        func client(_ arguments: [String]) async throws -> CLI.Result {
            try await Self.python("tools/interop/fieldlog_client.py", ["--hub", url] + arguments)
        }
        let export = folder + "/工作台账.csv"
        try await hub.ok(["export", "ledger", "--out", export, "--sign"])
        let result = try await client(["--code", good, "--hub-key", rootKey, "--export", export])
        #expect(result.status == 0, "\(result.stderr)")
        let seen = result.json as? [String: Any]
        #expect((seen?["registryCommits"] as? Int ?? 0) > 0)
        #expect(
            (seen?["commitsPulled"] as? Int ?? 0) > (seen?["registryCommits"] as? Int ?? 0),
            "the visit's scope came too"
        )
        #expect(seen?["tamperedRefusal"] as? String == "digest_mismatch")
        // Written from the docs alone, it agrees with the code on the heads digest (the summary
        // says up to date), on the answer's binding to its request, and on the export signature.
        #expect(seen?["upToDateByDigest"] as? Bool == true)
        #expect(seen?["answerBoundToItsRequest"] as? Bool == true)
        #expect(seen?["exportVerified"] as? Bool == true)
        #expect(seen?["changedExportRefused"] as? Bool == true)
        let refused = try await client(["--code", other, "--hub-key", String(repeating: "ab", count: 32)])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("another key"))
    }

    /// Schema-driven fuzzing (tools/apifuzz/fuzz_api.py, schemathesis from PyPI, driven by
    /// docs/openapi.yaml): requests that conform and that break the description, signed by an
    /// enrolled device, by a stranger, with made-up signature headers, and replayed. No 5xx, every
    /// response as described and signed by the hub, a replay refused as such. The seed is printed
    /// and appears in the failure message; FIELDLOG_APIFUZZ_EXAMPLES raises the bound.
    @Test func schemathesisFindsNoFaultInTheHubAPI() async throws {
        let folder = CLI.temporaryFolder("apifuzz")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let hub = CLI(home: folder + "/hub")
        let created = try await hub.ok(["hub", "init", "--name", "高唐县", "--json"]).json as? [String: String]
        let rootKey = try #require(created?["rootKey"])
        for kind in ["departments", "cadres", "enterprises", "linkages"] {
            try await hub.ok(["registry", "import", kind, CLITests.demoData + "/\(kind).csv"])
        }
        try await hub.ok(["visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "用工"])
        try await hub.ok(["demand", "add", "--enterprise", "山东高唐纺织有限公司", "--title", "招工", "--content", "熟练挡车工50名"])
        let made =
            try await hub.ok(["hub", "enroll-code", "--role", "cadre", "--cadre", "王强", "--json"]).json
            as? [String: Any]
        let code = try #require(made?["code"] as? String)
        let (server, url) = try Self.serve(hub)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let examples = ProcessInfo.processInfo.environment["FIELDLOG_APIFUZZ_EXAMPLES"] ?? "25"
        let result = try await Self.python(
            "tools/apifuzz/fuzz_api.py",
            ["--hub", url, "--code", code, "--hub-key", rootKey, "--examples", examples]
        )
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("ok: "), "\(result.stdout)")
        #expect(server.isRunning, "the hub survived the fuzzing")
    }

    @Test func laptopSyncsWithAServedHubAndTheHubStopsGracefully() async throws {
        let folder = CLI.temporaryFolder("hub")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let hub = CLI(home: folder + "/hub")
        let laptop = CLI(home: folder + "/laptop")
        let created = try await hub.ok(["hub", "init", "--name", "高唐县", "--json"]).json as? [String: String]
        let fingerprint = created?["rootFingerprint"] ?? ""
        for kind in ["departments", "cadres", "enterprises", "linkages"] {
            try await hub.ok(["registry", "import", kind, CLITests.demoData + "/\(kind).csv"])
        }
        let key = (try await laptop.ok(["init", "--json"]).json as? [String: String])?["publicKey"] ?? ""
        try await hub.ok(["registry", "enroll", "--key", key, "--role", "cadre", "--cadre", "王强"])
        try await hub.ok(["registry", "export-enrollment", "--out", folder + "/enroll.bundle"])
        try await laptop.ok(["join", folder + "/enroll.bundle", "--root-fingerprint", fingerprint])

        let (server, url) = try Self.serve(hub)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        #expect(url.hasPrefix("http://127.0.0.1:"))

        try await laptop.ok(["visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "用工"])
        let first = try await laptop.ok(["sync", "--hub", url, "--json"]).json as? [String: Any]
        #expect(first?["sent"] as? Int == 1)
        #expect((first?["divergentScopes"] as? [Any])?.isEmpty == true)
        let again = try await laptop.ok(["sync", "--hub", url]).stdout
        #expect(again.contains("up to date"))
        // The hub's address is remembered: `fieldlog sync` alone syncs with it.
        #expect(try await laptop.ok(["sync"]).stdout.contains("up to date"))
        // A second hub on the same port says so in one sentence.
        let taken = try await hub.run(["hub", "serve", "--port", String(url.split(separator: ":").last ?? "")])
        #expect(taken.status == 1)
        #expect(taken.stderr.contains("is in use") && !taken.stderr.contains("errno"), "\(taken.stderr)")
        let visits = try await hub.ok(["visit", "list", "--json"]).json as? [Any]
        #expect(visits?.count == 1)
        // A wrong address is one clear sentence and a non-zero exit.
        let unreachable = try await laptop.run(["sync", "--hub", "http://127.0.0.1:1"])
        #expect(unreachable.status == 1)
        #expect(unreachable.stderr.contains("cannot reach the hub"))
        // Refused at once, in one sentence with no library internals (it took 10 s, printing errno).
        #expect(
            unreachable.stderr.contains("connection refused") && !unreachable.stderr.contains("errno"),
            "\(unreachable.stderr)"
        )
        let secure = try await laptop.run(["sync", "--hub", url.replacingOccurrences(of: "http://", with: "https://")])
        #expect(secure.status == 1)
        #expect(
            secure.stderr.contains("https") && !secure.stderr.contains("/home/") && !secure.stderr.contains("NIOSSL"),
            "\(secure.stderr)"
        )
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(server.terminationReason == .exit)
        #expect(server.terminationStatus == 0)
    }
}
