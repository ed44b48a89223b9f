import FieldCrypto

// The wire format in one place (docs/commit-format.md): big-endian integers, the commit record
// (length, body, signature), length-prefixed framing of records (sync batches, bundles), and the
// key of a feed.

/// Big-endian integers, as every fieldlog format writes them.
public enum BigEndian {
    public static func bytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }

    public static func bytes(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32($0))) }
    }

    /// The integer in the first 4 bytes of `bytes` (which has at least 4).
    public static func uint32<C: Collection<UInt8>>(_ bytes: C) -> UInt32 {
        bytes.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// The integer in the first 8 bytes of `bytes` (which has at least 8).
    public static func uint64<C: Collection<UInt8>>(_ bytes: C) -> UInt64 {
        bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}

/// A signed commit on the wire: the body's length (4 bytes, big-endian), the body, and the 64-byte
/// Ed25519 signature. Bundles, sync batches and the replica's exports carry commits this way.
public enum WireRecord {
    public static let signatureSize = SigningKey.signatureSize

    /// The record of a body and its signature.
    public static func encode<B: Collection<UInt8>, S: Collection<UInt8>>(body: B, signature: S) -> [UInt8] {
        var record = BigEndian.bytes(UInt32(body.count))
        record.reserveCapacity(4 + body.count + signature.count)
        record += body
        record += signature
        return record
    }

    /// The body and signature of a record whose length field matches its size; nothing verified.
    public static func split(_ record: [UInt8]) throws(StoreError) -> (body: [UInt8], signature: [UInt8]) {
        let length = try bodyLength(record)
        return (Array(record[4..<4 + length]), Array(record[(4 + length)...]))
    }

    /// The length of a record's body, checked against the record's size.
    private static func bodyLength(_ record: [UInt8]) throws(StoreError) -> Int {
        guard record.count >= 4 + signatureSize else {
            throw StoreError(.malformedCommit, "a commit record of \(record.count) bytes is too short")
        }
        let length = Int(BigEndian.uint32(record))
        guard record.count == 4 + length + signatureSize else {
            throw StoreError(
                .malformedCommit,
                "a commit record's length field (\(length)) does not match its size (\(record.count))"
            )
        }
        return length
    }

    /// The commit of a record, decoded and its signature verified.
    public static func decode(_ record: [UInt8]) throws(StoreError) -> SignedCommit {
        let (body, signature) = try split(record)
        return try SignedCommit(body: body, signature: signature)
    }

    /// The commit of a record, decoded but not verified: for planning what to ask next (which feed
    /// it extends, to which sequence). Whatever is stored is verified when it is taken in.
    public static func unverifiedCommit(_ record: [UInt8]) throws(StoreError) -> Commit {
        try CommitCodec.decode(try split(record).body)
    }

    /// The feed and sequence of a record, read from the head of its body only (nothing else is
    /// decoded or verified): what a sync needs to foresee the heads a batch leads to.
    public static func place(_ record: [UInt8]) throws(StoreError) -> (feed: FeedKey, sequence: UInt64) {
        let length = try bodyLength(record)
        // Magic and version, author, the scope's length and bytes, the sequence.
        let head = Array(record[4..<4 + min(length, 4 + 32 + 2 + CommitCodec.maxScopeBytes + 8)])
        let place = try CommitCodec.decodePlace(head)
        return (FeedKey(scope: place.scope, author: place.author.hex), place.sequence)
    }
}

/// Length-prefixed framing: each record after its length (4 bytes, big-endian), as sync batches and
/// bundles hold them.
public enum Framing {
    /// Appends one framed record.
    public static func append(_ record: [UInt8], to out: inout [UInt8]) {
        out += BigEndian.bytes(UInt32(record.count))
        out += record
    }

    /// The record framed at `offset` of `bytes` and the offset after it, or nil when the bytes end
    /// inside its length field (`.endsInLength`) or its record (`.truncated`), or it is empty.
    public static func next<C: Collection<UInt8>>(
        in bytes: C,
        at offset: Int
    ) -> Result<(record: [UInt8], next: Int), FramingError> where C.Index == Int {
        let base = bytes.startIndex + offset
        guard base + 4 <= bytes.endIndex else { return .failure(.endsInLength) }
        let length = Int(BigEndian.uint32(bytes[base..<base + 4]))
        guard length > 0, base + 4 + length <= bytes.endIndex else { return .failure(.truncated) }
        return .success((Array(bytes[(base + 4)..<(base + 4 + length)]), offset + 4 + length))
    }

    public enum FramingError: Error, Sendable {
        case endsInLength
        case truncated
    }
}

/// One feed: the commits of one author in one scope.
public struct FeedKey: Hashable, Comparable, Sendable {
    public var scope: String
    /// The author's key, hex.
    public var author: String

    public init(scope: String, author: String) {
        self.scope = scope
        self.author = author
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.scope, lhs.author) < (rhs.scope, rhs.author) }
}

extension FeedHead {
    /// The feed this head is of.
    public var feed: FeedKey { FeedKey(scope: scope, author: author) }
}

extension Commit {
    /// The feed this commit extends.
    public var feed: FeedKey { FeedKey(scope: scope, author: author.hex) }
}
