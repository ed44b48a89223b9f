import FieldCrypto
import FieldLedger
import FieldSync
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The routes served without a signature either way: `GET /healthz` and `GET /metrics`.
func isOpen(_ request: Request) -> Bool {
    request.method == .get && [HubRoutes.health, HubRoutes.metrics].contains(request.uri.path)
}

/// Outermost: counts every answer of the signed routes (and of made-up paths, as `other`) by route
/// and outcome, with its latency.
struct HubMetricsMiddleware: RouterMiddleware {
    let metrics: HubMetrics
    /// Each answered request of a device the hub knows, by device.
    var activity: DeviceActivity?
    var clock: @Sendable () -> Int64 = { 0 }

    func handle(
        _ request: Request,
        context: HubContext,
        next: (Request, HubContext) async throws -> Response
    ) async throws -> Response {
        guard !isOpen(request) else { return try await next(request, context) }
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let route = HubRoutes.route(of: request.uri.path)
        metrics.recordRequest(route: route, outcome: context.notes.outcome, duration: ContinuousClock.now - started)
        if let activity, let device = context.notes.device {
            activity.record(
                device: device,
                outcome: context.notes.outcome,
                sync: HubRoutes.sync.contains(route),
                pushed: context.notes.pushed,
                served: context.notes.served,
                skew: context.notes.skew,
                at: clock()
            )
        }
        return response
    }
}

/// Turns whatever the inner middlewares and routes threw into the hub's refusal (`HubError`'s one
/// mapping), logs it, and signs every answer, success or refusal, with the hub's key, bound to the
/// request it answers (RFC 9421 `req` components).
struct HubSigningMiddleware: RouterMiddleware {
    let key: SigningKey
    let clock: @Sendable () -> Int64
    let logger: Logger

    func handle(
        _ request: Request,
        context: HubContext,
        next: (Request, HubContext) async throws -> Response
    ) async throws -> Response {
        guard !isOpen(request) else { return try await next(request, context) }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let refusal = HubError(answering: error)
            let route = HubRoutes.route(of: request.uri.path)
            if refusal.code == .internal {
                logger.error("request failed", metadata: ["path": "\(route)", "error": "\(type(of: error))"])
            } else {
                logger.notice(
                    "request refused",
                    metadata: [
                        "path": "\(route)", "code": "\(refusal.code.rawValue)",
                        "device": "\(context.notes.device?.fingerprint ?? "-")",
                    ]
                )
            }
            context.notes.outcome = refusal.code.rawValue
            response = refusal.response()
        }
        return await sign(response, answering: request.signed)
    }

    /// The response with `Content-Digest`, `Signature-Input` and `Signature`; an answer that cannot
    /// be signed (never expected) becomes an unsigned internal failure.
    func sign(_ response: Response, answering request: SignedMessage) async -> Response {
        var response = response
        do {
            let body = try await Self.collect(response.body)
            let contentType = response.headers[.contentType] ?? "application/octet-stream"
            let signature = try SyncSigning.signResponse(
                status: response.status.code,
                contentType: contentType,
                body: body,
                request: request,
                key: key,
                now: clock()
            )
            for (name, value) in signature { response.headers[HTTPField.Name(name)!] = value }
            response.body = ResponseBody(byteBuffer: ByteBuffer(bytes: body))
            return response
        } catch {
            logger.error("answer not signed", metadata: ["error": "\(type(of: error))"])
            return HubError.internalFailure.response()
        }
    }

    /// A response body's bytes (the hub's answers are built whole in memory).
    static func collect(_ body: ResponseBody) async throws -> [UInt8] {
        struct Collector: ResponseBodyWriter {
            let bytes: Box
            final class Box: @unchecked Sendable { var bytes: [UInt8] = [] }
            mutating func write(_ buffer: ByteBuffer) async throws { bytes.bytes += buffer.readableBytesView }
            consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
        }
        let box = Collector.Box()
        try await body.write(Collector(bytes: box))
        return box.bytes
    }
}

/// The door of the signed routes: the body collected within the route's limit, exactly one `Host`,
/// and a route the hub serves (anything else is `not_found`, signed like every answer).
struct HubDoorMiddleware: RouterMiddleware {
    let maxBodyBytes: Int

    func handle(
        _ request: Request,
        context: HubContext,
        next: (Request, HubContext) async throws -> Response
    ) async throws -> Response {
        guard !isOpen(request) else { return try await next(request, context) }
        let path = request.uri.path
        let limit = HubRoutes.sync.contains(path) ? maxBodyBytes : 64 << 10
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw HubError(.bodyTooLarge, "the request body is larger than \(limit) bytes; send smaller batches")
        } catch {
            throw HubError(.incompleteBody, "the request body did not arrive whole; send it again")
        }
        request.body = RequestBody(buffer: body)
        let hosts = request.hosts
        guard hosts.count == 1, !hosts[0].isEmpty else {
            throw HubError(
                .badRequest,
                hosts.count > 1
                    ? "the request has \(hosts.count) Host headers; HTTP/1.1 allows exactly one"
                    : "the request has no Host header"
            )
        }
        guard request.method == .post, HubRoutes.sync.contains(path) || path == HubRoutes.enroll else {
            throw HTTPError(.notFound)
        }
        return try await next(request, context)
    }
}

/// The signature check of the signed routes: verifies the request (RFC 9421, the signer's standing,
/// the body digest) and puts the signer's identity in the context. For sync routes the signer must
/// be enrolled and the nonce is remembered at once; enrollment allows a key the hub does not know
/// yet and leaves the nonce to its route, which remembers it only for a code it would redeem.
struct HubAuthenticator: RouterMiddleware {
    enum Signer { case enrolled, enrolling }

    let hub: HubCore
    let signer: Signer

    func handle(
        _ request: Request,
        context: HubContext,
        next: (Request, HubContext) async throws -> Response
    ) async throws -> Response {
        let body = Array(try await request.body.collect(upTo: .max).readableBytesView)
        let verified = try await hub.verify(
            request.signed,
            hosts: request.hosts,
            body: body,
            signer: signer,
            notes: context.notes
        )
        var context = context
        context.notes.device = verified.identity.key
        context.identity = verified.identity
        context.verified = verified
        // On a shared log, a push's nonce is recorded in the push's own transaction (`sharedPush`).
        let pushesToSharedLog = hub.configuration.sharedLog != nil && request.uri.path == "/v1/sync/push"
        if signer == .enrolled && !pushesToSharedLog { try await hub.remember(verified) }
        return try await next(request, context)
    }
}
