import CSodium
import Foundation

/// RFC 9530 `Content-Digest`: sha-256 or sha-512 of the content bytes exactly as sent.
public enum ContentDigest {
    /// SHA-256 (libsodium).
    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: 32)
        data.withUnsafeBufferPointer { _ = crypto_hash_sha256(&out, $0.baseAddress, UInt64($0.count)) }
        return out
    }

    /// SHA-512 (libsodium).
    public static func sha512(_ data: [UInt8]) -> [UInt8] {
        Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: 64)
        data.withUnsafeBufferPointer { _ = crypto_hash_sha512(&out, $0.baseAddress, UInt64($0.count)) }
        return out
    }

    /// The header value fieldlog sends: `sha-256=:…:`.
    public static func header(for body: [UInt8]) -> String {
        "sha-256=" + StructuredField.serialize(.bytes(sha256(body)))
    }

    /// Checks a `Content-Digest` value against the body. Every sha-256 and sha-512 member must
    /// match, and at least one must be present; other algorithms are ignored.
    /// - Throws: `HTTPSignatureError` with `.digestMismatch` or `.malformedHeader`.
    public static func verify(_ header: String, body: [UInt8]) throws(HTTPSignatureError) {
        let members: [(key: String, value: StructuredField.Member)]
        do { members = try StructuredField.parseDictionary(header) } catch {
            throw HTTPSignatureError(
                .malformedHeader,
                "Content-Digest is not a structured dictionary (\(error.message))"
            )
        }
        var checked = 0
        for (algorithm, member) in members {
            guard case .item(.bytes(let digest), _) = member else {
                throw HTTPSignatureError(.malformedHeader, "Content-Digest member \(algorithm) is not a byte sequence")
            }
            let expected: [UInt8]
            switch algorithm {
            case "sha-256": expected = sha256(body)
            case "sha-512": expected = sha512(body)
            default: continue
            }
            guard digest == expected else {
                throw HTTPSignatureError(.digestMismatch, "the body does not match its Content-Digest (\(algorithm))")
            }
            checked += 1
        }
        guard checked > 0 else {
            throw HTTPSignatureError(.digestMismatch, "Content-Digest names neither sha-256 nor sha-512")
        }
    }
}
