import FieldStore
import Foundation

/// How a person reads a record and its fields: the county's words for tables and columns, and a
/// record named by its number (a demand), its handle (a visit, or any other row), with the name of
/// a registry row beside it.
public enum RecordNames {
    /// The Chinese name of each replicated table.
    public static let tables: [String: String] = [
        "departments": "单位", "cadres": "干部", "devices": "设备", "enterprises": "企业", "linkages": "包联关系",
        "visits": "走访记录", "demands": "诉求", "demand_events": "流转日志", "calendars": "工作日历",
    ]

    /// The Chinese name of the columns people edit, by table (the export headers' words).
    static let columns: [String: [String: String]] = [
        "demands": [
            "title": "标题", "content": "诉求内容", "type": "诉求类型", "category": "诉求类别", "subcategory": "诉求子类",
            "expected": "期望结果", "urgency": "紧急程度", "channel": "来源渠道", "remarks": "备注", "outcome": "办理结果",
            "reply": "答复内容", "satisfaction": "企业满意度", "resolved": "企业是否认为已解决", "state": "当前状态",
            "number": "诉求编号", "enterprise_id": "企业", "visit_id": "走访记录", "cadre_id": "登记干部", "registered_at": "登记时间",
            "lead_department_id": "牵头单位", "co_department_ids": "配合单位",
        ],
        "visits": [
            "visit_date": "走访日期", "participants": "参与人员", "mode": "走访方式", "service_day": "企业服务日", "topics": "交流内容",
            "notes": "经营情况", "no_demands": "无诉求", "solved_on_spot": "现场解决事项", "next_visit_date": "下次走访日期",
            "enterprise_id": "企业", "cadre_id": "走访干部",
        ],
        "enterprises": [
            "name": "企业名称", "short_name": "简称", "uscc": "统一社会信用代码", "township": "所属镇街/园区", "industry": "行业",
            "size": "规模", "is_key": "重点企业", "contact_name": "联系人", "contact_phone": "联系电话", "retired_on": "停用日期",
        ],
        "departments": [
            "name": "单位名称", "kind": "单位类型", "head": "负责人", "liaison": "联络员", "phone": "电话", "retired_on": "停用日期",
        ],
        "cadres": [
            "name": "姓名", "title": "职务", "department_id": "所在单位", "rank": "职级", "mobile": "手机", "retired_on": "停用日期",
        ],
        "linkages": ["role": "包联角色", "start_date": "开始日期", "end_date": "结束日期", "active": "有效"],
    ]

    /// A column as a person reads it: `标题 (title)`, or the column itself when it has no Chinese name.
    public static func column(_ column: String, of table: String) -> String {
        (columns[table]?[column] ?? (column == "deleted" ? "删除标记" : nil)).map { "\($0) (\(column))" } ?? column
    }
}

extension Ledger {
    /// An enterprise's name, if this replica holds it.
    public func enterpriseName(_ id: UUID) throws -> String? { try text("enterprises", id, "name") }

    /// The name a command takes for a row of `table` (`conflicts resolve --row`): a demand's
    /// number, else the row's handle (a visit's as `visit list` prints it).
    public func recordName(table: String, row: UUID) throws -> String {
        try recordNames(of: [(table, row)])[row] ?? row.lowercased
    }

    /// The names of many rows (`recordName`), each table's ids read once however many rows of it
    /// are named: `conflicts` names every conflicting row.
    public func recordNames(of rows: [(table: String, row: UUID)]) throws -> [UUID: String] {
        var names: [UUID: String] = [:]
        for (table, group) in Dictionary(grouping: rows, by: \.table) {
            let wanted = group.map(\.row)
            if table == "demands" {
                for id in wanted {
                    if let number = try text("demands", id, "number"), !number.isEmpty { names[id] = number }
                }
            }
            let unnamed = wanted.filter { names[$0] == nil }
            guard !unnamed.isEmpty else { continue }
            let ids: [UUID] =
                table == "visits"
                ? try visitIDs()
                : RecordNames.tables[table] == nil ? [] : try read { try $0.allIDs(table) }
            let handles = Self.handles(ids + unnamed, minimum: Self.recordHandleLength)
            for id in unnamed { names[id] = handles[id] ?? id.lowercased }
        }
        return names
    }

    /// A row as a person reads it: `诉求 GT-2026-D001-0003`, `走访记录 1a2b3c4d (山东高唐纺织有限公司 2026-11-30)`,
    /// `企业 山东高唐纺织有限公司 (5e6f7a8b)`. `name` is its `recordName` when already known.
    public func recordLabel(table: String, row: UUID, name known: String? = nil) throws -> String {
        let kind = RecordNames.tables[table] ?? table
        let name = try known ?? recordName(table: table, row: row)
        switch table {
        case "demands":
            return "\(kind) \(name)"
        case "visits":
            let about = try read { try $0.visitAbout(row) }
            let detail = [about?.enterprise, about?.date].compactMap { $0 }.joined(
                separator: " "
            )
            return "\(kind) \(name)\(detail.isEmpty ? "" : " (\(detail))")"
        case "departments", "cadres", "enterprises":
            return "\(kind) \(try text(table, row, "name") ?? "?") (\(name))"
        default:
            return "\(kind) \(name)"
        }
    }
}

extension Ledger {
    /// The table a reference column names.
    static let referenceTables: [String: String] = [
        "enterprise_id": "enterprises", "cadre_id": "cadres", "department_id": "departments",
        "lead_department_id": "departments",
        "visit_id": "visits", "demand_id": "demands",
    ]

    /// A value of `history` as a person reads it: a reference by the name, number or handle of the
    /// row it names, a time in the county's local time, a state in Chinese. `--json` keeps the
    /// stored value.
    public func displayValue(_ value: String, column: String, profile: DeadlineProfile) -> String {
        if let table = Self.referenceTables[column], let id = UUID(uuidString: value) {
            switch table {
            case "visits", "demands": return (try? recordName(table: table, row: id)) ?? value
            default: return ((try? text(table, id, "name")) ?? nil) ?? value
            }
        }
        if column.hasSuffix("_at"), let milliseconds = ISOTime.parse(value) {
            return ISOTime.local(milliseconds, profile: profile)
        }
        if column == "state" || column.hasSuffix("_state"), let state = DemandState(rawValue: value) {
            return "\(state.chinese) \(state.rawValue)"
        }
        return value
    }
}

extension Ledger {
    /// A scope as a person reads it: 登记册, or the enterprise's name.
    public func scopeLabel(_ scope: String) -> String {
        if scope == Commit.registryScope { return "登记册" }
        if let enterprise = RegistryIDs.enterprise(of: scope), let name = (try? enterpriseName(enterprise)) ?? nil {
            return "企业 \(name)"
        }
        return scope
    }
}
