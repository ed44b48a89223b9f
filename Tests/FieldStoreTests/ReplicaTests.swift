import FieldCrypto
import Foundation
import GRDB
import Testing

@testable import FieldStore

@Suite struct ReplicaTests {
    let root = SigningKey.generate()

    @Test func localWriteIsVisibleAndSigned() throws {
        let a = try TestReplica.make(root: root)
        var id = UUID()
        let commit = try a.replica.write(scope: "s1", as: a.key) {
            id = $0.insert("notes", ["title": .text("走访"), "n": .integer(3)])
        }
        #expect(commit != nil)
        #expect(try a.title(id) == "走访")
        #expect(try a.note(id)?["scope"] == "s1")
        let records = try a.signedCommits()
        #expect(records.count == 1)
        #expect(records[0].commit.sequence == 1)
        #expect(records[0].commit.author == a.key.publicKey)
        // A write of the same value makes no commit.
        let again = try a.replica.write(scope: "s1", as: a.key) { $0.set("notes", row: id, "title", .text("走访")) }
        #expect(again == nil)
    }

    /// Settling a feed reads only its waiting commits: the plans of the settle's queries go through
    /// the partial index of the commits that wait, never through a range of the log (which visits
    /// every commit of the feed, so that the k-th write to a feed read k rows).
    @Test func settlingReadsOnlyTheCommitsThatWait() throws {
        let a = try TestReplica.make(root: root)
        for n in 0..<3 { try a.replica.write(scope: "s1", as: a.key) { $0.insert("notes", ["n": .integer(Int64(n))]) } }
        let plans = try a.replica.database.read { db in
            let queries: [(String, StatementArguments)] = [
                (Integrator.waitingInFeed, [Int64(1) << 32, (Int64(1) << 32) | 0xFFFF_FFFF]),
                (Integrator.feedsWaiting, []),
            ]
            return try queries.map { sql, arguments in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments)
                    .map { $0["detail"] as String }.joined(separator: "; ")
            }
        }
        for plan in plans {
            // Every step that reads the log reads the index of the waiting commits.
            let logSteps = plan.split(separator: ";").filter { $0.contains(" _log ") || $0.hasSuffix(" _log") }
            #expect(!logSteps.isEmpty, "\(plan)")
            #expect(logSteps.allSatisfy { $0.contains("USING INDEX _log_pending") }, "\(plan)")
        }
    }

    /// A local write stores nothing for the clock (`_meta.hlc` is integration's), yet its
    /// timestamps never go back: not after a reopen with the wall clock five minutes behind, in the
    /// same feed or in another scope of the same author.
    @Test func theLocalClockNeverGoesBackAcrossReopens() throws {
        let path = temporaryPath("clock.sqlite")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let key = SigningKey.generate()
        let first = try TestReplica.make(root: root, key: key, path: path)
        try first.replica.write(scope: "s1", as: key) { $0.insert("notes", ["n": .integer(1)]) }
        let stored = try first.replica.database.read { db in try Replica.clock(db) }
        #expect(stored.rawValue == 0)
        let late = try first.signedCommits().last!.commit.timestamp
        let behind = ManualClock(first.clock.now - 300_000)
        let reopened = try TestReplica.make(root: root, key: key, clock: behind, path: path)
        try reopened.replica.write(scope: "s2", as: key) { $0.insert("notes", ["n": .integer(2)]) }
        try reopened.replica.write(scope: "s1", as: key) { $0.insert("notes", ["n": .integer(3)]) }
        let times = try reopened.signedCommits().map(\.commit.timestamp)
        #expect(times.count == 3)
        #expect(times.allSatisfy { $0 >= late })
        #expect(Set(times).count == 3)
    }

    /// A local write reuses what the last one read (its feed's head, the clock, the registry
    /// generation) only while the database is unchanged: another connection writing the same
    /// feed, and this replica integrating a commit that advances the clock, are both seen.
    @Test func aLocalWriteSeesWhatChangedSinceTheLastOne() throws {
        let path = temporaryPath("memo.sqlite")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let key = SigningKey.generate()
        let clock = ManualClock()
        let first = try TestReplica.make(root: root, key: key, clock: clock, path: path)
        let second = try TestReplica.make(root: root, key: key, clock: clock, path: path)
        for n in 0..<2 {
            try first.replica.write(scope: "s1", as: key) { $0.insert("notes", ["n": .integer(Int64(n))]) }
        }
        // The same device's feed, written through another connection to the same file.
        try second.replica.write(scope: "s1", as: key) { $0.insert("notes", ["n": .integer(2)]) }
        try first.replica.write(scope: "s1", as: key) { $0.insert("notes", ["n": .integer(3)]) }
        let commits = try first.signedCommits().filter { $0.commit.scope == "s1" }
        #expect(commits.map(\.commit.sequence) == [1, 2, 3, 4])
        for (previous, next) in zip(commits, commits.dropFirst()) { #expect(next.commit.previous == previous.id) }
        // A remote commit five minutes ahead, integrated through this replica's own connection:
        // the next local commit is stamped after it.
        let remoteClock = ManualClock(clock.now + 300_000)
        let remote = try TestReplica.make(root: root, clock: remoteClock)
        try remote.replica.write(scope: "s2", as: remote.key) { $0.insert("notes", ["n": .integer(9)]) }
        let ahead = try remote.signedCommits()[0]
        #expect(try first.replica.integrate([ahead]).applied == 1)
        try first.replica.write(scope: "s1", as: key) { $0.insert("notes", ["n": .integer(4)]) }
        let last = try first.signedCommits().filter { $0.commit.scope == "s1" }.last!
        #expect(last.commit.sequence == 5)
        #expect(last.commit.timestamp > ahead.commit.timestamp)
        #expect(try first.replica.check().differences.isEmpty)
        // The device's own feed keeps its head in the log (head_seq -1), and every reader of
        // heads finds it there; a replica that received the feed keeps it in head_seq.
        let storedHead = { (replica: Replica) in
            try replica.database.read { db in
                try Int64.fetchOne(
                    db,
                    sql: "SELECT head_seq FROM _feeds WHERE author = ? AND scope = 's1'",
                    arguments: [Data(key.publicKey.bytes)]
                )
            }
        }
        #expect(try storedHead(first.replica) == FeedRecord.headInLog)
        #expect(try first.replica.heads(of: key.publicKey)["s1"] == 5)
        #expect(try first.replica.heads().first { $0.scope == "s1" }?.head == 5)
        #expect(try first.replica.feeds().first { $0.scope == "s1" }?.head == 5)
        #expect(try remote.replica.integrate(try first.signedCommits()).applied == 5)
        #expect(try storedHead(remote.replica) == 5)
        #expect(try remote.replica.headsDigest(scopes: nil) == first.replica.headsDigest(scopes: nil))
        // The same key used on another device forks the feed at 5: its head is kept in head_seq
        // from then on, and the next local write is refused.
        let twin = try TestReplica.make(root: root, key: key, clock: clock)
        for n in 0..<5 {
            try twin.replica.write(scope: "s1", as: key) { $0.insert("notes", ["n": .integer(Int64(10 + n))]) }
        }
        _ = try first.replica.integrate(try twin.signedCommits())
        #expect(try storedHead(first.replica) == 5)
        #expect(try first.replica.feeds().first { $0.scope == "s1" }?.forkedAt == 1)
        #expect(throws: StoreError.self) {
            try first.replica.write(scope: "s1", as: key) { $0.insert("notes", ["n": .integer(99)]) }
        }
    }

    @Test func directWritesAreRefused() throws {
        let a = try TestReplica.make(root: root)
        var id = UUID()
        try a.replica.write(scope: "s1", as: a.key) { id = $0.insert("notes", ["title": .text("x")]) }
        #expect(throws: DatabaseError.self) {
            try a.replica.database.write { db in
                try db.execute(sql: "UPDATE notes SET title = 'bypass' WHERE id = ?", arguments: [Data(id.bytes16)])
            }
        }
        #expect(throws: DatabaseError.self) {
            try a.replica.database.write { db in try db.execute(sql: "INSERT INTO notes(id, scope) VALUES (x'00', 's')")
            }
        }
        #expect(throws: DatabaseError.self) {
            try a.replica.database.write { db in try db.execute(sql: "DELETE FROM notes") }
        }
        #expect(try a.title(id) == "x")
    }

    @Test func concurrentWritesConflictAndResolve() throws {
        let a = try TestReplica.make(root: root)
        let b = try TestReplica.make(root: root, clock: a.clock)
        var id = UUID()
        try a.replica.write(scope: "s1", as: a.key) { id = $0.insert("notes", ["title": .text("v0")]) }
        _ = try b.replica.integrate(try a.signedCommits())
        try a.replica.write(scope: "s1", as: a.key) { $0.set("notes", row: id, "title", .text("from a")) }
        a.clock.advance(by: 5)
        try b.replica.write(scope: "s1", as: b.key) { $0.set("notes", row: id, "title", .text("from b")) }
        _ = try b.replica.integrate(try a.signedCommits())
        _ = try a.replica.integrate(try b.signedCommits())
        #expect(try a.title(id) == "from b")
        #expect(try b.title(id) == "from b")
        let conflicts = try a.replica.conflicts()
        #expect(conflicts.count == 1)
        #expect(conflicts.first?.heads.map(\.value) == [.text("from b"), .text("from a")])
        #expect(try a.replica.digest(scope: "s1") == b.replica.digest(scope: "s1"))
        // Writing the cell after seeing both heads resolves the conflict everywhere.
        try a.replica.write(scope: "s1", as: a.key) { $0.set("notes", row: id, "title", .text("agreed")) }
        _ = try b.replica.integrate(try a.signedCommits())
        #expect(try b.replica.conflicts().isEmpty)
        #expect(try b.title(id) == "agreed")
        #expect(try a.replica.digest(scope: "s1") == b.replica.digest(scope: "s1"))
    }

    @Test func deletedRowIsNotResurrectedByALateEdit() throws {
        let a = try TestReplica.make(root: root)
        let b = try TestReplica.make(root: root, clock: a.clock)
        var id = UUID()
        try a.replica.write(scope: "s1", as: a.key) { id = $0.insert("notes", ["title": .text("v0")]) }
        _ = try b.replica.integrate(try a.signedCommits())
        try a.replica.write(scope: "s1", as: a.key) { $0.delete("notes", row: id) }
        a.clock.advance(by: 1000)
        try b.replica.write(scope: "s1", as: b.key) { $0.set("notes", row: id, "title", .text("late edit")) }
        _ = try a.replica.integrate(try b.signedCommits())
        let row = try #require(try a.note(id))
        #expect(row["deleted"] == 1)
        #expect(row["title"] == "late edit")
        try a.replica.write(scope: "s1", as: a.key) { $0.restore("notes", row: id) }
        #expect(try a.note(id)?["deleted"] == 0)
    }

    @Test func duplicatesAreSkippedAndImportIsIdempotent() throws {
        let a = try TestReplica.make(root: root)
        let b = try TestReplica.make(root: root)
        for index in 0..<5 {
            try a.replica.write(scope: "s1", as: a.key) { $0.insert("notes", ["n": .integer(Int64(index))]) }
        }
        let first = try b.replica.integrate(try a.signedCommits())
        #expect(first.applied == 5)
        let second = try b.replica.integrate(try a.signedCommits() + a.signedCommits())
        #expect(second.applied == 0)
        #expect(second.skipped == 10)
        #expect(try a.replica.digest(scope: "s1") == b.replica.digest(scope: "s1"))
    }

    @Test func gapAndBrokenChainAreRefused() throws {
        let a = try TestReplica.make(root: root)
        let b = try TestReplica.make(root: root)
        for index in 0..<3 {
            try a.replica.write(scope: "s1", as: a.key) { $0.insert("notes", ["n": .integer(Int64(index))]) }
        }
        let commits = try a.signedCommits()
        let gap = try b.replica.integrate([commits[0], commits[2]])
        #expect(gap.applied == 1)
        #expect(gap.refused.map(\.code) == [.gap])
        #expect(try b.replica.commitCounts().applied == 1)
        // A commit numbered 2 whose predecessor hash is not commit 1's.
        var forged = commits[1].commit
        forged.previous = CommitID(unchecked: [UInt8](repeating: 7, count: 32))
        let broken = try b.replica.integrate([try SignedCommit(signing: forged, with: a.key)])
        #expect(broken.refused.map(\.code) == [.brokenChain])
        #expect(try b.replica.commitCounts().applied == 1)
    }

    @Test func forkIsKeptAsEvidenceAndExcludesTheFeed() throws {
        let a = try TestReplica.make(root: root)
        let b = try TestReplica.make(root: root)
        var id = UUID()
        try a.replica.write(scope: "s1", as: a.key) { id = $0.insert("notes", ["title": .text("one")]) }
        try a.replica.write(scope: "s1", as: a.key) { $0.set("notes", row: id, "title", .text("two")) }
        let commits = try a.signedCommits()
        // The same key, on a second device, writes its own commit numbered 2.
        var twin = commits[1].commit
        twin.changes = [
            Change(table: "notes", row: id, column: "title", value: .text("twin"), supersedes: [commits[0].id])
        ]
        let forked = try SignedCommit(signing: twin, with: a.key)
        _ = try b.replica.integrate(commits)
        #expect(try b.title(id) == "two")
        let report = try b.replica.integrate([forked])
        #expect(report.refused.map(\.code) == [.fork])
        #expect(report.excludedLater == 1)
        #expect(try b.title(id) == "one")
        #expect(try b.replica.feeds().first?.forkedAt == 2)
        // Another replica receiving them in the other order ends in the same state.
        let c = try TestReplica.make(root: root)
        _ = try c.replica.integrate([commits[0], forked])
        _ = try c.replica.integrate([commits[1]])
        #expect(try c.title(id) == "one")
        #expect(try c.replica.digest(scope: "s1") == b.replica.digest(scope: "s1"))
        #expect(try c.replica.commitCounts().excluded == 2)
        // The author's next write on the original device is refused.
        #expect(throws: StoreError.self) {
            _ = try b.replica.write(scope: "s1", as: a.key) { $0.set("notes", row: id, "title", .text("three")) }
        }
    }

    @Test func futureCommitIsHeldUntilTheClockCatchesUp() throws {
        let writerClock = ManualClock()
        writerClock.advance(by: 60 * 60 * 1000)
        let a = try TestReplica.make(root: root, clock: writerClock)
        let b = try TestReplica.make(root: root)
        var id = UUID()
        try a.replica.write(scope: "s1", as: a.key) { id = $0.insert("notes", ["title": .text("from the future")]) }
        let report = try b.replica.integrate(try a.signedCommits())
        #expect(report.applied == 0)
        #expect(report.held == 1)
        #expect(try b.note(id) == nil)
        let held = try b.replica.unappliedCommits()
        #expect(held.first?.reasonCode == StoreError.Code.futureTimestamp.rawValue)
        #expect(held.first?.reason?.contains("ahead of this computer's clock") == true)
        b.clock.advance(by: 60 * 60 * 1000)
        let later = try b.replica.settlePending()
        #expect(later.applied == 1)
        #expect(try b.title(id) == "from the future")
    }

    @Test func newerSchemaIsHeldAndAppliedAfterUpgrade() throws {
        let a = try TestReplica.make(root: root)
        var id = UUID()
        try a.replica.write(scope: "s1", as: a.key) {
            id = $0.insert("notes", ["title": .text("t"), "tag": .text("新")])
        }
        let path = temporaryPath("old.sqlite")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let old = try TestReplica.make(root: root, schema: TestSchema.schema.upTo(1), path: path)
        let report = try old.replica.integrate(try a.signedCommits())
        #expect(report.held == 1)
        #expect(try old.note(id) == nil)
        let upgraded = try TestReplica.make(root: root, clock: old.clock, schema: TestSchema.schema, path: path)
        #expect(try upgraded.note(id)?["tag"] == "新")
        #expect(try upgraded.replica.digest(scope: "s1") == a.replica.digest(scope: "s1"))
    }

    @Test func unknownColumnsAreRefused() throws {
        let a = try TestReplica.make(root: root)
        #expect(throws: StoreError.self) {
            _ = try a.replica.write(scope: "s1", as: a.key) { $0.insert("notes", ["nope": .integer(1)]) }
        }
        #expect(throws: StoreError.self) {
            _ = try a.replica.write(scope: "s1", as: a.key) { $0.insert("missing", ["n": .integer(1)]) }
        }
        #expect(throws: StoreError.self) {
            _ = try a.replica.write(scope: "s1", as: a.key) { $0.set("notes", row: UUID(), "deleted", .integer(5)) }
        }
        #expect(try a.replica.commitCounts().applied == 0)
    }

    /// SQLite keeps a NUL inside text but reads text back up to it, so such a value is refused:
    /// from a local write, and from a peer (the commit is excluded, nothing shows).
    @Test func textWithANulIsRefusedLocallyAndFromPeers() throws {
        let a = try TestReplica.make(root: root)
        let local = #expect(throws: StoreError.self) {
            _ = try a.replica.write(scope: "s1", as: a.key) { $0.insert("notes", ["title": .text("a\u{0}b")]) }
        }
        #expect(local?.code == .invalidValue)
        #expect(try a.replica.commitCounts().applied == 0)
        let row = UUID()
        let forged = try SignedCommit(
            signing: Commit(
                author: a.key.publicKey,
                scope: "s1",
                sequence: 1,
                previous: .zero,
                timestamp: Timestamp(milliseconds: a.clock.now, counter: 0),
                schemaVersion: TestSchema.schema.version,
                registrySequence: 0,
                changes: [Change(table: "notes", row: row, column: "title", value: .text("a\u{0}b"))]
            ),
            with: a.key
        )
        let b = try TestReplica.make(root: root)
        let report = try b.replica.importRecords([forged.wire])
        #expect(report.refused.map(\.code) == [.invalidValue])
        #expect(try b.title(row) == nil)
    }

    @Test func rowsStayInTheirScope() throws {
        let a = try TestReplica.make(root: root)
        var id = UUID()
        try a.replica.write(scope: "s1", as: a.key) { id = $0.insert("notes", ["title": .text("t")]) }
        let error = #expect(throws: StoreError.self) {
            _ = try a.replica.write(scope: "s2", as: a.key) { $0.set("notes", row: id, "title", .text("other")) }
        }
        #expect(error?.code == .notAuthorized)
    }

    @Test func registryIsWrittenOnlyByTheRoot() throws {
        let rootReplica = try TestReplica.make(root: root, key: root)
        let a = try TestReplica.make(root: root)
        try rootReplica.replica.write(scope: Commit.registryScope, as: root) {
            $0.insert("grants", ["author": .text("x")])
        }
        let error = #expect(throws: StoreError.self) {
            _ = try a.replica.write(scope: Commit.registryScope, as: a.key) {
                $0.insert("grants", ["author": .text("y")])
            }
        }
        #expect(error?.code == .notAuthorized)
    }

    @Test func authorizationFollowsTheCitedRegistryAndRevocationIsPositional() throws {
        let clock = ManualClock()
        let hub = try TestReplica.make(root: root, key: root, clock: clock, policy: GrantPolicy())
        let device = try TestReplica.make(root: root, clock: clock, policy: GrantPolicy())
        let stranger = try TestReplica.make(root: root, clock: clock, policy: GrantPolicy())
        // Not enrolled: refused locally, nothing stored.
        let refused = #expect(throws: StoreError.self) {
            _ = try device.replica.write(scope: "s1", as: device.key) { $0.insert("notes", ["title": .text("x")]) }
        }
        #expect(refused?.code == .notEnrolled)
        #expect(try device.replica.commitCounts().applied == 0)
        var grant = UUID()
        try hub.replica.write(scope: Commit.registryScope, as: root) {
            grant = $0.insert("grants", ["author": .text(device.key.publicKey.hex)])
        }
        _ = try device.replica.integrate(try hub.signedCommits())
        var ids: [UUID] = []
        for index in 0..<3 {
            try device.replica.write(scope: "s1", as: device.key) {
                ids.append($0.insert("notes", ["n": .integer(Int64(index))]))
            }
        }
        // A replica without the registry holds the device's commits until the registry arrives.
        let early = try stranger.replica.integrate(try device.signedCommits().filter { $0.commit.scope == "s1" })
        #expect(early.held == 3)
        _ = try stranger.replica.integrate(try hub.signedCommits())
        #expect(try stranger.replica.commitCounts().applied == 4)
        // Revoke after seq 2: commit 3, already applied everywhere, is excluded after the fact.
        try hub.replica.write(scope: Commit.registryScope, as: root) {
            $0.update("grants", row: grant, ["revoked_scope": .text("s1"), "revoked_after": .integer(2)])
        }
        _ = try hub.replica.integrate(try device.signedCommits())
        #expect(try hub.note(ids[2]) == nil)
        #expect(try hub.note(ids[1]) != nil)
        let late = try stranger.replica.integrate(try hub.signedCommits())
        #expect(late.excludedLater == 1)
        #expect(try stranger.note(ids[2]) == nil)
        #expect(try stranger.replica.digest(scope: "s1") == hub.replica.digest(scope: "s1"))
        // A later commit of the revoked device, relayed by anyone, is refused.
        _ = try device.replica.integrate(try hub.signedCommits())
        #expect(throws: StoreError.self) {
            _ = try device.replica.write(scope: "s1", as: device.key) { $0.insert("notes", ["n": .integer(9)]) }
        }
    }

    @Test func flippedBytesAndBadRecordsApplyNothing() throws {
        let a = try TestReplica.make(root: root)
        let b = try TestReplica.make(root: root)
        try a.replica.write(scope: "s1", as: a.key) { $0.insert("notes", ["title": .text("x")]) }
        var records = try a.records()
        records[0][10] ^= 0x01  // inside the author key: the signature no longer verifies
        let flipped = try b.replica.importRecords(records)
        #expect(flipped.applied == 0)
        #expect(flipped.refused.map(\.code) == [.badSignature])
        let short = try b.replica.importRecords([[0, 0, 0, 9, 1, 2]])
        #expect(short.refused.map(\.code) == [.malformedCommit])
        var signature = try a.records()[0]
        signature[signature.count - 1] ^= 0x80
        let badSignature = try b.replica.importRecords([signature])
        #expect(badSignature.refused.map(\.code) == [.badSignature])
        #expect(try b.replica.commitCounts() == (applied: 0, pending: 0, excluded: 0))
    }
}

