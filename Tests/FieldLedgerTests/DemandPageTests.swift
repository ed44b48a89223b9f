import FieldCrypto
import FieldStore
import Foundation
import Testing

@testable import FieldLedger

/// A page of the demand list is filtered, counted and paged in SQL over the status cache
/// (`Ledger.demandPage`); it must match the same filter run in memory over every derived status,
/// for every device and condition.
@Suite struct DemandPageTests {
    @Test func theSQLPageMatchesTheFilterInMemory() throws {
        let worked = try HandWorkedCounty()
        let county = worked.county
        // A demand with no event at all (a commit of another tool): shown as a draft, and paged.
        let enterprise = try county.coordinator.demand(named: worked.a)
        let enterpriseID = try county.coordinator.read { try $0.demandRow(enterprise) }!.enterprise
        try county.coordinator.writeRecord(enterprise: enterpriseID) { batch in
            batch.insert(
                "demands",
                [
                    "number": .text("GT-2025-X000-0001"), "enterprise_id": .id(enterpriseID), "title": .text("无事件"),
                    "content": .text("没有流转事件的诉求"), "registered_at": .text("2025-09-24T01:00:00.000Z"),
                ]
            )
        }
        let market = try county.coordinator.department(named: "县市场监管局")
        var queries: [(String, DemandQuery)] = [("all", DemandQuery())]
        for state in DemandState.allCases {
            var query = DemandQuery()
            query.state = state
            queries.append(("state \(state)", query))
        }
        var lead = DemandQuery()
        lead.lead = market
        queries.append(("lead", lead))
        var overdue = DemandQuery()
        overdue.overdueOnly = true
        queries.append(("overdue", overdue))
        var text = DemandQuery()
        text.text = "B"
        queries.append(("text", text))
        var dates = DemandQuery()
        dates.from = Day("2025-09-24")
        dates.to = Day("2025-09-24")
        queries.append(("dates", dates))
        var none = DemandQuery()
        none.to = Day("2025-09-23")
        queries.append(("before any", none))
        var only = DemandQuery()
        only.only = [try county.coordinator.demand(named: worked.a), try county.coordinator.demand(named: worked.b)]
        queries.append(("only", only))
        var excluding = DemandQuery()
        excluding.excluding = only.only
        queries.append(("excluding", excluding))
        var urgent = DemandQuery()
        urgent.unresolvedOnly = true
        urgent.mostUrgentFirst = true
        queries.append(("unresolved, most urgent first", urgent))
        var carded = urgent
        carded.dueBy = Day("2025-10-20")
        queries.append(("due by", carded))

        for (who, ledger) in [
            ("coordinator", county.coordinator), ("department", county.market), ("supervisor", county.supervisor),
        ] {
            for today in ["2025-10-01", "2025-12-01"].compactMap(Day.init) {
                for (name, query) in queries {
                    #expect(ledger.statusCacheIsComplete(profile: ledger.profile))
                    let sql = try ledger.demandPage(query, offset: 0, size: 50, today: today)
                    let memory = try ledger.demandPageInMemory(
                        query,
                        offset: 0,
                        size: 50,
                        today: today,
                        profile: ledger.profile
                    )
                    #expect(sql.total == memory.total, "\(who) \(name) on \(today)")
                    #expect(
                        sql.rows.map(\.summary.number) == memory.rows.map(\.summary.number),
                        "\(who) \(name) on \(today)"
                    )
                    #expect(
                        sql.rows.map { $0.status?.state } == memory.rows.map { $0.status?.state },
                        "\(who) \(name) on \(today)"
                    )
                }
            }
        }
        // The card horizon counts exactly the demands with a 黄牌 or 红牌.
        for today in ["2025-09-30", "2025-10-10", "2025-10-20", "2025-12-01"].compactMap(Day.init) {
            let ledger = county.coordinator
            var cards = DemandQuery()
            cards.unresolvedOnly = true
            cards.dueBy = try ledger.cardHorizon(today: today)
            let counted = try ledger.demandPage(cards, offset: 0, size: 0, today: today).total
            let calendar = try ledger.calendar()
            let expected = try ledger.allStatuses().values.filter {
                $0.state.isUnresolved
                    && $0.overlay(on: today, calendar: calendar, profile: ledger.profile).card != .none
            }.count
            #expect(counted == expected, "cards on \(today)")
            // 工作台's one pass: the overdue and the carded counted beside the page.
            var unresolved = DemandQuery()
            unresolved.unresolvedOnly = true
            let page = try ledger.demandPage(
                unresolved,
                offset: 0,
                size: 50,
                today: today,
                cardHorizon: cards.dueBy
            )
            let overdue = try ledger.allStatuses().values.filter {
                $0.state.isUnresolved && $0.overlay(on: today, calendar: calendar, profile: ledger.profile).isOverdue
            }.count
            #expect(page.carded == expected && page.overdue == overdue, "工作台 figures on \(today)")
        }
        // Pages: two of two, then one.
        let first = try county.coordinator.demandPage(DemandQuery(), offset: 0, size: 2)
        let second = try county.coordinator.demandPage(DemandQuery(), offset: 2, size: 2)
        #expect(first.total == 6 && first.rows.count == 2 && second.rows.count == 2)
        #expect(Set(first.rows.map(\.summary.number)).isDisjoint(with: second.rows.map(\.summary.number)))
        var overdueOnly = DemandQuery()
        overdueOnly.overdueOnly = true
        #expect(try county.coordinator.demandPage(overdueOnly, offset: 0, size: 50, today: Day("2025-12-01")).total > 0)
    }
}
