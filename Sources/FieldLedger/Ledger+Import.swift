import FieldCrypto
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

    /// What an import does with one line of the file.
    public struct ImportLine: Sendable, Codable, Equatable {
        public enum Action: String, Sendable, Codable {
            case add, update, unchanged
        }

        public var line: Int
        public var action: Action
        /// The row as a person names it (its name, or cadre → enterprise for a linkage).
        public var name: String
        /// For an update: the fields that change.
        public var changes: [FieldChange]
    }

    /// Imports one registry CSV. Returns the number of rows added or updated.
    @discardableResult
    public func importRegistry(_ kind: RegistryFile, csv text: String, name: String) throws -> Int {
        try importRegistry(kind, csv: text, name: name, dryRun: false).filter { $0.action != .unchanged }.count
    }

    /// Imports one registry CSV as a master file: a line naming a row that exists (an enterprise by
    /// its USCC, else its name; a department or cadre by name; a linkage by its pair) updates it,
    /// field by field, and a new line adds one. The file is checked whole first: one bad line and
    /// nothing is written. A new row that takes a name another already has is refused unless
    /// `allowDuplicateNames`. With `dryRun`, nothing is written and the plan is returned all the same.
    public func importRegistry(
        _ kind: RegistryFile,
        csv text: String,
        name: String,
        dryRun: Bool,
        allowDuplicateNames: Bool = false
    ) throws -> [ImportLine] {
        let table = try CSV.Table(text: text, name: name)
        return try importRegistry(
            kind,
            table: table,
            lines: table.rows.indices.map { $0 + 2 },
            name: name,
            dryRun: dryRun,
            allowDuplicateNames: allowDuplicateNames
        )
    }

    /// `importRegistry` over a table whose rows are the file's lines `lines` (a preview leaves bad
    /// lines out and keeps the others' numbers). An error about one line carries its number.
    func importRegistry(
        _ kind: RegistryFile,
        table: CSV.Table,
        lines: [Int],
        name: String,
        dryRun: Bool,
        allowDuplicateNames: Bool = false
    ) throws -> [ImportLine] {
        try requireRoot("import the registry")
        func cell(_ row: [String], _ index: Int?) -> String? {
            guard let index, index < row.count else { return nil }
            let value = row[index].trimmingCharacters(in: .whitespacesAndNewlines)
            return value.isEmpty ? nil : value
        }
        func required(_ row: [String], _ index: Int?, line: Int, what: String) throws(LedgerError) -> String {
            guard let value = cell(row, index) else {
                throw LedgerError(.missingField, "\(name) line \(line): \(what) is empty").at(line: line)
            }
            return value
        }
        func lineError(_ line: Int, _ error: any Error) -> LedgerError {
            if let error = error as? LedgerError {
                if error.line == line { return error }
                return LedgerError(error.code, "\(name) line \(line): \(error.message)").at(
                    line: line,
                    detail: error.message
                )
            }
            return LedgerError(.invalidField, "\(name) line \(line): \(error)").at(line: line, detail: "\(error)")
        }
        switch kind {
        case .departments:
            let columns = [
                ("name", try table.column(["单位名称", "单位", "name"], required: true)),
                ("kind", try table.column(["类型", "单位类型", "kind"], required: false)),
                ("head", try table.column(["负责人", "head"], required: false)),
                ("liaison", try table.column(["联络员", "liaison"], required: false)),
                ("phone", try table.column(["电话", "联系电话", "phone"], required: false)),
            ]
            let rows = try table.rows.enumerated().map { index, row in
                let line = lines[index]
                _ = try required(row, columns[0].1, line: line, what: "单位名称")
                return (line, fields(columns, row, cell))
            }
            return try applyMasterFile(
                .department,
                rows,
                name: name,
                dryRun: dryRun,
                allowDuplicateNames: allowDuplicateNames,
                lineError: lineError
            )
        case .cadres:
            let columns = [
                ("name", try table.column(["姓名", "name"], required: true)),
                ("department_id", try table.column(["单位", "所在单位", "department"], required: true)),
                ("title", try table.column(["职务", "title"], required: false)),
                ("rank", try table.column(["职级", "rank"], required: false)),
                ("mobile", try table.column(["手机", "手机号", "联系电话", "mobile"], required: false)),
            ]
            let rows = try table.rows.enumerated().map { index, row in
                let line = lines[index]
                _ = try required(row, columns[0].1, line: line, what: "姓名")
                let department = try required(row, columns[1].1, line: line, what: "单位")
                do { _ = try self.department(named: department) } catch { throw lineError(line, error) }
                return (line, fields(columns, row, cell))
            }
            return try applyMasterFile(
                .cadre,
                rows,
                name: name,
                dryRun: dryRun,
                allowDuplicateNames: allowDuplicateNames,
                lineError: lineError
            )
        case .enterprises:
            let columns = [
                ("name", try table.column(["企业名称", "name"], required: true)),
                ("uscc", try table.column(["统一社会信用代码", "uscc"], required: true)),
                ("uscc_missing_reason", try table.column(["未登记原因", "uscc_missing_reason"], required: false)),
                ("short_name", try table.column(["简称", "企业简称", "short_name"], required: false)),
                ("township", try table.column(["所属镇街/园区", "所属镇街", "镇街", "township"], required: false)),
                ("industry", try table.column(["行业", "industry"], required: false)),
                ("size", try table.column(["规模", "size"], required: false)),
                ("is_key", try table.column(["重点企业", "is_key"], required: false)),
                ("contact_name", try table.column(["联系人", "contact_name"], required: false)),
                ("contact_phone", try table.column(["联系电话", "contact_phone"], required: false)),
            ]
            var seen: [String: Int] = [:]
            let rows = try table.rows.enumerated().map { index, row in
                let line = lines[index]
                _ = try required(row, columns[0].1, line: line, what: "企业名称")
                var values = fields(columns, row, cell)
                if let code = values["uscc"] ?? nil {
                    do {
                        let normalized = try USCC.validate(code)
                        if let first = seen[normalized] {
                            throw LedgerError(
                                .duplicateUSCC,
                                "统一社会信用代码 \(normalized) appears again (first on line \(first))"
                            )
                        }
                        seen[normalized] = line
                        values["uscc"] = normalized
                    } catch { throw lineError(line, error) }
                } else if (values["uscc_missing_reason"] ?? nil) == nil {
                    throw LedgerError(
                        .missingField,
                        "\(name) line \(line): 统一社会信用代码 is empty and no 未登记原因 is given"
                    ).at(line: line, detail: "统一社会信用代码 is empty and no 未登记原因 is given")
                }
                return (line, values)
            }
            return try applyMasterFile(
                .enterprise,
                rows,
                name: name,
                dryRun: dryRun,
                allowDuplicateNames: allowDuplicateNames,
                lineError: lineError
            )
        case .linkages:
            let cadre = try table.column(["包联领导", "干部", "姓名", "cadre"], required: true)
            let enterprise = try table.column(["企业名称", "统一社会信用代码", "enterprise"], required: true)
            let role = try table.column(["包联角色", "角色", "role"], required: false)
            let start = try table.column(["开始日期", "start_date"], required: false)
            var inputs: [LinkInput] = []
            var plan: [ImportLine] = []
            let active = Set(
                try read { try $0.activeLinkages() }.map {
                    "\(Hex.encode($0.cadre.bytes16)) \(Hex.encode($0.enterprise.bytes16)) \($0.role)"
                }
            )
            for (index, row) in table.rows.enumerated() {
                let line = lines[index]
                let roleText = cell(row, role) ?? "lead"
                guard let linkRole = LinkageRole(text: roleText) else {
                    throw LedgerError(.invalidField, "\(name) line \(line): 包联角色 '\(roleText)' is not 主包 or 协包").at(
                        line: line,
                        detail: "包联角色 '\(roleText)' is not 主包 or 协包"
                    )
                }
                let input = LinkInput(
                    cadre: try required(row, cadre, line: line, what: "包联领导"),
                    enterprise: try required(row, enterprise, line: line, what: "企业名称"),
                    role: linkRole,
                    start: try cell(row, start).map { value throws(LedgerError) in
                        try Vocabulary.checkDate(value, field: "开始日期")
                    }
                )
                let pair: String
                do {
                    let (cadreID, enterpriseID) = (
                        try self.cadre(named: input.cadre), try self.enterprise(named: input.enterprise)
                    )
                    pair = "\(Hex.encode(cadreID.bytes16)) \(Hex.encode(enterpriseID.bytes16)) \(linkRole.rawValue)"
                } catch { throw lineError(line, error) }
                let label = "\(input.cadre) → \(input.enterprise) (\(linkRole.displayName))"
                if active.contains(pair) {
                    plan.append(ImportLine(line: line, action: .unchanged, name: label, changes: []))
                } else {
                    plan.append(ImportLine(line: line, action: .add, name: label, changes: []))
                    inputs.append(input)
                }
            }
            if !dryRun && !inputs.isEmpty { try link(inputs) }
            return plan
        }
    }

    /// The fields a line gives, by column (a column the file lacks is left out, so it is not touched).
    private func fields(
        _ columns: [(String, Int?)],
        _ row: [String],
        _ cell: ([String], Int?) -> String?
    ) -> [String: String?] {
        var fields: [String: String?] = [:]
        for (column, index) in columns where index != nil { fields[column] = .some(cell(row, index)) }
        return fields
    }

    /// Plans and applies the lines of a master file: each line matched to its row, if it has one,
    /// then added or updated; every line checked before anything is written.
    private func applyMasterFile(
        _ kind: RegistryKind,
        _ rows: [(line: Int, fields: [String: String?])],
        name: String,
        dryRun: Bool,
        allowDuplicateNames: Bool,
        lineError: (Int, any Error) -> LedgerError
    ) throws -> [ImportLine] {
        var plan: [ImportLine] = []
        var updates: [(UUID, [String: Value])] = []
        var added: [(line: Int, fields: [String: String?])] = []
        var newNames: [String: Int] = [:]
        for (line, fields) in rows {
            let label = (fields["name"] ?? nil) ?? "?"
            do {
                if let id = try existingRow(kind, fields) {
                    let (changes, values) = try plannedChanges(
                        kind,
                        id: id,
                        fields,
                        allowDuplicateName: allowDuplicateNames
                    )
                    plan.append(
                        ImportLine(
                            line: line,
                            action: changes.isEmpty ? .unchanged : .update,
                            name: label,
                            changes: changes
                        )
                    )
                    if !values.isEmpty { updates.append((id, values)) }
                } else {
                    if !allowDuplicateNames, let first = newNames[label] {
                        throw LedgerError(
                            .duplicateName,
                            "\(label) is added twice (first on line \(first)); add it once, or insist (\(field: .allowDuplicateNames))"
                        )
                    }
                    newNames[label] = line
                    _ = try plannedChanges(kind, id: nil, fields, allowDuplicateName: allowDuplicateNames)
                    plan.append(ImportLine(line: line, action: .add, name: label, changes: []))
                    added.append((line, fields))
                }
            } catch { throw lineError(line, error) }
        }
        guard !dryRun else { return plan }
        for chunk in updates.chunked(Self.rowsPerRegistryCommit) {
            try writeRegistry { batch in for (id, values) in chunk { batch.update(kind.table, row: id, values) } }
        }
        func field(_ fields: [String: String?], _ column: String) -> String? { fields[column] ?? nil }
        switch kind {
        case .department:
            try addDepartments(
                added.map {
                    DepartmentInput(
                        name: field($0.fields, "name") ?? "",
                        kind: field($0.fields, "kind"),
                        head: field($0.fields, "head"),
                        liaison: field($0.fields, "liaison"),
                        phone: field($0.fields, "phone")
                    )
                },
                allowDuplicateNames: allowDuplicateNames
            )
        case .cadre:
            try addCadres(
                added.map {
                    CadreInput(
                        name: field($0.fields, "name") ?? "",
                        title: field($0.fields, "title"),
                        department: field($0.fields, "department_id") ?? "",
                        rank: field($0.fields, "rank"),
                        mobile: field($0.fields, "mobile")
                    )
                },
                allowDuplicateNames: allowDuplicateNames
            )
        case .enterprise:
            try addEnterprises(
                added.map {
                    EnterpriseInput(
                        name: field($0.fields, "name") ?? "",
                        uscc: field($0.fields, "uscc"),
                        usccMissingReason: field($0.fields, "uscc_missing_reason"),
                        township: field($0.fields, "township"),
                        industry: field($0.fields, "industry"),
                        size: field($0.fields, "size"),
                        isKey: ["是", "1", "yes", "true", "Y"].contains(field($0.fields, "is_key") ?? ""),
                        contactName: field($0.fields, "contact_name"),
                        contactPhone: field($0.fields, "contact_phone"),
                        shortName: field($0.fields, "short_name")
                    )
                },
                allowDuplicateNames: allowDuplicateNames
            )
        }
        return plan
    }

    /// The row a master-file line is about: an enterprise by its USCC (else its name), a department
    /// or a cadre by its name; nil for a new one. Two live rows with that name: ambiguous.
    private func existingRow(_ kind: RegistryKind, _ fields: [String: String?]) throws -> UUID? {
        let (column, value): (String, String?) =
            if kind == .enterprise, let code = fields["uscc"] ?? nil { ("uscc", code) } else {
                ("name", fields["name"] ?? nil)
            }
        guard let value else { return nil }
        let ids = try read { try $0.liveRows(kind.table, where: column, is: value) }
        guard ids.count <= 1 else {
            throw LedgerError(
                .ambiguous,
                "\(ids.count) \(kind.chinese) rows are named \(value); correct them one by one with `fieldlog registry update`"
            )
        }
        return ids.first
    }
}
