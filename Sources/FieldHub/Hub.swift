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
    for path in HubRoutes.sync {
        router.post(RouterPath(path)) { request, _ in await hub.handle(request, path: path) }
    }
    router.post(RouterPath(HubRoutes.enroll)) { request, _ in
        let started = ContinuousClock.now
        let (response, outcome) = await hub.handleEnrollment(request)
        configuration.metrics.recordRequest(route: HubRoutes.enroll, outcome: outcome, duration: ContinuousClock.now - started)
        return response
    }
    router.get(RouterPath(HubRoutes.health)) { _, _ in "ok\n" }
    router.get(RouterPath(HubRoutes.metrics)) { _, _ in
        var fields = HTTPFields()
        fields[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: configuration.metrics.render())))
    }
    return Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: configuration.idleTimeout.map { TimeAmount($0) })),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "fieldlog-hub"),
        onServerRunning: { channel in configuration.onListening(channel.localAddress?.port ?? configuration.port) },
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
    public static var all: [String] { sync.map { "POST " + $0 } + ["POST " + enroll, "GET " + health, "GET " + metrics] }
}

/// The hub's request handling, apart from Hummingbird's types where it can be.
struct HubHandler: Sendable {
    let configuration: HubConfiguration
    let nonces = NonceCache()

    var ledger: Ledger { configuration.ledger }

    /// The threads the hub's database work runs on, never Swift's cooperative pool. SQLite calls
    /// block their thread, and that pool has one thread per core: during a burst of syncs every
    /// thread of it waited for the writer, and /healthz took up to 5.7 s to answer in the
    /// 300-device load bench. Writes (pushes, enrollments) have a lane of their own, since they
    /// take turns on SQLite's single writer anyway; reads (summaries, heads, pulls, the signer's
    /// standing and scopes) go side by side on the other, as WAL lets them, without queueing
    /// behind the writes.
    enum Lane { case read, write }

    static let readThreads = started(NIOThreadPool(numberOfThreads: max(6, 2 * ProcessInfo.processInfo.activeProcessorCount)))
    static let writeThreads = started(NIOThreadPool(numberOfThreads: 2))

    static func started(_ pool: NIOThreadPool) -> NIOThreadPool {
        pool.start()
        return pool
    }

    /// Runs synchronous database work on the lane's threads, suspending the calling task meanwhile.
    func database<T: Sendable>(_ lane: Lane = .read, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await (lane == .read ? Self.readThreads : Self.writeThreads).runIfActive(work)
    }

    func handle(_ request: Request, path: String) async -> Response {
        let started = ContinuousClock.now
        let (response, outcome) = await respond(to: request, path: path)
        configuration.metrics.recordRequest(route: path, outcome: outcome, duration: ContinuousClock.now - started)
        return response
    }

