import Foundation

/// A small RFC 4180 reader: quoted fields, doubled quotes, CRLF or LF, and a UTF-8 BOM.
public enum CSV {
    /// Parses text into rows of fields.
    /// - Throws: `LedgerError.csvMalformed` for an unterminated quote.
    public static func parse(_ text: String, name: String) throws(LedgerError) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var inQuotes = false
        var line = 1
        var chars = Array(text.unicodeScalars)
        if chars.first == "\u{FEFF}" { chars.removeFirst() }
        var index = 0
        while index < chars.count {
            let char = chars[index]
            if inQuotes {
                if char == "\"" {
                    if index + 1 < chars.count && chars[index + 1] == "\"" {
                        field.unicodeScalars.append("\"")
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if char == "\n" { line += 1 }
                    field.unicodeScalars.append(char)
                }
            } else {
                switch char {
                case "\"" where field.isEmpty: inQuotes = true
                case ",":
                    row.append(field)
                    field = ""
                case "\r": break
                case "\n":
                    row.append(field)
                    rows.append(row)
                    row = []
                    field = ""
                    line += 1
                default: field.unicodeScalars.append(char)
                }
            }
            index += 1
        }
        if inQuotes {
            throw LedgerError(.csvMalformed, "\(name): a quoted field opened before line \(line) is never closed")
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows.filter { !($0.count == 1 && $0[0].trimmingCharacters(in: .whitespaces).isEmpty) }
    }

    /// A CSV file with a header row, read by column names (Chinese or English aliases).
    public struct Table {
        public let name: String
        public let header: [String]
        public let rows: [[String]]

        public init(text: String, name: String) throws(LedgerError) {
            let all = try CSV.parse(text, name: name)
            guard let header = all.first else {
                throw LedgerError(.csvMalformed, "\(name) is empty; it needs a header row")
            }
            self.name = name
            self.header = header.map { $0.trimmingCharacters(in: .whitespaces) }
            self.rows = Array(all.dropFirst())
        }

        /// A table of rows read elsewhere (a workbook's sheet), or some rows of another.
        public init(name: String, header: [String], rows: [[String]]) {
            self.name = name
            self.header = header.map { $0.trimmingCharacters(in: .whitespaces) }
            self.rows = rows
        }

        /// The index of the first header matching one of `aliases`.
        public func column(_ aliases: [String], required: Bool) throws(LedgerError) -> Int? {
            if let index = header.firstIndex(where: { name in
                aliases.contains { $0.caseInsensitiveCompare(name) == .orderedSame }
            }) {
                return index
            }
            if required {
                throw LedgerError(
                    .csvMissingColumn,
                    "\(name) has no column \(aliases.joined(separator: " or ")); its header row is: \(header.joined(separator: ","))"
                )
            }
            return nil
        }
    }
}