/// Bad input the storage layout adds a limit for.
@Suite struct StorageLimitTests {
    let root = SigningKey.generate()

    /// A feed holds at most 2^32 − 1 commits (`_log` keys are feed << 32 | seq): a commit numbered
    /// past that is refused as a gap, and nothing is stored.
    @Test func aCommitNumberedPastWhatAFeedHoldsIsRefusedAndNothingStored() throws {
        let a = try TestReplica.make(root: root)
        let b = try TestReplica.make(root: root)
        try a.replica.write(scope: "s1", as: a.key) { $0.insert("notes", ["n": .integer(1)]) }
        let first = try a.signedCommits()[0]
        _ = try b.replica.integrate([first])
        let heads = try b.replica.heads()
        var far = first.commit
        far.sequence = 1 << 32
        far.previous = first.id
        let report = try b.replica.integrate([try SignedCommit(signing: far, with: a.key)])
        #expect(report.refused.map(\.code) == [.gap])
        #expect(report.refused.first?.isStored == false)
        #expect(report.refused.first?.reason.contains("past the 4294967295 commits a feed can hold") == true)
        #expect(try b.replica.heads() == heads)
        let counts = try b.replica.commitCounts()
        #expect(counts.applied == 1 && counts.pending == 0 && counts.excluded == 0)
    }

