import FieldStore
import Foundation

/// The registry's life after the first import: corrections, renames, retirement, and re-imports of
/// a master file as updates. Every change is a registry commit by the root, so it replicates and
/// its history stays (`fieldlog history ID`); nothing is ever deleted (docs/ledger.md).
extension Ledger {
    /// A kind of registry row a person corrects.
    public enum RegistryKind: String, CaseIterable, Sendable {
        case department, cadre, enterprise

        /// From `department`, `departments`, 单位, `cadre`, 干部, `enterprise`, 企业, ….
        public init?(text: String) {
            switch text.lowercased() {
            case "department", "departments", "单位": self = .department
            case "cadre", "cadres", "干部": self = .cadre
            case "enterprise", "enterprises", "企业": self = .enterprise
            default: return nil
            }
        }

        var table: String { rawValue + "s" }
        var lookup: Lookup {
            switch self {
            case .department: .departments
            case .cadre: .cadres
            case .enterprise: .enterprises
            }
        }
        var chinese: String {
            switch self {
            case .department: "单位"
            case .cadre: "干部"
            case .enterprise: "企业"
            }
        }

        /// The fields a person sets: column, then the Chinese label (also accepted as the name).
        public var fields: [(column: String, label: String)] {
            switch self {
            case .department: [("name", "单位名称"), ("kind", "类型"), ("head", "负责人"), ("liaison", "联络员"), ("phone", "电话")]
            case .cadre: [("name", "姓名"), ("title", "职务"), ("department_id", "单位"), ("rank", "职级"), ("mobile", "手机")]
            case .enterprise:
                [
                    ("name", "企业名称"), ("short_name", "简称"), ("uscc", "统一社会信用代码"), ("uscc_missing_reason", "未登记原因"),
                    ("township", "所属镇街/园区"), ("industry", "行业"), ("size", "规模"), ("is_key", "重点企业"),
                    ("contact_name", "联系人"), ("contact_phone", "联系电话"),
                ]
            }
        }

        /// The column a field name or label names.
        public func column(_ text: String) -> String? {
            let wanted = text.trimmingCharacters(in: .whitespaces)
            if wanted == "department" { return self == .cadre ? "department_id" : nil }
            return fields.first { $0.column == wanted || $0.label == wanted }?.column
        }

        func label(_ column: String) -> String { fields.first { $0.column == column }?.label ?? column }
    }

    /// One field a correction changes, as a person reads it.
    public struct FieldChange: Sendable, Codable, Equatable {
        public var field: String
        public var label: String
        public var old: String?
        public var new: String?
    }

    /// Corrects fields of one department, cadre or enterprise (named as anywhere: name, 简称,
    /// USCC, id), in one registry commit. A name another live row already has is refused unless
    /// `allowDuplicateName` (two such rows can only be told apart by USCC or id afterwards). An
    /// empty value clears the field (a required one cannot be cleared).
    /// - Returns: what changed (nothing when every value is already so).
    @discardableResult
    public func updateRegistry(
        _ kind: RegistryKind,
        _ name: String,
        set fields: [String: String?],
        allowDuplicateName: Bool = false
    ) throws -> [FieldChange] {
        try requireRoot("correct the registry")
        let id = try find(kind.lookup, name)
        let (changes, values) = try plannedChanges(kind, id: id, fields, allowDuplicateName: allowDuplicateName)
        if !values.isEmpty { try writeRegistry { $0.update(kind.table, row: id, values) } }
        return changes
    }

    /// Retires a department, cadre or enterprise on `date` (default today): it stays, with its
    /// history and the records that name it, but takes nothing new. `date` nil with `reinstate`
    /// brings it back into service.
    public func retire(_ kind: RegistryKind, _ name: String, on date: String? = nil, reinstate: Bool = false) throws {
        try requireRoot("retire registry rows")
        let id = try find(kind.lookup, name)
        let day = try reinstate ? nil : Vocabulary.checkDate(date ?? today(), field: "retirement date")
        try writeRegistry { $0.set(kind.table, row: id, "retired_on", .optionalText(day)) }
    }

    /// The day a row was retired, or nil while it is in service.
    func retiredOn(_ kind: RegistryKind, _ id: UUID) throws -> String? { try text(kind.table, id, "retired_on") }

    /// Refuses new work for a retired row: "enterprise 甲 was retired on 2026-05-01".
    func requireInService(_ kind: RegistryKind, _ id: UUID, for purpose: String) throws {
        guard let day = try retiredOn(kind, id) else { return }
        let name = try text(kind.table, id, "name") ?? id.lowercased
        throw LedgerError(
            .notPermitted,
            "\(kind.chinese) \(name) was retired on \(day) and takes no \(purpose); the operator can bring it back (\(field: .reinstate))"
        )
    }

