import CSodium

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A signing key stored on disk, encrypted with a passphrase.
///
/// Layout (all integers big-endian), documented in `docs/key-file.md`:
///
/// | bytes | field |
/// |---|---|
/// | 8 | magic `FLDKEY01` |
/// | 1 | KDF algorithm: 2 = Argon2id v1.3 (`crypto_pwhash_ALG_ARGON2ID13`) |
/// | 8 | `opslimit` |
/// | 8 | `memlimit` in bytes |
/// | 16 | salt |
/// | 24 | `crypto_secretbox` nonce |
/// | 32 | public key (in clear, so the fingerprint can be shown without the passphrase) |
/// | 48 | `crypto_secretbox_easy` of the 32-byte seed (16-byte MAC + 32 bytes) |
///
/// The secretbox key is `crypto_pwhash(32, passphrase, salt, opslimit, memlimit, alg)`.
public enum KeyFile {
    /// Argon2id cost parameters, stored in each file's header.
    public struct Parameters: Sendable, Equatable {
        public var opsLimit: UInt64
        public var memLimit: UInt64

        public init(opsLimit: UInt64, memLimit: UInt64) {
            self.opsLimit = opsLimit
            self.memLimit = memLimit
        }

        /// libsodium's "interactive" limits (2 passes, 64 MiB): the default, about a tenth of a second.
        public static let interactive = Parameters(
            opsLimit: UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE),
            memLimit: UInt64(crypto_pwhash_MEMLIMIT_INTERACTIVE)
        )

        /// libsodium's "moderate" limits (3 passes, 256 MiB).
        public static let moderate = Parameters(
            opsLimit: UInt64(crypto_pwhash_OPSLIMIT_MODERATE),
            memLimit: UInt64(crypto_pwhash_MEMLIMIT_MODERATE)
        )

        /// The smallest limits libsodium accepts; for tests only.
        public static let minimum = Parameters(
            opsLimit: UInt64(crypto_pwhash_OPSLIMIT_MIN),
            memLimit: UInt64(crypto_pwhash_MEMLIMIT_MIN)
        )
    }

    static let magic = Array("FLDKEY01".utf8)
    static let algorithmArgon2id: UInt8 = 2
    static let saltSize = 16
    static let nonceSize = 24
    static let macSize = 16
    static let fileSize = 8 + 1 + 8 + 8 + saltSize + nonceSize + PublicKey.size + macSize + SigningKey.seedSize

    /// Encrypts `key` with `passphrase` and writes it to `path`, mode 0600, creating the folder 0700.
    /// - Throws: `CryptoError` if the file exists or cannot be written.
    public static func write(
        _ key: SigningKey,
        passphrase: String,
        to path: String,
        parameters: Parameters = .interactive
    ) throws(CryptoError) {
        let bytes = try seal(key, passphrase: passphrase, parameters: parameters)
        try FileAccess.makePrivateFolder(for: path)
        try FileAccess.writeNew(bytes, to: path, mode: 0o600)
    }

    /// Reads and decrypts the key at `path`.
    /// - Throws: `CryptoError` when the file is missing, readable by others, damaged, or the passphrase is wrong.
    public static func read(from path: String, passphrase: String) throws(CryptoError) -> SigningKey {
        let bytes = try FileAccess.readPrivate(path)
        return try open(bytes, passphrase: passphrase, path: path)
    }

    /// Reads only the public key stored in clear in the header (no passphrase needed).
    public static func publicKey(at path: String) throws(CryptoError) -> PublicKey {
        let bytes = try FileAccess.readPrivate(path)
        let header = try Header(bytes, path: path)
        return header.publicKey
    }

    /// Encrypts a key into the file format.
    static func seal(_ key: SigningKey, passphrase: String, parameters: Parameters) throws(CryptoError) -> [UInt8] {
        Sodium.ensureInitialized()
        let salt = Sodium.randomBytes(saltSize)
        let nonce = Sodium.randomBytes(nonceSize)
        let boxKey = try deriveKey(passphrase: passphrase, salt: salt, parameters: parameters)
        var cipher = [UInt8](repeating: 0, count: macSize + SigningKey.seedSize)
        let seed = key.seed
        _ = crypto_secretbox_easy(&cipher, seed, UInt64(seed.count), nonce, boxKey)
        var out = magic
        out.append(algorithmArgon2id)
        out.append(contentsOf: bigEndianBytes(parameters.opsLimit))
        out.append(contentsOf: bigEndianBytes(parameters.memLimit))
        out.append(contentsOf: salt)
        out.append(contentsOf: nonce)
        out.append(contentsOf: key.publicKey.bytes)
        out.append(contentsOf: cipher)
        return out
    }

    /// Decrypts the file format.
    static func open(_ bytes: [UInt8], passphrase: String, path: String) throws(CryptoError) -> SigningKey {
        let header = try Header(bytes, path: path)
        let boxKey = try deriveKey(passphrase: passphrase, salt: header.salt, parameters: header.parameters)
        var seed = [UInt8](repeating: 0, count: SigningKey.seedSize)
        let status = crypto_secretbox_open_easy(&seed, header.cipher, UInt64(header.cipher.count), header.nonce, boxKey)
        guard status == 0 else {
            throw CryptoError(
                code: .wrongPassphrase,
                message: "the passphrase does not open the key file \(path); check FIELDLOG_PASSPHRASE or type it again"
            )
        }
        let key = try SigningKey(seed: seed)
        guard key.publicKey == header.publicKey else {
            throw CryptoError(
                code: .keyFileCorrupt,
                message:
                    "the key file \(path) is damaged: its public key does not match its secret; restore it from a backup"
            )
        }
        return key
    }

    private struct Header {
        var parameters: Parameters
        var salt: [UInt8]
        var nonce: [UInt8]
        var publicKey: PublicKey
        var cipher: [UInt8]

        init(_ bytes: [UInt8], path: String) throws(CryptoError) {
            let corrupt = CryptoError(
                code: .keyFileCorrupt,
                message: "\(path) is not a fieldlog key file (wrong size or header); restore it from a backup"
            )
            guard bytes.count == KeyFile.fileSize, Array(bytes[0..<8]) == KeyFile.magic,
                bytes[8] == KeyFile.algorithmArgon2id
            else { throw corrupt }
            var offset = 9
            func take(_ n: Int) -> [UInt8] {
                defer { offset += n }
                return Array(bytes[offset..<offset + n])
            }
            let ops = take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let mem = take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            parameters = Parameters(opsLimit: ops, memLimit: mem)
            salt = take(KeyFile.saltSize)
            nonce = take(KeyFile.nonceSize)
            publicKey = try PublicKey(bytes: take(PublicKey.size))
            cipher = take(KeyFile.macSize + SigningKey.seedSize)
            guard ops >= UInt64(crypto_pwhash_OPSLIMIT_MIN), ops <= UInt64(crypto_pwhash_OPSLIMIT_MAX),
                mem >= UInt64(crypto_pwhash_MEMLIMIT_MIN), mem <= (1 << 32)
            else { throw corrupt }
        }
    }

    private static func deriveKey(
        passphrase: String,
        salt: [UInt8],
        parameters: Parameters
    ) throws(CryptoError)
        -> [UInt8]
    {
        var key = [UInt8](repeating: 0, count: Int(crypto_secretbox_KEYBYTES))
        let length = UInt64(passphrase.utf8.count)
        let status = passphrase.withCString { chars in
            crypto_pwhash(
                &key,
                UInt64(key.count),
                chars,
                length,
                salt,
                parameters.opsLimit,
                Int(parameters.memLimit),
                crypto_pwhash_ALG_ARGON2ID13
            )
        }
        guard status == 0 else {
            throw CryptoError(code: .keyDerivationFailed, message: "Argon2id could not run (out of memory?)")
        }
        return key
    }

    private static func bigEndianBytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }
}

