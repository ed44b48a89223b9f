import FieldStore
import Foundation

/// Imports the registry from CSV files (UTF-8, optional BOM, Chinese or English headers).
///
/// Each file is checked whole before anything is written: one bad line and nothing of that file
/// is stored. The accepted headers are listed in `docs/operations.md`.
extension Ledger {
    /// The kinds of registry file.
    public enum RegistryFile: String, CaseIterable, Sendable {
        case departments, cadres, enterprises, linkages
    }

    /// Imports one registry CSV. Returns the number of rows imported.
    @discardableResult
    public func importRegistry(_ kind: RegistryFile, csv text: String, name: String) throws -> Int {
        try requireRoot("import the registry")
        let table = try CSV.Table(text: text, name: name)
        func cell(_ row: [String], _ index: Int?) -> String? {
            guard let index, index < row.count else { return nil }
            let value = row[index].trimmingCharacters(in: .whitespacesAndNewlines)
            return value.isEmpty ? nil : value
        }
        func required(_ row: [String], _ index: Int?, line: Int, what: String) throws(LedgerError) -> String {
            guard let value = cell(row, index) else {
                throw LedgerError(.missingField, "\(name) line \(line): \(what) is empty")
            }
            return value
        }
        func lineError(_ line: Int, _ error: any Error) -> LedgerError {
            if let error = error as? LedgerError { return LedgerError(error.code, "\(name) line \(line): \(error.message)") }
            return LedgerError(.invalidField, "\(name) line \(line): \(error)")
        }
        switch kind {
        case .departments:
            let nameColumn = try table.column(["单位名称", "单位", "name"], required: true)
            let kindColumn = try table.column(["类型", "单位类型", "kind"], required: false)
            let head = try table.column(["负责人", "head"], required: false)
            let liaison = try table.column(["联络员", "liaison"], required: false)
            let phone = try table.column(["电话", "联系电话", "phone"], required: false)
            var inputs: [DepartmentInput] = []
            for (index, row) in table.rows.enumerated() {
                let line = index + 2
                inputs.append(DepartmentInput(
                    name: try required(row, nameColumn, line: line, what: "单位名称"), kind: cell(row, kindColumn),
                    head: cell(row, head), liaison: cell(row, liaison), phone: cell(row, phone)
                ))
            }
            try addDepartments(inputs)
            return inputs.count
        case .cadres:
            let nameColumn = try table.column(["姓名", "name"], required: true)
            let department = try table.column(["单位", "所在单位", "department"], required: true)
            let title = try table.column(["职务", "title"], required: false)
            let rank = try table.column(["职级", "rank"], required: false)
            let mobile = try table.column(["手机", "手机号", "联系电话", "mobile"], required: false)
            var inputs: [CadreInput] = []
            for (index, row) in table.rows.enumerated() {
                let line = index + 2
                let input = CadreInput(
                    name: try required(row, nameColumn, line: line, what: "姓名"), title: cell(row, title),
                    department: try required(row, department, line: line, what: "单位"), rank: cell(row, rank), mobile: cell(row, mobile)
                )
                do { _ = try self.department(named: input.department) } catch { throw lineError(line, error) }
                inputs.append(input)
            }
            try addCadres(inputs)
            return inputs.count
        case .enterprises:
            let nameColumn = try table.column(["企业名称", "name"], required: true)
            let uscc = try table.column(["统一社会信用代码", "uscc"], required: true)
            let reason = try table.column(["未登记原因", "uscc_missing_reason"], required: false)
            let township = try table.column(["所属镇街/园区", "所属镇街", "镇街", "township"], required: false)
            let industry = try table.column(["行业", "industry"], required: false)
            let size = try table.column(["规模", "size"], required: false)
            let isKey = try table.column(["重点企业", "is_key"], required: false)
            let contact = try table.column(["联系人", "contact_name"], required: false)
            let phone = try table.column(["联系电话", "contact_phone"], required: false)
            var inputs: [EnterpriseInput] = []
            var seen: [String: Int] = [:]
            for (index, row) in table.rows.enumerated() {
                let line = index + 2
                let input = EnterpriseInput(
                    name: try required(row, nameColumn, line: line, what: "企业名称"), uscc: cell(row, uscc),
                    usccMissingReason: cell(row, reason), township: cell(row, township), industry: cell(row, industry),
                    size: cell(row, size), isKey: ["是", "1", "yes", "true", "Y"].contains(cell(row, isKey) ?? ""),
                    contactName: cell(row, contact), contactPhone: cell(row, phone)
                )
                if let code = input.uscc {
                    do {
                        let normalized = try USCC.validate(code)
                        if let first = seen[normalized] {
                            throw LedgerError(.duplicateUSCC, "统一社会信用代码 \(normalized) appears again (first on line \(first))")
                        }
                        seen[normalized] = line
                    } catch { throw lineError(line, error) }
                } else if input.usccMissingReason == nil {
                    throw LedgerError(.missingField, "\(name) line \(line): 统一社会信用代码 is empty and no 未登记原因 is given")
                }
                inputs.append(input)
            }
            try addEnterprises(inputs)
            return inputs.count
        case .linkages:
            let cadre = try table.column(["包联领导", "干部", "姓名", "cadre"], required: true)
            let enterprise = try table.column(["企业名称", "统一社会信用代码", "enterprise"], required: true)
            let role = try table.column(["包联角色", "角色", "role"], required: false)
            let start = try table.column(["开始日期", "start_date"], required: false)
            var inputs: [LinkInput] = []
            for (index, row) in table.rows.enumerated() {
                let line = index + 2
                let roleText = cell(row, role) ?? "lead"
                guard let linkRole = LinkageRole(text: roleText) else {
                    throw LedgerError(.invalidField, "\(name) line \(line): 包联角色 '\(roleText)' is not 主包 or 协包")
                }
                let input = LinkInput(
                    cadre: try required(row, cadre, line: line, what: "包联领导"),
                    enterprise: try required(row, enterprise, line: line, what: "企业名称"), role: linkRole,
                    start: try cell(row, start).map { value throws(LedgerError) in try Vocabulary.checkDate(value, field: "开始日期") }
                )
                do {
                    _ = try self.cadre(named: input.cadre)
                    _ = try self.enterprise(named: input.enterprise)
                } catch { throw lineError(line, error) }
                inputs.append(input)
            }
            try link(inputs)
            return inputs.count
        }
    }
}
