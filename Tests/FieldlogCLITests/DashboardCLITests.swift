import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `fieldlog hub user add|list|disable` and `hub serve --dashboard` through the built binary.
@Suite(.serialized) struct DashboardCLITests {
    @Test func accountsAreMadeAndTheConsoleServesBesideTheHub() async throws {
        let folder = CLI.temporaryFolder("console")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var hub = CLI(home: folder + "/hub")
        try await hub.ok(["hub", "init", "--name", "高唐县"])
        hub.environment["FIELDLOG_USER_PASSWORD"] = "supervisor-pass-1"
        let added = try await hub.ok(["hub", "user", "add", "张督查", "--role", "supervisor"])
        #expect(added.stdout.contains("已开设控制台账号 张督查（督查人员）"))
        let withCode = try await hub.ok(["hub", "user", "add", "李运维", "--role", "operator", "--totp", "--json"])
        let url = (withCode.json as? [String: String])?["totpURL"] ?? ""
        #expect(url.hasPrefix("otpauth://totp/") && url.contains("secret=") && url.contains("issuer=fieldlog"))
        let again = try await hub.run(["hub", "user", "add", "张督查", "--role", "supervisor"])
        #expect(again.status == 1 && again.stderr.contains("exists already"))
        let role = try await hub.run(["hub", "user", "add", "王五", "--role", "boss"])
        #expect(role.status == 1 && role.stderr.contains("--role takes operator or supervisor"))
        hub.environment["FIELDLOG_USER_PASSWORD"] = "short"
        let short = try await hub.run(["hub", "user", "add", "王五", "--role", "supervisor"])
        #expect(short.status == 1 && short.stderr.contains("at least 10 characters"))
        let listed = try await hub.ok(["hub", "user", "list", "--json"]).json as? [[String: String]]
        #expect(listed?.map { $0["name"] ?? "" } == ["张督查", "李运维"])
        #expect(listed?.last?["totp"] == "yes")

        let lonely = try await hub.run(["hub", "serve", "--port", "0", "--dashboard-port", "0"])
        #expect(lonely.status == 1 && lonely.stderr.contains("need --dashboard"))
        let halfTLS = try await hub.run(["hub", "serve", "--port", "0", "--dashboard", "--tls-cert", "/nonexistent"])
        #expect(halfTLS.status == 1 && halfTLS.stderr.contains("--tls-cert and --tls-key go together"))
        let badCert = try await hub.run([
            "hub", "serve", "--port", "0", "--dashboard", "--tls-cert", "/nonexistent", "--tls-key", "/nonexistent",
        ])
        #expect(badCert.status == 1 && badCert.stderr.contains("is not a readable PEM certificate file"))

        let (server, text) = try CLI.start(
            ["hub", "serve", "--port", "0", "--dashboard", "--dashboard-port", "0"],
            home: hub.home
        ) { $0.contains("dashboard listening on") && $0.hasSuffix("\n") }
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let console = try #require(
            text.split(separator: "\n").first { $0.contains("dashboard listening on") }?.split(separator: " ").last
        )
        #expect(console.hasPrefix("http://127.0.0.1:"))
        let (body, response) = try await URLSession.shared.data(from: URL(string: "\(console)/login")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: body, as: UTF8.self).contains("type=\"password\""))

        try await hub.ok(["hub", "user", "disable", "张督查"])
        let disabled = try await hub.ok(["hub", "user", "list"]).stdout
        #expect(disabled.contains("张督查\t督查人员\t已停用"))
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(server.terminationStatus == 0)
    }
}
