import FieldCrypto
import FieldLedger
import FieldStore
import FieldSync
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix

/// Builds the county hub: the sync endpoints, every request's RFC 9421 signature checked and every
/// response signed with the county key. Tests import this and run it on an ephemeral port.
public func buildHub(_ configuration: HubConfiguration) -> some ApplicationProtocol {
    let router = Router()
    let hub = HubHandler(configuration: configuration)
    // First, so that it wraps every route and the router's own "not found" as well.
    router.add(middleware: HubDoor(hub: hub))
    for path in HubRoutes.sync + [HubRoutes.enroll] {
        router.post(RouterPath(path)) { request, _ in await hub.handle(request) }
    }
    router.get(RouterPath(HubRoutes.health)) { _, _ in "ok\n" }
    router.get(RouterPath(HubRoutes.metrics)) { _, _ in
        var fields = HTTPFields()
        fields[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(
            status: .ok,
            headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: configuration.metrics.render()))
        )
    }
    return Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: configuration.idleTimeout.map { TimeAmount($0) })),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port),
            serverName: "fieldlog-hub"
        ),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? configuration.port
            hub.authorities.listening(on: port)
            configuration.onListening(port)
        },
        logger: configuration.logger
    )
}

/// Every route the hub serves; docs/openapi.yaml describes exactly these (a test checks).
public enum HubRoutes {
    public static let sync = ["summary", "heads", "pull", "push", "digests"].map { "/v1/sync/" + $0 }
    public static let enroll = "/v1/enroll"
    public static let health = "/healthz"
    public static let metrics = "/metrics"

    /// "METHOD path" for each route.
    public static var all: [String] {
        sync.map { "POST " + $0 } + ["POST " + enroll, "GET " + health, "GET " + metrics]
    }

    /// The route a path names in logs and metrics: a signed route's own path, else `other`, so that
    /// made-up paths never reach a log line or a metric label.
    static func route(of path: String) -> String { sync.contains(path) || path == enroll ? path : "other" }
}

/// Sends whatever the router does not serve (another path, another method) to the hub, which
/// answers `not_found`, signed like every other answer.
struct HubDoor<Context: RequestContext>: RouterMiddleware {
    let hub: HubHandler

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            return await hub.handle(request)
        }
    }
}

/// A request as the hub judges it, apart from Hummingbird's types (the fuzzer builds these).
package struct HubRequest: Sendable {
    package var method: String
    /// The request target: the path and any query, as received.
    package var target: String
    /// Every `Host` the request carried: RFC 9112 allows exactly one.
    package var hosts: [String]
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]

    package init(
        method: String,
        target: String,
        hosts: [String],
        headers: [(name: String, value: String)],
        body: [UInt8]
    ) {
        self.method = method
        self.target = target
        self.hosts = hosts
        self.headers = headers
        self.body = body
    }

    /// The path without its query.
    package var path: String { String(target.prefix { $0 != "?" }) }

    /// The request as a signature covers it: `@target-uri` is `http://` + its Host + its target.
    var signed: SignedMessage {
        SignedMessage(method: method, targetURI: "http://" + (hosts.first ?? "") + target, headers: headers)
    }
}

/// The hub's answer, apart from Hummingbird's types.
package struct HubAnswer: Sendable {
    package var status: Int
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]
    /// "ok", or the refusal's error code (for the metrics).
    package var outcome: String
}

