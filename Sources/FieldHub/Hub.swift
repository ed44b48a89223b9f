import FieldCrypto
import FieldLedger
import FieldStore
import FieldSync
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Builds the county hub: the sync endpoints, every request's RFC 9421 signature checked and every
/// response signed with the county key. Tests import this and run it on an ephemeral port.
///
/// The routes and middlewares are `HubHandler.router`; the database threads are a service of the
/// application, shut down with it.
public func buildHub(_ configuration: HubConfiguration) -> some ApplicationProtocol {
    buildHub(configuration, threads: HubThreads())
}

/// The hub with database threads of the caller's making (a test watches them stop with it).
package func buildHub(_ configuration: HubConfiguration, threads: HubThreads) -> some ApplicationProtocol {
    let hub = HubHandler(configuration: configuration, threads: threads)
    return Application(
        responder: hub.responder,
        server: .http1(configuration: .init(idleTimeout: configuration.idleTimeout.map { TimeAmount($0) })),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port),
            serverName: "fieldlog-hub"
        ),
        services: (hub.core.follower.map { [LogFollowerService(follower: $0)] as [any Service] } ?? []) + [
            threads,
            DeviceActivityService(
                activity: configuration.activity,
                ledger: configuration.ledger,
                store: configuration.activityStore,
                logger: configuration.logger
            ),
        ],
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
}

/// The hub's answer, apart from Hummingbird's types.
package struct HubAnswer: Sendable {
    package var status: Int
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]
    /// "ok", or the refusal's error code (for the metrics).
    package var outcome: String
}

/// The hub: its routes and middlewares, and the work they call (the signature check, the sync
/// responder, enrollment) on the database threads.
package struct HubHandler: Sendable {
    let core: HubCore
    /// The router with its middlewares, built once.
    let responder: RouterResponder<HubContext>

    package init(configuration: HubConfiguration, threads: HubThreads = .shared) {
        core = HubCore(
            configuration: configuration,
            follower: configuration.sharedLog.map { log in
                LogFollower(
                    log: log,
                    ledger: configuration.ledger,
                    threads: threads,
                    metrics: configuration.metrics,
                    logger: configuration.logger,
                    interval: configuration.logFollowInterval
                )
            },
            nonces: NonceCache(capacity: configuration.maxNonces),
            authorities: HubAuthorities(configured: configuration.publicURLs, host: configuration.host),
            threads: threads,
            pushes: PushWriter(
                replica: configuration.ledger.syncEngine,
                keepsRefused: configuration.isPeer,
                threads: threads,
                metrics: configuration.metrics
            )
        )
        core.authorities.listening(on: configuration.port)
        responder = Self.router(core).buildResponder()
    }

    var configuration: HubConfiguration { core.configuration }
    var authorities: HubAuthorities { core.authorities }
    var nonces: NonceCache { core.nonces }
    package var threads: HubThreads { core.threads }

    /// The routes and middlewares, outermost first: metrics, signing (and the one mapping of errors
    /// to refusals), the door (body, Host, route), then per route group the authenticator.
    static func router(_ hub: HubCore) -> Router<HubContext> {
        let configuration = hub.configuration
        let router = Router(context: HubContext.self)
        router.add(
            middleware: HubMetricsMiddleware(
                metrics: configuration.metrics,
                activity: configuration.activity,
                clock: configuration.clock
            )
        )
        router.add(
            middleware: HubSigningMiddleware(
                key: configuration.hubKey,
                clock: configuration.clock,
                logger: configuration.logger
            )
        )
        router.add(middleware: HubDoorMiddleware(maxBodyBytes: configuration.maxBodyBytes))
        let sync = router.group().add(middleware: HubAuthenticator(hub: hub, signer: .enrolled))
        for path in HubRoutes.sync {
            sync.post(RouterPath(path)) { request, context in try await hub.sync(request, context: context) }
        }
        router.group().add(middleware: HubAuthenticator(hub: hub, signer: .enrolling))
            .post(RouterPath(HubRoutes.enroll)) { request, context in try await hub.enroll(request, context: context) }
        router.get(RouterPath(HubRoutes.health)) { _, _ in try await hub.health() }
        router.get(RouterPath(HubRoutes.metrics)) { _, _ in
            var fields = HTTPFields()
            fields[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(
                status: .ok,
                headers: fields,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: configuration.metrics.render()))
            )
        }
        return router
    }

    /// Runs synchronous database work on the lane's threads, suspending the calling task meanwhile.
    func database<T: Sendable>(
        _ lane: HubThreads.Lane = .read,
        _ work: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await core.database(lane, work)
    }

    /// Answers a request in process, through the same router and middlewares as a served one (the
    /// fuzzer and the corpus replay call this).
    package func answer(_ request: HubRequest) async -> HubAnswer {
        var fields = HTTPFields()
        for host in request.hosts.dropFirst() { fields.append(HTTPField(name: .init("Host")!, value: host)) }
        for header in request.headers {
            guard let name = HTTPField.Name(header.name) else { continue }
            fields.append(HTTPField(name: name, value: header.value))
        }
        let head = HTTPRequest(
            method: HTTPRequest.Method(request.method) ?? .init("INVALID")!,
            scheme: nil,
            authority: request.hosts.first,
            path: request.target,
            headerFields: fields
        )
        let context = HubContext(logger: configuration.logger)
        do {
            let response = try await responder.respond(
                to: Request(head: head, body: RequestBody(buffer: ByteBuffer(bytes: request.body))),
                context: context
            )
            return HubAnswer(
                status: response.status.code,
                headers: response.headers.map { ($0.name.rawName, $0.value) },
                body: try await HubSigningMiddleware.collect(response.body),
                outcome: context.notes.outcome
            )
        } catch {
            // The signing middleware answers every error; this is for the open routes alone.
            return HubAnswer(status: 500, headers: [], body: [], outcome: "internal")
        }
    }
}

