import FieldStore
import Foundation

/// What importing a registry file would do, line by line, before anything is written: each good
/// line's plan (add, update with its changes, unchanged) and each bad line's error. The console's
/// 登记管理 shows it and commits only a file without errors.
public struct RegistryPreview: Sendable {
    public struct Line: Sendable, Equatable {
        public var line: Int
        /// What the line would do; nil for a bad line.
        public var action: Ledger.ImportLine.Action?
        public var name: String
        public var changes: [Ledger.FieldChange]
        /// Why the line cannot be imported, in the county's words.
        public var error: String?
    }

    /// Every line, in the file's order.
    public var lines: [Line]
    public var errors: Int { lines.filter { $0.error != nil }.count }
}

extension Ledger {
    /// The preview of importing `rows` (the header first) as a registry file of `kind`. A file
    /// that cannot be read as a whole (a required column missing) throws; every bad line is found,
    /// not only the first: the plan is made again without each bad line until none is left.
    public func previewRegistry(_ kind: RegistryFile, rows: [[String]], name: String) throws -> RegistryPreview {
        guard let header = rows.first else {
            throw LedgerError(.csvMalformed, "\(name) is empty; it needs a header row")
        }
        let table = CSV.Table(name: name, header: header, rows: Array(rows.dropFirst()))
        var kept = Array(table.rows.indices)
        var errors: [Int: String] = [:]
        while true {
            do {
                let plan = try importRegistry(
                    kind,
                    table: CSV.Table(name: name, header: table.header, rows: kept.map { table.rows[$0] }),
                    lines: kept.map { $0 + 2 },
                    name: name,
                    dryRun: true
                )
                var lines = plan.map {
                    RegistryPreview.Line(
                        line: $0.line,
                        action: $0.action,
                        name: $0.name,
                        changes: $0.changes,
                        error: nil
                    )
                }
                for (line, error) in errors {
                    let row = table.rows[line - 2]
                    lines.append(
                        RegistryPreview.Line(line: line, action: nil, name: row.first ?? "", changes: [], error: error)
                    )
                }
                return RegistryPreview(lines: lines.sorted { $0.line < $1.line })
            } catch let error as LedgerError {
                guard let line = error.line, let index = kept.firstIndex(of: line - 2) else { throw error }
                errors[line] = Self.chinese(error)
                kept.remove(at: index)
            }
        }
    }

    /// The preview of a CSV file (UTF-8, with or without a BOM).
    public func previewRegistry(_ kind: RegistryFile, csv text: String, name: String) throws -> RegistryPreview {
        try previewRegistry(kind, rows: try CSV.parse(text, name: name), name: name)
    }

    /// An import line's error in the county's words, with the detail the importer gave.
    static func chinese(_ error: LedgerError) -> String {
        let what =
            switch error.code {
            case .invalidUSCC: "统一社会信用代码不对"
            case .duplicateUSCC: "统一社会信用代码重复"
            case .duplicateName: "名称重复"
            case .missingField: "必填项为空"
            case .notFound: "登记中没有所指的单位、干部或企业"
            case .ambiguous: "所指的名称不唯一"
            case .leadAlreadyLinked: "该企业已有主包领导"
            default: "这一行不能导入"
            }
        return "\(what)（\(error.lineDetail ?? error.message)）"
    }
}

extension Ledger {
    /// Imports `rows` (the header first) as a registry file of `kind`, as `importRegistry(_:csv:…)`
    /// does a CSV: checked whole first, nothing written if a line is bad.
    public func importRegistry(_ kind: RegistryFile, rows: [[String]], name: String) throws -> [ImportLine] {
        guard let header = rows.first else {
            throw LedgerError(.csvMalformed, "\(name) is empty; it needs a header row")
        }
        let table = CSV.Table(name: name, header: header, rows: Array(rows.dropFirst()))
        return try importRegistry(
            kind,
            table: table,
            lines: table.rows.indices.map { $0 + 2 },
            name: name,
            dryRun: false
        )
    }
}