/// File operations with the permissions a key file needs.
enum FileAccess {
    static func makePrivateFolder(for path: String) throws(CryptoError) {
        guard let slash = path.lastIndex(of: "/") else { return }
        let folder = String(path[..<slash])
        guard !folder.isEmpty else { return }
        var info = stat()
        if stat(folder, &info) == 0 {
            if info.st_uid == getuid() && info.st_mode & 0o077 != 0 {
                _ = chmod(folder, 0o700)
            }
            return
        }
        try makePrivateFolder(for: folder)
        if mkdir(folder, 0o700) != 0 && errno != EEXIST {
            throw CryptoError(code: .ioFailure, message: "cannot create the folder \(folder) (errno \(errno))")
        }
    }

    static func writeNew(_ bytes: [UInt8], to path: String, mode: mode_t) throws(CryptoError) {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            if errno == EEXIST {
                throw CryptoError(
                    code: .keyFileExists,
                    message: "\(path) already exists; fieldlog never overwrites a key"
                )
            }
            throw CryptoError(code: .ioFailure, message: "cannot create \(path) (errno \(errno))")
        }
        defer { close(fd) }
        _ = fchmod(fd, mode)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            guard n > 0 else { throw CryptoError(code: .ioFailure, message: "cannot write \(path) (errno \(errno))") }
            written += n
        }
        guard fsync(fd) == 0 else { throw CryptoError(code: .ioFailure, message: "cannot sync \(path) to disk") }
    }

    static func readPrivate(_ path: String) throws(CryptoError) -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CryptoError(code: .keyFileMissing, message: "no key file at \(path); run `fieldlog init` first")
        }
        if info.st_mode & 0o077 != 0 {
            let mode = String(info.st_mode & 0o777, radix: 8)
            throw CryptoError(
                code: .keyFilePermissions,
                message:
                    "the key file \(path) can be read by other users (mode \(mode)); run `chmod 600 \(path)` and try again"
            )
        }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CryptoError(code: .keyFileUnreadable, message: "cannot open \(path) (errno \(errno))")
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBufferPointer { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw CryptoError(code: .keyFileUnreadable, message: "cannot read \(path) (errno \(errno))") }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
            if out.count > 1 << 16 { break }
        }
        return out
    }
}
