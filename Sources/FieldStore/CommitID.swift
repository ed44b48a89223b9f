import FieldCrypto

/// A commit's identity: BLAKE2b-256 of its canonical body.
public struct CommitID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The 32 bytes.
    public let bytes: [UInt8]

    /// The id of "no commit", named by the first commit of a feed as its predecessor.
    public static let zero = CommitID(unchecked: [UInt8](repeating: 0, count: 32))

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// Wraps 32 bytes.
    public init(bytes: [UInt8]) throws(StoreError) {
        guard bytes.count == 32 else {
            throw StoreError(.malformedCommit, "a commit id has 32 bytes, not \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// Parses 64 hex digits.
    public init(hex: String) throws(StoreError) {
        guard let raw = Hex.decode(hex), raw.count == 32 else {
            throw StoreError(.malformedCommit, "a commit id is 64 hexadecimal characters")
        }
        bytes = raw
    }

    /// Lowercase hex.
    public var hex: String { Hex.encode(bytes) }
    /// The first 12 hex digits, for people.
    public var short: String { String(hex.prefix(12)) }

    public var description: String { short }

    public static func < (lhs: CommitID, rhs: CommitID) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }
}
