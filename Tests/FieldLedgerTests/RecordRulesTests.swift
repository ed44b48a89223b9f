import FieldCrypto
import FieldStore
import Foundation
import Testing

@testable import FieldLedger

/// The field rules hold on every road into the ledger, and the reports judge deadlines on a day.
@Suite struct RecordRulesTests {
    /// `conflicts resolve --value` stored 十万火急 as an urgency and an empty required title, and
    /// wrote no 流转日志 entry. Now a new value passes the rules of `demand edit`, and resolving a
    /// demand's conflict is an edit event in its log.
    @Test func resolvingAConflictFollowsTheFieldRulesAndIsLogged() throws {
        let county = try County()
        let wang = try county.cadreLedger("王强")
        let coordinator = try county.coordinatorLedger()
        let demand = try wang.addDemand(DemandInput(enterprise: "高唐纺织有限公司", title: "招工难", content: "急需挡车工"))
        try county.exchange(from: wang, to: coordinator)
        try wang.editDemand(demand.number, fields: ["title": "招工难（挡车工）", "urgency": "紧急"])
        try coordinator.editDemand(demand.number, fields: ["title": "用工需求", "urgency": "特急"])
        try county.exchange(from: coordinator, to: wang)
        let conflicts = try wang.replica.conflicts()
        #expect(Set(conflicts.map(\.column)) == ["title", "urgency"])
        let row = try #require(conflicts.first?.row)
        let before = try wang.events(ofDemand: demand.number).count
        let badUrgency = #expect(throws: LedgerError.self) {
            try wang.resolveConflict(table: "demands", row: row, column: "urgency", text: "十万火急")
        }
        #expect(badUrgency?.message.contains("一般") == true, "the error names the allowed values")
        #expect(throws: LedgerError.self) {
            try wang.resolveConflict(table: "demands", row: row, column: "title", text: "  ")
        }
        #expect(throws: LedgerError.self) {
            try wang.resolveConflict(table: "demands", row: row, column: "state", text: "CLOSED")
        }
        #expect(try wang.replica.conflicts().count == 2, "nothing was written")
        try wang.resolveConflict(table: "demands", row: row, column: "urgency", text: "紧急")
        try wang.resolveConflict(table: "demands", row: row, column: "title", value: .text("用工需求"))
        #expect(try wang.replica.conflicts().isEmpty)
        let events = try wang.events(ofDemand: demand.number)
        #expect(events.count == before + 2)
        #expect(events.suffix(2).map(\.action) == ["edit", "edit"])
        #expect(events.suffix(2).map { $0.comment ?? "" } == ["解决冲突 urgency", "解决冲突 title"])
        #expect(try wang.demandDetail(demand.number).urgency == "紧急")
    }

    /// 2026-02-30 was stored and listed; a visit dated next year was taken without a word.
    @Test func datesAreDaysOfTheCalendarAndAVisitHasHappened() throws {
        let county = try County()
        let wang = try county.cadreLedger("王强")
        for date in ["2026-02-30", "2025-04-31", "2026-13-01", "2026-00-10", "26-01-01", "2026/01/01"] {
            #expect(throws: LedgerError.self, "\(date)") {
                try wang.addVisit(VisitInput(enterprise: "高唐纺织有限公司", date: date))
            }
        }
        let today = wang.today()
        let tomorrow = Day(today)!.adding(days: 1).description
        let future = #expect(throws: LedgerError.self) {
            try wang.addVisit(VisitInput(enterprise: "高唐纺织有限公司", date: tomorrow))
        }
        #expect(future?.message.contains("--next-visit") == true)
        #expect(throws: LedgerError.self) {
            try wang.addVisit(
                VisitInput(enterprise: "高唐纺织有限公司", date: today, nextVisit: Day(today)!.adding(days: -1).description)
            )
        }
        _ = try wang.addVisit(VisitInput(enterprise: "高唐纺织有限公司", date: "2024-02-29", nextVisit: tomorrow))
        _ = try wang.addVisit(VisitInput(enterprise: "高唐纺织有限公司", date: today))
        #expect(try wang.visits().map(\.date).sorted() == ["2024-02-29", today])
    }

    /// On 12-01, `rates --month 2026-12` counted a demand due 12-22 as 超期 and gave 按时办结率 0.0%.
    /// A deadline not reached on the day the rates are judged is not yet due: in no rate.
    @Test func aDeadlineNotReachedYetIsNotLate() throws {
        let county = try WorkflowCounty(at: "2025-09-24 09:00")
        let number = try county.newDemand()
        _ = try county.cadre.act(.submit, on: number, ActionInput())
        _ = try county.coordinator.act(.assign, on: number, county.input { $0.lead = "县市场监管局" })
        let status = try county.market.act(.sign, on: number, ActionInput())
        #expect(status.deadline?.description == "2025-10-21")
        let october = try #require(Period(month: "2025-10"))
        let early = try county.operatorLedger.rates(for: october, today: Day("2025-10-01")!)
        #expect(early.onTime == Ratio(0, 0) && early.overdue == 0 && early.notYetDue == 1)
        #expect(early.onTime.display == "—")
        let onTheDay = try county.operatorLedger.rates(for: october, today: Day("2025-10-21")!)
        #expect(onTheDay.onTime == Ratio(0, 0) && onTheDay.notYetDue == 1, "the last day is still in time")
        let late = try county.operatorLedger.rates(for: october, today: Day("2025-10-22")!)
        #expect(late.onTime == Ratio(0, 1) && late.overdue == 1 && late.notYetDue == 0)
        let report = try county.operatorLedger.monthlyReport(october, today: Day("2025-10-01")!)
        let totals = try #require(report.first)
        #expect(totals.rows.first { $0.first == .text("超期") }?[1] == .number(0))
        #expect(totals.rows.first { $0.first == .text("按时办结率") }?[1] == .percent(nil))
    }
}