    /// Refuses a cadre device's new visit or demand at an enterprise its cadre is not linked to,
    /// naming both (the policy would refuse it too, naming a key fingerprint and a UUID).
    func requireLinked(_ enterprise: UUID) throws {
        guard try enrolledRole() == .cadre, let cadre = try deviceCadre() else { return }
        let active =
            try read { try $0.isActiveLinkage(RegistryIDs.linkage(cadre: cadre, enterprise: enterprise)) }
        guard !active else { return }
        let cadreName = try text("cadres", cadre, "name") ?? cadre.lowercased
        let enterpriseName = try text("enterprises", enterprise, "name") ?? enterprise.lowercased
        throw LedgerError(
            .notPermitted,
            "\(cadreName) is not linked to \(enterpriseName) in the registry this device holds; ask the operator to link them (`fieldlog registry link`), then sync"
        )
    }

    /// The cells `fields` would change on row `id`, checked, and the values to write.
    func plannedChanges(
        _ kind: RegistryKind,
        id: UUID?,
        _ fields: [String: String?],
        allowDuplicateName: Bool
    ) throws -> (changes: [FieldChange], values: [String: Value]) {
        let current = try id.map { try currentFields(kind, $0) } ?? [:]
        var changes: [FieldChange] = []
        var values: [String: Value] = [:]
        for (field, raw) in fields.sorted(by: { $0.key < $1.key }) {
            guard let column = kind.column(field) else {
                let known = kind.fields.map { "\($0.column) (\($0.label))" }.joined(separator: ", ")
                throw LedgerError(.invalidField, "\(kind.chinese) has no field \(field); it has \(known)")
            }
            let text = raw?.trimmingCharacters(in: .whitespaces).nilIfEmpty
            let (value, shown) = try checkedValue(kind, column, text, id: id, allowDuplicateName: allowDuplicateName)
            guard current[column] ?? nil != shown else { continue }
            changes.append(
                FieldChange(field: column, label: kind.label(column), old: current[column] ?? nil, new: shown)
            )
            values[column] = value
        }
        return (changes, values)
    }

    /// A field's value checked by the rules of the first import, and how a person reads it.
    private func checkedValue(
        _ kind: RegistryKind,
        _ column: String,
        _ text: String?,
        id: UUID?,
        allowDuplicateName: Bool
    ) throws -> (Value, String?) {
        switch column {
        case "name":
            guard let text else { throw LedgerError(.missingField, "a \(kind.chinese)'s name cannot be empty") }
            if !allowDuplicateName, let other = try liveRow(kind.table, "name", text, except: id) {
                throw LedgerError(
                    .duplicateName,
                    "another \(kind.chinese) is already named \(text) (id \(other.lowercased.prefix(8))); give another name, or insist (\(field: .allowDuplicateName))"
                )
            }
            return (.text(text), text)
        case "uscc":
            guard let text else { return (.null, nil) }
            let code = try USCC.validate(text)
            if let other = try liveRow("enterprises", "uscc", code, except: id) {
                let owner = try self.text("enterprises", other, "name") ?? other.lowercased
                throw LedgerError(.duplicateUSCC, "统一社会信用代码 \(code) is already \(owner)'s")
            }
            return (.text(code), code)
        case "department_id":
            guard let text else { throw LedgerError(.missingField, "a cadre's 单位 cannot be empty") }
            let department = try self.department(named: text)
            try requireInService(.department, department, for: "new cadre")
            return (.id(department), try self.text("departments", department, "name"))
        case "is_key":
            guard let text else { return (.integer(0), "否") }
            switch text.lowercased() {
            case "是", "1", "yes", "true", "y": return (.integer(1), "是")
            case "否", "0", "no", "false", "n": return (.integer(0), "否")
            default: throw LedgerError(.invalidField, "重点企业 is 是 or 否, not \(text)")
            }
        default:
            return (.optionalText(text), text)
        }
    }

    /// The live row of `table` (other than `except`) whose `column` is `value`, if any.
    private func liveRow(_ table: String, _ column: String, _ value: String, except: UUID?) throws -> UUID? {
        try read { try $0.liveRows(table, where: column, is: value) }.first { $0 != except }
    }

    /// A stored value as plain text: a number as written, a blob as its size; nil for null.
    static func plainText(_ value: Value) -> String? {
        switch value {
        case .null: nil
        case .integer(let number): "\(number)"
        case .real(let number): "\(number)"
        case .text(let text): text
        case .blob(let bytes): "\(Data(bytes))"
        }
    }

    /// A row's fields as a person reads them (the department by name, 重点企业 as 是 or 否).
    func currentFields(_ kind: RegistryKind, _ id: UUID) throws -> [String: String?] {
        guard let row = try read({ try $0.cells(kind.table, id) }) else {
            throw LedgerError(.notFound, "no \(kind.chinese) has the id \(id.lowercased)")
        }
        var fields: [String: String?] = [:]
        for (column, _) in kind.fields {
            switch column {
            case "department_id":
                fields[column] = try row[column].flatMap { value -> UUID? in
                    guard case .blob(let bytes) = value, bytes.count == 16 else { return nil }
                    return UUID(bytes16: bytes)
                }.map { try text("departments", $0, "name") ?? $0.lowercased }
            case "is_key": fields[column] = row[column] == .integer(1) ? "是" : "否"
            default: fields[column] = row[column].flatMap(Self.plainText)
            }
        }
        return fields
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
