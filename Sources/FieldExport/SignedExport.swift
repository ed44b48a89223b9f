import FieldCrypto
import FieldStore
import Foundation

/// A detached signature of an exported file (`FILE.sig`, JSON; docs/exports.md): the device's
/// Ed25519 signature over the file's BLAKE2b-256 hash and size, the time, the signer's key and the
/// digest of the replica's feed heads the report was computed from (the heads themselves are
/// listed, so anyone can check which commits the report saw).
public struct ExportSignature: Codable, Sendable, Equatable {
    public static let formatName = "fieldlog-export-signature-v1"

    public var format = ExportSignature.formatName
    public var file: String
    public var size: Int
    public var blake2b256: String
    public var signedAt: String
    public var signer: String
    public var signerName: String
    public var headsDigest: String
    public var heads: [FeedHead]
    public var signature: String

    /// The bytes signed: one line per field, so that the format is easy to reimplement.
    static func message(hash: String, size: Int, signedAt: String, signer: String, headsDigest: String) -> [UInt8] {
        Array(
            """
            fieldlog export v1
            file-blake2b256: \(hash)
            size: \(size)
            signed-at: \(signedAt)
            signer: \(signer)
            heads-blake2b256: \(headsDigest)

            """.utf8
        )
    }

    /// BLAKE2b-256 over the heads as lines "author scope head", sorted.
    public static func digest(of heads: [FeedHead]) -> String {
        let lines = heads.map { "\($0.author) \($0.scope) \($0.head)\n" }.sorted().joined()
        return Hex.encode(BLAKE2b.hash256(Array(lines.utf8)))
    }

    /// Signs `file` (its bytes and name) with `key`.
    public static func sign(
        file bytes: [UInt8],
        name: String,
        key: SigningKey,
        signerName: String,
        heads: [FeedHead],
        signedAt: String
    )
        -> ExportSignature
    {
        let hash = Hex.encode(BLAKE2b.hash256(bytes))
        let headsDigest = digest(of: heads)
        let signature = key.sign(
            message(
                hash: hash,
                size: bytes.count,
                signedAt: signedAt,
                signer: key.publicKey.hex,
                headsDigest: headsDigest
            )
        )
        return ExportSignature(
            file: name,
            size: bytes.count,
            blake2b256: hash,
            signedAt: signedAt,
            signer: key.publicKey.hex,
            signerName: signerName,
            headsDigest: headsDigest,
            heads: heads,
            signature: Hex.encode(signature)
        )
    }

    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0A]
    }

    public static func decode(_ bytes: [UInt8]) throws -> ExportSignature {
        guard let signature = try? JSONDecoder().decode(ExportSignature.self, from: Data(bytes)),
            signature.format == formatName
        else {
            throw ExportError("the signature file is not a \(formatName) file", kind: .notASignature)
        }
        return signature
    }

    /// Checks `bytes` against this signature. `knownSigner` says who a key is in the county (nil:
    /// unknown). Throws, naming what is wrong, unless the file is unaltered and signed by a known key.
    public func verify(file bytes: [UInt8], knownSigner: (PublicKey) throws -> String?) throws -> String {
        guard bytes.count == size, Hex.encode(BLAKE2b.hash256(bytes)) == blake2b256 else {
            throw ExportError(
                "ALTERED: the file does not match its signature (its BLAKE2b-256 hash or size differs); do not trust it",
                kind: .altered
            )
        }
        guard Self.digest(of: heads) == headsDigest else {
            throw ExportError(
                "ALTERED: the signature file's list of feed heads does not match its digest",
                kind: .altered
            )
        }
        guard let key = try? PublicKey(hex: signer), let raw = Hex.decode(signature),
            key.isValidSignature(
                raw,
                for: Self.message(
                    hash: blake2b256,
                    size: size,
                    signedAt: signedAt,
                    signer: signer,
                    headsDigest: headsDigest
                )
            )
        else {
            throw ExportError(
                "FORGED: the signature does not verify with the key it names; do not trust this file",
                kind: .forged
            )
        }
        guard let who = try knownSigner(key) else {
            throw ExportError(
                "UNKNOWN SIGNER: the file is signed by key \(key.fingerprint), which this county's registry does not know",
                kind: .unknownSigner
            )
        }
        return who
    }
}
