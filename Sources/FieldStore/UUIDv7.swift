import FieldCrypto
import Foundation

extension UUID {
    /// A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then random bits, so that ids
    /// made on a device sort by time and SQLite inserts them near the end of its indexes.
    public static func v7(milliseconds: UInt64) -> UUID {
        var bytes = secureRandomBytes(16)
        for index in 0..<6 {
            bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (40 - 8 * UInt64(index)))
        }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        return UUID(bytes16: bytes)
    }

    /// Builds a UUID from exactly 16 bytes.
    public init(bytes16 b: [UInt8]) {
        precondition(b.count == 16, "a UUID has 16 bytes")
        self.init(
            uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
        )
    }

    /// A UUID from a 16-byte blob as SQLite returns it; nil for any other length.
    public init?(blob: Data) {
        guard blob.count == 16 else { return nil }
        self = blob.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }

    /// The 16 bytes, in order.
    public var bytes16: [UInt8] {
        withUnsafeBytes(of: uuid) { Array($0) }
    }

    /// Lowercase canonical text form.
    public var lowercased: String { uuidString.lowercased() }
}
