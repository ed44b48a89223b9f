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
    static func database() throws -> String {
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
        #expect(process.terminationStatus == 0, "createdb failed")
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

    @Test func twoHubProcessesServeOneCountyAndTheOperatorRevokesThroughTheStore() async throws {
        let store = try Self.database()
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
