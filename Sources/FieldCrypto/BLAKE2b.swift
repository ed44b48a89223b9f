import CSodium

/// BLAKE2b with a 256-bit output (libsodium's `crypto_generichash`), the project's only hash.
public enum BLAKE2b {
    /// The digest size in bytes.
    public static let digestSize = 32

    /// Hashes `data` to 32 bytes.
    public static func hash256(_ data: [UInt8]) -> [UInt8] {
        Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: digestSize)
        data.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                _ = crypto_generichash(
                    output.baseAddress!,
                    digestSize,
                    input.baseAddress,
                    UInt64(input.count),
                    nil,
                    0
                )
            }
        }
        return out
    }

    /// An incremental BLAKE2b-256 hasher, for data that arrives in pieces (files, digests of tables).
    ///
    /// libsodium's state is a 64-byte-aligned C struct that Swift sees as opaque, so it lives in
    /// memory this value allocates and frees.
    public final class Hasher {
        private let state: UnsafeMutableRawPointer

        /// Starts an empty hash.
        public init() {
            Sodium.ensureInitialized()
            state = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
            _ = crypto_generichash_init(OpaquePointer(state), nil, 0, BLAKE2b.digestSize)
        }

        deinit {
            state.deallocate()
        }

        /// Adds bytes to the hash.
        public func update(_ data: [UInt8]) {
            data.withUnsafeBufferPointer { input in
                _ = crypto_generichash_update(OpaquePointer(state), input.baseAddress, UInt64(input.count))
            }
        }

        /// Adds the UTF-8 bytes of a string, preceded by its length so that concatenations stay unambiguous.
        public func update(field: String) {
            let bytes = Array(field.utf8)
            update(bigEndian: UInt32(bytes.count))
            update(bytes)
        }

        /// Adds an integer as 4 big-endian bytes.
        public func update(bigEndian value: UInt32) {
            update([
                UInt8(value >> 24 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff),
            ])
        }

        /// Returns the 32-byte digest; call it once.
        public func finalize() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: BLAKE2b.digestSize)
            out.withUnsafeMutableBufferPointer { output in
                _ = crypto_generichash_final(OpaquePointer(state), output.baseAddress!, BLAKE2b.digestSize)
            }
            return out
        }
    }
}
