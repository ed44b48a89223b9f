import FieldCrypto
import FieldStore
import Foundation
import GRDB
import Testing

@testable import FieldLedger

/// The status cache (`_status_cache`) always answers what a fresh derivation from the events
/// answers: after local actions, after events merged from another replica, after a calendar is
/// loaded, with another profile, and when a cached row is damaged.
@Suite struct StatusCacheTests {
    /// The statuses derived afresh from the events, bypassing the cache.
    func fresh(_ ledger: Ledger, profile: DeadlineProfile = .shandong2115) throws -> [UUID: DemandStatus] {
        let calendar = try ledger.calendar()
        return try ledger.read { store in
            try store.deriveStatuses(
                calendar: calendar,
                profile: profile,
                actors: try store.workflowActors(root: ledger.replica.root)
            )
        }
    }

    func cachedRows(_ ledger: Ledger) throws -> Int {
        try ledger.replica.database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM _status_cache") ?? 0 }
    }

    @Test func followsEveryActionOfSeveralDemands() throws {
        let county = try WorkflowCounty(at: "2025-09-24 09:00")
        let ledger = county.operatorLedger
        var checks = 0
        func check(_ comment: Comment) throws {
            let cached = try ledger.allStatuses()
            #expect(cached == (try fresh(ledger)), comment)
            #expect(try cachedRows(ledger) == cached.count, "every demand is cached after a report")
            checks += 1
        }
        let first = try county.newDemand(title: "厂区道路积水")
        let second = try county.newDemand(title: "用电增容")
        try check("created")
        _ = try county.cadre.act(.submit, on: first, ActionInput())
        _ = try county.cadre.act(.submit, on: second, ActionInput())
        try check("submitted")
        _ = try county.coordinator.act(
            .assign,
            on: first,
            county.input {
                $0.lead = "县市场监管局"
                $0.co = ["县住房城乡建设局"]
            }
        )
        try check("first assigned")
        let before = try ledger.allStatuses()
        _ = try county.coordinator.act(.assign, on: second, county.input { $0.lead = "县行政审批局" })
        try check("second assigned")
        let after = try ledger.allStatuses()
        #expect(
            before[try ledger.demand(named: second)] != after[try ledger.demand(named: second)],
            "the action changed the cached status"
        )
        county.clock.set("2025-09-24 15:00")
        _ = try county.market.act(
            .return,
            on: first,
            county.input {
                $0.comment = "属审批事项"
                $0.suggest = "县行政审批局"
            }
        )
        try check("returned")
        _ = try county.coordinator.act(.reassign, on: first, county.input { $0.lead = "县行政审批局" })
        county.clock.set("2025-09-26 09:00")
        _ = try county.approval.act(.sign, on: first, county.input { $0.contacted = "2025-09-26 10:00" })
        _ = try county.approval.act(.sign, on: second, ActionInput())
        try check("signed")
        county.clock.set("2025-10-20 09:00")
        _ = try county.approval.act(
            .extend,
            on: first,
            county.input {
                $0.until = "2025-10-30"
                $0.comment = "需现场勘验"
            }
        )
        try check("extension asked")
        _ = try county.coordinator.act(.extend, on: first, county.input { $0.comment = "同意延期" })
        _ = try county.approval.act(
            .reply,
            on: first,
            county.input {
                $0.outcome = "已解决"
                $0.reply = "疏通并新建排水沟"
            }
        )
        _ = try county.coordinator.act(.acceptReply, on: first, ActionInput())
        try check("replied and accepted")
        _ = try county.cadre.act(
            .reopen,
            on: first,
            county.input {
                $0.comment = "雨后仍有积水"
                $0.satisfaction = "不满意"
            }
        )
        try check("reopened")
        _ = try county.approval.act(
            .reply,
            on: first,
            county.input {
                $0.outcome = "已解决"
                $0.reply = "加装排水泵"
            }
        )
        _ = try county.coordinator.act(.acceptReply, on: first, ActionInput())
        _ = try county.cadre.act(
            .followUp,
            on: first,
            county.input {
                $0.resolved = true
                $0.satisfaction = "满意"
            }
        )
        try check("closed")
        #expect(checks == 10)
        // Every cached status decodes to what was encoded.
        for status in try ledger.allStatuses().values {
            #expect(StatusCodec.decode(Data(StatusCodec.encode(status))) == status)
        }
    }

    @Test func followsEventsMergedFromAnotherReplicaAndConflicts() throws {
        let pair = try TwoCoordinators()
        let (x, y) = (pair.x, pair.y)
        let exchange = TwoCoordinators.exchange
        let number = try x.addDemand(
            DemandInput(enterprise: "高唐纺织有限公司", title: "用地指标", content: "扩建项目缺用地指标", category: "用地")
        ).number
        _ = try x.act(.submit, on: number, ActionInput())
        #expect(try y.allStatuses().isEmpty)
        try exchange(x, y)
        #expect(try y.allStatuses() == (try fresh(y)))
        #expect(try y.allStatuses().values.first?.state == .pendingIntake, "the merged events replaced y's cached view")

        let (toMarket, toApproval) = (TwoCoordinators.lead("县市场监管局"), TwoCoordinators.lead("县行政审批局"))
        _ = try x.act(.assign, on: number, toMarket)
        _ = try y.act(.assign, on: number, toApproval)
        _ = try x.allStatuses()
        _ = try y.allStatuses()
        try exchange(x, y)
        try exchange(y, x)
        let (cachedX, cachedY) = (try x.allStatuses(), try y.allStatuses())
        #expect(cachedX == (try fresh(x)))
        #expect(cachedX == cachedY)
        #expect(cachedX.values.first?.conflicts.count == 1, "the conflict shows through the cache")
    }

    @Test func aLoadedCalendarOrAnotherProfileIsNeverAnsweredFromTheOldCache() throws {
        // Assigned and signed on 2026-12-18: 15 working days run into 2027, which this build
        // does not ship, so the deadline is provisional until 2027 is loaded.
        let county = try WorkflowCounty(at: "2026-12-18 09:00")
        let ledger = county.operatorLedger
        let number = try county.newDemand()
        _ = try county.cadre.act(.submit, on: number, ActionInput())
        _ = try county.coordinator.act(.assign, on: number, county.input { $0.lead = "县市场监管局" })
        _ = try county.market.act(.sign, on: number, ActionInput())
        let id = try ledger.demand(named: number)
        let provisional = try #require(try ledger.allStatuses()[id])
        #expect(provisional.deadlineIsProvisional)

        try ledger.loadCalendar(
            csv: "date,kind,note\n2027-01-01,holiday,元旦\n2027-01-02,holiday,元旦\n2027-01-03,holiday,元旦\n",
            source: "test notice"
        )
        let loaded = try #require(try ledger.allStatuses()[id])
        #expect(!loaded.deadlineIsProvisional)
        #expect(loaded.deadline != provisional.deadline, "1 January 2027 is now a holiday")
        #expect(try ledger.allStatuses() == (try fresh(ledger)))

        var quick = DeadlineProfile.shandong2115
        quick.resolveWorkdays = 5
        let other = try #require(try ledger.allStatuses(profile: quick)[id])
        #expect(other == (try fresh(ledger, profile: quick))[id])
        #expect(other.deadline != loaded.deadline)
        #expect(try ledger.allStatuses()[id] == loaded, "and back")
    }

    @Test func aDamagedRowIsDerivedAgain() throws {
        let county = try WorkflowCounty(at: "2025-09-24 09:00")
        let ledger = county.operatorLedger
        let number = try county.newDemand()
        _ = try county.cadre.act(.submit, on: number, ActionInput())
        let good = try ledger.allStatuses()
        let encoded = StatusCodec.encode(try #require(good.values.first))
        // Every shortened or lengthened encoding is refused, never misread.
        for length in 0..<encoded.count {
            #expect(StatusCodec.decode(Data(encoded.prefix(length))) == nil, "\(length) bytes")
        }
        #expect(StatusCodec.decode(Data(encoded + [0])) == nil)
        try ledger.replica.database.write { db in try db.execute(sql: "UPDATE _status_cache SET status = x'00'") }
        #expect(try ledger.allStatuses() == good)
        try ledger.replica.database.write { db in try db.execute(sql: "DELETE FROM _status_cache") }
        #expect(try ledger.allStatuses() == good)
    }

    /// The codec writes every stored property: a new one must be added to it (and the version bumped).
    @Test func theCodecKnowsEveryField() {
        #expect(Mirror(reflecting: DemandStatus()).children.count == 28)
        let assignment = Assignment(
            lead: UUID(),
            co: [],
            assignedAt: 0,
            signDeadline: Day(ordinal: 0),
            contactDeadline: 0,
            signedAt: nil,
            isReassignment: false
        )
        #expect(Mirror(reflecting: assignment).children.count == 8)
        #expect(
            Mirror(reflecting: FollowUp(at: 0, reopened: false, resolved: nil, satisfaction: nil)).children.count == 4
        )
    }
}