/// The work the hub's routes and authenticator call: the signature check, the nonce cache, the sync
/// responder and enrollment, with the database work on the hub's threads.
struct HubCore: Sendable {
    let configuration: HubConfiguration
    /// With a shared log: this process's replica following it.
    let follower: LogFollower?
    let nonces: NonceCache
    let authorities: HubAuthorities
    let threads: HubThreads
    /// The one writer of pushes (group commit).
    let pushes: PushWriter

    var ledger: Ledger { configuration.ledger }

    func database<T: Sendable>(
        _ lane: HubThreads.Lane = .read,
        _ work: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await threads.perform(lane, work)
    }

    /// A sync request from the authenticated device in the context: the message, the responder (which
    /// applies the pull and the push scope rule alike), the metrics.
    func sync(_ request: Request, context: HubContext) async throws -> Response {
        guard let identity = context.identity else { throw HubError.internalFailure }
        let body = Array(try await request.body.collect(upTo: .max).readableBytesView)
        let syncRequest = try SyncWire.decodeRequest(path: request.uri.path, body: body)
        let (replica, isPeer, scopes) = (ledger.syncEngine, configuration.isPeer, identity.readableScopes)
        try requireListedProcessKey()
        if let text = request.uri.queryParameters.get("checkpoint") {
            guard let checkpoint = Int64(text), checkpoint >= 0 else {
                throw HubError(
                    .badRequest,
                    "checkpoint \(text.prefix(40)) is not a position of the log; present the one a push answered, or none"
                )
            }
            if let follower { try await reach(checkpoint, follower) }
        }
        let response: SyncResponse
        do {
            if case .push(let records) = syncRequest, let log = configuration.sharedLog, let follower,
                let verified = context.verified
            {
                response = .push(try await sharedPush(records, scopes: scopes, verified: verified, log, follower))
            } else if case .push(let records) = syncRequest {
                // Decoded and verified here, side by side with other requests; written by the one
                // writer with whatever other pushes wait (group commit).
                let commits = try await database(.read) {
                    try SyncResponder.admitPush(records, readableScopes: scopes)
                }
                response = .push(PushResponse(try await pushes.push(commits)))
            } else {
                response = try await database(.read) {
                    try SyncResponder(replica: replica, readableScopes: scopes, keepsRefused: isPeer).respond(
                        to: syncRequest
                    )
                }
            }
        } catch let error as SyncError where error.code == .outOfScope {
            if case .push(let records) = syncRequest {
                configuration.metrics.recordRefused(records.count, reason: HubError.Code.outOfScope.rawValue)
            }
            throw error
        }
        switch response {
        case .push(let result):
            context.notes.pushed = result.applied + result.held
            configuration.metrics.recordAccepted(result.applied + result.held)
            for (code, refusals) in Dictionary(grouping: result.refused, by: \.code) {
                configuration.metrics.recordRefused(refusals.count, reason: code.rawValue)
            }
            if !result.refused.isEmpty {
                configuration.logger.notice(
                    "push refused commits",
                    metadata: [
                        "device": "\(identity.key.fingerprint)", "refused": "\(result.refused.count)",
                        "first": "\(result.refused[0].code.rawValue)",
                    ]
                )
            }
        case .pull(let records, _):
            context.notes.served = records.count
            configuration.metrics.recordServed(records.count)
        case .summary, .heads, .stateDigests:
            break
        }
        let (contentType, responseBody) = try SyncWire.encode(response)
        return Self.ok(contentType: contentType, body: responseBody)
    }

