import FieldStore
import Foundation

/// One cell of a report: typed, so that a spreadsheet gets numbers as numbers and dates as dates.
public enum ReportCell: Sendable, Equatable {
    case text(String)
    case number(Double)
    case date(Day)
    /// A county-local time, to the minute.
    case dateTime(Day, minute: Int)
    /// A rate in [0, 1]; nil when nothing was counted (shown as "—").
    case percent(Double?)
    case empty

    /// The text a CSV or JSON file carries: dates as YYYY-MM-DD, times as "YYYY-MM-DD HH:MM".
    public var text: String {
        switch self {
        case .text(let text): text
        case .number(let value):
            value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.2f", value)
        case .date(let day): day.description
        case .dateTime(let day, let minute): day.description + String(format: " %02d:%02d", minute / 60, minute % 60)
        case .percent(let value): value.map { String(format: "%.1f%%", $0 * 100) } ?? "—"
        case .empty: ""
        }
    }
}

/// A table of a report: one CSV file, or one sheet of a workbook.
public struct ReportTable: Sendable, Equatable {
    public var name: String
    public var headers: [String]
    /// Column widths in characters (a workbook's column widths).
    public var widths: [Int]
    public var rows: [[ReportCell]]

    public init(name: String, headers: [String], widths: [Int]? = nil, rows: [[ReportCell]] = []) {
        self.name = name
        self.headers = headers
        self.widths = widths ?? headers.map { max(8, $0.count * 2 + 2) }
        self.rows = rows
    }
}

/// What the 工作台账 shows: which demands.
public struct LedgerFilter: Sendable, Equatable {
    /// Only demands before 已办结 (and not 不予受理).
    public var unresolvedOnly = false
    /// Lead or co-department, by name.
    public var department: String?
    /// The linked lead cadre (包联领导) or the registering cadre, by name.
    public var cadre: String?
    public var township: String?
    public var category: String?
    public var overdueOnly = false
    /// Registered in this period.
    public var period: Period?

    public init() {}
}

/// A demand with everything the reports need: its record, its enterprise, and its derived status.
/// A class: the reports group and filter the same facts many ways, and share rather than copy them.
final class DemandFacts {
    var id: UUID
    var number: String
    var registered: Day?
    var channel, enterprise, uscc, township, type, category, title, content, remarks: String?
    var registeringCadre: String?
    var leadCadre: String?
    var contactName, contactPhone: String?
    var status: DemandStatus

    init(
        id: UUID,
        number: String,
        registered: Day?,
        channel: String?,
        enterprise: String?,
        uscc: String?,
        township: String?,
        type: String?,
        category: String?,
        title: String?,
        content: String?,
        remarks: String?,
        registeringCadre: String?,
        leadCadre: String?,
        contactName: String?,
        contactPhone: String?,
        status: DemandStatus
    ) {
        self.id = id
        self.number = number
        self.registered = registered
        self.channel = channel
        self.enterprise = enterprise
        self.uscc = uscc
        self.township = township
        self.type = type
        self.category = category
        self.title = title
        self.content = content
        self.remarks = remarks
        self.registeringCadre = registeringCadre
        self.leadCadre = leadCadre
        self.contactName = contactName
        self.contactPhone = contactPhone
        self.status = status
    }
}

extension Ledger {
    func demandFacts(profile: DeadlineProfile) throws -> [DemandFacts] {
        let statuses = try allStatuses(profile: profile)
        let shown = try shownDemands(among: statuses)
        return try read { try $0.demandFacts(statuses: statuses, shown: shown, profile: profile) }
    }

    /// Whether this device's role may see personal data (enterprise contacts) in exports.
    public func maySeePersonalData() throws -> Bool {
        guard let role = try enrolledRole() else { return false }
        return [.coordinator, .supervisor, .operator].contains(role)
    }

    // MARK: 工作台账

    public static let ledgerHeaders = [
        "序号", "诉求编号", "登记日期", "来源渠道", "包联领导", "企业名称", "统一社会信用代码", "所属镇街/园区", "诉求类型", "诉求类别", "诉求内容",
        "牵头单位", "配合单位", "交办日期", "签收时间", "首次联系时间", "办结时限", "延期至", "最新进展", "当前状态", "是否超期", "超期工作日",
        "黄/红牌", "督办级别", "退回次数", "重办次数", "办理结果", "答复内容", "办结日期", "回访日期", "企业是否认为已解决", "企业满意度", "备注",
        "企业联系人", "联系电话",
    ]

