import AsyncHTTPClient
import FieldCrypto
import Foundation

/// The device side of enrollment with a one-time code, over the same signed transport as a sync.
public enum Enrollment {
    /// Sends the code signed with the new device's key; returns the county root key (the key that
    /// signed the answer, which is verified with it) and the registry records. The device does not
    /// know the county's key yet: it accepts the answer's signer, and the caller shows that key's
    /// fingerprint to be compared with the operator's (`--root-fingerprint`).
    public static func enroll(
        hub baseURL: String,
        code: String,
        label: String?,
        key: SigningKey,
        client: HTTPClient
    ) async throws -> (root: PublicKey, records: [[UInt8]]) {
        struct Body: Encodable {
            var code: String
            var label: String?
        }
        // Until the answer names it, the county's key is unknown: any signer is accepted, checked
        // by the person comparing fingerprints, and the answer must verify with the key it names.
        var transport = HTTPTransport(baseURL: baseURL, key: key, hubKey: key.publicKey, client: client)
        transport.acceptPeer = { _ in true }
        transport.server = "the hub"
        transport.maxResponseBytes = 256 << 20
        let answer = try await transport.send(
            path: path,
            contentType: SyncWire.jsonType,
            body: [UInt8](try JSONEncoder().encode(Body(code: code, label: label)))
        )
        guard answer.status == 200 else { throw HTTPTransport.error(status: answer.status, body: answer.body) }
        return (answer.signer, try SyncWire.unbatch(answer.body).records)
    }

    /// The key that signs the hub's answers, learnt without spending a code: an enrollment with no
    /// code is refused, and the refusal is signed like every answer. A caller that pins the county
    /// root (`federation join`) compares it before it spends the code it was given.
    public static func answeringKey(hub baseURL: String, key: SigningKey, client: HTTPClient) async throws -> PublicKey
    {
        var transport = HTTPTransport(baseURL: baseURL, key: key, hubKey: key.publicKey, client: client)
        transport.acceptPeer = { _ in true }
        transport.server = "the hub"
        let answer = try await transport.send(
            path: path,
            contentType: SyncWire.jsonType,
            body: Array(#"{"code":""}"#.utf8)
        )
        return answer.signer
    }

    /// The enrollment endpoint.
    public static let path = "/v1/enroll"
}
