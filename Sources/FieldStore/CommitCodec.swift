import FieldCrypto
import Foundation

/// The canonical binary encoding of commits (format version 1). See `docs/commit-format.md`.
public enum CommitCodec {
    static let magic: [UInt8] = [0x46, 0x4C, 0x43]  // "FLC"
    /// Bounds that keep a hostile commit from costing much.
    public static let maxChanges = 10_000
    public static let maxBodySize = 4 << 20
    public static let maxScopeBytes = 200
    public static let maxNameBytes = 64
    public static let maxSupersedes = 255
    /// The largest sequence number, registry sequence and timestamp a commit may carry: SQLite
    /// stores integers as signed 64-bit values, so every 64-bit field of a commit is at most 2^63 − 1.
    public static let maxField = UInt64(Int64.max)

    /// Encodes a commit; changes and each change's superseded ids are sorted into canonical order.
    public static func encode(_ commit: Commit) throws(StoreError) -> [UInt8] {
        try checkBounds(
            sequence: commit.sequence,
            registrySequence: commit.registrySequence,
            timestamp: commit.timestamp.rawValue
        )
        var out: [UInt8] = magic + [Commit.formatVersion]
        out.reserveCapacity(128 + commit.changes.count * 96)
        out += commit.author.bytes
        try appendString(commit.scope, lengthBytes: 2, max: maxScopeBytes, to: &out, what: "scope")
        out += BigEndian.bytes(commit.sequence)
        out += commit.previous.bytes
        out += BigEndian.bytes(commit.timestamp.rawValue)
        out += BigEndian.bytes(commit.schemaVersion)
        out += BigEndian.bytes(commit.registrySequence)
        // A local write and a decoded commit give their changes in canonical order already.
        let canonical = Change.areCanonical(commit.changes)
        let changes = canonical ? commit.changes : commit.changes.sorted(by: Change.precedes)
        guard !changes.isEmpty, changes.count <= maxChanges else {
            throw StoreError(.malformedCommit, "a commit has 1 to \(maxChanges) changes, not \(changes.count)")
        }
        // Sorted, a cell written twice shows as two neighbours in no order (canonical: none is).
        for index in 1..<(canonical ? 1 : changes.count) where !Change.precedes(changes[index - 1], changes[index]) {
            let change = changes[index]
            throw StoreError(
                .malformedCommit,
                "a commit writes \(change.table).\(change.column) of row \(change.row.lowercased) twice"
            )
        }
        out += BigEndian.bytes(UInt32(changes.count))
        for change in changes {
            try appendString(change.table, lengthBytes: 1, max: maxNameBytes, to: &out, what: "table name")
            out += change.row.bytes16
            try appendString(change.column, lengthBytes: 1, max: maxNameBytes, to: &out, what: "column name")
            try appendValue(change.value, to: &out)
            let supersedes = change.supersedes.count < 2 ? change.supersedes : Array(Set(change.supersedes)).sorted()
            guard supersedes.count <= maxSupersedes else {
                throw StoreError(.malformedCommit, "a change supersedes at most \(maxSupersedes) versions")
            }
            out.append(UInt8(supersedes.count))
            for id in supersedes { out += id.bytes }
        }
        guard out.count <= maxBodySize else {
            throw StoreError(.malformedCommit, "a commit body is at most \(maxBodySize) bytes, not \(out.count)")
        }
        return out
    }

    /// The author, scope and sequence at the head of a body (or of its first bytes), read the way
    /// `decode` reads them and nothing after: where a commit goes in its feed, with nothing verified.
    static func decodePlace(_ head: [UInt8]) throws(StoreError) -> (author: PublicKey, scope: String, sequence: UInt64)
    {
        var reader = ByteReader(head)
        let place = try readPlace(&reader)
        guard place.sequence >= 1 else { throw StoreError(.malformedCommit, "sequence numbers start at 1") }
        return place
    }

    /// Reads the magic, the format version, the author, the scope and the sequence.
    private static func readPlace(
        _ reader: inout ByteReader
    ) throws(StoreError) -> (author: PublicKey, scope: String, sequence: UInt64) {
        guard try reader.bytes(3) == magic else {
            throw StoreError(.malformedCommit, "not a fieldlog commit (bad magic)")
        }
        let version = try reader.uint8()
        guard version == Commit.formatVersion else {
            throw StoreError(
                .unsupportedFormat,
                "commit format version \(version) is not supported (this build reads 1)"
            )
        }
        let author: PublicKey
        do { author = try PublicKey(bytes: try reader.bytes(32)) } catch {
            throw StoreError(.malformedCommit, "bad author key")
        }
        let scope = try reader.string(lengthBytes: 2, max: maxScopeBytes, what: "scope")
        guard !scope.isEmpty else { throw StoreError(.malformedCommit, "a commit's scope is not empty") }
        return (author, scope, try reader.uint64())
    }

