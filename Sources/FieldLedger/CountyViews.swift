import FieldStore
import Foundation

/// What the hub's 总览 shows of the whole county on one day: the demands by state, the overdue,
/// the cards and the supervision levels, and the rates of a month against the month before, for
/// the county and by department, township and category. Read in one pass over the demands.
public struct CountyOverview: Sendable {
    /// Demands by state, every state present (0 where none).
    public var byState: [(state: DemandState, count: Int)] = []
    public var total = 0
    public var unresolved = 0
    public var overdue = 0
    public var yellowCards = 0
    public var redCards = 0
    /// Demands at each supervision level (催办, 督办, 挂牌督办).
    public var escalations: [(level: Overlay.Escalation, count: Int)] = []
    public var dragOn = 0
    public var buckPassing = 0
    public var workflowConflicts = 0
    public var month: Period
    public var previous: Period
    public var rates = Rates()
    public var previousRates = Rates()
    /// Per grouping, each group's rates this month and the month before, by name.
    public var groups: [(grouping: Ledger.RateGrouping, rates: [(name: String, now: Rates, then: Rates)])] = []

    init(month: Period) {
        self.month = month
        previous = month.previousMonth
    }
}

/// How a page of the ledger is sorted (the column a supervisor clicks).
public enum LedgerSort: String, Sendable, CaseIterable {
    case number, registered, due, state, township, enterprise, category

    /// The 工作台账 column it sorts by.
    public var header: String {
        switch self {
        case .number: "诉求编号"
        case .registered: "登记日期"
        case .due: "办结时限"
        case .state: "当前状态"
        case .township: "所属镇街/园区"
        case .enterprise: "企业名称"
        case .category: "诉求类别"
        }
    }
}

/// A page of the 工作台账: its rows in the ledger's columns, and the figures of everything the
/// filter matches.
public struct LedgerPage: Sendable {
    public var total: Int
    public var overdue: Int
    public var rows: [[ReportCell]]
}

extension Ledger {
    /// The county overview (总览) on `today`, with the rates of `month` against the month before.
    public func countyOverview(
        month: Period,
        today: Day? = nil,
        profile: DeadlineProfile = .shandong2115
    ) throws
        -> CountyOverview
    {
        let calendar = try calendar()
        let today = today ?? localToday(profile: profile)
        var overview = CountyOverview(month: month)
        var states: [DemandState: Int] = [:]
        var escalations: [Overlay.Escalation: Int] = [:]
        // Each group's rates, this month and the month before, updated in place (a copy per demand
        // would copy each group's list of handling times).
        var departments: [String: (now: Rates, then: Rates)] = [:]
        var townships: [String: (now: Rates, then: Rates)] = [:]
        var categories: [String: (now: Rates, then: Rates)] = [:]
        var leadNames: [UUID: String] = [:]
        let names = try departmentNames()
        let previous = overview.previous
        func add(_ rates: inout (now: Rates, then: Rates), _ status: DemandStatus, lead: UUID? = nil) {
            rates.now.add(status, in: month, today: today, calendar: calendar, profile: profile, onlyLead: lead)
            rates.then.add(status, in: previous, today: today, calendar: calendar, profile: profile, onlyLead: lead)
        }
        for facts in try demandFacts(profile: profile) {
            let status = facts.status
            let overlay = status.overlay(on: today, calendar: calendar, profile: profile)
            overview.total += 1
            states[status.state, default: 0] += 1
            if status.state.isUnresolved { overview.unresolved += 1 }
            if overlay.isOverdue { overview.overdue += 1 }
            switch overlay.card {
            case .yellow: overview.yellowCards += 1
            case .red: overview.redCards += 1
            case .none: break
            }
            if overlay.escalation != .none { escalations[overlay.escalation, default: 0] += 1 }
            if !overlay.dragOn.isEmpty { overview.dragOn += 1 }
            if !overlay.buckPassing.isEmpty { overview.buckPassing += 1 }
            if status.hasConflict { overview.workflowConflicts += 1 }
            guard status.state != .notAccepted else { continue }
            overview.rates.add(status, in: month, today: today, calendar: calendar, profile: profile)
            overview.previousRates.add(status, in: previous, today: today, calendar: calendar, profile: profile)
            // A demand counts for a department whose assignments it has (as `rates(for:by:)`).
            for lead in Set(status.assignments.map(\.lead)) {
                let name = leadNames[lead] ?? names[lead] ?? lead.lowercased
                leadNames[lead] = name
                add(&departments[name, default: (Rates(), Rates())], status, lead: lead)
            }
            add(&townships[facts.township ?? "（未填）", default: (Rates(), Rates())], status)
            add(&categories[facts.category ?? "（未填）", default: (Rates(), Rates())], status)
        }
        let groups: [Ledger.RateGrouping: [String: (now: Rates, then: Rates)]] = [
            .department: departments, .township: townships, .category: categories,
        ]
        overview.byState = DemandState.allCases.map { ($0, states[$0] ?? 0) }
        overview.escalations = [Overlay.Escalation.urge, .supervise, .listed].map { ($0, escalations[$0] ?? 0) }
        overview.groups = [Ledger.RateGrouping.department, .township, .category].map { grouping in
            (
                grouping,
                (groups[grouping] ?? [:]).sorted { $0.key < $1.key }.map {
                    (name: $0.key, now: $0.value.now, then: $0.value.then)
                }
            )
        }
        return overview
    }

