import FieldCrypto
import FieldLedger
import FieldStore
import Foundation
import Testing

@testable import FieldSync

@Suite struct SyncPlannerTests {
    @Test func planPullsWhatTheServerHasAndPushesWhatTheClientHas() {
        let client = [
            FeedHead(author: "a", scope: "s1", head: 3), FeedHead(author: "b", scope: "s1", head: 5),
            FeedHead(author: "c", scope: "s2", head: 1),
        ]
        let server = [
            FeedHead(author: "a", scope: "s1", head: 7), FeedHead(author: "b", scope: "s1", head: 2),
            FeedHead(author: "d", scope: "s1", head: 4),
        ]
        let plan = SyncPlanner.plan(client: client, server: server, scopes: ["s1"])
        #expect(
            plan.pull == [FeedHead(author: "a", scope: "s1", head: 3), FeedHead(author: "d", scope: "s1", head: 0)]
        )
        #expect(plan.push == [FeedHead(author: "b", scope: "s1", head: 2)])
        #expect(
            SyncPlanner.differingScopes(server: ["s1": "x", "s2": "y", "s3": "z"], client: ["s1": "x", "s2": "q"]) == [
                "s2", "s3",
            ]
        )
    }

    @Test func badBodiesAreRefusedWithACode() {
        #expect(throws: SyncError.self) { try SyncWire.decodeRequest(path: "/v1/sync/nope", body: []) }
        #expect(throws: SyncError.self) { try SyncWire.decodeRequest(path: "/v1/sync/summary", body: Array("{".utf8)) }
        #expect(throws: SyncError.self) {
            try SyncWire.decodeRequest(path: "/v1/sync/push", body: Array("FLBATCH1".utf8) + [0, 0, 0, 0, 9])
        }
        #expect(throws: SyncError.self) { try SyncWire.unbatch(Array("NOTABATCH".utf8)) }
    }
}

/// Two replicas of a county, synced through the real wire encoding in process.
@Suite struct SyncSessionTests {
    struct County {
        let root = SigningKey.generate()
        let hub: Ledger
        let laptop: Ledger
        let laptopKey = SigningKey.generate()

        init() throws {
            hub = try Ledger.open(path: nil, root: root.publicKey, key: root)
            try hub.addDepartments([DepartmentInput(name: "县工业和信息化局")])
            try hub.addCadres([CadreInput(name: "王强", department: "县工业和信息化局")])
            try hub.addEnterprises([
                EnterpriseInput(name: "甲企业", uscc: "91371082775260043P"),
                EnterpriseInput(name: "乙企业", uscc: "91110108551385082Q"),
            ])
            try hub.link([.init(cadre: "王强", enterprise: "甲企业", role: .lead)])
            try hub.enroll(publicKey: laptopKey.publicKey, role: .cadre, cadre: "王强")
            laptop = try Ledger.open(path: nil, root: root.publicKey, key: laptopKey)
        }

        /// The scopes the laptop's cadre may read: the registry and the linked enterprise.
        var cadreScopes: Set<String> {
            get throws { [Commit.registryScope, RegistryIDs.scope(of: try hub.enterprise(named: "甲企业"))] }
        }

        func transport() throws -> LocalTransport {
            LocalTransport(responder: SyncResponder(replica: hub.replica, readableScopes: try cadreScopes))
        }
    }

