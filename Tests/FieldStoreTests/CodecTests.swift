import FieldCrypto
import Foundation
import Testing

@testable import FieldStore

@Suite struct CommitCodecTests {
    func sample(key: SigningKey) -> Commit {
        Commit(
            author: key.publicKey,
            scope: "ent:1",
            sequence: 2,
            previous: CommitID(unchecked: [UInt8](repeating: 9, count: 32)),
            timestamp: Timestamp(milliseconds: 1_780_000_000_000, counter: 3),
            schemaVersion: 1,
            registrySequence: 7,
            changes: [
                Change(
                    table: "notes",
                    row: UUID(bytes16: [UInt8](repeating: 2, count: 16)),
                    column: "title",
                    value: .text("企业诉求")
                ),
                Change(
                    table: "notes",
                    row: UUID(bytes16: [UInt8](repeating: 1, count: 16)),
                    column: "n",
                    value: .integer(-5)
                ),
                Change(
                    table: "notes",
                    row: UUID(bytes16: [UInt8](repeating: 1, count: 16)),
                    column: "body",
                    value: .real(2.5),
                    supersedes: [
                        CommitID(unchecked: [UInt8](repeating: 8, count: 32)),
                        CommitID(unchecked: [UInt8](repeating: 3, count: 32)),
                    ]
                ),
                Change(
                    table: "notes",
                    row: UUID(bytes16: [UInt8](repeating: 1, count: 16)),
                    column: "deleted",
                    value: .null
                ),
                Change(
                    table: "notes",
                    row: UUID(bytes16: [UInt8](repeating: 3, count: 16)),
                    column: "title",
                    value: .blob([1, 2])
                ),
            ]
        )
    }

    @Test func roundTripIsCanonical() throws {
        let key = SigningKey.generate()
        let commit = sample(key: key)
        let signed = try SignedCommit(signing: commit, with: key)
        let decoded = try SignedCommit(body: signed.body, signature: signed.signature)
        #expect(decoded.id == signed.id)
        #expect(try CommitCodec.encode(decoded.commit) == signed.body)
        // Encoding is independent of the order changes were given in.
        var shuffled = commit
        shuffled.changes.reverse()
        #expect(try CommitCodec.encode(shuffled) == signed.body)
        #expect(try WireRecord.decode(signed.wire).id == signed.id)
    }

    /// A record's place in its feed, read from the head of its body alone, is the decoded
    /// commit's; a record too short for its length field, or with a bad magic, is refused.
    @Test func aRecordsPlaceIsReadFromItsHead() throws {
        let key = SigningKey.generate()
        let signed = try SignedCommit(signing: sample(key: key), with: key)
        let place = try WireRecord.place(signed.wire)
        #expect(place.feed == signed.commit.feed)
        #expect(place.sequence == signed.commit.sequence)
        #expect(throws: StoreError.self) { try WireRecord.place(Array(signed.wire.dropLast())) }
        var badMagic = signed.wire
        badMagic[4] ^= 0xFF
        #expect(throws: StoreError.self) { try WireRecord.place(badMagic) }
    }

