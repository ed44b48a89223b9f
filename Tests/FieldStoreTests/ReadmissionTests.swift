import FieldCrypto
import Foundation
import GRDB
import Testing

@testable import FieldStore

/// The test schema with a registry table of readmissions, read by `ReadmitPolicy`.
enum ReadmitSchema {
    static let schema = ReplicaSchema(migrations: [
        TestSchema.v1, TestSchema.v2,
        ReplicaSchema.Migration(
            version: 3,
            name: "readmissions",
            sql: """
                CREATE TABLE readmissions(
                    id BLOB PRIMARY KEY, scope TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
                    author TEXT, feed_scope TEXT, seq INTEGER, chosen TEXT
                );
                """
        ),
    ])
}

/// Accepts every commit; the registry's `readmissions` rows are the operators' decisions
/// (`chosen` empty: none).
struct ReadmitPolicy: ReplicaPolicy {
    func authorize(_ commit: Commit, registry: RegistrySnapshot) throws -> PolicyVerdict { .allow }
    func revocations(registry: RegistrySnapshot) throws -> [Revocation] { [] }
    func readmissions(registry: RegistrySnapshot) throws -> [Readmission] {
        try registry.rows("readmissions").compactMap { row in
            guard case .text(let author) = try registry.value("readmissions", row: row, column: "author"),
                case .text(let scope) = try registry.value("readmissions", row: row, column: "feed_scope"),
                case .integer(let sequence) = try registry.value("readmissions", row: row, column: "seq"),
                case .text(let chosen) = try registry.value("readmissions", row: row, column: "chosen")
            else { return nil }
            return Readmission(
                author: try PublicKey(hex: author),
                scope: scope,
                sequence: UInt64(sequence),
                chosen: chosen.isEmpty ? nil : try CommitID(hex: chosen)
            )
        }
    }
}

/// One key used on two laptops (A and B), both writing commit 4 onwards of its feed in `s1`, and
/// another device (L) writing beside it; the root's registry decides which branch to readmit.
struct ForkedCounty {
    static let root = try! SigningKey(seed: [UInt8](repeating: 0x5A, count: 32))
    let clock = ManualClock()
    let hub: TestReplica
    let twinA: TestReplica
    let twinB: TestReplica
    let other: TestReplica
    let shared: SigningKey
    var note = UUID()
    var onlyB = UUID()
    var decision = UUID()

    init() throws {
        shared = try SigningKey(seed: [UInt8](repeating: 0x11, count: 32))
        hub = try Self.replica(key: Self.root, clock: clock)
        twinA = try Self.replica(key: shared, clock: clock)
        twinB = try Self.replica(key: shared, clock: clock)
        other = try Self.replica(key: SigningKey(seed: [UInt8](repeating: 0x22, count: 32)), clock: clock)
    }

    static func replica(key: SigningKey, clock: ManualClock) throws -> TestReplica {
        try TestReplica.make(root: root, key: key, clock: clock, schema: ReadmitSchema.schema, policy: ReadmitPolicy())
    }

    static func fresh(clock: ManualClock = ManualClock()) throws -> TestReplica {
        try replica(key: .generate(), clock: clock)
    }

    /// Commits 1–3 together, then A writes 4–7 and B writes 4–6 apart; L, who saw A's 4 and 5,
    /// writes over A's title.
    mutating func fork() throws {
        try twinA.replica.write(scope: "s1", as: shared) {
            note = $0.insert("notes", ["title": .text("一"), "n": .integer(1)])
        }
        try twinA.replica.write(scope: "s1", as: shared) { $0.set("notes", row: note, "n", .integer(2)) }
        try twinA.replica.write(scope: "s1", as: shared) { $0.set("notes", row: note, "title", .text("三")) }
        _ = try twinB.replica.integrate(try twinA.signedCommits())
        for (index, title) in ["甲四", "甲五", "甲六", "甲七"].enumerated() {
            clock.advance(by: 1000)
            try twinA.replica.write(scope: "s1", as: shared) {
                $0.update("notes", row: note, ["title": .text(title), "n": .integer(Int64(40 + index))])
            }
        }
        for (index, title) in ["乙四", "乙五", "乙六"].enumerated() {
            clock.advance(by: 700)
            try twinB.replica.write(scope: "s1", as: shared) {
                $0.update("notes", row: note, ["title": .text(title), "n": .integer(Int64(50 + index))])
            }
        }
        try twinB.replica.write(scope: "s1", as: shared) { onlyB = $0.insert("notes", ["title": .text("乙的")]) }
        _ = try other.replica.integrate(try twinA.signedCommits().filter { $0.commit.sequence <= 5 })
        clock.advance(by: 5000)
        try other.replica.write(scope: "s1", as: other.key) { $0.set("notes", row: note, "body", .text("旁注")) }
    }

    /// The commit the twin wrote at `sequence` of the shared feed.
    func commit(_ twin: TestReplica, _ sequence: UInt64) throws -> SignedCommit {
        try twin.signedCommits().first { $0.commit.author == shared.publicKey && $0.commit.sequence == sequence }!
    }

