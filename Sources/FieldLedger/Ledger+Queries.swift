import FieldCrypto
import FieldStore
import Foundation

/// A demand as listed.
public struct DemandSummary: Sendable, Codable, Equatable {
    public var id: String
    public var number: String
    public var enterprise: String
    public var uscc: String?
    public var township: String?
    public var cadre: String?
    public var type: String?
    public var category: String?
    public var title: String
    public var content: String?
    public var state: String?
    public var urgency: String?
    public var registeredAt: String?
    public var channel: String?
    public var expected: String?
    public var remarks: String?
    /// True while the demand has concurrent, contradictory workflow actions to settle.
    public var hasWorkflowConflict = false
}

/// A demand whose workflow forked: concurrent, contradictory actions the coordinator settles.
public struct WorkflowConflict: Sendable, Codable, Equatable {
    public var number: String
    public var demand: String
    /// The first event of each competing branch.
    public var branches: [DemandEvent]
}

/// One entry of a demand's event log.
public struct DemandEvent: Sendable, Codable, Equatable {
    /// The event's id, in full.
    public var id: String
    /// A short handle, unique within the demand (`Ledger.eventHandles`): what `demand show` prints
    /// and `demand settle --keep` takes.
    public var handle: String
    public var at: String
    public var actor: String
    public var role: String?
    public var action: String
    public var from: String?
    public var to: String?
    public var comment: String?
}

/// A visit as listed.
public struct VisitSummary: Sendable, Codable, Equatable {
    public var id: String
    /// A short handle, unique on this replica (`Ledger.visitHandles`): what `visit list` prints and
    /// `demand add --visit` takes.
    public var handle: String
    public var date: String
    public var enterprise: String
    public var cadre: String?
    public var mode: String?
    public var isServiceDay: Bool
    public var topics: String?
}

/// A signed change, with its author's name, for `fieldlog history`.
public struct HistoryLine: Sendable, Codable, Equatable {
    public var time: String
    public var author: String
    public var authorKey: String
    public var commit: String
    public var sequence: UInt64
    public var field: String
    public var value: String
    public var status: String
}

/// Filters for `demands(matching:)`.
public struct DemandFilter: Sendable {
    public var enterprise: String?
    public var category: String?
    public var state: String?
    public var text: String?

    public init(enterprise: String? = nil, category: String? = nil, state: String? = nil, text: String? = nil) {
        self.enterprise = enterprise
        self.category = category
        self.state = state
        self.text = text
    }
}

extension Ledger {
    /// Live demands, newest number last.
    public func demands(matching filter: DemandFilter = DemandFilter()) throws -> [DemandSummary] {
        let enterprise = try filter.enterprise.map { try self.enterprise(named: $0) }
        let statuses = try allStatuses()
        let shown = try shownDemands(among: statuses)
        // The state is derived from the events (the workflow), never read from a stored column.
        let demands = try read {
            try $0.demandSummaries(enterprise: enterprise, category: filter.category, text: filter.text)
        }.filter { summary in
            shown.map { shown in UUID(uuidString: summary.id).map(shown.contains) ?? false } ?? true
        }.map { summary in
            var summary = summary
            let status = UUID(uuidString: summary.id).flatMap { statuses[$0] }
            summary.state = status?.state.rawValue ?? DemandState.draft.rawValue
            summary.hasWorkflowConflict = status?.hasConflict ?? false
            return summary
        }
        guard let state = filter.state else { return demands }
        guard
            let wanted = DemandState(rawValue: state.uppercased())
                ?? DemandState.allCases.first(where: { $0.chinese == state })
        else {
            throw LedgerError(
                .invalidField,
                "state '\(state)' is not one of: \(DemandState.allCases.map { "\($0.rawValue) (\($0.chinese))" }.joined(separator: ", "))"
            )
        }
        return demands.filter { $0.state == wanted.rawValue }
    }

    /// Every demand with a workflow conflict to settle, by number, with the events that begin its
    /// competing branches (and their handles).
    public func workflowConflicts(profile: DeadlineProfile = .shandong2115) throws -> [WorkflowConflict] {
        var out: [WorkflowConflict] = []
        let statuses = try allStatuses(profile: profile)
        let shown = try shownDemands(among: statuses)
        for (id, status) in statuses
        where status.hasConflict && shown.map({ $0.contains(id) }) ?? true {
            let events = try self.events(ofDemand: id.lowercased)
            let forked = Set(status.conflicts.flatMap { $0 }.map(\.lowercased))
            out.append(
                WorkflowConflict(
                    number: try text("demands", id, "number") ?? id.lowercased,
                    demand: id.lowercased,
                    branches: events.filter { forked.contains($0.id) }
                )
            )
        }
        return out.sorted { $0.number < $1.number }
    }

