import FieldStore
import Foundation

/// A visit to log (走访记录).
public struct VisitInput: Sendable {
    public var enterprise: String
    public var date: String?
    public var participants: String?
    public var mode: String
    public var isServiceDay: Bool
    public var topics: String?
    public var notes: String?
    public var noDemands: Bool
    public var solvedOnSpot: String?
    public var nextVisit: String?

    public init(
        enterprise: String,
        date: String? = nil,
        participants: String? = nil,
        mode: String = "实地",
        isServiceDay: Bool = false,
        topics: String? = nil,
        notes: String? = nil,
        noDemands: Bool = false,
        solvedOnSpot: String? = nil,
        nextVisit: String? = nil
    ) {
        self.enterprise = enterprise
        self.date = date
        self.participants = participants
        self.mode = mode
        self.isServiceDay = isServiceDay
        self.topics = topics
        self.notes = notes
        self.noDemands = noDemands
        self.solvedOnSpot = solvedOnSpot
        self.nextVisit = nextVisit
    }
}

/// A demand to register (诉求).
public struct DemandInput: Sendable {
    public var enterprise: String
    public var title: String
    public var content: String
    public var type: String
    public var category: String
    public var channel: String
    public var expected: String?
    public var urgency: String
    public var visit: UUID?

    public init(
        enterprise: String,
        title: String,
        content: String,
        type: String = "服务求助",
        category: String = "其他",
        channel: String = "服务日走访",
        expected: String? = nil,
        urgency: String = "一般",
        visit: UUID? = nil
    ) {
        self.enterprise = enterprise
        self.title = title
        self.content = content
        self.type = type
        self.category = category
        self.channel = channel
        self.expected = expected
        self.urgency = urgency
        self.visit = visit
    }
}

/// The closed lists of the ledger's fields.
public enum Vocabulary {
    public static let visitModes = ["实地", "电话", "座谈", "视频"]
    public static let demandTypes = ["政策咨询", "服务求助", "意见建议", "投诉"]
    public static let categories = [
        "政策兑现", "融资", "用工", "用地", "审批", "水电气热", "基础设施", "市场开拓", "科技创新", "安全环保", "执法监管", "账款拖欠",
        "法律纠纷", "其他",
    ]
    public static let channels = ["服务日走访", "日常走访", "12345转办", "企业自主提交", "会议", "上级交办"]
    public static let urgencies = ["一般", "紧急", "特急"]
    /// Demand fields a user may edit with `demand edit`.
    public static let editableDemandFields = [
        "title", "content", "type", "category", "subcategory", "expected", "urgency", "channel", "remarks",
    ]

    static func check(
        _ value: String,
        in list: [String],
        field: String,
        as key: LedgerError.Field? = nil
    ) throws(LedgerError) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard list.contains(trimmed) else {
            throw LedgerError(
                .invalidField,
                "\(field) '\(trimmed)' is not one of: \(list.joined(separator: ", "))",
                field: key
            )
        }
        return trimmed
    }

    /// A demand field's value from its text, by the rules `demand add` and `demand edit` apply.
    static func demandValue(_ field: String, _ text: String) throws(LedgerError) -> Value {
        guard editableDemandFields.contains(field) else {
            throw LedgerError(
                .invalidField,
                "\(field) cannot be edited; editable: \(editableDemandFields.joined(separator: ", "))"
            )
        }
        switch field {
        case "type": return .text(try check(text, in: demandTypes, field: "type"))
        case "category": return .text(try check(text, in: categories, field: "category"))
        case "channel": return .text(try check(text, in: channels, field: "channel"))
        case "urgency": return .text(try check(text, in: urgencies, field: "urgency"))
        case "title", "content":
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw LedgerError(.missingField, "\(field) cannot be empty")
            }
            return .text(text)
        default: return .optionalText(text)
        }
    }

    /// A new value for a cell of `table` from its text, by the rules that write that field; a field
    /// no rule covers is refused (keep one of the conflicting values instead).
    static func value(of table: String, _ column: String, _ text: String) throws(LedgerError) -> Value {
        switch (table, column) {
        case ("demands", _): return try demandValue(column, text)
        case ("visits", "mode"): return .text(try check(text, in: visitModes, field: "mode"))
        case ("visits", "visit_date"), ("visits", "next_visit_date"): return .text(try checkDate(text, field: column))
        case ("visits", "topics"), ("visits", "participants"), ("visits", "notes"), ("visits", "solved_on_spot"):
            return .optionalText(text)
        default:
            throw LedgerError(
                .invalidField,
                "a new value for \(table).\(column) cannot be checked here; keep one of the conflicting values (\(field: .pick))"
            )
        }
    }

    /// A calendar date as `YYYY-MM-DD`: a day that exists (2026-02-30 does not), in 2000 to 2100.
    static func checkDate(
        _ value: String,
        field: String,
        as key: LedgerError.Field? = nil
    ) throws(LedgerError) -> String {
        let parts = value.trimmingCharacters(in: .whitespaces).split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, let year = Int(parts[0]), let month = Int(parts[1]),
            let day = Int(parts[2]),
            (2000...2100).contains(year)
        else {
            throw LedgerError(.invalidField, "\(field) '\(value)' is not a date like 2026-03-15", field: key)
        }
        guard let date = Day(year: year, month: month, day: day) else {
            throw LedgerError(
                .invalidField,
                "\(field) '\(value)' is not a day of the calendar (\(year)-\(String(format: "%02d", month)) has no day \(day))",
                field: key
            )
        }
        return date.description
    }
}
