import Foundation
import Testing

/// `fieldlog hub init|serve` and `fieldlog sync` through the built binary, on a loopback port.
@Suite(.serialized) struct HubCLITests {
    @Test func laptopSyncsWithAServedHubAndTheHubStopsGracefully() throws {
        let folder = CLI.temporaryFolder("hub")
        let hub = CLI(home: folder + "/hub")
        let laptop = CLI(home: folder + "/laptop")
        let created = try hub.ok(["hub", "init", "--name", "高唐县", "--json"]).json as? [String: String]
        let fingerprint = created?["rootFingerprint"] ?? ""
        for kind in ["departments", "cadres", "enterprises", "linkages"] {
            try hub.ok(["registry", "import", kind, CLITests.demoData + "/\(kind).csv"])
        }
        let key = (try laptop.ok(["init", "--json"]).json as? [String: String])?["publicKey"] ?? ""
        try hub.ok(["registry", "enroll", "--key", key, "--role", "cadre", "--cadre", "王强"])
        try hub.ok(["registry", "export-enrollment", "--out", folder + "/enroll.bundle"])
        try laptop.ok(["join", folder + "/enroll.bundle", "--root-fingerprint", fingerprint])

        let server = Process()
        server.executableURL = URL(fileURLWithPath: CLI.binary)
        server.arguments = ["hub", "serve", "--port", "0"]
        var env = ProcessInfo.processInfo.environment
        env["FIELDLOG_HOME"] = hub.home
        env["FIELDLOG_PASSPHRASE"] = "correct horse 正确"
        env["FIELDLOG_LOG_LEVEL"] = "warning"
        server.environment = env
        let output = Pipe()
        server.standardOutput = output
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        var text = ""
        while !text.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let url = try #require(text.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }, "hub printed: \(text)")
        #expect(url.hasPrefix("http://127.0.0.1:"))

        try laptop.ok(["visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "用工"])
        let first = try laptop.ok(["sync", "--hub", url, "--json"]).json as? [String: Any]
        #expect(first?["sent"] as? Int == 1)
        #expect((first?["divergentScopes"] as? [Any])?.isEmpty == true)
        let again = try laptop.ok(["sync", "--hub", url]).stdout
        #expect(again.contains("up to date"))
        let visits = try hub.ok(["visit", "list", "--json"]).json as? [Any]
        #expect(visits?.count == 1)
        // A wrong address is one clear sentence and a non-zero exit.
        let unreachable = try laptop.run(["sync", "--hub", "http://127.0.0.1:1"])
        #expect(unreachable.status == 1)
        #expect(unreachable.stderr.contains("cannot reach the hub"))
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(server.terminationReason == .exit)
        #expect(server.terminationStatus == 0)
    }
}