    /// One demand.
    public func demandDetail(_ text: String) throws -> DemandSummary {
        let id = try shownDemand(named: text)
        guard var summary = try read({ try $0.demandSummary(id) }) else {
            throw LedgerError(.notFound, "no demand \(text)")
        }
        summary.state = try status(of: id.lowercased).state.rawValue
        return summary
    }

    /// A demand's event log, in time order.
    public func events(ofDemand text: String) throws -> [DemandEvent] {
        let id = try shownDemand(named: text)
        let log = try read { try $0.eventLog(of: id) }
        let handles = Self.eventHandles(log.map(\.id))
        return log.map { id, event in
            var event = event
            event.handle = handles[id] ?? id.lowercased
            return event
        }
    }

    /// Live visits, by date.
    public func visits(enterprise: String? = nil) throws -> [VisitSummary] {
        let enterprise = try enterprise.map { try self.enterprise(named: $0) }
        let handles = try visitHandles()
        let shownVisits = try shownDemands().map(visitsOf)
        return try read { try $0.visitSummaries(enterprise: enterprise) }.compactMap { id, visit in
            if let shownVisits, !shownVisits.contains(id) { return nil }
            var visit = visit
            visit.handle = handles[id] ?? id.lowercased
            return visit
        }
    }

    /// Every signed change of a record (a demand number, a visit's handle, or any row id), oldest
    /// first, with author names.
    public func history(of text: String) throws -> (table: String, lines: [HistoryLine]) {
        let id: UUID
        let compact = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "-", with: "")
        if let direct = UUID(uuidString: text.trimmingCharacters(in: .whitespaces)) {
            id = direct
        } else if compact.count >= Self.recordHandleLength, compact.count < 32, compact.allSatisfy(\.isHexDigit),
            let visit = try? visit(named: compact)
        {
            id = visit
        } else {
            id = try shownDemand(named: text)
        }
        guard let table = try replica.table(containing: id) else {
            throw LedgerError(.notFound, "no record with id \(text)")
        }
        var names: [PublicKey: String] = [:]
        let entries = try replica.history(table: table, row: id)
        var lines: [HistoryLine] = []
        for entry in entries {
            if names[entry.author] == nil { names[entry.author] = try authorName(entry.author) }
            let status: String
            switch entry.status {
            case .applied: status = "applied"
            case .pending: status = "held: " + (entry.reason ?? "")
            case .excluded: status = "excluded: " + (entry.reason ?? "")
            }
            lines.append(
                HistoryLine(
                    time: entry.timestamp.iso8601,
                    author: names[entry.author]!,
                    authorKey: entry.author.hex,
                    commit: entry.commit.hex,
                    sequence: entry.sequence,
                    field: entry.column,
                    value: Self.display(entry.value),
                    status: status
                )
            )
        }
        return (table, lines)
    }

    /// A value as a person reads it (ids as UUIDs).
    public static func display(_ value: Value) -> String {
        switch value {
        case .blob(let bytes) where bytes.count == 16: UUID(bytes16: bytes).lowercased
        default: value.description
        }
    }

    /// Counts for `fieldlog status`.
    public func counts() throws -> [String: Int] {
        try read {
            try $0.liveCounts([
                "departments", "cadres", "devices", "enterprises", "linkages", "visits", "demands", "demand_events",
            ])
        }
    }
}

extension Ledger {
    /// A registry table as rows of named text fields, for `fieldlog registry list`.
    /// Contact phones are masked unless `showPersonalData` is set.
    public func registryListing(_ kind: String, showPersonalData: Bool = false) throws -> [[String: String]] {
        guard let rows = try read({ try $0.registryRows(kind) }) else {
            throw LedgerError(
                .invalidField,
                "\(kind) is not one of departments, cadres, enterprises, linkages, devices"
            )
        }
        return rows.map { row in
            var out: [String: String] = [:]
            for (column, value) in row {
                var text: String
                if column == "id", case .blob(let bytes) = value, bytes.count == 16 {
                    text = UUID(bytes16: bytes).lowercased
                } else {
                    text = Ledger.display(value)
                }
                if ["contact_phone", "mobile", "phone"].contains(column) && !showPersonalData {
                    text = Ledger.mask(phone: text)
                }
                out[column] = text
            }
            return out
        }
    }