/// The hub's request handling, apart from Hummingbird's types where it can be.
package struct HubHandler: Sendable {
    let configuration: HubConfiguration
    let nonces: NonceCache
    let authorities: HubAuthorities

    package init(configuration: HubConfiguration) {
        self.configuration = configuration
        nonces = NonceCache(capacity: configuration.maxNonces)
        authorities = HubAuthorities(configured: configuration.publicURLs, host: configuration.host)
        authorities.listening(on: configuration.port)
    }

    var ledger: Ledger { configuration.ledger }

    /// The threads the hub's database work runs on, never Swift's cooperative pool. SQLite calls
    /// block their thread, and that pool has one thread per core: during a burst of syncs every
    /// thread of it waited for the writer, and /healthz took up to 5.7 s to answer in the
    /// 300-device load bench. Writes (pushes, enrollments) have a lane of their own, since they
    /// take turns on SQLite's single writer anyway; reads (summaries, heads, pulls, the signer's
    /// standing and scopes) go side by side on the other, as WAL lets them, without queueing
    /// behind the writes.
    enum Lane { case read, write }

    static let readThreads = started(
        NIOThreadPool(numberOfThreads: max(6, 2 * ProcessInfo.processInfo.activeProcessorCount))
    )
    static let writeThreads = started(NIOThreadPool(numberOfThreads: 2))

    static func started(_ pool: NIOThreadPool) -> NIOThreadPool {
        pool.start()
        return pool
    }

    /// Runs synchronous database work on the lane's threads, suspending the calling task meanwhile.
    func database<T: Sendable>(_ lane: Lane = .read, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await (lane == .read ? Self.readThreads : Self.writeThreads).runIfActive(work)
    }

    /// Answers a request as Hummingbird received it: collects its body within the route's limit,
    /// judges it (`answer(_:)`) and counts it in the metrics under its route (or `other`, so that
    /// made-up paths cannot grow the metrics page).
    func handle(_ request: Request) async -> Response {
        let started = ContinuousClock.now
        let path = request.uri.path
        let route = HubRoutes.route(of: path)
        var hubRequest = HubRequest(
            method: request.method.rawValue,
            target: request.head.path ?? path,
            // The first Host line becomes the authority; any further one stays among the fields.
            hosts: (request.head.authority.map { [$0] } ?? [])
                + request.headers.filter { $0.name.canonicalName == "host" }.map(\.value),
            headers: request.headers.map { ($0.name.rawName, $0.value) },
            body: []
        )
        let answer: HubAnswer
        do {
            let limit = HubRoutes.sync.contains(path) ? configuration.maxBodyBytes : 64 << 10
            hubRequest.body = try await collectBody(of: request, upTo: limit, advice: "send smaller batches")
            answer = await self.answer(hubRequest)
        } catch let error as HubError {
            answer = refusal(error, to: hubRequest.signed)
        } catch {
            answer = refusal(
                HubError(.incompleteBody, "the request body did not arrive whole; send it again"),
                to: hubRequest.signed
            )
        }
        configuration.metrics.recordRequest(
            route: route,
            outcome: answer.outcome,
            duration: ContinuousClock.now - started
        )
        var fields = HTTPFields()
        for header in answer.headers { fields[HTTPField.Name(header.name)!] = header.value }
        return Response(
            status: .init(code: answer.status),
            headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body))
        )
    }

    /// Judges a whole request and answers it, every answer signed: the door checks (one `Host`, a
    /// route, this server's authority, the body's size) and then the route's own.
    package func answer(_ request: HubRequest) async -> HubAnswer {
        let signed = request.signed
        var device: PublicKey?
        do {
            guard request.hosts.count == 1, let authority = request.hosts.first, !authority.isEmpty else {
                throw HubError(
                    .badRequest,
                    request.hosts.count > 1
                        ? "the request has \(request.hosts.count) Host headers; HTTP/1.1 allows exactly one"
                        : "the request has no Host header"
                )
            }
            let path = request.path
            guard request.method == "POST", HubRoutes.sync.contains(path) || path == HubRoutes.enroll else {
                throw HubError(
                    .notFound,
                    "there is no such endpoint; the hub serves \(HubRoutes.all.joined(separator: ", "))"
                )
            }
            let limit = path == HubRoutes.enroll ? 64 << 10 : configuration.maxBodyBytes
            guard request.body.count <= limit else {
                throw HubError(.bodyTooLarge, "the request body is larger than \(limit) bytes; send smaller batches")
            }
            if path == HubRoutes.enroll { return try await enroll(request, signed: signed) }
            let verified = try await verify(request)
            device = verified.key
            try await remember(verified)
            return try await sync(request, path: path, signed: signed, device: verified.key)
        } catch let error as HubError {
            configuration.logger.notice(
                "request refused",
                metadata: [
                    "path": "\(HubRoutes.route(of: request.path))", "code": "\(error.code.rawValue)",
                    "device": "\(device?.fingerprint ?? "-")",
                ]
            )
            return refusal(error, to: signed)
        } catch {
            configuration.logger.error(
                "request failed",
                metadata: ["path": "\(HubRoutes.route(of: request.path))", "error": "\(type(of: error))"]
            )
            return internalFailure(to: signed)
        }
    }

    /// A sync request from an authenticated device: its scopes, the message, the responder.
    func sync(
        _ request: HubRequest,
        path: String,
        signed: SignedMessage,
        device key: PublicKey
    ) async throws -> HubAnswer {
        let (ledger, isPeer) = (ledger, configuration.isPeer)
        let scopes = try await database {
            let scopes = try ledger.readableScopes(of: key)
            return isPeer ? scopes.intersection(try ledger.readableScopes(of: ledger.publicKey)) : scopes
        }
        let syncRequest: SyncRequest
        do { syncRequest = try SyncWire.decodeRequest(path: path, body: request.body) } catch {
            throw HubError(.badRequest, error.message)
        }
        let response: SyncResponse
        do {
            let lane: Lane = if case .push = syncRequest { .write } else { .read }
            response = try await database(lane) {
                try SyncResponder(replica: ledger.replica, readableScopes: scopes, keepsRefused: isPeer).respond(
                    to: syncRequest
                )
            }
        } catch let error as SyncError {
            switch error.code {
            case .unsupportedVersion: throw HubError(.unsupportedVersion, error.message)
            case .outOfScope:
                if case .push(let records) = syncRequest {
                    configuration.metrics.recordRefused(records.count, reason: HubError.Code.outOfScope.rawValue)
                }
                throw HubError(.outOfScope, error.message)
            default: throw HubError(.badRequest, error.message)
            }
        }
        let (contentType, responseBody) = try SyncWire.encode(response)
        switch response {
        case .push(let result):
            configuration.metrics.recordAccepted(result.applied + result.held)
            for (code, refusals) in Dictionary(grouping: result.refused, by: \.code) {
                configuration.metrics.recordRefused(refusals.count, reason: code.rawValue)
            }
            if !result.refused.isEmpty {
                configuration.logger.notice(
                    "push refused commits",
                    metadata: [
                        "device": "\(key.fingerprint)", "refused": "\(result.refused.count)",
                        "first": "\(result.refused[0].code.rawValue)",
                    ]
                )
            }
        case .pull(let records, _):
            configuration.metrics.recordServed(records.count)
        case .summary, .heads, .stateDigests:
            break
        }
        return try signedAnswer(status: 200, contentType: contentType, body: responseBody, request: signed)
    }

    /// The whole body, or a refusal: too large (413), or cut off before its end (the client went
    /// away or stalled past the idle timeout).
    func collectBody(of request: Request, upTo limit: Int, advice: String) async throws -> [UInt8] {
        do {
            return Array(try await request.body.collect(upTo: limit).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw HubError(.bodyTooLarge, "the request body is larger than \(limit) bytes; \(advice)")
        } catch {
            throw HubError(.incompleteBody, "the request body did not arrive whole; send it again")
        }
    }

    /// What `verify` established of a request's signature, for `remember`.
    struct Verified {
        var key: PublicKey
        var standing: DeviceStanding
        var nonce: Nonce
        var expiry: Int64
    }

    /// Checks the request's signature, its parameters, the signer's standing and the body digest;
    /// remembers nothing (see `remember`). An enrollment request is signed by a key not enrolled
    /// yet (`enrolling`).
    func verify(_ request: HubRequest, enrolling: Bool = false) async throws -> Verified {
        let (message, body) = (request.signed, request.body)
        guard let inputHeader = message.header("signature-input"), let signatureHeader = message.header("signature")
        else {
            throw HubError(
                .missingSignature,
                "the request is not signed (RFC 9421 Signature-Input and Signature are required)"
            )
        }
        let label = SyncSigning.requestLabel
        let parsed: (input: SignatureInput, signature: [UInt8])
        do {
            parsed = try HTTPSignature.parse(signatureInput: inputHeader, signature: signatureHeader, label: label)
        } catch {
            if error.code == .missingSignature {
                throw HubError(
                    .missingSignature,
                    "the request carries no signature labelled \(label) (\(error.message))"
                )
            }
            throw HubError(.badSignature, "the signature headers do not parse: \(error)")
        }
        let input = parsed.input
        guard input.tag == SyncSigning.tag, Set(input.components).isSuperset(of: SyncSigning.requestComponents),
            let created = input.created, let expires = input.expires, let nonceText = input.nonce,
            let keyID = input.keyID,
            let algorithm = input.algorithm
        else {
            throw HubError(
                .incompleteSignature,
                "the signature must cover @method, @target-uri, content-type and content-digest, with created, expires, nonce, keyid, alg and tag=\"\(SyncSigning.tag)\""
            )
        }
        // The signature covers @target-uri, whose authority is the Host: a request signed for
        // another server is refused, so it cannot be replayed here from there.
        guard authorities.accepts(request.hosts.first ?? "") else {
            throw HubError(
                .misdirectedRequest,
                "the request is addressed to another server than this one (it answers to \(authorities.all.joined(separator: ", "))); send it to the server it was signed for"
            )
        }
        guard algorithm == "ed25519" else { throw HubError(.badSignatureParameters, "alg must be ed25519") }
        guard let nonce = Nonce(base64: nonceText) else {
            throw HubError(.badSignatureParameters, "the nonce must be 16 random bytes in base64 (24 characters)")
        }
        guard expires > created, expires - created <= SyncSigning.lifetime else {
            throw HubError(
                .badSignatureParameters,
                "expires must be after created and at most \(SyncSigning.lifetime) s after it"
            )
        }
        guard let key = try? PublicKey(hex: keyID) else { throw HubError(.unknownKey, "keyid is not a device key") }
        let ledger = ledger
        let standing = try await database { try ledger.standing(of: key) }
        switch (standing, enrolling) {
        case (.unknown, false): throw HubError(.unknownKey, "device \(key.fingerprint) is not enrolled in this county")
        case (.revoked, _): throw HubError(.revokedKey, "device \(key.fingerprint) has been revoked; ask the operator")
        case (.enrolled, _), (.unknown, true): break
        }
        let now = configuration.clock()
        guard abs(created - now) <= configuration.createdWindow else {
            throw HubError(
                .createdOutOfWindow,
                "the request was signed at \(created), \(created - now) s from the hub's clock (allowed ±\(configuration.createdWindow) s); check this computer's clock"
            )
        }
        guard expires >= now else { throw HubError(.expired, "the request's signature expired at \(expires)") }
        do {
            _ = try HTTPSignature.verify(message, signatureInput: inputHeader, signature: signatureHeader, label: label)
            { _ in key }
        } catch {
            throw HubError(
                .badSignature,
                "the request's signature does not verify with the key of device \(key.fingerprint)"
            )
        }
        guard let digest = message.header("content-digest") else {
            throw HubError(.digestMismatch, "the request has no Content-Digest")
        }
        do { try ContentDigest.verify(digest, body: body) } catch {
            throw HubError(.digestMismatch, "the request body does not match its Content-Digest")
        }
        return Verified(
            key: key,
            standing: standing,
            nonce: nonce,
            expiry: max(expires, created + configuration.createdWindow)
        )
    }

    /// Remembers a verified request's nonce: a replay is refused, and so is any request while the
    /// cache is full of nonces that have not expired yet.
    func remember(_ verified: Verified) async throws {
        let outcome = await nonces.insert(verified.nonce, expiry: verified.expiry, now: configuration.clock())
        configuration.metrics.recordNonces(await nonces.count)
        switch outcome {
        case .remembered: return
        case .replayed:
            throw HubError(
                .replayedNonce,
                "this request was already received (its nonce was seen); a replay is refused"
            )
        case .full:
            throw HubError(
                .busy,
                "the hub is receiving more signed requests than it remembers for replay protection; try again in a minute"
            )
        }
    }

    /// `POST /v1/enroll`: a new device, signing with its own key, redeems a one-time code and
    /// receives the registry (whose author is the county root; the response is signed by it too).
    ///
    /// Anyone can make a key and sign with it, so nothing of a request signed by a key the hub does
    /// not know is remembered unless it carries a code the hub would redeem: a stranger cannot
    /// fill the nonce cache. A replay is still refused as one, first: its nonce is looked up
    /// before the code is.
    func enroll(_ request: HubRequest, signed: SignedMessage) async throws -> HubAnswer {
        let verified = try await verify(request, enrolling: true)
        let key = verified.key
        if case .enrolled = verified.standing {
            try await remember(verified)
            throw HubError(.alreadyEnrolled, "device \(key.fingerprint) is already enrolled; sync instead")
        }
        guard await !nonces.contains(verified.nonce, now: configuration.clock()) else {
            throw HubError(
                .replayedNonce,
                "this request was already received (its nonce was seen); a replay is refused"
            )
        }
        struct Enrollment: Decodable {
            var code: String
            var label: String?
        }
        guard let enrollment = try? JSONDecoder().decode(Enrollment.self, from: Data(request.body)),
            enrollment.code.utf8.count <= 64, (enrollment.label?.utf8.count ?? 0) <= 200
        else {
            throw HubError(
                .badRequest,
                "the body is not {\"code\": …, \"label\": …} (a code of at most 64 bytes, a label of at most 200)"
            )
        }
        let (codes, now) = (EnrollmentCodes(ledger: ledger), configuration.clock())
        try await database { try codes.check(enrollment.code, now: now) }
        try await remember(verified)
        let deviceCode = try await database(.write) {
            try codes.redeem(enrollment.code, publicKey: key, label: enrollment.label, now: now)
        }
        configuration.logger.notice(
            "device enrolled",
            metadata: ["device": "\(key.fingerprint)", "code": "\(deviceCode)"]
        )
        let records = try await database {
            var records: [[UInt8]] = []
            try ledger.replica.exportRecords(scopes: [Commit.registryScope]) { records.append($0) }
            return records
        }
        return try signedAnswer(
            status: 200,
            contentType: SyncWire.batchType,
            body: SyncWire.batch(records, more: false),
            request: signed
        )
    }

    /// An answer signed by the hub's key, bound to the request it answers.
    func signedAnswer(
        status: Int,
        contentType: String,
        body: [UInt8],
        request: SignedMessage,
        outcome: String = "ok"
    ) throws -> HubAnswer {
        let signature = try SyncSigning.signResponse(
            status: status,
            contentType: contentType,
            body: body,
            request: request,
            key: configuration.hubKey,
            now: configuration.clock()
        )
        return HubAnswer(
            status: status,
            headers: [("Content-Type", contentType)] + signature,
            body: body,
            outcome: outcome
        )
    }

    /// A refusal: `{"error": {"code": …, "message": …}}` with the code's status, signed.
    func refusal(_ error: HubError, to request: SignedMessage) -> HubAnswer {
        errorAnswer(status: error.status, code: error.code.rawValue, message: error.message, request: request)
    }

    /// The answer to a request the hub could not complete for a reason of its own (never bad input).
    func internalFailure(to request: SignedMessage) -> HubAnswer {
        errorAnswer(
            status: 500,
            code: "internal",
            message: "the hub could not complete the request; see its log",
            request: request
        )
    }

    func errorAnswer(status: Int, code: String, message: String, request: SignedMessage) -> HubAnswer {
        let body = ErrorEnvelope(code: code, message: message).encoded()
        if let answer = try? signedAnswer(
            status: status,
            contentType: "application/json",
            body: body,
            request: request,
            outcome: code
        ) {
            return answer
        }
        return HubAnswer(status: status, headers: [("Content-Type", "application/json")], body: body, outcome: code)
    }
}
