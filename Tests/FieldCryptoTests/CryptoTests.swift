import Foundation
import Testing

@testable import FieldCrypto

@Suite struct Ed25519Tests {
    @Test func signatureVerifiesAndTamperingFails() throws {
        let key = SigningKey.generate()
        let message = Array("走访记录".utf8)
        let signature = key.sign(message)
        #expect(signature.count == 64)
        #expect(key.publicKey.isValidSignature(signature, for: message))
        var flipped = message
        flipped[0] ^= 1
        #expect(!key.publicKey.isValidSignature(signature, for: flipped))
        var badSignature = signature
        badSignature[10] ^= 0x80
        #expect(!key.publicKey.isValidSignature(badSignature, for: message))
        #expect(!SigningKey.generate().publicKey.isValidSignature(signature, for: message))
    }

    /// RFC 8032 section 7.1, test 1 (empty message).
    @Test func rfc8032TestVectorOne() throws {
        let seed = Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")!
        let key = try SigningKey(seed: seed)
        #expect(key.publicKey.hex == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        let signature = key.sign([])
        #expect(
            Hex.encode(signature)
                == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                + "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        )
    }

    /// A fingerprint typed with dashes, spaces or capitals reads as the key's digits; anything but
    /// 20 hex digits reads as none.
    @Test func aTypedFingerprintIsReadAsItsDigits() {
        let key = SigningKey.generate().publicKey
        let digits = key.fingerprintDigits
        #expect(digits.count == 20 && !digits.contains("-"))
        #expect(PublicKey.fingerprintDigits(typed: key.fingerprint) == digits)
        #expect(PublicKey.fingerprintDigits(typed: " " + key.fingerprint.uppercased() + " ") == digits)
        #expect(PublicKey.fingerprintDigits(typed: digits) == digits)
        for bad in ["", "not-a-fingerprint", String(digits.dropLast()), digits + "0", String(digits.dropLast()) + "g"] {
            #expect(PublicKey.fingerprintDigits(typed: bad) == nil, "\(bad)")
        }
    }

    @Test func wrongLengthsAreRefused() {
        #expect(throws: CryptoError.self) { try PublicKey(bytes: [1, 2, 3]) }
        #expect(throws: CryptoError.self) { try SigningKey(seed: [UInt8](repeating: 0, count: 31)) }
        #expect(throws: CryptoError.self) { try PublicKey(hex: "zz") }
    }

    @Test func fingerprintIsStableAndShort() throws {
        let key = try SigningKey(seed: [UInt8](repeating: 7, count: 32))
        #expect(key.publicKey.fingerprint == key.publicKey.fingerprint)
        #expect(key.publicKey.fingerprint.split(separator: "-").count == 5)
        #expect(!key.description.contains(Hex.encode(key.seed)))
    }
}

@Suite struct BLAKE2bTests {
    /// BLAKE2b-256 of the empty string and of "abc" (reference values from the BLAKE2 reference code).
    @Test func knownDigests() {
        #expect(
            Hex.encode(BLAKE2b.hash256([]))
                == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
        )
        #expect(
            Hex.encode(BLAKE2b.hash256(Array("abc".utf8)))
                == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
        )
    }

    @Test func incrementalMatchesOneShot() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let hasher = BLAKE2b.Hasher()
        hasher.update(Array(data[0..<333]))
        hasher.update(Array(data[333...]))
        #expect(hasher.finalize() == BLAKE2b.hash256(data))
    }
}

@Suite struct KeyFileTests {
    func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "fieldlog-keytest-" + UUID().uuidString
        return path
    }

    /// Removes the temporary folder that `path` is in (or is).
    func removeTemporary(_ path: String) {
        var folder = path
        while !(folder as NSString).lastPathComponent.hasPrefix("fieldlog-keytest-"), folder.count > 1 {
            folder = (folder as NSString).deletingLastPathComponent
        }
        try? FileManager.default.removeItem(atPath: folder)
    }

    @Test func roundTripWithPermissions() throws {
        let folder = try temporaryFolder() + "/keys"
        defer { removeTemporary(folder) }
        let path = folder + "/device.key"
        let key = SigningKey.generate()
        try KeyFile.write(key, passphrase: "正确的口令 correct horse", to: path, parameters: .minimum)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let folderAttributes = try FileManager.default.attributesOfItem(atPath: folder)
        #expect((folderAttributes[.posixPermissions] as? Int) == 0o700)
        let loaded = try KeyFile.read(from: path, passphrase: "正确的口令 correct horse")
        #expect(loaded.publicKey == key.publicKey)
        #expect(try KeyFile.publicKey(at: path) == key.publicKey)
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(raw.range(of: Data(key.seed)) == nil, "the seed must not be stored in clear")
    }

    @Test func wrongPassphraseIsAClearError() throws {
        let path = try temporaryFolder() + "/device.key"
        defer { removeTemporary(path) }
        try KeyFile.write(SigningKey.generate(), passphrase: "right", to: path, parameters: .minimum)
        let error = #expect(throws: CryptoError.self) { try KeyFile.read(from: path, passphrase: "wrong") }
        #expect(error?.code == .wrongPassphrase)
        #expect(error?.message.contains("passphrase") == true)
    }

    @Test func looseKeyFileIsRefused() throws {
        let path = try temporaryFolder() + "/device.key"
        defer { removeTemporary(path) }
        try KeyFile.write(SigningKey.generate(), passphrase: "p", to: path, parameters: .minimum)
        chmod(path, 0o644)
        let error = #expect(throws: CryptoError.self) { try KeyFile.read(from: path, passphrase: "p") }
        #expect(error?.code == .keyFilePermissions)
        #expect(error?.message.contains("chmod 600") == true)
    }

    @Test func existingKeyIsNeverOverwritten() throws {
        let path = try temporaryFolder() + "/device.key"
        defer { removeTemporary(path) }
        try KeyFile.write(SigningKey.generate(), passphrase: "p", to: path, parameters: .minimum)
        let error = #expect(throws: CryptoError.self) {
            try KeyFile.write(SigningKey.generate(), passphrase: "p", to: path, parameters: .minimum)
        }
        #expect(error?.code == .keyFileExists)
    }

    @Test func damagedFileIsRefused() throws {
        let path = try temporaryFolder() + "/device.key"
        defer { removeTemporary(path) }
        let key = SigningKey.generate()
        try KeyFile.write(key, passphrase: "p", to: path, parameters: .minimum)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 1] ^= 1
        let error = #expect(throws: CryptoError.self) { try KeyFile.open(bytes, passphrase: "p", path: path) }
        #expect(error?.code == .wrongPassphrase)
        let truncated = Array(bytes.prefix(20))
        let error2 = #expect(throws: CryptoError.self) { try KeyFile.open(truncated, passphrase: "p", path: path) }
        #expect(error2?.code == .keyFileCorrupt)
    }
}
