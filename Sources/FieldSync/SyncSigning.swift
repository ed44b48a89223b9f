import FieldCrypto
import Foundation

/// How fieldlog signs its sync requests and responses (RFC 9421, Ed25519), in one place for both
/// sides, so that client and hub can never disagree on what is covered.
public enum SyncSigning {
    /// The `tag` parameter of every fieldlog sync signature.
    public static let tag = "fieldlog-sync"
    /// How long a signature stays valid after it is made, in seconds.
    public static let lifetime: Int64 = 300

    /// The components a request signature covers.
    public static let requestComponents = ["@method", "@target-uri", "content-type", "content-digest"].map {
        SignatureComponent($0)
    }

    /// The label of a request's signature; the hub verifies that one and no other.
    public static let requestLabel = "device"

    /// The request's own signature, as a response covers it: `"signature";req;key="device"`.
    public static let requestSignature = SignatureComponent("signature", fromRequest: true, key: requestLabel)

    /// The components a response signature covers: its own status, type and digest, and the
    /// request's method, target, digest and signature (`;req`), so a response cannot be replayed
    /// for another request, not even for a later one with the same body.
    public static let responseComponents = [
        SignatureComponent("@status"), SignatureComponent("content-type"), SignatureComponent("content-digest"),
        SignatureComponent("@method", fromRequest: true), SignatureComponent("@target-uri", fromRequest: true),
        SignatureComponent("content-digest", fromRequest: true), requestSignature,
    ]

    /// The parameters for a new signature by `key` at `now` (Unix seconds).
    public static func parameters(key: PublicKey, now: Int64, label: String) -> SignatureInput {
        SignatureInput(
            label: label,
            components: label == "hub" ? responseComponents : requestComponents,
            parameters: [
                ("created", .integer(now)), ("expires", .integer(now + lifetime)),
                ("nonce", .string(Data(secureRandomBytes(16)).base64EncodedString())), ("keyid", .string(key.hex)),
                ("alg", .string("ed25519")), ("tag", .string(tag)),
            ]
        )
    }

    /// Signs a request: returns the headers to add (Content-Digest, Signature-Input, Signature).
    public static func signRequest(
        method: String,
        targetURI: String,
        contentType: String,
        body: [UInt8],
        key: SigningKey,
        now: Int64
    ) throws -> [(name: String, value: String)] {
        let digest = ContentDigest.header(for: body)
        let message = SignedMessage(
            method: method,
            targetURI: targetURI,
            headers: [("Content-Type", contentType), ("Content-Digest", digest)]
        )
        let signed = try HTTPSignature.sign(
            message,
            input: parameters(key: key.publicKey, now: now, label: requestLabel),
            key: key
        )
        return [
            ("Content-Digest", digest), ("Signature-Input", signed.signatureInput), ("Signature", signed.signature),
        ]
    }

    /// The request as its response's signature covers it: the method, the target and the headers
    /// `signRequest` returned (its digest and signature), with the content type.
    public static func sentRequest(
        method: String = "POST",
        targetURI: String,
        contentType: String,
        signatureHeaders: [(name: String, value: String)]
    ) -> SignedMessage {
        SignedMessage(
            method: method,
            targetURI: targetURI,
            headers: [("Content-Type", contentType)]
                + signatureHeaders.filter { $0.name == "Content-Digest" || $0.name == "Signature" }
        )
    }

    /// What a response to `request` covers: every response component, except that a refusal of a
    /// request that carried no digest, or no signature labelled `device`, can only be bound to what
    /// it did carry. The client always sends both, so it always requires all of them.
    static func coveredComponents(answering request: SignedMessage) -> [SignatureComponent] {
        responseComponents.filter { component in
            switch component {
            case SignatureComponent("content-digest", fromRequest: true): request.header("content-digest") != nil
            case requestSignature: (try? HTTPSignature.value(of: requestSignature, in: request)) != nil
            default: true
            }
        }
    }

    /// Signs a response to `request`: returns the headers to add.
    public static func signResponse(
        status: Int,
        contentType: String,
        body: [UInt8],
        request: SignedMessage,
        key: SigningKey,
        now: Int64
    ) throws -> [(name: String, value: String)] {
        let digest = ContentDigest.header(for: body)
        let message = SignedMessage(
            status: status,
            headers: [("Content-Type", contentType), ("Content-Digest", digest)]
        )
        var input = parameters(key: key.publicKey, now: now, label: "hub")
        input.components = coveredComponents(answering: request)
        let signed = try HTTPSignature.sign(message, request: request, input: input, key: key)
        return [
            ("Content-Digest", digest), ("Signature-Input", signed.signatureInput), ("Signature", signed.signature),
        ]
    }

    /// Checks a response's signature (by `hubKey`, covering the request) and its digest.
    /// - Throws: `SyncError(.transport)` naming what is wrong; an unsigned response is refused.
    @discardableResult
    public static func verifyResponse(
        _ response: SignedMessage,
        body: [UInt8],
        request: SignedMessage,
        hubKey: PublicKey,
        now: Int64,
        acceptPeer: (@Sendable (PublicKey) -> Bool)? = nil,
        acceptHubProcess: (@Sendable (PublicKey) -> Bool)? = nil
    ) throws -> PublicKey {
        guard let input = response.header("signature-input"), let signature = response.header("signature") else {
            if let status = response.status, [502, 503, 504].contains(status) {
                // A reverse proxy before the hub answers so when no hub process can take the
                // request; it cannot sign, and nothing of the request was taken.
                throw SyncError(
                    .transport,
                    "the hub could not be reached behind its proxy (HTTP \(status), unsigned); sync again in a moment"
                )
            }
            throw SyncError(.transport, "the hub's response is not signed; refusing it (is this the county hub?)")
        }
        let verified: SignatureInput
        do {
            verified = try HTTPSignature.verify(
                response,
                request: request,
                signatureInput: input,
                signature: signature,
                label: "hub"
            ) { input in
                if let acceptPeer {
                    guard let keyID = input.keyID, let key = try? PublicKey(hex: keyID), acceptPeer(key) else {
                        throw SyncError(
                            .transport,
                            "the peer's response is signed by a key not enrolled in this county"
                        )
                    }
                    return key
                }
                if input.keyID == hubKey.hex { return hubKey }
                // One of several hub processes signs with a key of its own that the registry lists.
                if let acceptHubProcess, let keyID = input.keyID, let key = try? PublicKey(hex: keyID),
                    acceptHubProcess(key)
                {
                    return key
                }
                throw SyncError(
                    .transport,
                    "the response is signed by another key than the county hub's or a hub process's this device knows; sync again, and if it persists ask the operator"
                )
            }
        } catch let error as HTTPSignatureError {
            throw SyncError(.transport, "the hub's response signature is invalid: \(error.message)")
        }
        guard Set(verified.components).isSuperset(of: coveredComponents(answering: request)), verified.tag == tag,
            verified.algorithm == "ed25519"
        else {
            throw SyncError(.transport, "the hub's response signature does not cover what fieldlog requires")
        }
        if let expires = verified.expires, expires < now - 5 {
            throw SyncError(.transport, "the hub's response signature has expired; check this computer's clock")
        }
        guard let digest = response.header("content-digest") else {
            throw SyncError(.transport, "the hub's response has no Content-Digest")
        }
        do { try ContentDigest.verify(digest, body: body) } catch {
            throw SyncError(.transport, "the hub's response body does not match its digest")
        }
        guard let keyID = verified.keyID, let signer = try? PublicKey(hex: keyID) else {
            throw SyncError(.transport, "the response signature names no key")
        }
        return signer
    }
}