    @Test(arguments: 0..<40) func everyFlippedByteIsRefused(seed: Int) throws {
        let key = try SigningKey(seed: [UInt8](repeating: 1, count: 32))
        let signed = try SignedCommit(signing: sample(key: key), with: key)
        var rng = SplitMix(seed: UInt64(seed))
        var body = signed.body
        let index = Int(rng.next() % UInt64(body.count))
        body[index] ^= UInt8(1 << (rng.next() % 8))
        #expect(throws: StoreError.self, "seed \(seed) byte \(index)") {
            try SignedCommit(body: body, signature: signed.signature)
        }
    }

    @Test func wrongSignatureIsRefused() throws {
        let key = SigningKey.generate()
        let signed = try SignedCommit(signing: sample(key: key), with: key)
        var signature = signed.signature
        signature[0] ^= 1
        let error = #expect(throws: StoreError.self) { try SignedCommit(body: signed.body, signature: signature) }
        #expect(error?.code == .badSignature)
        let other = try SignedCommit(signing: sample(key: key), with: key)
        #expect(throws: StoreError.self) {
            try SignedCommit(body: signed.body, signature: Array(other.signature.prefix(10)))
        }
    }

    @Test func nonCanonicalBodiesAreRefused() throws {
        let key = SigningKey.generate()
        let body = try CommitCodec.encode(sample(key: key))
        // Trailing bytes.
        #expect(throws: StoreError.self) { try CommitCodec.decode(body + [0]) }
        // Truncated.
        #expect(throws: StoreError.self) { try CommitCodec.decode(Array(body.dropLast())) }
        // Unknown version.
        var newer = body
        newer[3] = 2
        let error = #expect(throws: StoreError.self) { try CommitCodec.decode(newer) }
        #expect(error?.code == .unsupportedFormat)
        // Duplicate cell.
        var twice = sample(key: key)
        twice.changes.append(twice.changes[0])
        #expect(throws: StoreError.self) { try CommitCodec.encode(twice) }
        #expect(throws: StoreError.self) {
            try CommitCodec.encode(
                Commit(
                    author: key.publicKey,
                    scope: "s",
                    sequence: 1,
                    previous: .zero,
                    timestamp: Timestamp(rawValue: 1),
                    schemaVersion: 1,
                    registrySequence: 0,
                    changes: []
                )
            )
        }
    }
}

/// A small seeded generator, so every random test can print and replay its seed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct DocExampleTests {
    /// The example in docs/commit-format.md, byte for byte.
    static func example() throws -> SignedCommit {
        let key = try SigningKey(seed: [UInt8](repeating: 1, count: 32))
        let commit = Commit(
            author: key.publicKey,
            scope: "ent:01937b2c-0000-7000-8000-000000000001",
            sequence: 1,
            previous: .zero,
            timestamp: Timestamp(milliseconds: 1_767_225_600_000, counter: 0),
            schemaVersion: 1,
            registrySequence: 5,
            changes: [
                Change(
                    table: "visits",
                    row: UUID(uuidString: "01937b2c-0000-7000-8000-0000000000aa")!,
                    column: "topics",
                    value: .text("用工")
                )
            ]
        )
        return try SignedCommit(signing: commit, with: key)
    }

    @Test func docExampleIsByteExact() throws {
        let signed = try Self.example()
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("docs/commit-format.md")
        let text = try String(contentsOf: docs, encoding: .utf8).replacingOccurrences(of: " ", with: "")
        #expect(
            text.contains(Hex.encode(signed.body)),
            "docs/commit-format.md: the body hex is \(Hex.encode(signed.body))"
        )
        #expect(text.contains(signed.id.hex), "docs/commit-format.md: the id is \(signed.id.hex)")
        #expect(text.contains(Hex.encode(signed.signature)), "signature \(Hex.encode(signed.signature))")
        #expect(text.contains(signed.commit.author.hex), "author \(signed.commit.author.hex)")
    }
}

/// Found by fuzzing (fuzz/corpus/bundle/crash-count-past-int-max): a bundle whose hash checks but
/// whose count is past Int.max trapped when it was converted; now it is damage, like any other.
@Suite struct BundleCountTests {
    func bundle(count: UInt64) -> [UInt8] {
        var bytes = Array("FLBUNDL1".utf8) + [0, 0, 0, 0]
        bytes += (0..<8).map { UInt8(truncatingIfNeeded: count >> (56 - 8 * UInt64($0))) }
        return bytes + BLAKE2b.hash256(bytes)
    }

    @Test(arguments: [UInt64.max, UInt64(Int64.max) + 1, 1 << 40])
    func aCountNoFileCouldHoldIsRefused(count: UInt64) {
        let error = #expect(throws: StoreError.self) { _ = try CommitBundle.Records(data: Data(bundle(count: count))) }
        #expect(error?.code == .truncatedBundle)
    }

    @Test func anEmptyBundleStillOpens() throws {
        #expect(try CommitBundle.Records(data: Data(bundle(count: 0))).count == 0)
    }
}
