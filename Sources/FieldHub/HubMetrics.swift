import Prometheus

/// The hub's Prometheus metrics, served at `GET /metrics` in the text exposition format.
///
/// Counts only: no key, device, enterprise or body ever becomes a label, so the page carries no
/// personal data and its size does not grow with the county. docs/operations.md lists each series.
public struct HubMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// Seconds: the latency buckets, from a nothing-new summary (a few ms) to a full batch.
    static let latencyBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        // Series that exist from the start, so a scrape before the first sync shows zeros.
        _ = syncsCounter
        _ = registry.makeCounter(descriptor: Self.acceptedDescriptor)
        _ = registry.makeGauge(descriptor: Self.noncesDescriptor)
    }

    private static var requestsDescriptor: MetricNameDescriptor {
        descriptor(
            "requests",
            unit: "total",
            help: "Requests answered, by route and outcome (ok, or the refusal's error code)."
        )
    }
    private static var syncsDescriptor: MetricNameDescriptor {
        descriptor("syncs", unit: "total", help: "Sync sessions begun: summary requests answered with 200.")
    }
    private static var acceptedDescriptor: MetricNameDescriptor {
        descriptor(
            "commits_accepted",
            unit: "total",
            help: "Pushed commits taken: applied now, or held to apply later (a newer schema, a future stamp)."
        )
    }
    private static var refusedDescriptor: MetricNameDescriptor {
        descriptor(
            "commits_refused",
            unit: "total",
            help: "Pushed commits refused, by reason (the error code a client receives)."
        )
    }
    private static var servedDescriptor: MetricNameDescriptor {
        descriptor("commits_served", unit: "total", help: "Commits sent to devices in pull responses.")
    }
    private static var noncesDescriptor: MetricNameDescriptor {
        descriptor(
            "nonces",
            unit: "remembered",
            help: "Request nonces remembered for replay protection now (bounded; see HubConfiguration.maxNonces)."
        )
    }
    private static var durationDescriptor: MetricNameDescriptor {
        descriptor(
            "request_duration",
            unit: "seconds",
            help: "Time from the request's arrival to its response, by route."
        )
    }

    private static var groupsDescriptor: MetricNameDescriptor {
        descriptor(
            "push_groups",
            unit: "total",
            help: "Write transactions of the push writer: each takes every push waiting (group commit)."
        )
    }
    private static var groupDurationDescriptor: MetricNameDescriptor {
        descriptor(
            "push_group_duration",
            unit: "seconds",
            help: "Time the push writer spent on each group: its integration and durable commit."
        )
    }
    private static var groupedDescriptor: MetricNameDescriptor {
        descriptor("pushes_grouped", unit: "total", help: "Pushes taken by the push writer, over all its groups.")
    }

    /// (A computed value: the package's descriptor type is not Sendable, so it cannot be a static constant.)
    private static func descriptor(_ name: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "fieldlog", subsystem: "hub", metricName: name, unitName: unit, helpText: help)
    }

    private var syncsCounter: Counter { registry.makeCounter(descriptor: Self.syncsDescriptor) }

    /// One answered request: its route, its outcome ("ok" or an error code) and how long it took.
    func recordRequest(route: String, outcome: String, duration: Duration) {
        registry.makeCounter(descriptor: Self.requestsDescriptor, labels: [("route", route), ("outcome", outcome)])
            .increment()
        registry.makeDurationHistogram(
            descriptor: Self.durationDescriptor,
            labels: [("route", route)],
            buckets: Self.latencyBuckets
        )
        .record(duration)
        if route == "/v1/sync/summary" && outcome == "ok" { syncsCounter.increment() }
    }

    func recordAccepted(_ count: Int) {
        guard count > 0 else { return }
        registry.makeCounter(descriptor: Self.acceptedDescriptor).increment(by: Int64(count))
    }

    func recordRefused(_ count: Int, reason: String) {
        guard count > 0 else { return }
        registry.makeCounter(descriptor: Self.refusedDescriptor, labels: [("reason", reason)]).increment(
            by: Int64(count)
        )
    }

    func recordServed(_ count: Int) {
        guard count > 0 else { return }
        registry.makeCounter(descriptor: Self.servedDescriptor).increment(by: Int64(count))
    }

    /// One write transaction of the push writer: how many pushes it took, and how long it took.
    func recordGroup(pushes: Int, duration: Duration) {
        registry.makeCounter(descriptor: Self.groupsDescriptor).increment()
        registry.makeCounter(descriptor: Self.groupedDescriptor).increment(by: Int64(pushes))
        registry.makeDurationHistogram(descriptor: Self.groupDurationDescriptor, buckets: Self.latencyBuckets)
            .record(duration)
    }

    /// How many request nonces the hub remembers now.
    func recordNonces(_ count: Int) {
        registry.makeGauge(descriptor: Self.noncesDescriptor).set(Int64(count))
    }

    private static var logPositionDescriptor: MetricNameDescriptor {
        descriptor(
            "log_position",
            unit: "entries",
            help: "The shared log's position this process's replica has followed to (hub serve --store only)."
        )
    }
    private static var logLagDescriptor: MetricNameDescriptor {
        descriptor(
            "log_lag",
            unit: "entries",
            help: "Entries of the shared log this process's replica has not followed yet (hub serve --store only)."
        )
    }

    /// Where this process's replica is in the shared log, and how far behind its end.
    func recordLog(position: Int64, lag: Int64) {
        registry.makeGauge(descriptor: Self.logPositionDescriptor).set(position)
        registry.makeGauge(descriptor: Self.logLagDescriptor).set(lag)
    }

    /// The exposition text, `text/plain; version=0.0.4`.
    public func render() -> [UInt8] { registry.emitToBuffer() }
}
