import AsyncHTTPClient
import FieldCrypto
import FieldLedger
import FieldStore
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import FieldHub
@testable import FieldSync

#if canImport(Glibc)
import Glibc
#endif

/// What an operator watches and relies on: `/metrics`, and connections that cannot hang the hub.
@Suite struct HubOperationsTests {
    /// The value of the one series whose line starts with `series` (name and labels as printed).
    func value(of series: String, in text: String) -> Double? {
        let lines = text.split(separator: "\n").filter { $0.hasPrefix(series + " ") }
        guard lines.count == 1, let last = lines[0].split(separator: " ").last else { return nil }
        return Double(last)
    }

    @Test func metricsCountSyncsAcceptedAndRefusedCommitsAndLatency() async throws {
        let county = try HubTests.County()
        try county.hub.addVisit(VisitInput(enterprise: "乙企业", topics: "root only"))
        var collected: [[UInt8]] = []
        try county.hub.replica.exportRecords(scopes: [RegistryIDs.scope(of: try county.hub.enterprise(named: "乙企业"))]) {
            collected.append($0)
        }
        let foreign = collected
        let configuration = county.configuration()
        let metrics = configuration.metrics
        let before = String(decoding: metrics.render(), as: UTF8.self)
        #expect(value(of: "fieldlog_hub_syncs_total", in: before) == 0)

        try await buildHub(configuration).test(.live) { live in
            let url = "http://127.0.0.1:\(live.port!)"
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { _ = http.shutdown() }
            let transport = HTTPTransport(
                baseURL: url,
                key: county.cadreKey,
                hubKey: county.root.publicKey,
                client: http
            )
            let client = SyncClient(replica: county.laptop.replica, peer: url)
            let first = try await client.sync(over: transport)
            try county.laptop.addVisit(VisitInput(enterprise: "甲企业", topics: "用工"))
            try county.laptop.addVisit(VisitInput(enterprise: "甲企业", topics: "融资"))
            _ = try await client.sync(over: transport)
            await #expect(throws: SyncError.self) { _ = try await transport.exchange(.push(foreign)) }
            let unsigned = try await live.execute(uri: "/v1/sync/summary", method: .post)
            #expect(unsigned.status == .unauthorized)

            let response = try await live.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: response.body)
            #expect(value(of: "fieldlog_hub_syncs_total", in: text) == 2)
            #expect(value(of: "fieldlog_hub_commits_accepted_total", in: text) == 2)
            #expect(
                value(of: #"fieldlog_hub_commits_refused_total{reason="out_of_scope"}"#, in: text)
                    == Double(foreign.count)
            )
            #expect(value(of: "fieldlog_hub_commits_served_total", in: text) == Double(first.received))
            #expect(
                value(
                    of: #"fieldlog_hub_requests_total{route="/v1/sync/summary",outcome="missing_signature"}"#,
                    in: text
                ) == 1
            )
            #expect(
                value(of: #"fieldlog_hub_requests_total{route="/v1/sync/push",outcome="out_of_scope"}"#, in: text) == 1
            )
            #expect(value(of: #"fieldlog_hub_request_duration_seconds_count{route="/v1/sync/summary"}"#, in: text) == 3)
            // Nothing identifying: no key, fingerprint, enterprise name or topic reaches the page.
            for secret in [county.cadreKey.publicKey.hex, county.cadreKey.publicKey.fingerprint, "甲企业", "用工"] {
                #expect(!text.contains(secret))
            }
        }
    }

    /// The name of the thread this runs on.
    static func threadName() -> String { Thread.current.name ?? "" }

    /// Database work runs on the hub's own threads (a read lane and a write lane), never on Swift's
    /// cooperative pool: blocked in SQLite there, a burst of syncs left /healthz unanswered for
    /// seconds (`make bench`, hub under load, "healthz max latency").
    @Test func databaseWorkRunsOnTheHubsOwnThreads() async throws {
        let county = try HubTests.County()
        let handler = HubHandler(configuration: county.configuration())
        let pool = Self.threadName()
        let read = try await handler.database(.read) { Self.threadName() }
        let write = try await handler.database(.write) { Self.threadName() }
        #expect(!pool.hasPrefix("TP-#"), "the test itself runs on the cooperative pool: \(pool)")
        #expect(read.hasPrefix("TP-#") && write.hasPrefix("TP-#"), "read: \(read), write: \(write)")
        // The lanes are different pools: a queue of pushes never holds up a pull.
        let readers = try await withThrowingTaskGroup(of: ObjectIdentifier.self) { group in
            group.addTask { try await handler.database(.read) { ObjectIdentifier(Thread.current) } }
            group.addTask { try await handler.database(.write) { ObjectIdentifier(Thread.current) } }
            return try await group.reduce(into: Set<ObjectIdentifier>()) { $0.insert($1) }
        }
        #expect(readers.count == 2)
        #expect(handler.threads.read !== handler.threads.write)
    }

    /// The database threads are a service of the hub's application: they answer while it runs and
    /// are shut down with it, after the server has stopped.
    @Test func theDatabaseThreadsStopWithTheHub() async throws {
        let county = try HubTests.County()
        let threads = HubThreads()
        try await buildHub(county.configuration(), threads: threads).test(.live) { live in
            let health = try await live.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            #expect(try await threads.perform(.read) { 1 } == 1)
            #expect(try await threads.perform(.write) { 2 } == 2)
        }
        await #expect(throws: (any Error).self) { _ = try await threads.perform(.read) { 1 } }
        await #expect(throws: (any Error).self) { _ = try await threads.perform(.write) { 2 } }
    }

    /// Connects to 127.0.0.1:`port`, sends `bytes` and then nothing more; returns how the hub ended
    /// the exchange: "closed" when it closed the connection, or what it sent before the bound.
    ///
    /// The blocking socket calls run on a thread of their own. On the cooperative pool (two threads
    /// on a two-core machine) they would hold one thread for up to `seconds`; with another test
    /// blocked in a child process on the other, the hub under test has no thread left to answer on.
    func sendAndStall(port: Int, _ bytes: [UInt8], bound seconds: Int) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try Self.blockingSendAndStall(port: port, bytes, bound: seconds) })
            }.start()
        }
    }

    struct SocketFailure: Error, CustomStringConvertible {
        var description: String
    }

    static func blockingSendAndStall(port: Int, _ bytes: [UInt8], bound seconds: Int) throws -> String {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw SocketFailure(description: "socket() failed: errno \(errno)") }
        defer { close(socket) }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            throw SocketFailure(description: "connect to 127.0.0.1:\(port) failed: errno \(errno)")
        }
        _ = bytes.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, 0) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            if count == 0 {
                return received.isEmpty
                    ? "closed" : "answered then closed: " + String(decoding: received, as: UTF8.self)
            }
            if count < 0 { return errno == ECONNRESET ? "closed" : "still open after \(seconds) s" }
            received += buffer[0..<count]
        }
    }

    @Test func stalledRequestsAreCutOffByTheIdleTimeout() async throws {
        let county = try HubTests.County()
        var configuration = county.configuration()
        configuration.idleTimeout = .milliseconds(300)
        let storedBefore = try county.hub.replica.commitCounts().applied
        try await buildHub(configuration).test(.live) { live in
            let port = live.port!
            // Headers never finished.
            let partialHead = Array("POST /v1/sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le".utf8)
            #expect(try await sendAndStall(port: port, partialHead, bound: 20) == "closed")
            // Headers sent, body promised and stopped part way.
            let partialBody = Array(
                "POST /v1/sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nFLBATCH1".utf8
            )
            #expect(try await sendAndStall(port: port, partialBody, bound: 20) == "closed")
            // The hub still serves (on a new connection: the test client's own one idled out too).
            let health = try await sendAndStall(
                port: port,
                Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8),
                bound: 20
            )
            #expect(health.hasPrefix("answered then closed: HTTP/1.1 200"))
        }
        #expect(try county.hub.replica.commitCounts().applied == storedBefore)
    }
}
