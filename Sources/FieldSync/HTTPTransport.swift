import AsyncHTTPClient
import FieldCrypto
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The sync transport over HTTP: every request signed with the device key, every response
/// verified against the county hub's key before it is believed.
public struct HTTPTransport: SyncTransport, Sendable {
    public let baseURL: String
    public let key: SigningKey
    public let hubKey: PublicKey
    public let client: HTTPClient
    /// Each request's deadline.
    public var timeout: TimeAmount = .seconds(60)
    /// The largest response body accepted.
    public var maxResponseBytes = 64 << 20
    /// For laptop-to-laptop sync: accept a response signed by any key this predicate accepts (an
    /// enrolled, unrevoked device of the county) instead of the hub's key.
    public var acceptPeer: (@Sendable (PublicKey) -> Bool)?
    /// For a county hub of several processes: accept an answer signed by a key this predicate
    /// accepts (a hub process the device's registry lists, `Ledger.isHubProcess`) as well as the
    /// hub's key.
    public var acceptHubProcess: (@Sendable (PublicKey) -> Bool)?
    /// What errors call the server: "the hub", or "the laptop" when it is a peer.
    public var server: String?
    /// The highest checkpoint a push of this transport was answered with (hub processes on a
    /// shared log): later requests present it, so that no process answers from an older view.
    public var checkpoint = CheckpointHolder()
    /// How many times a request refused with `catching_up` (503) is sent again, after the
    /// Retry-After the hub gave (at most 5 s each).
    public var catchUpRetries = 10