    /// A write of this process's own (the root key's registry commit of an enrollment) on a shared
    /// log: the replica first follows the log to its end, so that the root's feed is at its head;
    /// the write's gate appends the commit exclusively (`SharedLog.localCommitGate`). When another
    /// process wrote the root's next commit first, the write is rolled back, the replica follows
    /// again and the write is tried again.
    func writeOwn<T: Sendable>(_ follower: LogFollower, _ write: @escaping @Sendable () throws -> T) async throws -> T {
        var attempt = 0
        while true {
            try await follower.refresh()
            do {
                return try await database(.write, write)
            } catch let error as SharedLogError where error.code == .placeTaken && attempt < 8 {
                attempt += 1
            }
        }
    }

    /// Whether this process signs with a key of its own (not the county root's) on a shared log.
    var signsWithProcessKey: Bool { follower != nil && configuration.hubKey.publicKey != ledger.rootKey }

    /// A process signing with a key of its own answers only while the registry lists that key as a
    /// hub process: once the operator revokes it (a host gone astray), it stops answering, so that
    /// devices that have not learnt of the revocation yet are not answered in its name.
    func requireListedProcessKey() throws {
        guard signsWithProcessKey, !ledger.isHubProcess(configuration.hubKey.publicKey) else { return }
        throw HubError(
            .processKeyRevoked,
            "this hub process's key is not listed as a hub process in the county registry (revoked?); sync again, another process will answer"
        )
    }

    /// A push to one of several hub processes: the commits go to the shared log with the request's
    /// nonce in one transaction, the replica follows the log past them, and the answer is what the
    /// replica holds of each (`Replica.standing`), with the checkpoint a later request presents.
    private func sharedPush(
        _ records: [[UInt8]],
        scopes: Set<String>,
        verified: VerifiedSignature,
        _ log: any SharedLog,
        _ follower: LogFollower
    ) async throws -> PushResponse {
        let commits = try await database(.read) { try SyncResponder.admitPush(records, readableScopes: scopes) }
        let checkpoint = try await log.append(
            commits.map(LogEntry.init),
            nonce: verified.logNonce,
            now: configuration.clock(),
            exclusive: false
        )
        try await follower.reach(checkpoint)
        let replica = ledger.syncEngine
        var response = PushResponse(try await database(.write) { try replica.standing(of: commits) })
        response.checkpoint = checkpoint
        return response
    }

