import AsyncHTTPClient
import FieldCore
import FieldCrypto
import FieldLedger
import FieldStore
import FieldSync
import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// What `fieldlog hub serve --federate` runs: the pulls of every county, one round after another,
/// and a small HTTP server for monitoring (`/healthz`, `/metrics`, `/v1/federation/status`).
public struct FederationConfiguration: Sendable {
    public var federation: Federation
    /// The hub's device key, enrolled in every county: it signs the pull requests.
    public var key: SigningKey
    public var host = "127.0.0.1"
    /// 0 picks a free port.
    public var port = 0
    /// The pause between the end of one round of pulls and the start of the next.
    public var pullInterval: Duration = .seconds(60)
    /// How many counties are pulled at once.
    public var concurrency = 2
    /// A county whose last successful pull is older than this many intervals, plus `staleGrace`,
    /// makes the hub not ready (the pulls have stopped: a round that fails says so at once).
    public var staleRounds = 3
    /// Time for a long pull (a county catching up) before the intervals are counted.
    public var staleGrace: Duration = .seconds(600)
    public var logger = Logger(label: "fieldlog.federation")
    /// Called once the server listens, with its port.
    public var onListening: @Sendable (Int) -> Void = { _ in }
    /// Called after each round of pulls (tests and the bench time the catch-up with it).
    public var onRound: @Sendable (FederationRound) -> Void = { _ in }

    public init(federation: Federation, key: SigningKey) {
        self.federation = federation
        self.key = key
    }
}

/// What one round of pulls did: each county's outcome, and how long the round took.
public struct FederationRound: Sendable {
    public var number: Int
    public var outcomes: [String: Result<SyncSummary, FederationPullFailure>]
    public var duration: Duration
}

/// Why a county's pull failed, as the status page and the logs say it.
public struct FederationPullFailure: Error, Sendable, Equatable {
    public var message: String
}

/// Where each county stands: its last pull, success and failure, as the status page shows it.
public struct CountyStanding: Codable, Sendable, Equatable {
    public var name: String
    public var rootFingerprint: String
    public var hub: String
    /// ISO 8601 UTC times.
    public var lastAttempt: String?
    public var lastSuccess: String?
    public var lastError: String?
    /// Commits this hub holds of the county, and of them the ones refused as they arrived (a
    /// signature that does not verify, a revoked or unknown author): refused ones are never applied.
    public var commits: Int
    public var refused: Int
    /// Pulls that succeeded, and failed, since this process started.
    public var pulls: Int
    public var failures: Int
}

/// The counties' standings, kept by the puller and read by the server's pages.
actor FederationMonitor {
    private(set) var standings: [String: CountyStanding] = [:]
    private(set) var rounds = 0

    init(_ federation: Federation) {
        for county in federation.counties {
            standings[county.folderName] = CountyStanding(
                name: county.name,
                rootFingerprint: county.fingerprint,
                hub: (try? county.ledger.rememberedHub()) ?? "",
                commits: (try? Self.commits(county)) ?? 0,
                refused: 0,
                pulls: 0,
                failures: 0
            )
        }
    }

    static func commits(_ county: FederatedCounty) throws -> Int {
        let counts = try county.ledger.syncEngine.commitCounts()
        return counts.applied + counts.pending + counts.excluded
    }

    func record(_ county: FederatedCounty, _ outcome: Result<SyncSummary, FederationPullFailure>, at date: Date) {
        var standing = standings[county.folderName]!
        let stamp = ISO8601DateFormatter().string(from: date)
        standing.lastAttempt = stamp
        switch outcome {
        case .success(let summary):
            standing.lastSuccess = stamp
            standing.lastError = nil
            standing.pulls += 1
            standing.refused += summary.refusedHere.count
        case .failure(let failure):
            standing.lastError = failure.message
            standing.failures += 1
        }
        standing.commits = (try? Self.commits(county)) ?? standing.commits
        standings[county.folderName] = standing
    }

    func endRound() { rounds += 1 }
}

/// Pulls every county, round after round, until the service is shut down. The pulls run on
/// threads of their own (`BlockingExecutor`): a replica takes commits in with blocking SQLite
/// calls, which must not hold the threads that answer `/healthz`.
struct FederationPuller: Service {
    let configuration: FederationConfiguration
    let monitor: FederationMonitor
    let metrics: FederationMetrics

    func run() async throws {
        let client = HTTPTransport.makeClient()
        let executor = BlockingExecutor(label: "fieldlog.federation.pull")
        await cancelWhenGracefulShutdown {
            var number = 0
            while !Task.isCancelled {
                number += 1
                let round = await pullAll(client: client, executor: executor, number: number)
                configuration.onRound(round)
                try? await Task.sleep(for: configuration.pullInterval)
            }
        }
        try await client.shutdown()
    }

    /// One round: every county pulled once, `concurrency` at a time.
    func pullAll(client: HTTPClient, executor: BlockingExecutor, number: Int) async -> FederationRound {
        let started = ContinuousClock.now
        let counties = configuration.federation.counties
        var outcomes: [String: Result<SyncSummary, FederationPullFailure>] = [:]
        await withTaskGroup(of: (FederatedCounty, Result<SyncSummary, FederationPullFailure>).self) { group in
            var next = 0
            func start() {
                guard next < counties.count else { return }
                let county = counties[next]
                next += 1
                group.addTask {
                    let outcome = await withTaskExecutorPreference(executor) {
                        await pullOne(county, client: client)
                    }
                    return (county, outcome)
                }
            }
            for _ in 0..<max(1, configuration.concurrency) { start() }
            while let (county, outcome) = await group.next() {
                outcomes[county.folderName] = outcome
                await monitor.record(county, outcome, at: Date())
                metrics.record(county, outcome, standing: await monitor.standings[county.folderName])
                start()
            }
        }
        await monitor.endRound()
        return FederationRound(number: number, outcomes: outcomes, duration: ContinuousClock.now - started)
    }