    /// One page of the 工作台账 of `query`, sorted as it asks: filtered, counted and paged in SQL,
    /// and only the page's rows built (序号 counting from `offset + 1`).
    public func ledgerPage(
        _ query: DemandQuery,
        offset: Int,
        size: Int,
        today: Day? = nil,
        profile: DeadlineProfile = .shandong2115,
        showPersonalData: Bool? = nil
    ) throws -> LedgerPage {
        let day = today ?? localToday(profile: profile)
        guard statusCacheIsComplete(profile: profile) else {
            throw LedgerError(.notPermitted, "the status cache of this replica cannot be completed (it is read-only)")
        }
        let (total, rows, overdue, _) = try read { store in
            try store.demandPage(
                query,
                department: nil,
                today: day,
                utcOffsetMinutes: profile.utcOffsetMinutes,
                limit: size,
                offset: offset
            )
        }
        let ids = rows.compactMap { UUID(uuidString: $0.id) }
        return LedgerPage(
            total: total,
            overdue: overdue,
            rows: try workLedgerRows(
                ids,
                firstIndex: offset + 1,
                today: day,
                profile: profile,
                showPersonalData: showPersonalData
            )
        )
    }

    /// Every demand `query` matches, in its order (what an export of the filtered view writes).
    public func ledgerIDs(
        _ query: DemandQuery,
        today: Day? = nil,
        profile: DeadlineProfile = .shandong2115
    ) throws
        -> [UUID]
    {
        let day = today ?? localToday(profile: profile)
        guard statusCacheIsComplete(profile: profile) else {
            throw LedgerError(.notPermitted, "the status cache of this replica cannot be completed (it is read-only)")
        }
        return try read { store in
            try store.demandIDs(query, today: day, utcOffsetMinutes: profile.utcOffsetMinutes)
        }
    }

    /// The 工作台账 rows of `ids`, in that order, numbered from `firstIndex`: the same cells as
    /// `workLedger` writes for each.
    public func workLedgerRows(
        _ ids: [UUID],
        firstIndex: Int,
        today: Day,
        profile: DeadlineProfile = .shandong2115,
        showPersonalData: Bool? = nil
    ) throws -> [[ReportCell]] {
        guard !ids.isEmpty else { return [] }
        let builder = try ledgerRowBuilder(today: today, profile: profile, showPersonalData: showPersonalData)
        let statuses = try read { try $0.cachedStatuses(of: ids) }
        let facts = try read { try $0.demandFacts(statuses: statuses, shown: Set(ids), profile: profile, only: ids) }
        var byID: [UUID: DemandFacts] = [:]
        for fact in facts { byID[fact.id] = fact }
        return ids.enumerated().compactMap { index, id in
            byID[id].map { builder.row($0, index: firstIndex + index) }
        }
    }
}

extension Ledger {
    /// The builder of 工作台账 rows on `today` (personal data shown as the role may see it, unless
    /// the caller says).
    func ledgerRowBuilder(today: Day, profile: DeadlineProfile, showPersonalData: Bool?) throws -> LedgerRowBuilder {
        LedgerRowBuilder(
            calendar: try calendar(),
            today: today,
            profile: profile,
            names: try departmentNames(),
            personal: try showPersonalData ?? maySeePersonalData()
        )
    }
}

/// Builds a row of the 工作台账 from a demand's facts (shared by `workLedger` and the pages).
struct LedgerRowBuilder {
    let calendar: WorkCalendar
    let today: Day
    let profile: DeadlineProfile
    let names: [UUID: String]
    let personal: Bool

    func name(_ id: UUID) -> String { names[id] ?? id.lowercased }
    func time(_ milliseconds: Int64?) -> ReportCell {
        guard let milliseconds else { return .empty }
        return .dateTime(profile.localDay(milliseconds), minute: profile.localMinute(milliseconds))
    }
    func day(_ milliseconds: Int64?) -> ReportCell { milliseconds.map { .date(profile.localDay($0)) } ?? .empty }
    func text(_ value: String?) -> ReportCell { value.map { $0.isEmpty ? .empty : .text($0) } ?? .empty }

    func overlay(_ facts: DemandFacts) -> Overlay {
        facts.status.overlay(on: today, calendar: calendar, profile: profile)
    }

