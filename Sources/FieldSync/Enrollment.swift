import AsyncHTTPClient
import FieldCrypto
import Foundation
import NIOCore
import NIOHTTP1

/// The device side of enrollment with a one-time code.
public enum Enrollment {
    /// Sends the code signed with the new device's key; returns the county root key (from the
    /// response's signature, which is verified with it) and the registry records.
    public static func enroll(
        hub baseURL: String,
        code: String,
        label: String?,
        key: SigningKey,
        client: HTTPClient
    ) async throws -> (root: PublicKey, records: [[UInt8]]) {
        let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        let url = base + "/v1/enroll"
        struct Body: Encodable {
            var code: String
            var label: String?
        }
        let body = [UInt8](try JSONEncoder().encode(Body(code: code, label: label)))
        let now = Int64(Date().timeIntervalSince1970)
        let headers = try SyncSigning.signRequest(
            method: "POST",
            targetURI: url,
            contentType: SyncWire.jsonType,
            body: body,
            key: key,
            now: now
        )
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: SyncWire.jsonType)
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do { response = try await client.execute(request, timeout: .seconds(60)) } catch {
            throw HTTPTransport.unreachable(base, error)
        }
        let responseBody = Array(try await response.body.collect(upTo: 256 << 20).readableBytesView)
        let status = Int(response.status.code)
        let signed = SignedMessage(status: status, headers: response.headers.map { ($0.name, $0.value) })
        guard let input = signed.header("signature-input"), let signature = signed.header("signature"),
            let keyID = try? HTTPSignature.parse(signatureInput: input, signature: signature, label: "hub").input.keyID,
            let root = try? PublicKey(hex: keyID)
        else {
            throw SyncError(.transport, "the hub's answer is not signed; refusing it (is this the county hub?)")
        }
        let sent = SyncSigning.sentRequest(targetURI: url, contentType: SyncWire.jsonType, signatureHeaders: headers)
        try SyncSigning.verifyResponse(signed, body: responseBody, request: sent, hubKey: root, now: now)
        guard status == 200 else { throw HTTPTransport.error(status: status, body: responseBody) }
        let records = try SyncWire.unbatch(responseBody).records
        return (root, records)
    }
}
