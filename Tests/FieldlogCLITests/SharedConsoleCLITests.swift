import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// `hub serve --store … --dashboard` through the built binary: two processes holding the root key
/// serve one console, whose accounts `hub user add` writes to the store (docs/scale-out.md).
@Suite(.serialized, .enabled(if: testCluster != nil)) struct SharedConsoleCLITests {
    /// Starts `hub serve --store --dashboard` on ephemeral ports; returns the process and the
    /// console's address.
    static func serveConsole(_ hub: CLI, store: String) throws -> (Process, console: String, sync: String) {
        let (server, text) = try CLI.start(
            ["hub", "serve", "--port", "0", "--store", store, "--dashboard", "--dashboard-port", "0"],
            home: hub.home
        ) { text in
            // The hub's line and the console's, in either order.
            let lines = text.split(separator: "\n").filter { $0.contains("listening on") }
            return text.hasSuffix("\n") && lines.contains { $0.contains("dashboard") }
                && lines.contains { !$0.contains("dashboard") }
        }
        let lines = text.split(separator: "\n")
        guard
            let console = lines.first(where: { $0.contains("dashboard listening on") })?.split(separator: " ").last
                .map(String.init),
            let sync = lines.first(where: { $0.contains("listening on") && !$0.contains("dashboard") })?
                .split(separator: " ").last.map(String.init)
        else {
            kill(server.processIdentifier, SIGKILL)
            throw CLI.Failure(message: "the hub or its console did not say where it listens: \(text)")
        }
        return (server, console, sync)
    }

    /// One request, redirects not followed; the answer's status, cookies set and body.
    static func request(
        _ http: HTTPClient,
        _ url: String,
        form: [(String, String)]? = nil,
        cookies: [String: String]
    ) async throws -> (status: Int, cookies: [String: String], body: String, location: String?) {
        var request = HTTPClientRequest(url: url)
        if !cookies.isEmpty {
            request.headers.add(name: "Cookie", value: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))
        }
        if let form {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            let origin = URL(string: url).map { "\($0.scheme!)://\($0.host!):\($0.port!)" } ?? ""
            request.headers.add(name: "Origin", value: origin)
            let body = form.map { name, value in
                [name, value].map { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "" }
                    .joined(separator: "=")
            }.joined(separator: "&")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        var set = cookies
        for field in response.headers["Set-Cookie"] {
            let pair = field.split(separator: ";")[0].split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { set[pair[0]] = pair[1] }
        }
        let body = try await response.body.collect(upTo: 4 << 20)
        return (Int(response.status.code), set, String(buffer: body), response.headers.first(name: "Location"))
    }

    static func csrf(in page: String) -> String? {
        guard let range = page.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }

    @Test func twoRootProcessesServeOneConsoleWhoseAccountsAreInTheStore() async throws {
        let store = try await SharedStoreCLITests.database()
        let folder = CLI.temporaryFolder("shared-console")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var (hub, _, _) = try await SharedStoreCLITests.county(folder, store: store)
        hub.environment["FIELDLOG_USER_PASSWORD"] = "supervisor-pass-1"
        try await hub.ok(["hub", "user", "add", "张督查", "--role", "supervisor"])
        hub.environment["FIELDLOG_USER_PASSWORD"] = "operator-pass-1"
        try await hub.ok(["hub", "user", "add", "李运维", "--role", "operator"])
        let listed = try await hub.ok(["hub", "user", "list", "--json"]).json as? [[String: String]]
        #expect(listed?.map { $0["name"] ?? "" } == ["张督查", "李运维"])
        #expect(try await SharedStoreCLITests.count(store, "SELECT count(*) FROM fieldlog_console_users") == 2)
        // A second process's folder holds the root key file alone.
        let second = CLI(home: folder + "/hub-2")
        try FileManager.default.createDirectory(atPath: second.home + "/keys", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: hub.home + "/keys/device.key",
            toPath: second.home + "/keys/device.key"
        )
        let (one, console1, _) = try Self.serveConsole(hub, store: store)
        defer { if one.isRunning { kill(one.processIdentifier, SIGKILL) } }
        let (two, console2, sync2) = try Self.serveConsole(second, store: store)
        defer { if two.isRunning { kill(two.processIdentifier, SIGKILL) } }

        let http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(redirectConfiguration: .disallow)
        )
        do {
            let form = try await Self.request(http, console1 + "/login", cookies: [:])
            let token = try #require(Self.csrf(in: form.body))
            let login = try await Self.request(
                http,
                console1 + "/login",
                form: [("csrf", token), ("name", "张督查"), ("password", "supervisor-pass-1")],
                cookies: form.cookies
            )
            #expect(login.status == 303 && login.location == "/", "\(login.body)")
            // The session opened at the first process is good at the second.
            let overview = try await Self.request(http, console2 + "/", cookies: login.cookies)
            #expect(overview.status == 200 && overview.body.contains("张督查"))
            let out = try await Self.request(
                http,
                console2 + "/logout",
                form: [("csrf", try #require(Self.csrf(in: overview.body)))],
                cookies: login.cookies
            )
            #expect(out.status == 303)
            let after = try await Self.request(http, console1 + "/", cookies: login.cookies)
            #expect(after.status == 302 && after.location == "/login")
            // The operator makes an enrollment code at the first process's console; the device
            // redeems it at the second process (the code is in the store).
            let again = try await Self.request(http, console1 + "/login", cookies: [:])
            let operatorLogin = try await Self.request(
                http,
                console1 + "/login",
                form: [
                    ("csrf", try #require(Self.csrf(in: again.body))), ("name", "李运维"), ("password", "operator-pass-1"),
                ],
                cookies: again.cookies
            )
            #expect(operatorLogin.status == 303, "\(operatorLogin.body)")
            let devices = try await Self.request(http, console1 + "/devices/enroll", cookies: operatorLogin.cookies)
            let made = try await Self.request(
                http,
                console1 + "/devices/enroll",
                form: [
                    ("csrf", try #require(Self.csrf(in: devices.body))), ("role", "supervisor"), ("hours", "24"),
                    ("label", "督查笔记本"),
                ],
                cookies: operatorLogin.cookies
            )
            let code = try #require(
                made.body.firstMatch(of: /[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}/).map { String($0.output) },
                "\(made.body)"
            )
            #expect(try await SharedStoreCLITests.count(store, "SELECT count(*) FROM fieldlog_enrollment_codes") == 2)
            let device = CLI(home: folder + "/supervisor")
            let fingerprint = try #require(
                (try await device.ok(["init", "--json"]).json as? [String: String])?["fingerprint"]
            )
            try await device.ok(["enroll", "--hub", sync2, "--code", code])
            // Its sync at the second process shows on the first process's 设备与同步 page, once
            // the second has added its counts to the store (every 5 s, and when it stops).
            try await device.ok(["sync", "--hub", sync2])
            kill(two.processIdentifier, SIGTERM)
            two.waitUntilExit()
            #expect(two.terminationStatus == 0)
            // The first process lists the device once its replica has followed the enrollment.
            var row: String?
            for _ in 0..<200 where row == nil {
                let page = try await Self.request(http, console1 + "/devices", cookies: operatorLogin.cookies)
                row = page.body.components(separatedBy: "<tr>").first { $0.contains(fingerprint) }
            }
            let listed = try #require(row, "the device enrolled at the second process is listed at the first")
            #expect(!listed.contains("从未"), "the last sync at the other process is shown: \(listed)")
        } catch {
            try await http.shutdown()
            throw error
        }
        try await http.shutdown()
        try await hub.ok(["hub", "user", "disable", "张督查"])
        #expect(try await hub.ok(["hub", "user", "list"]).stdout.contains("张督查\t督查人员\t已停用"))

        // A process with a key of its own signs nothing for the county: no console there.
        let own = CLI(home: folder + "/hub-3")
        try await own.ok(["init"])
        let fingerprint = try #require(
            (try await hub.ok(["key", "--json"]).json as? [String: Any])?["fingerprint"] as? String
        )
        let refused = try await own.run(
            ["hub", "serve", "--port", "0", "--store", store, "--root-fingerprint", fingerprint, "--dashboard"]
        )
        #expect(refused.status != 0 && refused.stderr.contains("root key file"), "\(refused.stderr)")
        for server in [one] {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
            #expect(server.terminationStatus == 0)
        }
    }
}