    func row(_ facts: DemandFacts, index: Int, overlay given: Overlay? = nil) -> [ReportCell] {
        let status = facts.status
        let overlay = given ?? overlay(facts)
        var remarks = facts.remarks ?? ""
        if status.hasConflict { remarks += (remarks.isEmpty ? "" : "；") + "流转冲突待协调裁定" }
        if status.deadlineIsProvisional { remarks += (remarks.isEmpty ? "" : "；") + "时限为暂定（该年度工作日历未载入）" }
        let phone = facts.contactPhone.map { personal ? $0 : Ledger.mask(phone: $0) }
        return [
            .number(Double(index)), .text(facts.number),
            facts.registered.map { .date($0) } ?? .empty, text(facts.channel),
            text(facts.leadCadre), text(facts.enterprise), text(facts.uscc), text(facts.township), text(facts.type),
            text(facts.category),
            text(facts.content), text(status.lead.map(name)),
            text(status.coDepartments.map(name).joined(separator: "、")),
            day(status.assignments.first?.assignedAt), time(status.assignments.last?.signedAt),
            time(status.firstContactAt),
            status.deadline.map { .date($0) } ?? .empty, status.extendedTo.map { .date($0) } ?? .empty,
            text(status.lastProgress),
            .text(status.state.chinese), .text(overlay.isOverdue ? "是" : "否"),
            .number(Double(overlay.overdueWorkdays)),
            text(overlay.card.rawValue), text(overlay.escalation.chinese), .number(Double(status.returns)),
            .number(Double(status.reopenings)),
            text(status.outcome), text(status.reply), day(status.closedAt), day(status.followUps.last?.at),
            text(status.resolved.map { $0 ? "是" : "否" }), text(status.satisfaction), text(remarks),
            text(facts.contactName), text(phone),
        ]
    }
}

extension Ledger {
    /// The names of the live departments, cadres or enterprises of the registry, sorted (a
    /// filter's choices).
    public func registryNames(_ kind: RegistryKind) throws -> [String] {
        let table =
            switch kind {
            case .department: "departments"
            case .cadre: "cadres"
            case .enterprise: "enterprises"
            }
        return try read { try $0.liveNames(in: table) }
    }
}

/// The supervisors' lists: demands that drag on (久拖不决), bounce between departments (推诿扯皮),
/// or are under supervision (督办: 催办, 督办 or 挂牌督办), each with its reasons.
public enum SupervisionList: String, Sendable, CaseIterable {
    case dragOn, buckPassing, escalated

    public var chinese: String {
        switch self {
        case .dragOn: "久拖不决"
        case .buckPassing: "推诿扯皮"
        case .escalated: "督办"
        }
    }
}

extension Ledger {
    /// One of the supervisors' lists on `today`, most overdue first, then by number.
    public func supervisionList(
        _ list: SupervisionList,
        today: Day? = nil,
        profile: DeadlineProfile = .shandong2115
    )
        throws -> ReportTable
    {
        let today = today ?? localToday(profile: profile)
        let builder = try ledgerRowBuilder(today: today, profile: profile, showPersonalData: false)
        var table = ReportTable(
            name: list.chinese,
            headers: [
                "序号", "诉求编号", "企业名称", "牵头单位", "当前状态", "登记日期", "办结时限", "超期工作日", "黄/红牌", "督办级别", "原因",
            ],
            widths: [6, 20, 28, 20, 10, 12, 12, 10, 8, 10, 40]
        )
        var listed: [(DemandFacts, Overlay, [String])] = []
        for facts in try demandFacts(profile: profile) where facts.status.state.isUnresolved {
            let overlay = builder.overlay(facts)
            let reasons: [String] =
                switch list {
                case .dragOn: overlay.dragOn.map(\.chinese)
                case .buckPassing: overlay.buckPassing.map(\.chinese)
                case .escalated:
                    overlay.escalation == .none
                        ? [] : [overlay.escalation.chinese + "（超期 \(overlay.overdueWorkdays) 个工作日）"]
                }
            if !reasons.isEmpty { listed.append((facts, overlay, reasons)) }
        }
        listed.sort { ($1.1.overdueWorkdays, $0.0.number) < ($0.1.overdueWorkdays, $1.0.number) }
        for (facts, overlay, reasons) in listed {
            table.rows.append([
                .number(Double(table.rows.count + 1)), .text(facts.number), builder.text(facts.enterprise),
                builder.text(facts.status.lead.map(builder.name)), .text(facts.status.state.chinese),
                facts.registered.map { .date($0) } ?? .empty, facts.status.deadline.map { .date($0) } ?? .empty,
                .number(Double(overlay.overdueWorkdays)), builder.text(overlay.card.rawValue),
                builder.text(overlay.escalation.chinese), .text(reasons.joined(separator: "；")),
            ])
        }
        return table
    }
}
