import FieldStore
import Foundation
import Testing

@testable import FieldLedger

/// `Workflow.plan` on its own: typed steps judged against a demand's events with no storage at all
/// (no SQLite, no ledger), each refusal a typed reason, each event's data a standard JSON encoding
/// that the reports' fast reader reads back.
struct WorkflowPlanTests {
    /// A demand's history held in memory, with a coordinator, a cadre and two departments.
    struct History {
        static let profile = DeadlineProfile.shandong2115
        static let calendar = WorkCalendar.shipped
        let market = UUID()
        let tax = UUID()
        let coordinator = "c0"
        let cadre = "a1"
        let marketClerk = "d1"
        let taxClerk = "d2"
        let actors: WorkflowActors
        var events: [WorkflowEvent] = []
        let demand = UUID()

        init() {
            actors = WorkflowActors(
                root: "root",
                devices: [
                    coordinator: .init(role: .coordinator),
                    cadre: .init(role: .cadre),
                    marketClerk: .init(role: .department, department: market),
                    taxClerk: .init(role: .department, department: tax),
                ]
            )
        }

        var status: DemandStatus {
            Workflow.derive(events, calendar: Self.calendar, profile: Self.profile, actors: actors)
        }

        /// County-local "2026-03-02 09:00" in milliseconds.
        static func at(_ local: String) -> Int64 {
            let parts = local.split(separator: " ")
            let clock = parts[1].split(separator: ":").map { Int($0)! }
            return profile.instant(Day(parts[0])!, minute: clock[0] * 60 + clock[1])
        }

        func plan(
            _ step: WorkflowStep,
            by key: String,
            at local: String,
            comment: String? = nil
        ) throws(WorkflowRefusal) -> PlannedEvent {
            try Workflow.plan(
                step,
                comment: comment,
                events: events,
                status: status,
                actors: actors,
                role: actors.role(of: key)!,
                department: actors.department(of: key),
                calendar: Self.calendar,
                profile: Self.profile,
                now: Self.at(local)
            )
        }

        /// Plans the step and keeps its event, as the ledger would store it (its data as JSON, read
        /// back with `FlatJSON`), returning the event's id.
        @discardableResult
        mutating func take(
            _ step: WorkflowStep,
            by key: String,
            at local: String,
            comment: String? = nil,
            parent: UUID?? = nil
        ) throws(WorkflowRefusal) -> UUID {
            let planned = try plan(step, by: key, at: local, comment: comment)
            let id = UUID()
            events.append(
                WorkflowEvent(
                    id: id,
                    demand: demand,
                    parent: parent ?? planned.parent,
                    at: Self.at(local),
                    actorKey: key,
                    actorName: key,
                    role: actors.role(of: key)!.rawValue,
                    action: planned.action.rawValue,
                    from: planned.from,
                    to: planned.to,
                    comment: planned.comment,
                    data: FlatJSON.parse(planned.data.json) ?? [:]
                )
            )
            return id
        }
    }

    @Test func aDemandIsHandledStepByStepWithoutStorage() throws {
        var history = History()
        try history.take(.submit, by: history.cadre, at: "2026-03-02 09:00")
        #expect(history.status.state == .pendingIntake)
        try history.take(
            .assign(lead: history.market, co: [history.tax, history.market]),
            by: history.coordinator,
            at: "2026-03-02 10:00"
        )
        #expect(history.status.state == .pendingSign)
        #expect(history.status.lead == history.market)
        #expect(history.status.coDepartments == [history.tax], "the lead is not its own co-department")
        let contacted = History.at("2026-03-02 11:00")
        try history.take(.sign(contacted: contacted), by: history.marketClerk, at: "2026-03-02 14:00")
        #expect(history.status.state == .inProgress)
        #expect(history.status.firstContactAt == contacted)
        try history.take(
            .reply(reply: "已协调用地指标", outcome: "已解决", contacted: nil),
            by: history.marketClerk,
            at: "2026-03-10 09:00"
        )
        #expect(history.status.state == .replied && history.status.outcome == "已解决")
        try history.take(.acceptReply, by: history.coordinator, at: "2026-03-10 10:00")
        try history.take(.followUp(resolved: true, satisfaction: "满意"), by: history.cadre, at: "2026-03-11 09:00")
        #expect(history.status.state == .closed)
        #expect(history.status.resolved == true && history.status.satisfaction == "满意")
        try history.take(.archive, by: history.coordinator, at: "2026-03-12 09:00")
        #expect(history.status.state == .archived)
        #expect(history.events.count == 7 && history.status.disregarded.isEmpty)
    }