    /// Decodes a body, checking that it is exactly the canonical encoding of what it decodes to.
    public static func decode(_ body: [UInt8]) throws(StoreError) -> Commit {
        guard body.count <= maxBodySize else {
            throw StoreError(.malformedCommit, "a commit body is at most \(maxBodySize) bytes, not \(body.count)")
        }
        var reader = ByteReader(body)
        let (author, scope, sequence) = try readPlace(&reader)
        let previous = CommitID(unchecked: try reader.bytes(32))
        let timestamp = Timestamp(rawValue: try reader.uint64())
        let schemaVersion = try reader.uint32()
        let registrySequence = try reader.uint64()
        guard sequence >= 1 else { throw StoreError(.malformedCommit, "sequence numbers start at 1") }
        try checkBounds(sequence: sequence, registrySequence: registrySequence, timestamp: timestamp.rawValue)
        guard (sequence == 1) == (previous == .zero) else {
            throw StoreError(.malformedCommit, "only the first commit of a feed names no predecessor")
        }
        let count = Int(try reader.uint32())
        guard count >= 1, count <= maxChanges else {
            throw StoreError(.malformedCommit, "a commit has 1 to \(maxChanges) changes, not \(count)")
        }
        var changes: [Change] = []
        changes.reserveCapacity(count)
        for _ in 0..<count {
            let table = try reader.string(lengthBytes: 1, max: maxNameBytes, what: "table name")
            let row = UUID(bytes16: try reader.bytes(16))
            let column = try reader.string(lengthBytes: 1, max: maxNameBytes, what: "column name")
            let value = try reader.value()
            let supersedeCount = Int(try reader.uint8())
            var supersedes: [CommitID] = []
            supersedes.reserveCapacity(supersedeCount)
            for _ in 0..<supersedeCount {
                let id = CommitID(unchecked: try reader.bytes(32))
                if let last = supersedes.last, !(last < id) {
                    throw StoreError(.malformedCommit, "superseded versions are not in canonical order")
                }
                supersedes.append(id)
            }
            let change = Change(table: table, row: row, column: column, value: value, supersedes: supersedes)
            if let last = changes.last, !Change.precedes(last, change) {
                throw StoreError(.malformedCommit, "changes are not in canonical order")
            }
            changes.append(change)
        }
        guard reader.isAtEnd else {
            throw StoreError(.malformedCommit, "\(reader.remaining) bytes after the last change")
        }
        return Commit(
            author: author,
            scope: scope,
            sequence: sequence,
            previous: previous,
            timestamp: timestamp,
            schemaVersion: schemaVersion,
            registrySequence: registrySequence,
            changes: changes
        )
    }

    /// Refuses a 64-bit field above `maxField` (it could not be stored, and a conversion to a
    /// signed integer would trap: a pushed commit numbered 2^63 once stopped the hub).
    private static func checkBounds(sequence: UInt64, registrySequence: UInt64, timestamp: UInt64) throws(StoreError) {
        for (value, name) in [
            (sequence, "sequence number"), (registrySequence, "registry sequence"), (timestamp, "timestamp"),
        ]
        where value > maxField {
            throw StoreError(.malformedCommit, "a commit's \(name) is at most 2^63 - 1, not \(value)")
        }
    }

    private static func appendString(
        _ string: String,
        lengthBytes: Int,
        max: Int,
        to out: inout [UInt8],
        what: String
    ) throws(StoreError) {
        let bytes = Array(string.utf8)
        guard bytes.count <= max else {
            throw StoreError(.malformedCommit, "a \(what) is at most \(max) bytes, not \(bytes.count)")
        }
        if lengthBytes == 2 {
            out += [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xff)]
        } else {
            out.append(UInt8(bytes.count))
        }
        out += bytes
    }

    private static func appendValue(_ value: Value, to out: inout [UInt8]) throws(StoreError) {
        if case .real(let double) = value, double.isNaN { throw StoreError(.invalidValue, "NaN cannot be stored") }
        value.appendCanonical(to: &out)
    }
}

/// Reads big-endian fields from a byte array, throwing `malformedCommit` on any overrun.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }
    var remaining: Int { bytes.count - offset }

    mutating func bytes(_ count: Int) throws(StoreError) -> [UInt8] {
        guard count >= 0, remaining >= count else {
            throw StoreError(.malformedCommit, "the commit ends early (wanted \(count) bytes at offset \(offset))")
        }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func uint8() throws(StoreError) -> UInt8 { try bytes(1)[0] }

    mutating func uint32() throws(StoreError) -> UInt32 {
        try bytes(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    mutating func uint64() throws(StoreError) -> UInt64 {
        try bytes(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    mutating func string(lengthBytes: Int, max: Int, what: String) throws(StoreError) -> String {
        let length = lengthBytes == 2 ? Int(try bytes(2).reduce(0) { $0 << 8 | Int($1) }) : Int(try uint8())
        guard length <= max else { throw StoreError(.malformedCommit, "a \(what) is at most \(max) bytes") }
        return try utf8(try bytes(length), what: what)
    }

    mutating func value() throws(StoreError) -> Value {
        let tag = try uint8()
        switch tag {
        case 0: return .null
        case 1: return .integer(Int64(bitPattern: try uint64()))
        case 2:
            let double = Double(bitPattern: try uint64())
            guard !double.isNaN, double.bitPattern != (-0.0).bitPattern else {
                throw StoreError(.malformedCommit, "a real value is not canonical (NaN or -0)")
            }
            return .real(double)
        case 3:
            let length = Int(try uint32())
            return .text(try utf8(try bytes(length), what: "text value"))
        case 4:
            let length = Int(try uint32())
            return .blob(try bytes(length))
        default:
            throw StoreError(.malformedCommit, "unknown value tag \(tag)")
        }
    }

    private func utf8(_ raw: [UInt8], what: String) throws(StoreError) -> String {
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw StoreError(.malformedCommit, "a \(what) is not valid UTF-8")
        }
        return text
    }
}
