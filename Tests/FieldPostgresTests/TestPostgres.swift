import Foundation
import Logging
import NIOPosix
import PostgresNIO
import Testing

@testable import FieldPostgres

/// The private PostgreSQL cluster of the tests (`tools/postgres/cluster.sh`, which `make test`
/// starts): its URL is in `FIELDLOG_TEST_POSTGRES`. Each test makes a database of its own there.
enum TestPostgres {
    static let url = ProcessInfo.processInfo.environment["FIELDLOG_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }

    /// False when no cluster was started: the PostgreSQL tests are skipped then (make test always
    /// starts one and sets `FIELDLOG_REQUIRE_POSTGRES`, so there they run or fail).
    static var available: Bool { url != nil }

    /// Runs `body` with the URL of a new, empty database, dropped afterwards.
    static func withDatabase(_ body: (String) async throws -> Void) async throws {
        let admin = try #require(url, "FIELDLOG_TEST_POSTGRES is not set; start tools/postgres/cluster.sh")
        let name = "t_" + (0..<12).map { _ in String("abcdefghijklmnopqrstuvwxyz".randomElement()!) }.joined()
        try await withClient(admin) { client in
            _ = try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")).collect()
        }
        var components = URLComponents(string: admin)!
        components.path = "/" + name
        do {
            try await body(components.string!)
        } catch {
            try? await drop(name, admin)
            throw error
        }
        try await drop(name, admin)
    }

    private static func drop(_ name: String, _ admin: String) async throws {
        try await withClient(admin) { client in
            _ = try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
                .collect()
        }
    }

    /// A client of `url` running for the time of `body`.
    static func withClient<T: Sendable>(_ url: String, _ body: (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: try PostgresSharedLog.configuration(url).configuration)
        let running = Task { await client.run() }
        defer { running.cancel() }
        return try await body(client)
    }

    /// Runs blocking work (a ledger write whose gate waits for PostgreSQL) on a thread of its own,
    /// never on Swift's cooperative pool.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }
}

/// make test requires the cluster: without it the PostgreSQL tests would be skipped silently.
@Suite struct TestClusterTests {
    @Test func theClusterIsThereWhenMakeTestRequiresIt() {
        if ProcessInfo.processInfo.environment["FIELDLOG_REQUIRE_POSTGRES"] == "1" {
            #expect(
                TestPostgres.available,
                "make test starts a PostgreSQL cluster, but FIELDLOG_TEST_POSTGRES is unset"
            )
        }
    }
}
