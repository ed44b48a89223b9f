import AsyncHTTPClient
import FieldCrypto
import Foundation
import Testing

@testable import FieldSync

#if canImport(Glibc)
import Glibc
#endif

/// What a client says when the network or the server fails in the middle of an answer.
@Suite struct TransportFaultTests {
    /// A server on 127.0.0.1 that answers one connection with `answer` and closes it; its port.
    func oneShotServer(answer: [UInt8]) throws -> Int {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(listener >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        #expect(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        Thread {
            defer { close(listener) }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 65536)
            _ = recv(connection, &buffer, buffer.count, 0)
            _ = answer.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, 0) }
            close(connection)
        }.start()
        return port
    }

    /// A response whose body stops before its Content-Length (a killed hub, a cut connection) is a
    /// transport error that says what to do, never a bare parser error.
    @Test func anAnswerCutOffMidBodyIsAClearTransportError() async throws {
        let port = try oneShotServer(
            answer: Array(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"upTo".utf8
            )
        )
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let key = SigningKey.generate()
        let transport = HTTPTransport(
            baseURL: "http://127.0.0.1:\(port)",
            key: key,
            hubKey: SigningKey.generate().publicKey,
            client: client
        )
        let error = await #expect(throws: SyncError.self) {
            _ = try await transport.exchange(.summary(SummaryRequest(digest: "")))
        }
        try await client.shutdown()
        #expect(error?.code == .transport)
        #expect(error?.message.contains("was cut off") == true, "\(String(describing: error))")
        #expect(error?.message.contains("sync again") == true)
    }

    /// A proxy's own 503 (no hub process behind it ready) is unsigned: refused, and said to be the
    /// proxy's, with what to do; any other unsigned answer is still "not the county hub".
    @Test func aProxysUnsignedErrorIsSaidToBeTheProxys() async throws {
        let body = "<html><body><h1>503 Service Unavailable</h1>No server is available</body></html>"
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let key = SigningKey.generate()
        var messages: [String] = []
        for status in ["503 Service Unavailable", "200 OK"] {
            let port = try oneShotServer(
                answer: Array(
                    "HTTP/1.1 \(status)\r\nContent-Type: text/html\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                        .utf8
                )
            )
            let transport = HTTPTransport(
                baseURL: "http://127.0.0.1:\(port)",
                key: key,
                hubKey: SigningKey.generate().publicKey,
                client: client
            )
            let error = await #expect(throws: SyncError.self) {
                _ = try await transport.exchange(.summary(SummaryRequest(digest: "")))
            }
            messages.append(error?.message ?? "")
        }
        try await client.shutdown()
        #expect(messages[0].contains("behind its proxy (HTTP 503, unsigned); sync again"), "\(messages[0])")
        #expect(messages[1].contains("is this the county hub?"), "\(messages[1])")
    }
}
