import FieldLedger
import Foundation

/// The file formats a report is written in.
public enum ExportFormat: String, Sendable, CaseIterable {
    case csv, xlsx, json

    /// The format a file name asks for.
    public init?(path: String) {
        self.init(rawValue: URL(fileURLWithPath: path).pathExtension.lowercased())
    }
}

/// CSV as Excel opens it with Chinese text: UTF-8 with a byte-order mark, CRLF line ends, fields
/// quoted when they hold a comma, quote or line break (RFC 4180), text that begins like a formula
/// neutralised (`cellText`). Several tables (a monthly report)
/// follow one another, each under a line with its name, separated by an empty line.
public enum CSVWriter {
    public static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    public static func write(_ tables: [ReportTable]) -> [UInt8] {
        var lines: [String] = []
        for (index, table) in tables.enumerated() {
            if tables.count > 1 {
                if index > 0 { lines.append("") }
                lines.append(field(table.name))
            }
            lines.append(table.headers.map(field).joined(separator: ","))
            for row in table.rows { lines.append(row.map { field(cellText($0)) }.joined(separator: ",")) }
        }
        return byteOrderMark + Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// The characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
    static let formulaTriggers: Set<Character> = ["=", "+", "-", "@", "\t", "\r"]

    /// A cell's text, neutralised when it is text that begins like a formula: a cadre's 诉求内容,
    /// a department's comment or a registry name could otherwise open as a live formula (a
    /// HYPERLINK sending another cell away, a DDE command). A single quote in front makes Excel and
    /// LibreOffice show it as text, as OWASP recommends. Numbers, dates and rates are ours, never
    /// neutralised; the workbook needs none of this (its strings are inline, never formulas).
    static func cellText(_ cell: ReportCell) -> String {
        guard case .text(let text) = cell, let first = text.first, formulaTriggers.contains(first) else {
            return cell.text
        }
        return "'" + text
    }

    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// JSON: an object with the report's name and, per table, its rows as objects keyed by the
/// Chinese headers, numbers as numbers, dates as "YYYY-MM-DD", rates as fractions (or null).
public enum JSONWriter {
    public static func write(_ tables: [ReportTable], title: String, generatedAt: String) throws -> [UInt8] {
        var sections: [[String: Any]] = []
        for table in tables {
            let rows: [[String: Any]] = table.rows.map { row in
                var object: [String: Any] = [:]
                for (header, cell) in zip(table.headers, row) {
                    switch cell {
                    case .number(let value): object[header] = value.rounded() == value ? Int64(value) as Any : value
                    case .percent(let value): object[header] = value.map { $0 as Any } ?? NSNull()
                    case .empty: object[header] = NSNull()
                    default: object[header] = cell.text
                    }
                }
                return object
            }
            sections.append(["name": table.name, "columns": table.headers, "rows": rows])
        }
        let document: [String: Any] = ["report": title, "generatedAt": generatedAt, "tables": sections]
        return Array(
            try JSONSerialization.data(
                withJSONObject: document,
                options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            )
        ) + [0x0A]
    }
}