    /// The columns of a registry listing in the order a person reads them, with their Chinese
    /// names (`registry list`; `--json` keeps the English keys).
    public static func registryColumns(_ kind: String) -> [(key: String, label: String)] {
        switch kind {
        case "departments":
            [
                ("name", "单位名称"), ("kind", "类型"), ("head", "负责人"), ("liaison", "联络员"), ("phone", "电话"),
                ("retired_on", "退出日期"),
            ]
        case "cadres":
            [
                ("name", "姓名"), ("title", "职务"), ("department", "单位"), ("rank", "职级"), ("mobile", "手机"),
                ("retired_on", "退出日期"),
            ]
        case "enterprises":
            [
                ("name", "企业名称"), ("short_name", "简称"), ("uscc", "统一社会信用代码"), ("uscc_missing_reason", "未登记原因"),
                ("township", "所属镇街/园区"), ("industry", "行业"), ("size", "规模"), ("is_key", "重点企业"),
                ("contact_name", "联系人"),
                ("contact_phone", "联系电话"), ("retired_on", "退出日期"),
            ]
        case "linkages":
            [
                ("cadre", "包联领导"), ("enterprise", "企业名称"), ("role", "包联角色"), ("start_date", "开始日期"),
                ("end_date", "结束日期"), ("active", "状态"),
            ]
        default:
            [
                ("code", "设备编号"), ("role", "角色"), ("holder", "使用人"), ("enrolled_at", "登记时间"), ("revoked", "状态"),
                ("public_key", "公钥"),
            ]
        }
    }

    /// A listed value as a person reads it: 主包/协包, 有效/已结束, 是/否, roles in Chinese.
    public static func registryDisplay(_ kind: String, _ key: String, _ value: String) -> String {
        switch (kind, key) {
        case ("linkages", "role"): LinkageRole(rawValue: value)?.displayName ?? value
        case ("linkages", "active"): value == "1" ? "有效" : "已结束"
        case ("enterprises", "is_key"): value == "1" ? "是" : "否"
        case ("devices", "revoked"): value == "1" ? "已吊销" : "有效"
        case ("devices", "role"): Role(rawValue: value)?.displayName ?? value
        default: value
        }
    }

    /// Masks a phone number, keeping the first 3 and last 4 digits (138****0001).
    public static func mask(phone: String) -> String {
        let chars = Array(phone)
        guard chars.count > 7 else { return String(repeating: "*", count: chars.count) }
        return String(chars.prefix(3)) + String(repeating: "*", count: chars.count - 7) + String(chars.suffix(4))
    }
}

/// What a page of the demand list asks for (the 查询条件 of 诉求). Every condition is optional.
public struct DemandQuery: Sendable, Equatable {
    public var state: DemandState?
    public var text: String?
    /// The lead department in force.
    public var lead: UUID?
    public var enterprise: UUID?
    public var category: String?
    public var township: String?
    /// Overdue: past its deadline and not replied, or replied late.
    public var overdueOnly = false
    /// Registered on or after this county-local day …
    public var from: Day?
    /// … and on or before this one.
    public var to: Day?
    /// Only these demands (a badge's), or none of these.
    public var only: Set<UUID>?
    public var excluding: Set<UUID>?
    /// Only demands in a state before 已办结 (and not 不予受理).
    public var unresolvedOnly = false
    /// Only demands awaiting a reply by a deadline on or before this day (a card's horizon:
    /// `Ledger.cardHorizon`).
    public var dueBy: Day?
    /// The overdue first, then by the deadline awaited, then by number (工作台); by `sort` otherwise.
    public var mostUrgentFirst = false
    /// The cadre of the demand: the one who registered it, or the active lead cadre (包联领导) of
    /// its enterprise.
    public var cadre: UUID?
    /// The order of the rows (then by number), unless `mostUrgentFirst`.
    public var sort = LedgerSort.number
    public var descending = false

    public init() {}
}

/// One page of demands and how many match in all.
public struct DemandPage: Sendable {
    public var total: Int
    /// The page's demands, by number, each with its status.
    public var rows: [(summary: DemandSummary, status: DemandStatus?)]
    /// Of all that match: how many are overdue, and (with a card horizon) how many carry a card.
    public var overdue = 0
    public var carded = 0

    public init(total: Int, rows: [(summary: DemandSummary, status: DemandStatus?)]) {
        self.total = total
        self.rows = rows
    }
}

extension Ledger {
    /// The last deadline that puts a 黄牌 (or a 红牌) on a demand awaiting a reply today: a card
    /// when no more than the profile's yellow-card working days are left (`Overlay`).
    public func cardHorizon(today: Day, profile: DeadlineProfile = .shandong2115) throws -> Day {
        let calendar = try calendar()
        var day = today
        var workdays = 0
        while true {
            let next = day.adding(days: 1)
            if calendar.isWorkday(next) {
                if workdays == profile.yellowCardWorkdays { return day }
                workdays += 1
            }
            day = next
        }
    }

