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
