import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `fieldlog federation …` and `fieldlog hub serve --federate` through the built binary, over two
/// county hubs on loopback ports.
@Suite(.serialized) struct FederationCLITests {
    /// A county hub with the demo registry and one demand, serving on a loopback port.
    static func county(_ folder: String, name: String) async throws -> (hub: CLI, server: Process, url: String) {
        let hub = CLI(home: folder + "/" + name)
        try await hub.ok(["hub", "init", "--name", name])
        for kind in ["departments", "cadres", "enterprises", "linkages"] {
            try await hub.ok(["registry", "import", kind, CLITests.demoData + "/\(kind).csv"])
        }
        try await hub.ok([
            "demand", "add", "--enterprise", "山东高唐纺织有限公司", "--title", "\(name)用工诉求", "--content", "熟练工招聘难",
            "--category", "用工",
        ])
        let (server, url) = try HubCLITests.serve(hub)
        return (hub, server, url)
    }

    @Test func aCityJoinsTwoCountiesExportsAcrossThemAndServesAsAFederatedHub() async throws {
        let folder = CLI.temporaryFolder("federation")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let gaotang = try await Self.county(folder, name: "高唐县")
        defer { kill(gaotang.server.processIdentifier, SIGKILL) }
        let chiping = try await Self.county(folder, name: "茌平区")
        defer { kill(chiping.server.processIdentifier, SIGKILL) }
        let city = CLI(home: folder + "/city")
        try await city.ok(["init"])

        for (county, name) in [(gaotang, "高唐县"), (chiping, "茌平区")] {
            let made =
                try await county.hub.ok(["hub", "enroll-code", "--role", "federation", "--label", "聊城市枢纽", "--json"])
                .json as? [String: String]
            let (code, fingerprint) = (try #require(made?["code"]), try #require(made?["rootFingerprint"]))
            if name == "高唐县" {
                // A wrong pin stops the join before the code is spent, and nothing is kept.
                let refused = try await city.run([
                    "federation", "join", "--hub", county.url, "--code", code, "--root-fingerprint",
                    "0000-0000-0000-0000-0000", "--name", name,
                ])
                #expect(refused.status != 0 && refused.stderr.contains("do not trust this hub"), "\(refused.stderr)")
                #expect(refused.stderr.split(separator: "\n").count == 1, "one sentence: \(refused.stderr)")
            }
            let joined = try await city.ok([
                "federation", "join", "--hub", county.url, "--code", code, "--root-fingerprint", fingerprint,
                "--name", name,
            ])
            #expect(joined.stdout.contains("已加入 \(name)"))
        }
        let status = try await city.ok(["federation", "status", "--json"]).json as? [[String: Any]]
        #expect(status?.compactMap { $0["name"] as? String } == ["茌平区", "高唐县"])
        #expect(status?.allSatisfy { ($0["commits"] as? Int ?? 0) > 0 && ($0["refused"] as? Int) == 0 } == true)

        // The supervisors' exports across both counties.
        try await city.ok(["federation", "export", "ledger", "--out", folder + "/各县工作台账.csv"])
        let ledger = try String(contentsOfFile: folder + "/各县工作台账.csv", encoding: .utf8)
        let lines = ledger.split(whereSeparator: \.isNewline)
        #expect(lines.first?.contains("序号,县（市、区）,诉求编号") == true, "\(lines.first ?? "")")
        #expect(lines.filter { $0.contains(",高唐县,") }.count == 1 && lines.filter { $0.contains(",茌平区,") }.count == 1)
        let month = String(ISO8601DateFormatter().string(from: Date()).prefix(7))
        try await city.ok(["federation", "export", "rates", "--month", month, "--out", folder + "/分县指标.csv"])
        let rates = try String(contentsOfFile: folder + "/分县指标.csv", encoding: .utf8)
        #expect(["茌平区", "高唐县", "合计"].allSatisfy(rates.contains), "\(rates)")
        try await city.ok(["federation", "export", "list", "dragOn", "--out", folder + "/久拖不决.xlsx"])
        #expect(FileManager.default.fileExists(atPath: folder + "/久拖不决.xlsx"))
        let badList = try await city.run(["federation", "export", "list", "late", "--out", folder + "/x.csv"])
        #expect(badList.status != 0 && badList.stderr.contains("dragOn (久拖不决)"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/x.csv"))

        // The federated hub: a round of pulls, then /healthz, /metrics and the status page.
        try await gaotang.hub.ok([
            "demand", "add", "--enterprise", "山东高唐纺织有限公司", "--title", "第二条诉求", "--content", "用电增容", "--category",
            "水电气热",
        ])
        let (server, text) = try CLI.start(
            ["hub", "serve", "--federate", "--port", "0", "--pull-interval", "1"],
            home: city.home
        ) { $0.contains("第一轮拉取完成") }
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        #expect(text.contains("第一轮拉取完成：2 个县，失败 0 个"), "\(text)")
        let address = try #require(
            text.split(separator: "\n").first { $0.contains("federation listening on") }?.split(separator: " ").last
        )
        let (health, response) = try await URLSession.shared.data(from: URL(string: "\(address)/healthz")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(String(decoding: health, as: UTF8.self))")
        let (metrics, _) = try await URLSession.shared.data(from: URL(string: "\(address)/metrics")!)
        #expect(String(decoding: metrics, as: UTF8.self).contains("fieldlog_federation_counties_joined 2"))
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(server.terminationStatus == 0)
        let after = try await city.ok(["federation", "export", "ledger", "--out", folder + "/again.csv"])
        #expect(after.stdout.contains("3 行"), "the second demand arrived: \(after.stdout)")

        // Serving needs a county joined, and --federate runs alone.
        let lonely = CLI(home: folder + "/lonely")
        try await lonely.ok(["init"])
        let empty = try await lonely.run(["hub", "serve", "--federate", "--port", "0"])
        #expect(empty.status != 0 && empty.stderr.contains("no county is joined yet"))
        let mixed = try await city.run(["hub", "serve", "--federate", "--dashboard", "--port", "0"])
        #expect(mixed.status != 0 && mixed.stderr.contains("--federate runs alone"))
        // Rounds and concurrency out of range, or given without --federate, start nothing.
        for arguments in [
            ["--federate", "--pull-interval", "0"], ["--federate", "--pull-concurrency", "65"],
            ["--federate", "--pull-interval=-5"],
        ] {
            let bad = try await city.run(["hub", "serve", "--port", "0"] + arguments)
            #expect(bad.status != 0 && bad.stderr.contains("--pull-interval takes 1 to 86400 seconds"), "\(bad.stderr)")
        }
        let alone = try await gaotang.hub.run(["hub", "serve", "--port", "0", "--pull-interval", "5"])
        #expect(alone.status != 0 && alone.stderr.contains("need --federate"), "\(alone.stderr)")
        let lag = try await gaotang.hub.run(["hub", "serve", "--port", "0", "--max-log-lag=-1"])
        #expect(lag.status != 0 && lag.stderr.contains("--max-log-lag 0 or more"), "\(lag.stderr)")
    }
}