    /// - Parameter baseURL: e.g. `http://127.0.0.1:8080` (no trailing slash).
    public init(baseURL: String, key: SigningKey, hubKey: PublicKey, client: HTTPClient) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.key = key
        self.hubKey = hubKey
        self.client = client
    }

    /// The HTTP client fieldlog syncs and enrolls with: a refused connection fails at once
    /// (AsyncHTTPClient retried until its 10 s connect timeout, on every sync in the field), an
    /// address that does not answer within 3 s fails, and so does a hub silent for 20 s in the
    /// middle of an answer.
    public static func makeClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(3), read: .seconds(20))
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// One sentence for a failed exchange with `baseURL` (`server`: "the hub", "the laptop"), with
    /// what to do and no library internals (a TLS failure once printed a build machine's path).
    public static func unreachable(_ baseURL: String, _ error: any Error, server: String = "the hub") -> SyncError {
        let text = String(describing: error)
        let kind = String(reflecting: type(of: error))
        let reach = "cannot reach \(server) at \(baseURL)"
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout:
                return SyncError(.transport, "\(reach): no answer within 3 s; check the address and the network")
            case .readTimeout, .deadlineExceeded:
                return SyncError(
                    .transport,
                    "\(server) at \(baseURL) sent nothing for 20 s; check that it is the county hub and not overloaded, then sync again: what arrived before is kept"
                )
            case .remoteConnectionClosed:
                return SyncError(
                    .transport,
                    "\(server) at \(baseURL) closed the connection; sync again: what arrived before is kept"
                )
            default: break
            }
        }
        if kind.contains("SSL") || kind.contains("TLS") || text.contains("SSL") || text.contains("TLS") {
            return SyncError(
                .transport,
                "\(reach): the secure connection (https) failed; the county hub speaks http:// unless a proxy in front of it serves https"
            )
        }
        if text.contains("Connection refused") || text.contains("errno: 111") {
            return SyncError(
                .transport,
                "\(reach): nothing answers there (connection refused); check the address and port, and that it serves"
            )
        }
        if text.contains("No route") || text.contains("unreachable") || text.contains("errno: 113")
            || text.contains("errno: 101")
        {
            return SyncError(.transport, "\(reach): no route from this computer; check the network")
        }
        if text.contains("DNS error") || text.contains("UnknownHost") {
            return SyncError(.transport, "\(reach): this computer does not know that name; check the address")
        }
        return SyncError(.transport, "\(reach); check the address and the network")
    }

    public func exchange(_ request: SyncRequest) async throws -> SyncResponse {
        let encoded = try SyncWire.encode(request)
        var attempt = 0
        while true {
            let path = encoded.path + (checkpoint.value.map { "?checkpoint=\($0)" } ?? "")
            let answer = try await send(path: path, contentType: encoded.contentType, body: encoded.body)
            if answer.status == 503, attempt < catchUpRetries,
                ErrorEnvelope.decode(answer.body)?.error.code == "catching_up"
            {
                // Another hub process took this sync's push and this one has not followed the
                // shared log that far yet: wait as it asks, then send again.
                attempt += 1
                let wait = min(max(answer.retryAfter ?? 1, 1), 5)
                try await Task.sleep(for: .seconds(wait))
                continue
            }
            guard answer.status == 200 else { throw Self.error(status: answer.status, body: answer.body) }
            let response = try SyncWire.decodeResponse(to: request, body: answer.body)
            if case .push(let result) = response, let reached = result.checkpoint { checkpoint.raise(to: reached) }
            return response
        }
    }

    /// Sends one signed POST and returns the verified status and body, and the key that signed the
    /// answer (the hub's, or with `acceptPeer` one it accepted).
    public func send(
        path: String,
        contentType: String,
        body: [UInt8]
    ) async throws -> (status: Int, body: [UInt8], signer: PublicKey, retryAfter: Int?) {
        let url = baseURL + path
        let now = Int64(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        let signatureHeaders = try SyncSigning.signRequest(
            method: "POST",
            targetURI: url,
            contentType: contentType,
            body: body,
            key: key,
            now: now
        )
        for header in signatureHeaders { request.headers.add(name: header.name, value: header.value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: timeout)
        } catch {
            throw Self.unreachable(baseURL, error, server: server ?? (acceptPeer == nil ? "the hub" : "the laptop"))
        }
        let buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: maxResponseBytes)
        } catch is NIOTooManyBytesError {
            throw SyncError(
                .transport,
                "the answer from \(baseURL) is larger than \(maxResponseBytes) bytes; is this the county hub?"
            )
        } catch {
            // A connection cut or a server killed in the middle of the body (found by the fault soak,
            // where this error reached the user as a bare "stream ended at an unexpected time").
            throw SyncError(
                .transport,
                "the answer from \(baseURL) was cut off; sync again: what arrived before is kept"
            )
        }
        let responseBody = Array(buffer.readableBytesView)
        let signed = SignedMessage(
            status: Int(response.status.code),
            headers: response.headers.map { ($0.name, $0.value) }
        )
        let sentRequest = SyncSigning.sentRequest(
            targetURI: url,
            contentType: contentType,
            signatureHeaders: signatureHeaders
        )
        let signer = try SyncSigning.verifyResponse(
            signed,
            body: responseBody,
            request: sentRequest,
            hubKey: hubKey,
            now: now,
            acceptPeer: acceptPeer,
            acceptHubProcess: acceptHubProcess
        )
        return (
            Int(response.status.code), responseBody, signer,
            response.headers.first(name: "Retry-After").flatMap(Int.init)
        )
    }

    /// The hub's error body, `{"error": {"code": …, "message": …}}`, as a `SyncError`.
    static func error(status: Int, body: [UInt8]) -> SyncError {
        if let envelope = ErrorEnvelope.decode(body) {
            return SyncError(
                .refused,
                "the hub refused the request (\(status) \(envelope.error.code)): \(envelope.error.message)",
                hubCode: envelope.error.code
            )
        }
        return SyncError(.refused, "the hub answered HTTP \(status)")
    }
}

/// The checkpoint a sync's requests present (see `HTTPTransport.checkpoint`).
public final class CheckpointHolder: Sendable {
    private let stored = Mutex<Int64?>(nil)

    public init() {}

    public var value: Int64? { stored.withLock { $0 } }

    public func raise(to checkpoint: Int64) { stored.withLock { $0 = max($0 ?? 0, checkpoint) } }
}