    /// The root readmits `chosen` at `sequence` of the shared feed (nil: none), in the decision's
    /// one row (made by the first decision, updated by the later ones).
    mutating func decide(_ sequence: UInt64, _ chosen: CommitID?) throws {
        let values: [String: Value] = [
            "author": .text(shared.publicKey.hex), "feed_scope": .text("s1"), "seq": .integer(Int64(sequence)),
            "chosen": .text(chosen?.hex ?? ""),
        ]
        let existing = decision
        let exists = try hub.replica.readRegistry { try $0.rowExists("readmissions", row: existing) }
        try hub.replica.write(scope: Commit.registryScope, as: Self.root) { batch in
            if exists {
                batch.update("readmissions", row: existing, values)
            } else {
                decision = batch.insert("readmissions", values)
            }
        }
    }

    /// Every commit any of them made.
    func everything() throws -> [SignedCommit] {
        var seen: Set<CommitID> = []
        var out: [SignedCommit] = []
        for replica in [hub, twinA, twinB, other] {
            for commit in try replica.signedCommits() where seen.insert(commit.id).inserted { out.append(commit) }
        }
        return out
    }
}

@Suite struct ReadmissionTests {
    @Test func aReadmittedBranchCountsAgainAndGoesOn() throws {
        var county = try ForkedCounty()
        try county.fork()
        let replica = try ForkedCounty.fresh(clock: county.clock)
        _ = try replica.replica.integrate(try county.everything())
        #expect(try replica.title(county.note) == "三")
        #expect(try replica.note(county.onlyB) == nil)
        #expect(
            try replica.replica.feeds().first { $0.scope == "s1" && $0.author == county.shared.publicKey.hex }?.forkedAt
                == 4
        )

        let chosen = try county.commit(county.twinB, 4)
        try county.decide(4, chosen.id)
        let report = try replica.replica.integrate(try county.hub.signedCommits())
        #expect(report.refused.isEmpty)
        #expect(try replica.title(county.note) == "乙六")
        #expect(try replica.note(county.note)?["n"] == 52)
        #expect(try replica.note(county.note)?["body"] == "旁注")
        #expect(try replica.title(county.onlyB) == "乙的")
        let feed = try replica.replica.feeds().first { $0.scope == "s1" && $0.author == county.shared.publicKey.hex }
        #expect(feed?.forkedAt == nil)
        #expect(feed?.head == 7)
        let evidence = try replica.replica.forkEvidence()
        #expect(evidence.count == 1)
        #expect(evidence.first?.sequence == 4)
        #expect(evidence.first?.excludedFrom == nil)
        #expect(evidence.first?.commits.count == 2)
        let check = try replica.replica.check()
        #expect(check.isClean, "\(check.differences)")
        let history = try replica.replica.history(table: "notes", row: county.note)
        #expect(history.contains { $0.value == .text("乙六") && $0.status == .applied })

        // B goes on from its branch, and every replica takes it; A's fifth commit stays evidence.
        try county.twinB.replica.write(scope: "s1", as: county.shared) {
            $0.set("notes", row: county.note, "title", .text("乙八"))
        }
        let next = try county.commit(county.twinB, 8)
        let taken = try replica.replica.integrate([next])
        #expect(taken.applied == 1)
        #expect(try replica.title(county.note) == "乙八")
        #expect(try replica.replica.integrate([try county.commit(county.twinA, 5)]).skipped == 1)
        #expect(try replica.replica.check().isClean)

