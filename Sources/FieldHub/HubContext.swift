import FieldCrypto
import FieldLedger
import Hummingbird
import Logging
import Synchronization

/// What the hub knows of a request as it passes through the middlewares to its route: set by the
/// authenticator once the signature is verified.
public struct HubContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The device that signed the request, read in one database hop with its standing and scopes.
    var identity: DeviceIdentity?
    /// What verifying the signature established; the enrollment route remembers its nonce late.
    var verified: VerifiedSignature?
    /// Shared by every copy of this context, so that the outer middlewares learn what inner ones found.
    let notes = RequestNotes()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// A context for a request answered in process, without a server (the fuzzer, tests).
    init(logger: Logger) {
        struct Source: RequestContextSource { var logger: Logger }
        coreContext = .init(source: Source(logger: logger))
    }
}

/// What a request's handling found, readable by the middlewares outside the one that found it (as
/// Hummingbird's own endpoint path is): the signer's key and the outcome, for the log and metrics.
final class RequestNotes: Sendable {
    struct State {
        var device: PublicKey?
        var outcome = "ok"
        /// The signature's `created` minus the hub's clock, once the signer is known.
        var skew: Int64?
        var pushed = 0
        var served = 0
    }

    private let state = Mutex(State())

    var skew: Int64? {
        get { state.withLock { $0.skew } }
        set { state.withLock { $0.skew = newValue } }
    }

    var pushed: Int {
        get { state.withLock { $0.pushed } }
        set { state.withLock { $0.pushed = newValue } }
    }

    var served: Int {
        get { state.withLock { $0.served } }
        set { state.withLock { $0.served = newValue } }
    }

    var device: PublicKey? {
        get { state.withLock { $0.device } }
        set { state.withLock { $0.device = newValue } }
    }

    var outcome: String {
        get { state.withLock { $0.outcome } }
        set { state.withLock { $0.outcome = newValue } }
    }
}

/// What `HubHandler.verify` established of a request's signature.
struct VerifiedSignature: Sendable {
    var identity: DeviceIdentity
    var nonce: Nonce
    var expiry: Int64

    /// The nonce as the shared store records it: keyed by the signer's key and the nonce.
    var logNonce: LogNonce { LogNonce(keyID: identity.key.bytes, nonce: nonce.bytes, expiresAt: expiry) }
}

extension Request {
    /// Every `Host` the request carried (RFC 9112 allows exactly one): the first became the
    /// authority; any further one stays among the fields.
    var hosts: [String] {
        (head.authority.map { [$0] } ?? []) + headers.filter { $0.name.canonicalName == "host" }.map(\.value)
    }

    /// The request as a signature covers it: `@target-uri` is `http://` + its Host + its target.
    var signed: SignedMessage {
        SignedMessage(
            method: method.rawValue,
            targetURI: "http://" + (hosts.first ?? "") + (head.path ?? uri.path),
            headers: headers.map { ($0.name.rawName, $0.value) }
        )
    }
}
