import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The haproxy configuration of docs/operations.md, as written there (only the addresses changed),
/// in front of three `hub serve --store` processes of the built binary.
extension SharedStoreCLITests {
    /// The `text` block after "With haproxy" in docs/operations.md.
    static func documentedProxyConfiguration() throws -> String {
        let text = try String(contentsOfFile: root + "/docs/operations.md", encoding: .utf8)
        guard let section = text.range(of: "With haproxy"),
            let start = text.range(of: "```text\n", range: section.upperBound..<text.endIndex),
            let end = text.range(of: "```", range: start.upperBound..<text.endIndex)
        else { throw CLI.Failure(message: "docs/operations.md has no haproxy block after \"With haproxy\"") }
        return String(text[start.upperBound..<end.lowerBound])
    }

    /// Whether something listens on 127.0.0.1:`port` now.
    static func listens(_ port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// A loopback port free now.
    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        guard bound else { throw CLI.Failure(message: "no free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test func theDocumentedProxySpreadsDevicesAndRoutesEnrollmentToTheRoot() async throws {
        let store = try await Self.database()
        let folder = CLI.temporaryFolder("proxy")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var hub = CLI(home: folder + "/hub-1")
        try await hub.ok(["hub", "init", "--name", "高唐县"])
        for kind in ["departments", "cadres", "enterprises", "linkages"] {
            try await hub.ok(["registry", "import", kind, CLITests.demoData + "/\(kind).csv"])
        }
        hub.environment["FIELDLOG_STORE"] = store
        let proxyPort = try Self.freePort()
        let proxyURL = "http://127.0.0.1:\(proxyPort)"
        // The root's process, then two holding only the key file.
        var processes: [Process] = []
        defer { for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var ports: [Int] = []
        for index in 1...3 {
            let home = folder + "/hub-\(index)"
            if index > 1 {
                try FileManager.default.createDirectory(atPath: home + "/keys", withIntermediateDirectories: true)
                try FileManager.default.copyItem(
                    atPath: hub.home + "/keys/device.key",
                    toPath: home + "/keys/device.key"
                )
            }
            let (process, text) = try CLI.start(
                ["hub", "serve", "--port", "0", "--store", store, "--url", proxyURL],
                home: home
            ) { $0.contains("listening on") && $0.hasSuffix("\n") }
            processes.append(process)
            let url = try #require(
                text.split(separator: "\n").first { $0.contains("listening on") }?.split(separator: " ").last
            )
            ports.append(try #require(Int(url.split(separator: ":").last ?? "")))
        }
        // The documented configuration, with this machine's addresses.
        var configuration = try Self.documentedProxyConfiguration()
            .replacingOccurrences(of: "bind :8080", with: "bind 127.0.0.1:\(proxyPort)")
        for (index, address) in ["10.0.0.11:8081", "10.0.0.12:8081", "10.0.0.13:8081"].enumerated() {
            #expect(configuration.contains(address), "the documented block names \(address)")
            configuration = configuration.replacingOccurrences(of: address, with: "127.0.0.1:\(ports[index])")
        }
        let configFile = folder + "/haproxy.cfg"
        try configuration.write(toFile: configFile, atomically: true, encoding: .utf8)
        let checked = try await Self.shell(["haproxy", "-c", "-f", configFile])
        #expect(checked.status == 0, "haproxy -c: \(checked.stdout) \(checked.stderr)")
        let proxy = Process()
        proxy.executableURL = URL(fileURLWithPath: "/usr/sbin/haproxy")
        proxy.arguments = ["-f", configFile, "-db"]
        proxy.standardOutput = FileHandle.nullDevice
        proxy.standardError = FileHandle.nullDevice
        try proxy.run()
        processes.append(proxy)
        // haproxy binds its port at start: wait for that, and no longer than 10 s.
        let deadline = Date().addingTimeInterval(10)
        while !Self.listens(proxyPort), Date() < deadline, proxy.isRunning { usleep(20_000) }
        try #require(Self.listens(proxyPort), "haproxy did not start")

        // Three laptops enroll through the proxy: every enrollment reaches the root's process.
        var laptops: [CLI] = []
        for index in 1...3 {
            let laptop = CLI(home: folder + "/laptop-\(index)")
            try await laptop.ok(["init"])
            let made =
                try await hub.ok(["hub", "enroll-code", "--role", "cadre", "--cadre", "王强", "--json"]).json
                as? [String: Any]
            try await laptop.ok(["enroll", "--hub", proxyURL, "--code", try #require(made?["code"] as? String)])
            laptops.append(laptop)
        }
        // Their syncs spread over the processes, each request wherever haproxy sends it.
        try await laptops[0].ok(["visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "用工"])
        let pushed = try await laptops[0].ok(["sync", "--json"]).json as? [String: Any]
        #expect(pushed?["sent"] as? Int == 1)
        for laptop in laptops.dropFirst() {
            // Another laptop's pull may reach a process that has not yet followed the push (each
            // follows the log every 200 ms; read-your-writes holds for a sync's own push): it
            // syncs again until the visit is there, as a cadre would.
            var visits: [Any]?
            for _ in 0..<50 where visits?.count != 1 {
                let pulled = try await laptop.ok(["sync", "--json"]).json as? [String: Any]
                #expect((pulled?["divergentScopes"] as? [Any])?.isEmpty == true)
                visits = try await laptop.ok(["visit", "list", "--json"]).json as? [Any]
            }
            #expect(visits?.count == 1, "the visit reached the other laptops through the proxy")
        }
        var served: [Double] = []
        for port in ports {
            let (metrics, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
            let lines = String(decoding: metrics, as: UTF8.self).split(separator: "\n").filter {
                $0.hasPrefix("fieldlog_hub_requests_total{") && $0.contains("/v1/sync/")
            }
            served.append(lines.compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +))
        }
        #expect(served.allSatisfy { $0 > 0 }, "every process answered sync requests: \(served)")

        // One process stopped: the proxy sends its requests elsewhere, and syncs go on.
        kill(processes[2].processIdentifier, SIGKILL)
        processes[2].waitUntilExit()
        for laptop in laptops {
            try await laptop.ok(["visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "融资"])
            let again = try await laptop.run(["sync"])
            #expect(again.status == 0, "\(again.stderr)")
        }
        try await laptops[0].ok(["sync"])
        #expect((try await laptops[0].ok(["visit", "list", "--json"]).json as? [Any])?.count == 4)
    }
}