    private func pullOne(
        _ county: FederatedCounty,
        client: HTTPClient
    ) async -> Result<
        SyncSummary, FederationPullFailure
    > {
        do {
            let summary = try await Federation.pull(county, key: configuration.key, client: client)
            if !summary.refusedHere.isEmpty {
                // A county's hub passed on commits that do not verify here: say so, without their bytes.
                configuration.logger.warning(
                    "commits refused",
                    metadata: [
                        "county": "\(county.fingerprint)", "refused": "\(summary.refusedHere.count)",
                        "reason": "\(summary.refusedHere.first?.reason ?? "")",
                    ]
                )
            }
            return .success(summary)
        } catch {
            let message = (error as? any FieldlogError)?.message ?? "\(type(of: error))"
            configuration.logger.warning(
                "pull failed",
                metadata: ["county": "\(county.fingerprint)", "error": "\(message)"]
            )
            return .failure(FederationPullFailure(message: message))
        }
    }
}

/// The federation's Prometheus series: counts and times per county, labelled by root fingerprint.
struct FederationMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    private static func descriptor(_ name: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "fieldlog",
            subsystem: "federation",
            metricName: name,
            unitName: unit,
            helpText: help
        )
    }

    init(_ federation: Federation) {
        registry.makeGauge(descriptor: Self.descriptor("counties", unit: "joined", help: "Counties joined."))
            .set(Int64(federation.counties.count))
    }

    func record(
        _ county: FederatedCounty,
        _ outcome: Result<SyncSummary, FederationPullFailure>,
        standing: CountyStanding?
    ) {
        let label = [("county", county.fingerprint)]
        let result = if case .success = outcome { "ok" } else { "failed" }
        registry.makeCounter(
            descriptor: Self.descriptor("pulls", unit: "total", help: "Pulls of a county, by outcome."),
            labels: label + [("outcome", result)]
        ).increment()
        if case .success(let summary) = outcome {
            registry.makeGauge(
                descriptor: Self.descriptor(
                    "last_pull_success",
                    unit: "timestamp_seconds",
                    help: "When a county was last pulled in full (Unix time)."
                ),
                labels: label
            ).set(Int64(Date().timeIntervalSince1970))
            registry.makeCounter(
                descriptor: Self.descriptor(
                    "commits_refused",
                    unit: "total",
                    help: "Commits of a county refused here as they arrived (they did not verify)."
                ),
                labels: label
            ).increment(by: Int64(summary.refusedHere.count))
        }
        registry.makeGauge(
            descriptor: Self.descriptor("commits", unit: "held", help: "Commits held of a county."),
            labels: label
        ).set(Int64(standing?.commits ?? 0))
    }
}

/// Builds the federated hub: the puller as a service, and the monitoring routes.
public func buildFederation(_ configuration: FederationConfiguration) -> some ApplicationProtocol {
    let monitor = FederationMonitor(configuration.federation)
    let metrics = FederationMetrics(configuration.federation)
    let puller = FederationPuller(configuration: configuration, monitor: monitor, metrics: metrics)
    let router = Router()
    let staleAfter = configuration.pullInterval * configuration.staleRounds + configuration.staleGrace
    router.get("/healthz") { _, _ -> Response in
        let (standings, rounds) = (await monitor.standings, await monitor.rounds)
        var problems: [String] = []
        for (_, standing) in standings.sorted(by: { $0.key < $1.key }) {
            let last = standing.lastSuccess.flatMap { ISO8601DateFormatter().date(from: $0) }
            if let error = standing.lastError {
                problems.append("\(standing.name): the last pull failed: \(error)")
            } else if last == nil {
                problems.append("\(standing.name): not pulled yet")
            } else if let last, Date().timeIntervalSince(last) > staleAfter.seconds {
                problems.append("\(standing.name): not pulled for \(Int(Date().timeIntervalSince(last))) s")
            }
        }
        let ready = problems.isEmpty && rounds > 0
        let text =
            ready
            ? "ok\n\(standings.count) counties, \(rounds) rounds of pulls\n"
            : "not ready: "
                + (problems.isEmpty ? "the first round of pulls has not ended" : problems.joined(separator: "; "))
                + "\n"
        return Response(
            status: ready ? .ok : .serviceUnavailable,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }
    router.get("/metrics") { _, _ -> Response in
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer()))
        )
    }
    router.get("/v1/federation/status") { _, _ -> Response in
        let standings = await monitor.standings.values.sorted {
            ($0.name, $0.rootFingerprint) < ($1.name, $1.rootFingerprint)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = try encoder.encode(["counties": standings])
        return Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
        )
    }
    return Application(
        router: router,
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port),
            serverName: "fieldlog-federation"
        ),
        services: [puller],
        onServerRunning: { channel in configuration.onListening(channel.localAddress?.port ?? configuration.port) },
        logger: configuration.logger
    )
}

extension Duration {
    fileprivate var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

/// Runs the jobs of tasks that prefer it on a dispatch queue of its own, never on Swift's
/// cooperative pool (which has a thread per core): work that blocks its thread, SQLite's, goes
/// there with `withTaskExecutorPreference`.
final class BlockingExecutor: TaskExecutor {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label, attributes: .concurrent)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