    /// Makes sure this process's replica holds `checkpoint` before it answers: follows the log
    /// there if it is near, else refuses (503, Retry-After), never answering from an older view.
    private func reach(_ checkpoint: Int64, _ follower: LogFollower) async throws {
        guard await follower.position < checkpoint else { return }
        do {
            try await follower.reach(checkpoint, limit: configuration.maxInlineCatchUp)
        } catch {
            throw HubError(.catchingUp, "this hub process is still catching up with the others; try again in a moment")
        }
        guard await follower.position >= checkpoint else {
            throw HubError(
                .catchingUp,
                "this hub process has not reached checkpoint \(checkpoint) of the shared log; try again in a moment"
            )
        }
    }

    /// `GET /healthz`: "ok", or with a shared log 503 while the replica lags the log by more than
    /// `maxLogLag` entries or the log cannot be read.
    func health() async throws -> Response {
        guard let follower else { return Self.ok(contentType: "text/plain; charset=utf-8", body: Array("ok\n".utf8)) }
        let (failure, lag, position) = (await follower.failure, await follower.lag, await follower.position)
        let unlisted = (try? requireListedProcessKey()) == nil
        let ready = failure == nil && lag <= configuration.maxLogLag && position >= 0 && !unlisted
        let reason =
            if unlisted {
                "this process's key is not listed as a hub process in the county registry"
            } else if let failure {
                "the shared log cannot be read (\(failure))"
            } else {
                "the replica is \(lag) entries behind the shared log"
            }
        let text = ready ? "ok\nlog position \(position), lag \(lag)\n" : "not ready: \(reason)\n"
        var fields = HTTPFields()
        fields[.contentType] = "text/plain; charset=utf-8"
        return Response(
            status: ready ? .ok : .serviceUnavailable,
            headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: Array(text.utf8)))
        )
    }

    /// `POST /v1/enroll`: a new device, signing with its own key, redeems a one-time code and
    /// receives the registry (whose author is the county root; the response is signed by it too).
    ///
    /// Anyone can make a key and sign with it, so nothing of a request signed by a key the hub does
    /// not know is remembered unless it carries a code the hub would redeem: a stranger cannot
    /// fill the nonce cache. A replay is still refused as one, first: its nonce is looked up
    /// before the code is.
    func enroll(_ request: Request, context: HubContext) async throws -> Response {
        guard let verified = context.verified else { throw HubError.internalFailure }
        let key = verified.identity.key
        if case .enrolled = verified.identity.standing {
            try await remember(verified)
            throw HubError(.alreadyEnrolled, "device \(key.fingerprint) is already enrolled; sync instead")
        }
        let seen =
            configuration.sharedLog == nil ? await nonces.contains(verified.nonce, now: configuration.clock()) : false
        guard !seen else {
            throw HubError(
                .replayedNonce,
                "this request was already received (its nonce was seen); a replay is refused"
            )
        }
        struct Enrollment: Decodable {
            var code: String
            var label: String?
        }
        let body = try await request.body.collect(upTo: .max)
        guard let enrollment = try? JSONDecoder().decode(Enrollment.self, from: Data(body.readableBytesView)),
            enrollment.code.utf8.count <= 64, (enrollment.label?.utf8.count ?? 0) <= 200
        else {
            throw HubError(
                .badRequest,
                "the body is not {\"code\": …, \"label\": …} (a code of at most 64 bytes, a label of at most 200)"
            )
        }
        let (codes, now, ledger) = (EnrollmentCodes(ledger: ledger), configuration.clock(), ledger)
        let deviceCode: String
        guard configuration.sharedLog == nil || ledger.isRoot else {
            throw HubError(
                .notFound,
                "this hub process does not enroll devices (it holds no county root key); enroll at the address the operator gave with the code"
            )
        }
        if let log = configuration.sharedLog, let follower {
            // The code is spent in the shared store by one conditional update, so that of two
            // processes redeeming it at once exactly one enrolls; then the registry commit is
            // written here and appended to the log (`writeOwn`).
            let hash = [UInt8](EnrollmentCodes.hash(enrollment.code))
            try EnrollmentCodes.judge(try await log.code(hash: hash).map { ($0.usedAt, $0.expiresAt) }, now: now)
            try await remember(verified)
            guard let spent = try await log.spendCode(hash: hash, usedBy: key.hex, now: now) else {
                throw HubError(
                    .enrollmentCodeSpent,
                    "this enrollment code was already used; ask the operator for a new one"
                )
            }
            let label = enrollment.label ?? spent.label
            deviceCode = try await writeOwn(follower) {
                try codes.enroll(
                    publicKey: key,
                    role: spent.role,
                    cadreID: spent.cadreID,
                    departmentID: spent.departmentID,
                    label: label
                )
            }
        } else {
            try await database { try codes.check(enrollment.code, now: now) }
            try await remember(verified)
            deviceCode = try await database(.write) {
                try codes.redeem(enrollment.code, publicKey: key, label: enrollment.label, now: now)
            }
        }
        configuration.logger.notice(
            "device enrolled",
            metadata: ["device": "\(key.fingerprint)", "code": "\(deviceCode)"]
        )
        let records = try await database {
            var records: [[UInt8]] = []
            try ledger.syncEngine.exportRecords(scopes: [Commit.registryScope]) { records.append($0) }
            return records
        }
        return Self.ok(contentType: SyncWire.batchType, body: SyncWire.batch(records, more: false))
    }

    static func ok(contentType: String, body: [UInt8]) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = contentType
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
    /// Checks the request's signature, its parameters, the signer's standing and the body digest;
    /// remembers nothing (see `remember`). An enrollment request is signed by a key not enrolled
    /// yet (`.enrolling`).
    func verify(
        _ message: SignedMessage,
        hosts: [String],
        body: [UInt8],
        signer: HubAuthenticator.Signer,
        notes: RequestNotes? = nil
    ) async throws -> VerifiedSignature {
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
        guard authorities.accepts(hosts.first ?? "") else {
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
        // The signer's standing and the scopes it may read, in one trip to the database. A laptop
        // serving others offers only what it may read itself.
        let (ledger, isPeer) = (ledger, configuration.isPeer)
        let lookUp: @Sendable () throws -> DeviceIdentity = {
            var identity = try ledger.identity(of: key)
            if isPeer { identity.readableScopes.formIntersection(try ledger.readableScopes(of: ledger.publicKey)) }
            return identity
        }
        var identity = try await database(.read, lookUp)
        if case .unknown = identity.standing, let follower {
            // Enrolled a moment ago through another process, perhaps: follow the log, then ask again.
            try await follower.refresh()
            identity = try await database(.read, lookUp)
        }
        let now = configuration.clock()
        // A refusal before the signature is checked is put down to a device the hub knows only when
        // the signature is its own: a stranger cannot fill another device's record.
        func attribute() {
            let signed = try? HTTPSignature.verify(
                message,
                signatureInput: inputHeader,
                signature: signatureHeader,
                label: label
            ) { _ in key }
            guard signed != nil else { return }
            notes?.device = key
            notes?.skew = created - now
        }
        switch (identity.standing, signer) {
        case (.unknown, .enrolled):
            throw HubError(.unknownKey, "device \(key.fingerprint) is not enrolled in this county")
        case (.revoked, _):
            attribute()
            throw HubError(.revokedKey, "device \(key.fingerprint) has been revoked; ask the operator")
        case (.enrolled, _), (.unknown, .enrolling): break
        }
        guard abs(created - now) <= configuration.createdWindow else {
            if case .enrolled = identity.standing { attribute() }
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
        notes?.skew = created - now
        return VerifiedSignature(
            identity: identity,
            nonce: nonce,
            expiry: max(expires, created + configuration.createdWindow)
        )
    }

    /// Remembers a verified request's nonce: a replay is refused, and so is any request while the
    /// cache is full of nonces that have not expired yet.
    func remember(_ verified: VerifiedSignature) async throws {
        if let log = configuration.sharedLog {
            guard try await log.remember(verified.logNonce, now: configuration.clock()) else {
                throw HubError(
                    .replayedNonce,
                    "this request was already received (its nonce was seen); a replay is refused"
                )
            }
            return
        }
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
}
