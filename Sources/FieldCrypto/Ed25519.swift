import CSodium

/// An Ed25519 public key: 32 bytes. In fieldlog it is also the identity of an author.
public struct PublicKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The key's size in bytes.
    public static let size = 32

    /// The raw key.
    public let bytes: [UInt8]

    /// Wraps 32 raw bytes.
    /// - Throws: `CryptoError.invalidKeyLength` for any other length.
    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.size else {
            throw CryptoError(code: .invalidKeyLength, message: "a public key has 32 bytes, not \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// Parses the 64-character lowercase or uppercase hex form.
    public init(hex: String) throws(CryptoError) {
        guard let raw = Hex.decode(hex), raw.count == Self.size else {
            throw CryptoError(code: .invalidKeyLength, message: "a public key is 64 hexadecimal characters")
        }
        self.bytes = raw
    }

    /// Lowercase hex of the 32 bytes.
    public var hex: String { Hex.encode(bytes) }

    /// The 20 hex digits of `fingerprint`, without its dashes: a folder name, or a fingerprint to
    /// compare with one a person typed (`fingerprintDigits(typed:)`).
    public var fingerprintDigits: String { String(fingerprint.filter { $0 != "-" }) }

    /// The digits of a fingerprint as a person may type it (any case, with or without dashes or
    /// spaces), or nil when it is not 20 hex digits.
    public static func fingerprintDigits(typed: String) -> String? {
        let digits = typed.lowercased().filter { $0 != "-" && !$0.isWhitespace }
        return digits.count == 20 && digits.allSatisfy(\.isHexDigit) ? digits : nil
    }

    /// A short form a person can read aloud and compare: the first 10 bytes of BLAKE2b-256(key),
    /// as five dash-separated groups of four hex digits.
    public var fingerprint: String {
        let digest = BLAKE2b.hash256(bytes)
        let hex = Hex.encode(Array(digest.prefix(10)))
        var groups: [String] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let end = hex.index(index, offsetBy: 4)
            groups.append(String(hex[index..<end]))
            index = end
        }
        return groups.joined(separator: "-")
    }

    /// Checks a detached Ed25519 signature over `message`.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        Sodium.ensureInitialized()
        guard signature.count == Int(crypto_sign_BYTES) else { return false }
        return signature.withUnsafeBufferPointer { sig in
            message.withUnsafeBufferPointer { msg in
                bytes.withUnsafeBufferPointer { pk in
                    crypto_sign_verify_detached(sig.baseAddress!, msg.baseAddress, UInt64(msg.count), pk.baseAddress!)
                        == 0
                }
            }
        }
    }

    public var description: String { hex }

    public static func < (lhs: PublicKey, rhs: PublicKey) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }
}

/// An Ed25519 signing key (libsodium's 64-byte secret key: seed followed by public key).
///
/// Its description never shows the secret.
public struct SigningKey: Sendable, CustomStringConvertible {
    /// The signature size in bytes.
    public static let signatureSize = 64
    /// The seed size in bytes.
    public static let seedSize = 32

    private let secret: [UInt8]
    /// The matching public key.
    public let publicKey: PublicKey

    /// Makes a new random key pair.
    public static func generate() -> SigningKey {
        // A fresh random seed is always 32 bytes, so this cannot fail.
        try! SigningKey(seed: Sodium.randomBytes(seedSize))
    }

    /// Derives the key pair from a 32-byte seed.
    public init(seed: [UInt8]) throws(CryptoError) {
        Sodium.ensureInitialized()
        guard seed.count == Self.seedSize else {
            throw CryptoError(code: .invalidKeyLength, message: "an Ed25519 seed has 32 bytes, not \(seed.count)")
        }
        var pk = [UInt8](repeating: 0, count: PublicKey.size)
        var sk = [UInt8](repeating: 0, count: Int(crypto_sign_SECRETKEYBYTES))
        _ = crypto_sign_seed_keypair(&pk, &sk, seed)
        self.secret = sk
        self.publicKey = try PublicKey(bytes: pk)
    }

    /// The 32-byte seed, for the key file only.
    package var seed: [UInt8] { Array(secret.prefix(Self.seedSize)) }

    /// Signs `message` and returns the 64-byte detached signature.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: Self.signatureSize)
        var length: UInt64 = 0
        message.withUnsafeBufferPointer { msg in
            _ = crypto_sign_detached(&signature, &length, msg.baseAddress, UInt64(msg.count), secret)
        }
        return signature
    }

    public var description: String { "SigningKey(\(publicKey.fingerprint))" }
}