    @Test func eachRefusalIsATypedReason() throws {
        var history = History()
        #expect(throws: WorkflowRefusal.notAllowed(.assign, state: .draft)) {
            try history.plan(.assign(lead: history.market, co: []), by: history.coordinator, at: "2026-03-02 09:00")
        }
        try history.take(.submit, by: history.cadre, at: "2026-03-02 09:00")
        #expect(throws: WorkflowRefusal.notForRole(.assign, role: .cadre, state: .pendingIntake)) {
            try history.plan(.assign(lead: history.market, co: []), by: history.cadre, at: "2026-03-02 09:30")
        }
        #expect(throws: WorkflowRefusal.needsComment(.reject)) {
            try history.plan(.reject, by: history.coordinator, at: "2026-03-02 09:30", comment: "  ")
        }
        try history.take(.assign(lead: history.market, co: []), by: history.coordinator, at: "2026-03-02 10:00")
        #expect(throws: WorkflowRefusal.notLead(.sign)) {
            try history.plan(.sign(contacted: nil), by: history.taxClerk, at: "2026-03-02 11:00")
        }
        try history.take(.sign(contacted: nil), by: history.marketClerk, at: "2026-03-02 11:00")
        #expect(throws: WorkflowRefusal.replyNeedsOutcome) {
            try history.plan(
                .reply(reply: "答复", outcome: nil, contacted: nil),
                by: history.marketClerk,
                at: "2026-03-03 09:00"
            )
        }
        #expect(throws: WorkflowRefusal.badMilestone("明年再说")) {
            try history.plan(
                .longTerm(milestones: "2026-06-30 完成审批;明年再说"),
                by: history.coordinator,
                at: "2026-03-03 09:00",
                comment: "周期长"
            )
        }
        #expect(throws: WorkflowRefusal.extensionNeedsDate) {
            try history.plan(.extend(.asked), by: history.coordinator, at: "2026-03-03 09:00", comment: "需要时间")
        }
        let deadline = try #require(history.status.deadline)
        #expect(throws: WorkflowRefusal.extensionNotAfter(deadline, deadline: deadline)) {
            try history.plan(.extend(.until(deadline)), by: history.coordinator, at: "2026-03-03 09:00", comment: "需要")
        }
        let start = try #require(history.status.handlingStart)
        let cap = History.calendar.addingWorkdays(30, to: start).day
        let past = History.calendar.addingWorkdays(31, to: start).day
        #expect(throws: WorkflowRefusal.extensionBeyondCap(past, start: start, cap: cap, workdays: 30)) {
            try history.plan(.extend(.until(past)), by: history.coordinator, at: "2026-03-03 09:00", comment: "需要")
        }
        // A department asks on the day of the deadline: too late.
        #expect(throws: WorkflowRefusal.extensionTooLate(deadline: deadline, noticeWorkdays: 1)) {
            try history.plan(
                .extend(.workdays(5)),
                by: history.marketClerk,
                at: "\(deadline) 09:00",
                comment: "需要"
            )
        }
        // Asked in time, then approved by the coordinator as asked.
        try history.take(.extend(.workdays(5)), by: history.marketClerk, at: "2026-03-03 09:00", comment: "需要")
        let asked = try #require(history.status.pendingExtension)
        #expect(history.status.deadline == deadline, "a department's extension waits for approval")
        let approval = try history.plan(.extend(.asked), by: history.coordinator, at: "2026-03-03 10:00", comment: "同意")
        #expect(approval.data.until == asked.description)
        try history.take(
            .return(suggest: history.tax),
            by: history.marketClerk,
            at: "2026-03-04 09:00",
            comment: "不属于本单位"
        )
        try history.take(.reassign(lead: history.market, co: []), by: history.coordinator, at: "2026-03-04 10:00")
        try history.take(.sign(contacted: nil), by: history.marketClerk, at: "2026-03-04 11:00")
        #expect(throws: WorkflowRefusal.mayNotReturnAgain) {
            try history.plan(
                .return(suggest: history.tax),
                by: history.marketClerk,
                at: "2026-03-05 09:00",
                comment: "再退"
            )
        }
    }

    @Test func aConflictIsSettledByKeepingOneBranch() throws {
        var history = History()
        try history.take(.submit, by: history.cadre, at: "2026-03-02 09:00")
        let tip = try history.take(
            .assign(lead: history.market, co: []),
            by: history.coordinator,
            at: "2026-03-02 10:00"
        )
        // Two devices of the lead act on the same tip while apart: a sign and a return.
        let signed = try history.take(
            .sign(contacted: nil),
            by: history.marketClerk,
            at: "2026-03-02 11:00",
            parent: tip
        )
        let returned = try history.take(
            .return(suggest: history.tax),
            by: history.marketClerk,
            at: "2026-03-02 11:05",
            comment: "不属于本单位",
            parent: tip
        )
        #expect(history.status.conflicts == [[signed, returned]])
        #expect(throws: WorkflowRefusal.conflict(branches: [signed, returned])) {
            try history.plan(
                .reply(reply: "答复", outcome: "已解决", contacted: nil),
                by: history.marketClerk,
                at: "2026-03-03 09:00"
            )
        }
        #expect(throws: WorkflowRefusal.settleNotCoordinator(.cadre)) {
            try history.plan(.settle(keep: returned), by: history.cadre, at: "2026-03-03 09:00", comment: "以退回为准")
        }
        #expect(throws: WorkflowRefusal.notABranch(tip, branches: [signed, returned])) {
            try history.plan(.settle(keep: tip), by: history.coordinator, at: "2026-03-03 09:00", comment: "以退回为准")
        }
        #expect(throws: WorkflowRefusal.needsComment(.settle)) {
            try history.plan(.settle(keep: returned), by: history.coordinator, at: "2026-03-03 09:00")
        }
        let settle = try history.plan(
            .settle(keep: returned),
            by: history.coordinator,
            at: "2026-03-03 09:00",
            comment: "以退回为准"
        )
        #expect(settle.parent == returned && settle.to == .returnRequested)
        #expect(settle.data.keep == returned.lowercased && settle.data.overrule == signed.lowercased)
        try history.take(.settle(keep: returned), by: history.coordinator, at: "2026-03-03 09:00", comment: "以退回为准")
        #expect(history.status.state == .returnRequested && !history.status.hasConflict)
        #expect(throws: WorkflowRefusal.noConflictToSettle) {
            try history.plan(.settle(keep: returned), by: history.coordinator, at: "2026-03-03 10:00", comment: "再裁定")
        }
    }

    /// The steps offered to each role are exactly those `plan` would take (the screens offer these).
    @Test func theOfferedStepsAreTheOnesPlanTakes() throws {
        var history = History()
        func offered(_ key: String) -> [DemandAction] {
            Workflow.actions(
                status: history.status,
                role: history.actors.role(of: key)!,
                department: history.actors.department(of: key)
            )
        }
        #expect(offered(history.cadre) == [.submit] && offered(history.coordinator) == [.submit])
        #expect(offered(history.marketClerk).isEmpty)
        try history.take(.submit, by: history.cadre, at: "2026-03-02 09:00")
        #expect(offered(history.coordinator) == [.reject, .assign, .reply] && offered(history.cadre).isEmpty)
        let tip = try history.take(
            .assign(lead: history.market, co: []),
            by: history.coordinator,
            at: "2026-03-02 10:00"
        )
        #expect(offered(history.marketClerk) == [.sign, .return] && offered(history.taxClerk).isEmpty)
        try history.take(.sign(contacted: nil), by: history.marketClerk, at: "2026-03-02 11:00", parent: tip)
        try history.take(
            .return(suggest: history.tax),
            by: history.marketClerk,
            at: "2026-03-02 11:05",
            comment: "不属于",
            parent: tip
        )
        #expect(offered(history.coordinator) == [.settle] && offered(history.marketClerk).isEmpty)
    }

    /// The data is JSON from `JSONEncoder` with sorted keys and no absent values: the reports' fast
    /// reader (`FlatJSON`) and a standard decoder read it back the same, whatever the text holds.
    @Test func eventDataIsStandardJSONThatTheFastReaderReads() throws {
        var data = EventData()
        data.lead = "5f0e…/a"
        data.reply = "已解决 \"用地\"\n第二行\\ 路径/文件"
        data.outcome = "已解决"
        #expect(data.json.hasPrefix("{\"lead\":"), "keys sorted: \(data.json)")
        #expect(!data.json.contains("null"), "absent values are left out")
        #expect(FlatJSON.parse(data.json) == ["lead": data.lead!, "reply": data.reply!, "outcome": "已解决"])
        #expect(try JSONDecoder().decode(EventData.self, from: Data(data.json.utf8)) == data)
        #expect(EventData().json == "{}")
    }
}