    /// The spreadsheet width of each of `ledgerHeaders`.
    public static let ledgerWidths = [
        6, 20, 12, 12, 10, 28, 22, 14, 10, 10, 40, 18, 18, 12, 17, 17, 12, 12, 30, 10, 8, 10, 8, 10, 8, 8, 24,
        40, 12, 12, 10, 10, 20, 10, 14,
    ]

    /// The work ledger (工作台账) on `today`: one row per demand this replica holds, filtered.
    public func workLedger(
        _ filter: LedgerFilter = LedgerFilter(),
        today: Day,
        profile: DeadlineProfile = .shandong2115,
        showPersonalData: Bool? = nil
    ) throws -> ReportTable {
        let department = try filter.department.map { try self.department(named: $0) }
        let builder = try ledgerRowBuilder(today: today, profile: profile, showPersonalData: showPersonalData)
        var table = ReportTable(
            name: "工作台账",
            headers: Self.ledgerHeaders,
            widths: Self.ledgerWidths
        )
        for facts in try demandFacts(profile: profile) {
            let status = facts.status
            let overlay = builder.overlay(facts)
            if filter.unresolvedOnly && !status.state.isUnresolved { continue }
            if let department, status.lead != department && !status.coDepartments.contains(department) { continue }
            if let cadre = filter.cadre, facts.leadCadre != cadre && facts.registeringCadre != cadre { continue }
            if let township = filter.township, facts.township != township { continue }
            if let category = filter.category, facts.category != category { continue }
            if filter.overdueOnly && !overlay.isOverdue { continue }
            if let period = filter.period, !(facts.registered.map(period.contains) ?? false) { continue }
            table.rows.append(builder.row(facts, index: table.rows.count + 1, overlay: overlay))
        }
        return table
    }

    // MARK: Rates

    /// The rates over every demand this replica holds (不予受理 left out), for `period`, judged on
    /// `today` (the county's today by default; deadlines not reached yet are not counted).
    public func rates(for period: Period, today: Day? = nil, profile: DeadlineProfile = .shandong2115) throws -> Rates {
        let calendar = try calendar()
        let today = today ?? localToday(profile: profile)
        var rates = Rates()
        for facts in try demandFacts(profile: profile) where facts.status.state != .notAccepted {
            rates.add(facts.status, in: period, today: today, calendar: calendar, profile: profile)
        }
        return rates
    }

    /// How the rates are broken down.
    public enum RateGrouping: String, Sendable, CaseIterable {
        case department, cadre, category, township
    }

    /// The rates per department (the lead of each assignment, and the current lead for the
    /// per-demand rates), per registering cadre, per category or per township.
    public func rates(
        for period: Period,
        by grouping: RateGrouping,
        today: Day? = nil,
        profile: DeadlineProfile = .shandong2115
    ) throws -> [String: Rates] {
        let calendar = try calendar()
        let today = today ?? localToday(profile: profile)
        var groups: [String: Rates] = [:]
        let facts = try demandFacts(profile: profile).filter { $0.status.state != .notAccepted }
        switch grouping {
        case .department:
            let leads = Set(facts.flatMap { $0.status.assignments.map(\.lead) })
            for lead in leads {
                var rates = Rates()
                for demand in facts {
                    rates.add(
                        demand.status,
                        in: period,
                        today: today,
                        calendar: calendar,
                        profile: profile,
                        onlyLead: lead
                    )
                }
                groups[try departmentName(lead)] = rates
            }
        case .cadre, .category, .township:
            for demand in facts {
                let key: String? =
                    switch grouping {
                    case .cadre: demand.registeringCadre
                    case .category: demand.category
                    default: demand.township
                    }
                groups[key ?? "（未填）", default: Rates()].add(
                    demand.status,
                    in: period,
                    today: today,
                    calendar: calendar,
                    profile: profile
                )
            }
        }
        return groups
    }
}
