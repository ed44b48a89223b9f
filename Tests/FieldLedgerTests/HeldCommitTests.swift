import FieldCrypto
import FieldStore
import Foundation
import GRDB
import Testing

@testable import FieldLedger

/// What a replica may hold for later: only commits by devices its registry enrolled, and only so
/// far ahead of its clock, its schema and its registry. Everything else is refused and not stored,
/// so nobody can park commits of made-up authors on every replica of a scope.
@Suite struct HeldCommitTests {
    /// A commit in the scope of 高唐纺织有限公司 by `key`, written as a visit, with the fields given.
    static func commit(
        by key: SigningKey,
        in county: County,
        sequence: UInt64 = 1,
        previous: CommitID = .zero,
        timestamp: Timestamp? = nil,
        schema: UInt32? = nil,
        registry: UInt64? = nil
    ) throws -> SignedCommit {
        let ledger = county.operatorLedger
        let enterprise = try ledger.enterprise(named: "高唐纺织有限公司")
        let head = try ledger.replica.readRegistry { $0.sequence }
        let now = Timestamp(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000), counter: 0)
        return try SignedCommit(
            signing: Commit(
                author: key.publicKey,
                scope: RegistryIDs.scope(of: enterprise),
                sequence: sequence,
                previous: previous,
                timestamp: timestamp ?? now,
                schemaVersion: schema ?? ledger.replica.schema.version,
                registrySequence: registry ?? head,
                changes: [Change(table: "visits", row: UUID(), column: "topics", value: .text("junk"))]
            ),
            with: key
        )
    }

    static func year2100() -> Timestamp { Timestamp(milliseconds: 4_102_444_800_000, counter: 0) }

    /// The review's three inputs, by a key nobody enrolled: each is refused and nothing is stored,
    /// on the hub and on a laptop alike, and nothing of it travels on.
    @Test(arguments: ["registry", "clock", "schema"])
    func aMadeUpAuthorIsRefusedWhateverItClaims(claim: String) throws {
        let county = try County()
        let laptop = try county.cadreLedger("王强")
        let stranger = SigningKey.generate()
        let head = try county.operatorLedger.replica.readRegistry { $0.sequence }
        let commit =
            switch claim {
            case "registry": try Self.commit(by: stranger, in: county, registry: 1_000_000)
            case "clock": try Self.commit(by: stranger, in: county, timestamp: Self.year2100())
            default: try Self.commit(by: stranger, in: county, schema: 999)
            }
        #expect(head < 1_000_000)
        for (replica, keepsRefused) in [(county.operatorLedger.replica, false), (laptop.replica, true)] {
            let before = try replica.commitCounts()
            let report = try replica.integrate([commit], keepsRefused: keepsRefused)
            #expect(report.held == 0, "\(claim): nothing held")
            #expect(report.refused.map(\.code) == [.notEnrolled], "\(claim): \(report.refused.map(\.reason))")
            #expect(report.refused.first?.isStored == false)
            #expect(report.refused.first?.reason.contains("not enrolled") == true)
            let after = try replica.commitCounts()
            #expect(
                after.pending == before.pending && after.excluded == before.excluded && after.applied == before.applied
            )
            var carried: [[UInt8]] = []
            try replica.exportRecords { carried.append($0) }
            #expect(!carried.contains(commit.wire), "\(claim): the commit travels nowhere")
        }
    }

    /// Two commits numbered alike by a key nobody enrolled, in one batch, used to be stored as
    /// fork evidence before the author was looked at (found by the `integration` fuzz target):
    /// now both are refused and nothing is stored, on the hub and on a laptop.
    @Test func aMadeUpAuthorCannotParkAForkEither() throws {
        let county = try County()
        let laptop = try county.cadreLedger("王强")
        let stranger = SigningKey.generate()
        let first = try Self.commit(by: stranger, in: county)
        let second = try Self.commit(by: stranger, in: county)
        #expect(first.id != second.id && first.commit.sequence == second.commit.sequence)
        for (replica, keepsRefused) in [(county.operatorLedger.replica, false), (laptop.replica, true)] {
            let before = try replica.commitCounts()
            let report = try replica.integrate([first, second], keepsRefused: keepsRefused)
            #expect(report.refused.map(\.code) == [.notEnrolled, .notEnrolled])
            #expect(report.refused.allSatisfy { !$0.isStored })
            let after = try replica.commitCounts()
            #expect((after.applied, after.pending, after.excluded) == (before.applied, before.pending, before.excluded))
            #expect(try replica.feeds().allSatisfy { $0.author != stranger.publicKey.hex && $0.forkedAt == nil })
        }
    }

    /// Whether an author was ever enrolled reads every version of the registry: a registry commit
    /// that clears the device's key later does not make it a stranger again (found by the
    /// `integration` fuzz target, when only the latest version was read). Its commits are then
    /// judged, not refused at the door.
    @Test func anEnrollmentOnceHeldAlwaysCounts() throws {
        let county = try County()
        let laptop = try county.cadreLedger("王强")
        let key = try #require(laptop.key as SigningKey?)
        try county.operatorLedger.replica.write(scope: Commit.registryScope, as: county.root) { batch in
            batch.set("devices", row: RegistryIDs.device(key.publicKey), "public_key", .null)
        }
        let policy = LedgerPolicy()
        #expect(
            try county.operatorLedger.replica.readRegistry { try policy.isKnownAuthor(key.publicKey, registry: $0) }
        )
        #expect(
            try county.operatorLedger.replica.readRegistry {
                try $0.value("devices", row: RegistryIDs.device(key.publicKey), column: "public_key")
            } == .null
        )
        let commit = try Self.commit(by: key, in: county)
        let report = try county.operatorLedger.replica.integrate([commit], keepsRefused: false)
        #expect(report.refused.allSatisfy { !$0.reason.contains("nor ever was") }, "\(report.refused.map(\.reason))")
    }

    /// An enrolled device's commits are held only so far ahead; the hub, whose key writes the
    /// registry, refuses any registry sequence past its own.
    @Test func anEnrolledDeviceIsHeldOnlyWithinBounds() throws {
        let county = try County()
        let laptop = try county.cadreLedger("王强")
        let wang = try #require(laptop.key as SigningKey?)
        let other = try county.cadreLedger("王强")
        let head = try county.operatorLedger.replica.readRegistry { $0.sequence }
        let version = laptop.replica.schema.version
        let soon = Timestamp(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000) + 86_400_000, counter: 0)
        // Within the bounds: held, on a laptop that is behind on nothing.
        for (commit, code) in [
            (try Self.commit(by: wang, in: county, timestamp: soon), StoreError.Code.futureTimestamp),
            (try Self.commit(by: wang, in: county, schema: version + 1), .newerSchema),
            (try Self.commit(by: wang, in: county, registry: head + 5), .notEnrolled),
        ] {
            let fresh = try Ledger.open(path: nil, root: county.root.publicKey, key: SigningKey.generate())
            try county.exchange(from: other, to: fresh)
            let report = try fresh.replica.integrate([commit])
            #expect(report.held == 1, "\(code): held")
            #expect(report.refused.isEmpty)
            #expect(try fresh.replica.unappliedCommits().first?.reasonCode == code.rawValue)
        }
        // Past them: refused and not stored.
        let hub = county.operatorLedger.replica
        for (commit, replica, code) in [
            (
                try Self.commit(by: wang, in: county, timestamp: Self.year2100()), other.replica,
                StoreError.Code.futureTimestamp
            ),
            (try Self.commit(by: wang, in: county, schema: version + 9), other.replica, .newerSchema),
            (try Self.commit(by: wang, in: county, registry: head + 10_001), other.replica, .notEnrolled),
            (try Self.commit(by: wang, in: county, registry: head + 1), hub, .notAuthorized),
        ] {
            let before = try replica.commitCounts()
            let report = try replica.integrate([commit], keepsRefused: replica !== hub)
            #expect(report.held == before.pending, "\(code): nothing more held")
            #expect(report.refused.map(\.code) == [code], "\(report.refused.map(\.reason))")
            #expect(report.refused.first?.isStored == false)
            let after = try replica.commitCounts()
            #expect(after.pending == before.pending && after.excluded == before.excluded)
        }
    }

    /// A commit refused because its author was not enrolled yet is taken when it comes again after
    /// the registry that enrolls its author, and the replica ends as one that received both in
    /// order: the state depends only on the commits held.
    @Test func aRefusedCommitIsTakenOnceItsAuthorIsEnrolled() throws {
        let county = try County()
        let early = try county.cadreLedger("李娜")
        let key = SigningKey.generate()
        let commit = try Self.commit(by: key, in: county, registry: 1_000)
        #expect(try early.replica.integrate([commit]).refused.map(\.code) == [.notEnrolled])
        _ = try county.operatorLedger.enroll(publicKey: key.publicKey, role: .coordinator)
        let enrolled = try Self.commit(by: key, in: county)
        // Bundle order: the registry first, then the rest, in one import.
        var records: [[UInt8]] = []
        try county.operatorLedger.replica.exportRecords { records.append($0) }
        records.append(enrolled.wire)
        let report = try early.replica.importRecords(records)
        #expect(report.refused.isEmpty, "\(report.refused.map(\.reason))")
        #expect(report.applied >= 1)
        // A replica that got them the other way round (the commit in the same batch as its registry).
        let other = try county.cadreLedger("李娜")
        let registry = records.dropLast()
        _ = try other.replica.importRecords([enrolled.wire] + registry)
        let scope = enrolled.commit.scope
        #expect(try early.replica.digest(scope: scope) == other.replica.digest(scope: scope))
        #expect(try early.replica.heads(scopes: [scope]) == other.replica.heads(scopes: [scope]))
    }

    /// Commits of unknown authors that an older build held are dropped when the replica opens.
    @Test func heldCommitsOfUnknownAuthorsAreDroppedAtOpen() throws {
        let county = try County()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fieldlog-held-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("replica.sqlite").path
        let key = SigningKey.generate()
        do {
            let laptop = try Ledger.open(path: path, root: county.root.publicKey, key: key)
            try county.exchange(from: county.operatorLedger, to: laptop)
            // As an older build stored it: pending, waiting for a registry commit that never comes.
            let junk = try Self.commit(by: SigningKey.generate(), in: county, registry: 1_000_000)
            try laptop.replica.database.write { db in
                try db.execute(
                    sql: "INSERT INTO _feeds(author, scope, head_seq) VALUES (?, ?, 1)",
                    arguments: [Data(junk.commit.author.bytes), junk.commit.scope]
                )
                try db.execute(
                    sql: """
                        INSERT INTO _log(k, id, hlc, schema_version, registry_seq, body, signature, status, received)
                        VALUES (? << 32 | 1, ?, 0, ?, 1000000, ?, ?, 1, 0)
                        """,
                    arguments: [
                        db.lastInsertedRowID, Data(junk.id.bytes), Int64(junk.commit.schemaVersion),
                        Data(junk.body), Data(junk.signature),
                    ]
                )
            }
            #expect(try laptop.replica.commitCounts().pending == 1)
        }
        let reopened = try Ledger.open(path: path, root: county.root.publicKey, key: key)
        #expect(try reopened.replica.commitCounts().pending == 0)
    }
}