    @Test func laptopPullsPushesAndConverges() async throws {
        let county = try County()
        // The other enterprise has a visit by the root, which the cadre may not read.
        try county.hub.addVisit(VisitInput(enterprise: "乙企业", topics: "不可见"))
        let client = SyncClient(replica: county.laptop.replica, peer: "hub")
        let first = try await client.sync(over: try county.transport())
        #expect(!first.upToDate)
        #expect(first.received > 0)
        #expect(first.divergentScopes.isEmpty)
        #expect(try county.laptop.enrolledRole() == .cadre)
        #expect(try county.laptop.visits().isEmpty, "nothing of a scope the cadre may not read")
        try county.laptop.addVisit(VisitInput(enterprise: "甲企业", topics: "用工"))
        _ = try county.laptop.addDemand(DemandInput(enterprise: "甲企业", title: "招工", content: "急需"))
        let second = try await client.sync(over: try county.transport())
        #expect(second.sent == 2)
        #expect(second.divergentScopes.isEmpty)
        #expect(try county.hub.demands().count == 1)
        // Nothing new: one round, a few hundred bytes of bodies.
        let third = try await client.sync(over: try county.transport())
        #expect(third.upToDate)
        #expect(third.requests == 1)
        #expect(third.requestBytes + third.responseBytes < 2048, "\(third.requestBytes + third.responseBytes) bytes")
        let scope = RegistryIDs.scope(of: try county.hub.enterprise(named: "甲企业"))
        #expect(try county.hub.replica.digest(scope: scope) == county.laptop.replica.digest(scope: scope))
        // The heads digest hashed straight from the feeds is the one of the heads themselves.
        let hub = county.hub.replica
        for scopes in [nil, try county.cadreScopes, [scope], [], ["no such scope"]] as [Set<String>?] {
            #expect(
                try hub.headsDigest(scopes: scopes) == Replica.headsDigest(try hub.heads(scopes: scopes)),
                "\(String(describing: scopes))"
            )
        }
        #expect(try hub.headsDigest(scopes: nil) != hub.headsDigest(scopes: [scope]))
    }

    /// One cadre key on two laptops forks the enterprise's feed at the hub, found through a commit
    /// refused as a broken chain: pulled by the copy when the original went further, or in the
    /// answer to the copy's push when the copy did. The operator readmits the copy's branch; the
    /// laptop whose branch is left out follows over ordinary syncs: it takes the decision, falls
    /// back to the fork, pulls the chosen branch, and writes on after it.
    @Test(arguments: [(["原机一", "原机二"], ["复制机"]), (["原机一"], ["复制机", "复制机二"])])
    func aLaptopOnTheBranchLeftOutFollowsAReadmissionOverSync(
        originalVisits: [String],
        copyVisits: [String]
    ) async throws {
        let county = try County()
        let key = county.laptopKey
        let copy = try Ledger.open(path: nil, root: county.root.publicKey, key: key)
        let original = SyncClient(replica: county.laptop.replica, peer: "hub")
        let copied = SyncClient(replica: copy.replica, peer: "hub")
        _ = try await original.sync(over: try county.transport())
        try county.laptop.addVisit(VisitInput(enterprise: "甲企业", topics: "共同"))
        _ = try await original.sync(over: try county.transport())
        _ = try await copied.sync(over: try county.transport())
        for topics in originalVisits { try county.laptop.addVisit(VisitInput(enterprise: "甲企业", topics: topics)) }
        for topics in copyVisits { try copy.addVisit(VisitInput(enterprise: "甲企业", topics: topics)) }
        // The copy's own commit numbered 2, before it holds the other branch.
        var chosen = ""
        try copy.replica.exportRecords { record in
            let signed = try WireRecord.decode(record)
            if signed.commit.author == key.publicKey && signed.commit.sequence == 2 { chosen = signed.id.hex }
        }
        _ = try await original.sync(over: try county.transport())
        let found = try await copied.sync(over: try county.transport())
        let fork = try #require(try county.hub.forks().first)
        // The copy pulls the other branch back and finds the same fork: no divergence reported.
        #expect(found.divergentScopes.isEmpty)
        #expect(try copy.forks().first?.sequence == 2)
        // The original, whose branch the hub took first, is told of the fork by the heads' answer
        // the next time the enterprise's scope is compared (here: the hub wrote there), pulls the
        // other branch, and shows what the hub shows, before any decision.
        _ = try county.hub.addDemand(DemandInput(enterprise: "甲企业", title: "县里登记的诉求", content: "用电"))
        let told = try await original.sync(over: try county.transport())
        #expect(told.divergentScopes.isEmpty)
        #expect(try county.laptop.forks().first?.sequence == 2)
        #expect(fork.sequence == 2 && fork.commits.count == 2)
        try county.hub.readmit(publicKey: key.publicKey, scope: "甲企业", branch: chosen, decidedBy: "运维甲")
        func topics(_ ledger: Ledger) throws -> [String] { try ledger.visits().compactMap(\.topics).sorted() }
        #expect(try topics(county.laptop) == ["共同"])
        let chosenBranch = (["共同"] + copyVisits).sorted()
        #expect(try topics(county.hub) == chosenBranch)
        // One sync: the decision comes with the registry, the feed falls back to the fork, and the
        // heads asked for again bring the chosen branch.
        let follows = try await original.sync(over: try county.transport())
        #expect(follows.divergentScopes.isEmpty)
        let second = try await original.sync(over: try county.transport())
        #expect(second.upToDate)
        #expect(try topics(county.laptop) == chosenBranch)
        let scope = RegistryIDs.scope(of: try county.hub.enterprise(named: "甲企业"))
        #expect(try county.laptop.replica.digest(scope: scope) == county.hub.replica.digest(scope: scope))
        try county.laptop.addVisit(VisitInput(enterprise: "甲企业", topics: "之后"))
        let after = try await original.sync(over: try county.transport())
        #expect(after.divergentScopes.isEmpty)
        #expect(try topics(county.hub) == (chosenBranch + ["之后"]).sorted())
        #expect(try county.hub.replica.check().isClean)
        #expect(try county.laptop.replica.check().isClean)
    }

    /// A transport that fails after a number of requests, like a dropped connection.
    struct FlakyTransport: SyncTransport {
        let inner: LocalTransport
        let failAfter: Int
        let count: Counter

        final class Counter: @unchecked Sendable {
            // Safe because each test uses its own counter from one thread.
            var value = 0
        }

        func exchange(_ request: SyncRequest) async throws -> SyncResponse {
            count.value += 1
            if count.value > failAfter { throw SyncError(.transport, "connection dropped") }
            return try await inner.exchange(request)
        }
    }

    @Test func interruptedSyncResumesInSmallBatches() async throws {
        let county = try County()
        for index in 0..<120 { try county.hub.addVisit(VisitInput(enterprise: "甲企业", topics: "第\(index)次")) }
        var client = SyncClient(replica: county.laptop.replica, peer: "hub")
        client.batchCommits = 25
        let flaky = FlakyTransport(inner: try county.transport(), failAfter: 4, count: .init())
        await #expect(throws: SyncError.self) { _ = try await client.sync(over: flaky) }
        let partial = try county.laptop.visits().count
        #expect(partial > 0 && partial < 120, "some batches landed before the drop: \(partial)")
        let resumed = try await client.sync(over: try county.transport())
        #expect(try county.laptop.visits().count == 120)
        #expect(resumed.received < 120 + 20, "only what was missing travelled again")
        #expect(resumed.divergentScopes.isEmpty)
        #expect(try await client.sync(over: try county.transport()).upToDate)
    }

    @Test func pushesAreJudgedByTheReceiver() async throws {
        let county = try County()
        let client = SyncClient(replica: county.laptop.replica, peer: "hub")
        _ = try await client.sync(over: try county.transport())
        // A commit forged in another device's name is refused at the wire; an unlinked enterprise by policy.
        let stranger = SigningKey.generate()
        let foreign = try Ledger.open(path: nil, root: county.root.publicKey, key: stranger)
        var registry: [[UInt8]] = []
        try county.hub.replica.exportRecords(scopes: [Commit.registryScope]) { registry.append($0) }
        _ = try foreign.replica.importRecords(registry)
        let responder = SyncResponder(replica: county.hub.replica, readableScopes: try county.cadreScopes)
        let bad = try SignedCommit(
            signing: Commit(
                author: stranger.publicKey,
                scope: try county.cadreScopes.first { $0 != Commit.registryScope }!,
                sequence: 1,
                previous: .zero,
                timestamp: Timestamp(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000), counter: 0),
                schemaVersion: 1,
                registrySequence: UInt64(registry.count),
                changes: [Change(table: "visits", row: UUID(), column: "topics", value: .text("x"))]
            ),
            with: stranger
        )
        guard case .push(let result) = try responder.respond(to: .push([bad.wire])) else {
            Issue.record("not a push answer")
            return
        }
        #expect(result.applied == 0)
        #expect(result.refused.first?.code == .notEnrolled)
    }
}