    /// The response and its outcome for the metrics: "ok" or the refusal's error code.
    func respond(to request: Request, path: String) async -> (Response, String) {
        let targetURI = "http://" + (request.head.authority ?? "") + (request.head.path ?? path)
        let signed = SignedMessage(
            method: request.method.rawValue, targetURI: targetURI,
            headers: request.headers.map { ($0.name.rawName, $0.value) }
        )
        var device: PublicKey?
        do {
            let body: [UInt8]
            body = try await collectBody(of: request, upTo: configuration.maxBodyBytes, advice: "send smaller batches")
            let key = try await authenticate(signed, body: body)
            device = key
            let (ledger, isPeer) = (ledger, configuration.isPeer)
            let scopes = try await database {
                let scopes = try ledger.readableScopes(of: key)
                return isPeer ? scopes.intersection(try ledger.readableScopes(of: ledger.publicKey)) : scopes
            }
            let syncRequest: SyncRequest
            do { syncRequest = try SyncWire.decodeRequest(path: path, body: body) } catch {
                throw HubError(.badRequest, error.message)
            }
            if case .push(let records) = syncRequest {
                for record in records {
                    guard record.count > 68,
                        let commit = try? CommitCodec.decode(Array(record.dropFirst(4).dropLast(SigningKey.signatureSize)))
                    else { throw HubError(.badRequest, "a pushed record is not a commit") }
                    guard scopes.contains(commit.scope) else {
                        configuration.metrics.recordRefused(records.count, reason: HubError.Code.outOfScope.rawValue)
                        throw HubError(.outOfScope, "this device may not write or relay commits in \(commit.scope); nothing of this batch was taken")
                    }
                }
            }
            let response: SyncResponse
            do {
                let lane: Lane = if case .push = syncRequest { .write } else { .read }
                response = try await database(lane) {
                    try SyncResponder(replica: ledger.replica, readableScopes: scopes, keepsRefused: isPeer).respond(to: syncRequest)
                }
            } catch let error as SyncError {
                throw HubError(error.code == .unsupportedVersion ? .unsupportedVersion : .badRequest, error.message)
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
                        metadata: ["device": "\(key.fingerprint)", "refused": "\(result.refused.count)", "first": "\(result.refused[0].code.rawValue)"]
                    )
                }
            case .pull(let records, _):
                configuration.metrics.recordServed(records.count)
            case .summary, .heads, .stateDigests:
                break
            }
            return (try signedResponse(status: 200, contentType: contentType, body: responseBody, request: signed), "ok")
        } catch let error as HubError {
            configuration.logger.notice(
                "request refused",
                metadata: ["path": "\(path)", "code": "\(error.code.rawValue)", "device": "\(device?.fingerprint ?? "-")"]
            )
            return (errorResponse(status: error.status, code: error.code.rawValue, message: error.message, request: signed), error.code.rawValue)
        } catch {
            configuration.logger.error("request failed", metadata: ["path": "\(path)", "error": "\(type(of: error))"])
            return (
                errorResponse(status: 500, code: "internal", message: "the hub could not complete the request; see its log", request: signed),
                "internal"
            )
        }
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

    /// Checks the request's signature, its parameters, the signer's standing and the body digest.
    /// An enrollment request is signed by a key not enrolled yet (`enrolling`).
    func authenticate(_ message: SignedMessage, body: [UInt8], enrolling: Bool = false) async throws -> PublicKey {
        guard let inputHeader = message.header("signature-input"), let signatureHeader = message.header("signature") else {
            throw HubError(.missingSignature, "the request is not signed (RFC 9421 Signature-Input and Signature are required)")
        }
        let parsed: (input: SignatureInput, signature: [UInt8])
        do { parsed = try HTTPSignature.parse(signatureInput: inputHeader, signature: signatureHeader) } catch {
            throw HubError(.badSignature, "the signature headers do not parse: \(error)")
        }
        let input = parsed.input
        guard input.tag == SyncSigning.tag, Set(input.components).isSuperset(of: SyncSigning.requestComponents),
            let created = input.created, let expires = input.expires, let nonce = input.nonce, let keyID = input.keyID
        else {
            throw HubError(
                .incompleteSignature,
                "the signature must cover @method, @target-uri, content-type and content-digest, with created, expires, nonce, keyid and tag=\"\(SyncSigning.tag)\""
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
            _ = try HTTPSignature.verify(message, signatureInput: inputHeader, signature: signatureHeader, label: input.label) { _ in key }
        } catch {
            throw HubError(.badSignature, "the request's signature does not verify with the key of device \(key.fingerprint)")
        }
        guard let digest = message.header("content-digest") else {
            throw HubError(.digestMismatch, "the request has no Content-Digest")
        }
        do { try ContentDigest.verify(digest, body: body) } catch {
            throw HubError(.digestMismatch, "the request body does not match its Content-Digest")
        }
        guard await nonces.insert(nonce, expiry: max(expires, created + configuration.createdWindow), now: now) else {
            throw HubError(.replayedNonce, "this request was already received (its nonce was seen); a replay is refused")
        }
        // Judged after the nonce, as docs/sync-protocol.md orders it: a replayed enrollment request
        // is refused as a replay, whatever became of the key since.
        if enrolling, case .enrolled = standing {
            throw HubError(.alreadyEnrolled, "device \(key.fingerprint) is already enrolled; sync instead")
        }
        return key
    }

    /// `POST /v1/enroll`: a new device, signing with its own key, redeems a one-time code and
    /// receives the registry (whose author is the county root; the response is signed by it too).
    func handleEnrollment(_ request: Request) async -> (Response, String) {
        let path = "/v1/enroll"
        let targetURI = "http://" + (request.head.authority ?? "") + (request.head.path ?? path)
        let signed = SignedMessage(method: request.method.rawValue, targetURI: targetURI, headers: request.headers.map { ($0.name.rawName, $0.value) })
        do {
            let body: [UInt8]
            body = try await collectBody(of: request, upTo: 64 << 10, advice: "an enrollment request is small")
            let key = try await authenticate(signed, body: body, enrolling: true)
            struct Enrollment: Decodable {
                var code: String
                var label: String?
            }
            guard let enrollment = try? JSONDecoder().decode(Enrollment.self, from: Data(body)) else {
                throw HubError(.badRequest, "the body is not {\"code\": …, \"label\": …}")
            }
            let deviceCode: String
            let (ledger, now) = (ledger, configuration.clock())
            do {
                deviceCode = try await database(.write) { try ledger.redeemEnrollmentCode(enrollment.code, publicKey: key, label: enrollment.label, now: now) }
            } catch let error as LedgerError {
                throw HubError(error.code == .notFound ? .enrollmentCodeInvalid : .enrollmentCodeSpent, error.message)
            }
            configuration.logger.notice("device enrolled", metadata: ["device": "\(key.fingerprint)", "code": "\(deviceCode)"])
            let records = try await database {
                var records: [[UInt8]] = []
                try ledger.replica.exportRecords(scopes: [Commit.registryScope]) { records.append($0) }
                return records
            }
            return (try signedResponse(status: 200, contentType: SyncWire.batchType, body: SyncWire.batch(records, more: false), request: signed), "ok")
        } catch let error as HubError {
            configuration.logger.notice("enrollment refused", metadata: ["code": "\(error.code.rawValue)"])
            return (errorResponse(status: error.status, code: error.code.rawValue, message: error.message, request: signed), error.code.rawValue)
        } catch {
            configuration.logger.error("enrollment failed", metadata: ["error": "\(type(of: error))"])
            return (
                errorResponse(status: 500, code: "internal", message: "the hub could not complete the enrollment; see its log", request: signed),
                "internal"
            )
        }
    }

    func signedResponse(status: Int, contentType: String, body: [UInt8], request: SignedMessage) throws -> Response {
        var fields = HTTPFields()
        fields[.contentType] = contentType
        let signature = try SyncSigning.signResponse(
            status: status, contentType: contentType, body: body, request: request, key: configuration.hubKey, now: configuration.clock()
        )
        for header in signature { fields[HTTPField.Name(header.name)!] = header.value }
        return Response(status: .init(code: status), headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    func errorResponse(status: Int, code: String, message: String, request: SignedMessage) -> Response {
        struct Envelope: Encodable {
            struct Inner: Encodable {
                var code: String
                var message: String
            }
            var error: Inner
        }
        let body = (try? JSONEncoder().encode(Envelope(error: .init(code: code, message: message)))).map { [UInt8]($0) } ?? []
        if let response = try? signedResponse(status: status, contentType: "application/json", body: body, request: request) {
            return response
        }
        return Response(status: .init(code: status), body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
