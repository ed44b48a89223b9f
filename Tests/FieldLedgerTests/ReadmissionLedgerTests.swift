import FieldCrypto
import FieldStore
import Foundation
import Testing

@testable import FieldLedger

/// The operator's decision on a feed forked by one cadre key on two laptops: a registry commit
/// (schema 4's `readmissions`), refused with a reason when it cannot be made, and followed by
/// every replica that takes the registry.
@Suite struct ReadmissionLedgerTests {
    struct Forked {
        let county: County
        let key = SigningKey.generate()
        let laptopA: Ledger
        let laptopB: Ledger

        /// 王强's key on two laptops: one visit together, then one each, all taken by the hub.
        init() throws {
            county = try County()
            try county.operatorLedger.enroll(publicKey: key.publicKey, role: .cadre, cadre: "王强")
            laptopA = try Ledger.open(path: nil, root: county.root.publicKey, key: key)
            laptopB = try Ledger.open(path: nil, root: county.root.publicKey, key: key)
            try county.exchange(from: county.operatorLedger, to: laptopA)
            try county.exchange(from: county.operatorLedger, to: laptopB)
            _ = try laptopA.addVisit(VisitInput(enterprise: "高唐纺织有限公司", topics: "用工"))
            try county.exchange(from: laptopA, to: laptopB)
            _ = try laptopA.addVisit(VisitInput(enterprise: "高唐纺织有限公司", topics: "甲的走访"))
            _ = try laptopB.addVisit(VisitInput(enterprise: "高唐纺织有限公司", topics: "乙的走访"))
            try county.exchange(from: laptopA, to: county.operatorLedger)
            try county.exchange(from: laptopB, to: county.operatorLedger)
        }

        /// The id of the commit numbered 2 that a laptop wrote in the enterprise's feed.
        func second(of laptop: Ledger) throws -> String {
            var id = ""
            try laptop.replica.exportRecords { record in
                let signed = try WireRecord.decode(record)
                if signed.commit.author == key.publicKey && signed.commit.sequence == 2 { id = signed.id.hex }
            }
            return id
        }

        func topics(_ ledger: Ledger) throws -> [String] {
            try ledger.visits(enterprise: "高唐纺织有限公司").compactMap(\.topics).sorted()
        }
    }

