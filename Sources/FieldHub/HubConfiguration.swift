import FieldCrypto
import FieldLedger
import Logging

import struct Foundation.Date

/// What a hub serves and how.
public struct HubConfiguration: Sendable {
    /// The hub's replica (it holds every scope); its key is the county root, which signs responses.
    public var ledger: Ledger
    /// The county root key: signs every response.
    public var hubKey: SigningKey
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests).
    public var port = 8080
    /// How far a request's `created` may be from the hub's clock, in seconds (default ±5 minutes).
    public var createdWindow: Int64 = 300
    /// The largest request body accepted (413 above it).
    public var maxBodyBytes = 16 << 20
    public var logger = Logger(label: "fieldlog.hub")
    /// A connection silent this long is closed: one that stops sending its request part way
    /// (a slow or stuck client), or an idle keep-alive connection. `nil` never closes.
    public var idleTimeout: Duration? = .seconds(30)
    /// The URLs clients reach this server by besides the address it listens on (behind a reverse
    /// proxy, or by a name): a signed request whose `Host` names neither is refused (421; see
    /// `HubAuthorities`).
    public var publicURLs: [String] = []
    /// The most request nonces remembered at once for replay protection; past it, new requests
    /// are refused (503 busy) until some expire.
    public var maxNonces = 1 << 18
    /// The counters and latency histogram served at `/metrics`.
    public var metrics = HubMetrics()
    /// What the hub saw of each device it knows, for the console's 设备与同步 page.
    package var activity = DeviceActivity()
    /// Where the activity is added up when several hub processes share a store (nil: the hub's
    /// own tables).
    package var activityStore: (any DeviceActivityStore)?
    /// True when a laptop serves other laptops: it offers only scopes it may read itself, and keeps
    /// refused commits as evidence like any replica.
    public var isPeer = false
    /// Called with the bound port once the hub listens (the CLI prints it; useful with port 0).
    public var onListening: @Sendable (Int) -> Void = { _ in }
    /// The shared store when this is one of several hub processes (`hub serve --store`): nonces,
    /// enrollment codes and the commit log live there, and the replica follows the log. `nil`: the
    /// hub is alone on its SQLite replica (the embedded default).
    public var sharedLog: (any SharedLog)?
    /// With a shared log: `/healthz` answers 503 (not ready) while the replica is more than this
    /// many entries behind the log's end. A process follows the log before it listens, so this
    /// takes out one that falls far behind while serving; a burst of pushes puts every process
    /// behind for a few seconds (30,000 commits at once in the scale-out benchmark), and a bound
    /// below that would take them all out together, leaving the proxy nothing to send to.
    public var maxLogLag: Int64 = 50_000
    /// With a shared log: how often the replica looks for new entries when nothing asks it to.
    public var logFollowInterval: Duration = .milliseconds(200)
    /// With a shared log: how many entries a request presenting a checkpoint may wait for this
    /// process to follow; further behind, it is refused (503 `catching_up`, Retry-After).
    public var maxInlineCatchUp: Int64 = 10_000
    /// The hub's clock in Unix seconds; tests replace it.
    public var clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }

    public init(ledger: Ledger, hubKey: SigningKey) {
        self.ledger = ledger
        self.hubKey = hubKey
    }
}