    /// The townships and parks of the live enterprises, sorted.
    public func townships() throws -> [String] { try read { try $0.townships() } }

    /// One page (`size` demands from `offset`) of the demands this device shows that match
    /// `query`: filtered, counted and paged in SQL over the status cache. Where the cache cannot
    /// be completed (a read-only replica), the same filter runs over every status in memory.
    public func demandPage(
        _ query: DemandQuery,
        offset: Int,
        size: Int,
        today: Day? = nil,
        cardHorizon: Day? = nil,
        profile: DeadlineProfile = .shandong2115
    ) throws -> DemandPage {
        let day = today ?? localToday(profile: profile)
        let department = try ownDepartment()
        if statusCacheIsComplete(profile: profile) {
            let (total, rows, overdue, carded) = try read { store in
                try store.demandPage(
                    query,
                    department: department,
                    today: day,
                    utcOffsetMinutes: profile.utcOffsetMinutes,
                    limit: size,
                    offset: offset,
                    cardHorizon: cardHorizon
                )
            }
            let ids = rows.compactMap { UUID(uuidString: $0.id) }
            let statuses = try read { try $0.cachedStatuses(of: ids) }
            var page = DemandPage(
                total: total,
                rows: rows.map { summary in
                    var summary = summary
                    let status = UUID(uuidString: summary.id).flatMap { statuses[$0] }
                    summary.hasWorkflowConflict = status?.hasConflict ?? false
                    return (summary, status)
                }
            )
            (page.overdue, page.carded) = (overdue, carded)
            return page
        }
        var page = try demandPageInMemory(query, offset: offset, size: size, today: day, profile: profile)
        var overdue = query
        overdue.overdueOnly = true
        page.overdue = try demandPageInMemory(overdue, offset: 0, size: 0, today: day, profile: profile).total
        if let cardHorizon {
            var carded = query
            carded.dueBy = cardHorizon
            page.carded = try demandPageInMemory(carded, offset: 0, size: 0, today: day, profile: profile).total
        }
        return page
    }

    /// `demandPage` over every status in memory.
    func demandPageInMemory(
        _ query: DemandQuery,
        offset: Int,
        size: Int,
        today: Day,
        profile: DeadlineProfile
    ) throws -> DemandPage {
        let statuses = try allStatuses(profile: profile)
        let calendar = try calendar()
        let enterprise = try query.enterprise.map { try enterpriseName($0) } ?? nil
        let all = try demands(matching: DemandFilter(enterprise: enterprise, category: query.category)).filter {
            summary in
            guard let id = UUID(uuidString: summary.id) else { return false }
            let status = statuses[id]
            // A demand with no events yet (none derived) is a draft, as `demands(matching:)` says.
            if let state = query.state, (status?.state ?? .draft) != state { return false }
            if let lead = query.lead, status?.lead != lead { return false }
            if let township = query.township, summary.township != township { return false }
            if let text = query.text,
                !(summary.title.contains(text) || (summary.content ?? "").contains(text)
                    || summary.number.contains(text))
            {
                return false
            }
            if query.overdueOnly,
                !(status?.overlay(on: today, calendar: calendar, profile: profile).isOverdue ?? false)
            {
                return false
            }
            let registered = summary.registeredAt.flatMap(ISOTime.parse).map(profile.localDay)
            if let from = query.from, !(registered.map { $0 >= from } ?? false) { return false }
            if let to = query.to, !(registered.map { $0 <= to } ?? false) { return false }
            if let only = query.only, !only.contains(id) { return false }
            if let excluding = query.excluding, excluding.contains(id) { return false }
            if query.unresolvedOnly, !(status?.state ?? .draft).isUnresolved { return false }
            if let dueBy = query.dueBy {
                guard let status, status.awaitsReply, let deadline = status.deadline, deadline <= dueBy else {
                    return false
                }
            }
            return true
        }
        var ordered = all
        if query.mostUrgentFirst {
            func key(_ summary: DemandSummary) -> (Int, String, String) {
                let status = UUID(uuidString: summary.id).flatMap { statuses[$0] }
                let columns = status.map { StatusCache.filterColumns($0, profile: profile) }
                let late = (columns?.due.map { $0 < today.description } ?? false) || columns?.late == 1
                return (late ? 0 : 1, columns?.due ?? "9999-12-31", summary.number)
            }
            ordered = all.sorted { key($0) < key($1) }
        }
        return DemandPage(
            total: ordered.count,
            rows: ordered.dropFirst(offset).prefix(size).map { summary in
                (summary, UUID(uuidString: summary.id).flatMap { statuses[$0] })
            }
        )
    }
}