    @Test func theOperatorReadmitsABranchAndEveryReplicaFollows() throws {
        let forked = try Forked()
        let hub = forked.county.operatorLedger
        #expect(try forked.topics(hub) == ["用工"])
        let evidence = try hub.replica.forkEvidence()
        #expect(evidence.count == 1)
        #expect(evidence.first?.sequence == 2)
        let branchB = try forked.second(of: forked.laptopB)
        #expect(evidence.first?.commits.map(\.id).contains(branchB) == true)

        let decided = try hub.readmit(
            publicKey: forked.key.publicKey,
            scope: "高唐纺织有限公司",
            branch: String(branchB.prefix(10)),
            decidedBy: "运维甲",
            note: "甲是误拷贝的笔记本"
        )
        #expect(decided.standing == .readmitted)
        #expect(decided.chosen == branchB)
        #expect(decided.decidedBy == "运维甲")
        #expect(decided.enterprise?.contains("高唐纺织有限公司") == true)
        #expect(decided.standingText.contains("已恢复"))
        #expect(try forked.topics(hub) == ["乙的走访", "用工"])
        #expect(try hub.replica.check().isClean)

        // The laptop that lost takes the registry and B's branch, and writes on after it.
        try forked.county.exchange(from: hub, to: forked.laptopA)
        #expect(try forked.topics(forked.laptopA) == ["乙的走访", "用工"])
        _ = try forked.laptopA.addVisit(VisitInput(enterprise: "高唐纺织有限公司", topics: "之后"))
        try forked.county.exchange(from: forked.laptopA, to: hub)
        #expect(try forked.topics(hub) == ["之后", "乙的走访", "用工"])
        #expect(try forked.laptopA.readmissions().first?.standing == .readmitted)

        // Deciding the same again changes nothing; deciding none takes the branch back out.
        let again = #expect(throws: LedgerError.self) {
            try hub.readmit(publicKey: forked.key.publicKey, scope: "高唐纺织有限公司", branch: branchB, decidedBy: "运维甲")
        }
        #expect(again?.message.contains("nothing was changed") == true)
        let none = try hub.readmit(publicKey: forked.key.publicKey, scope: "高唐纺织有限公司", branch: "none", decidedBy: "运维乙")
        #expect(none.standing == .excluded)
        #expect(none.chosen == nil)
        #expect(try forked.topics(hub) == ["用工"])
        #expect(try hub.readmissions().count == 1)
    }

    /// A device cannot readmit its own branch: a `readmissions` row written in the enterprise's
    /// scope is refused like any registry table, and the registry's own scope is the root's alone.
    @Test func aDeviceCannotReadmitItself() throws {
        let forked = try Forked()
        let hub = forked.county.operatorLedger
        // 李娜's laptop, linked to 鲁西化工, writing its first commit there.
        let key = SigningKey.generate()
        try hub.enroll(publicKey: key.publicKey, role: .cadre, cadre: "李娜")
        let scope = RegistryIDs.scope(of: try hub.enterprise(named: "鲁西化工, 高唐分公司"))
        let head = try hub.replica.readRegistry { $0.sequence }
        let now = Timestamp(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000), counter: 0)
        func commit(scope: String, sequence: UInt64) throws -> SignedCommit {
            try SignedCommit(
                signing: Commit(
                    author: key.publicKey,
                    scope: scope,
                    sequence: sequence,
                    previous: .zero,
                    timestamp: now,
                    schemaVersion: hub.replica.schema.version,
                    registrySequence: head,
                    changes: [
                        Change(
                            table: "readmissions",
                            row: UUID(),
                            column: "public_key",
                            value: .text(key.publicKey.hex)
                        )
                    ]
                ),
                with: key
            )
        }
        let inScope = try hub.replica.integrate([commit(scope: scope, sequence: 1)])
        #expect(inScope.refused.map(\.code) == [.notAuthorized], "\(inScope.refused.map(\.reason))")
        #expect(inScope.refused.first?.reason.contains("registry data") == true)
        let inRegistry = try hub.replica.integrate([commit(scope: Commit.registryScope, sequence: 1)])
        #expect(inRegistry.refused.map(\.code) == [.notAuthorized])
        #expect(try hub.readmissions().isEmpty)
    }

    @Test func aDecisionThatCannotBeMadeIsRefusedAndNothingIsWritten() throws {
        let forked = try Forked()
        let hub = forked.county.operatorLedger
        let head = try hub.replica.readRegistry { $0.sequence }
        let branchA = try forked.second(of: forked.laptopA)
        let notRoot = #expect(throws: LedgerError.self) {
            try forked.laptopA.readmit(
                publicKey: forked.key.publicKey,
                scope: "高唐纺织有限公司",
                branch: branchA,
                decidedBy: "x"
            )
        }
        #expect(notRoot?.code == .notPermitted)
        let notForked = #expect(throws: LedgerError.self) {
            try hub.readmit(publicKey: forked.key.publicKey, scope: "鲁西化工, 高唐分公司", branch: "none", decidedBy: "x")
        }
        #expect(notForked?.code == .notFound)
        #expect(notForked?.message.contains("no fork") == true)
        let tooShort = #expect(throws: LedgerError.self) {
            try hub.readmit(publicKey: forked.key.publicKey, scope: "高唐纺织有限公司", branch: "abc", decidedBy: "x")
        }
        #expect(tooShort?.code == .invalidField)
        let unknown = #expect(throws: LedgerError.self) {
            try hub.readmit(publicKey: forked.key.publicKey, scope: "高唐纺织有限公司", branch: "00000000", decidedBy: "x")
        }
        #expect(unknown?.code == .notFound)
        #expect(unknown?.message.contains(String(branchA.prefix(12))) == true)
        #expect(try hub.replica.readRegistry { $0.sequence } == head)
        #expect(try hub.readmissions().isEmpty)
    }
}
