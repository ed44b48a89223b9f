import FieldCrypto
import Foundation

/// One write to one cell: a column of a row, or the row's `deleted` flag.
public struct Change: Hashable, Sendable {
    /// The replicated table.
    public var table: String
    /// The row's UUID.
    public var row: UUID
    /// The column; `deleted` is the row's deletion flag (0 or 1).
    public var column: String
    /// The new value.
    public var value: Value
    /// The versions of this cell its author's replica saw as heads, which this write replaces.
    public var supersedes: [CommitID]

    public init(table: String, row: UUID, column: String, value: Value, supersedes: [CommitID] = []) {
        self.table = table
        self.row = row
        self.column = column
        self.value = value
        self.supersedes = supersedes
    }

    /// The canonical order of changes in a commit: by table, row bytes, column (UTF-8 bytes).
    static func precedes(_ a: Change, _ b: Change) -> Bool {
        // Byte comparisons throughout (String's == is by canonical equivalence), with no copies.
        let table = compareBytes(a.table, b.table)
        if table != 0 { return table < 0 }
        let row = withUnsafeBytes(of: a.row.uuid) { a in
            withUnsafeBytes(of: b.row.uuid) { b in memcmp(a.baseAddress!, b.baseAddress!, 16) }
        }
        if row != 0 { return row < 0 }
        return compareBytes(a.column, b.column) < 0
    }

    /// The order of two strings' UTF-8 bytes: negative, zero or positive.
    static func compareBytes(_ a: String, _ b: String) -> Int {
        let fast = a.utf8.withContiguousStorageIfAvailable { a in
            b.utf8.withContiguousStorageIfAvailable { b in
                let common = min(a.count, b.count)
                let order = common == 0 ? 0 : memcmp(a.baseAddress!, b.baseAddress!, common)
                return order != 0 ? Int(order) : a.count - b.count
            }
        }
        if let fast, let fast { return fast }
        if a.utf8.elementsEqual(b.utf8) { return 0 }
        return a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1
    }

    /// True when `changes` are in canonical order with no cell twice (what an encoded commit holds).
    static func areCanonical(_ changes: [Change]) -> Bool {
        var index = 1
        while index < changes.count {
            if !precedes(changes[index - 1], changes[index]) { return false }
            index += 1
        }
        return true
    }
}

/// A commit: one local transaction, confined to one scope, appended to its author's feed for that scope.
///
/// The byte layout is in `docs/commit-format.md`; `encode()` and `decode(_:)` are its only implementation.
public struct Commit: Hashable, Sendable {
    /// The format version this code writes and reads.
    public static let formatVersion: UInt8 = 1
    /// The scope of registry commits (departments, cadres, devices, enterprises, linkages).
    public static let registryScope = "registry"

    public var author: PublicKey
    public var scope: String
    public var sequence: UInt64
    public var previous: CommitID
    public var timestamp: Timestamp
    public var schemaVersion: UInt32
    /// The sequence number of the root's registry feed its author had applied when writing it.
    public var registrySequence: UInt64
    public var changes: [Change]

    public init(
        author: PublicKey,
        scope: String,
        sequence: UInt64,
        previous: CommitID,
        timestamp: Timestamp,
        schemaVersion: UInt32,
        registrySequence: UInt64,
        changes: [Change]
    ) {
        self.author = author
        self.scope = scope
        self.sequence = sequence
        self.previous = previous
        self.timestamp = timestamp
        self.schemaVersion = schemaVersion
        self.registrySequence = registrySequence
        self.changes = changes
    }
}

/// A commit as it travels and is stored: its canonical body, its id and the author's signature.
public struct SignedCommit: Hashable, Sendable {
    /// Prepended to the id before signing, so a commit signature can never be taken for another kind.
    public static let signaturePrefix = Array("fieldlog commit v1\u{0}".utf8)

    public let commit: Commit
    public let body: [UInt8]
    public let id: CommitID
    public let signature: [UInt8]

    /// Encodes and signs a commit. The key must be the commit's author.
    public init(signing commit: Commit, with key: SigningKey) throws(StoreError) {
        precondition(key.publicKey == commit.author, "a commit is signed by its author")
        let body = try CommitCodec.encode(commit)
        self.commit = commit
        self.body = body
        self.id = CommitID(unchecked: BLAKE2b.hash256(body))
        self.signature = key.sign(Self.signaturePrefix + id.bytes)
    }

    /// Decodes a body and checks its signature.
    /// - Throws: `StoreError` with `.malformedCommit`, `.unsupportedFormat` or `.badSignature`.
    public init(body: [UInt8], signature: [UInt8]) throws(StoreError) {
        let commit = try CommitCodec.decode(body)
        let id = CommitID(unchecked: BLAKE2b.hash256(body))
        guard signature.count == SigningKey.signatureSize,
            commit.author.isValidSignature(signature, for: Self.signaturePrefix + id.bytes)
        else {
            throw StoreError(
                .badSignature,
                "commit \(id.short) (seq \(commit.sequence) of \(commit.author.fingerprint) in \(commit.scope)) has an invalid signature"
            )
        }
        self.commit = commit
        self.body = body
        self.id = id
        self.signature = signature
    }

    /// Rebuilds a stored commit without checking the signature again (it was checked when stored).
    init(trustedBody body: [UInt8], id: CommitID, signature: [UInt8]) throws(StoreError) {
        self.commit = try CommitCodec.decode(body)
        self.body = body
        self.id = id
        self.signature = signature
    }

    /// The wire form: 4-byte big-endian body length, body, 64-byte signature.
    public var wire: [UInt8] { WireRecord.encode(body: body, signature: signature) }
}