    /// A replica written by a later storage layout is refused with both versions named, unchanged.
    @Test func aReplicaOfALaterStorageIsRefusedAndLeftAsItWas() throws {
        let path = temporaryPath("later-storage.sqlite")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        _ = try TestReplica.make(root: root, path: path)
        try DatabaseQueue(path: path).write { db in
            try db.execute(
                sql: "UPDATE _meta SET value = ? WHERE key = 'storage_version'",
                arguments: [String(Replica.storageVersion + 1)]
            )
        }
        let error = #expect(throws: StoreError.self) { _ = try TestReplica.make(root: root, path: path) }
        let later = "storage \(Replica.storageVersion + 1); this build reads \(Replica.storageVersion)"
        #expect(error?.message.contains(later) == true, "\(String(describing: error))")
        let stored = try DatabaseQueue(path: path).read { db in
            try String.fetchOne(db, sql: "SELECT value FROM _meta WHERE key = 'storage_version'")
        }
        #expect(stored == String(Replica.storageVersion + 1))
    }

    /// A storage-3 replica (every head in `head_seq`) opens as storage 4 with its heads and digests
    /// as they were, and its own feed goes on from its stored head.
    @Test func aStorage3ReplicaOpensAsStorage4WithItsHeads() throws {
        let path = temporaryPath("storage-3.sqlite")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let key = SigningKey.generate()
        let writer = try TestReplica.make(root: root, key: key)
        for n in 0..<3 {
            try writer.replica.write(scope: "s1", as: key) { $0.insert("notes", ["n": .integer(Int64(n))]) }
        }
        do {
            // What a storage-3 build stores: the commits integrated, their head in head_seq.
            let old = try TestReplica.make(root: root, key: key, path: path)
            _ = try old.replica.integrate(try writer.signedCommits())
        }
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: "UPDATE _meta SET value = '3' WHERE key = 'storage_version'")
        }
        let reopened = try TestReplica.make(root: root, key: key, path: path)
        let version = try reopened.replica.database.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM _meta WHERE key = 'storage_version'")
        }
        #expect(version == "4")
        #expect(try reopened.replica.heads(of: key.publicKey) == ["s1": 3])
        #expect(try reopened.replica.headsDigest(scopes: nil) == writer.replica.headsDigest(scopes: nil))
        try reopened.replica.write(scope: "s1", as: key) { $0.insert("notes", ["n": .integer(3)]) }
        #expect(try reopened.replica.heads(of: key.publicKey) == ["s1": 4])
        #expect(try reopened.replica.check().differences.isEmpty)
    }
}