        // The twin that lost takes the decision and B's branch, and writes on after it.
        _ = try county.twinA.replica.integrate(try county.everything())
        #expect(try county.twinA.title(county.note) == "乙八")
        try county.twinA.replica.write(scope: "s1", as: county.shared) {
            $0.set("notes", row: county.note, "n", .integer(9))
        }
        let afterLoser = try county.commit(county.twinA, 9)
        #expect(afterLoser.commit.previous == next.id)
        _ = try replica.replica.integrate([afterLoser])
        #expect(try replica.replica.digest(scope: "s1") == county.twinA.replica.digest(scope: "s1"))
    }

    @Test func noBranchKeepsTheFeedExcludedAndAnotherDecisionTurnsIt() throws {
        var county = try ForkedCounty()
        try county.fork()
        let replica = try ForkedCounty.fresh(clock: county.clock)
        _ = try replica.replica.integrate(try county.everything())
        try county.decide(4, nil)
        _ = try replica.replica.integrate(try county.hub.signedCommits())
        #expect(try replica.title(county.note) == "三")
        #expect(try replica.replica.forkEvidence().first?.excludedFrom == 4)
        _ = try county.twinB.replica.integrate(try county.everything())
        #expect(try county.twinB.title(county.note) == "三")
        #expect(throws: StoreError.self) {
            _ = try county.twinB.replica.write(scope: "s1", as: county.shared) {
                $0.set("notes", row: county.note, "title", .text("不应"))
            }
        }
        // The operator changes their mind: A's branch.
        try county.decide(4, try county.commit(county.twinA, 4).id)
        _ = try replica.replica.integrate(try county.hub.signedCommits())
        #expect(try replica.title(county.note) == "甲七")
        #expect(try replica.note(county.onlyB) == nil)
        #expect(try replica.replica.check().isClean)
    }

    @Test func aForkBeforeTheDecidedPlaceMakesTheDecisionMoot() throws {
        var county = try ForkedCounty()
        try county.fork()
        try county.decide(4, try county.commit(county.twinB, 4).id)
        // A third laptop with the same key, which had only commit 1, writes its own 2.
        let third = try ForkedCounty.replica(key: county.shared, clock: county.clock)
        _ = try third.replica.integrate(try county.hub.signedCommits())
        _ = try third.replica.integrate([try county.commit(county.twinA, 1)])
        try third.replica.write(scope: "s1", as: county.shared) { $0.set("notes", row: county.note, "n", .integer(-2)) }
        let replica = try ForkedCounty.fresh(clock: county.clock)
        _ = try replica.replica.integrate(try county.everything())
        #expect(try replica.title(county.note) == "乙六")
        let report = try replica.replica.integrate(try third.signedCommits())
        #expect(report.excludedLater > 0)
        #expect(try replica.title(county.note) == "一")
        #expect(try replica.note(county.note)?["n"] == 1)
        // The branch taken back stays in the row's history, as evidence.
        let history = try replica.replica.history(table: "notes", row: county.note)
        #expect(history.contains { $0.value == .text("乙六") && $0.status == .excluded })
        let evidence = try replica.replica.forkEvidence()
        #expect(evidence.first?.sequence == 2)
        #expect(evidence.first?.excludedFrom == 2)
        #expect(try replica.replica.check().isClean)
    }

    /// The commits, the decisions and their changes reach replicas in random orders and batches
    /// (a commit refused for a gap is offered again, as a sync would); every replica ends in the
    /// state of one that took everything at once, with the same heads, and passes the check.
    @Test(arguments: 0..<40)
    func everyArrivalOrderEndsAlike(round: Int) throws {
        let seed = UInt64(0x7EAD_0000) + UInt64(round)
        var rng = SplitMix(seed: seed)
        var county = try ForkedCounty()
        try county.fork()
        let branchA = try county.commit(county.twinA, 4).id
        let branchB = try county.commit(county.twinB, 4).id
        // The decisions in force at the end, and the ones overtaken on the way.
        let plans: [[CommitID?]] = [[branchB], [branchA], [nil], [branchB, branchA], [branchA, nil], [nil, branchB]]
        let plan = plans[Int(rng.next() % UInt64(plans.count))]
        for chosen in plan { try county.decide(4, chosen) }
        var commits = try county.everything()
        if rng.next() % 3 == 0 {
            // A third laptop with the key forks the feed at 2, before the decided place.
            let third = try ForkedCounty.replica(key: county.shared, clock: county.clock)
            _ = try third.replica.integrate([try county.commit(county.twinA, 1)])
            try third.replica.write(scope: "s1", as: county.shared) {
                $0.set("notes", row: county.note, "n", .integer(-2))
            }
            commits += try third.signedCommits().filter { $0.commit.author == county.shared.publicKey }
        }
        let reference = try ForkedCounty.fresh(clock: county.clock)
        _ = try reference.replica.integrate(commits)
        let expected = try Self.state(of: reference)
        let check = try reference.replica.check()
        #expect(check.isClean, "seed \(seed): \(check.differences)")
        for _ in 0..<3 {
            let replica = try ForkedCounty.fresh(clock: county.clock)
            var waiting = commits
            var rounds = 0
            while !waiting.isEmpty {
                rounds += 1
                waiting.shuffle(using: &rng)
                // Every fourth round offers everything still missing, as a full sync would.
                let everything = rounds % 4 == 0
                let take = everything ? waiting.count : 1 + Int(rng.next() % UInt64(waiting.count))
                _ = try replica.replica.integrate(Array(waiting.prefix(take)))
                let held = try Self.held(replica)
                let before = waiting.count
                waiting.removeAll { held.contains($0.id) }
                if everything && waiting.count == before { break }
            }
            let reached = try Self.state(of: replica)
            #expect(reached == expected, "seed \(seed), plan \(plan): \(reached) against \(expected)")
            let replicaCheck = try replica.replica.check()
            #expect(replicaCheck.isClean, "seed \(seed): \(replicaCheck.differences)")
        }
    }

    struct State: Equatable {
        var digest: String
        var feeds: [FeedState]
    }

    static func state(of replica: TestReplica) throws -> State {
        State(
            digest: try replica.replica.digest(scope: "s1"),
            feeds: try replica.replica.feeds().filter { $0.scope == "s1" }
        )
    }

    static func held(_ replica: TestReplica) throws -> Set<CommitID> {
        try Set(replica.signedCommits().map(\.id))
    }
}
