import FieldCore
import FieldLedger
import Foundation
import ZIPFoundation

/// A real Office Open XML workbook (.xlsx): one sheet per table, the header row bold on grey,
/// frozen and carrying a filter (the drop-downs a supervisor sorts and filters by), column widths
/// set, numbers as numbers, dates and times as spreadsheet dates with a date format, rates as
/// percentages. Strings are written inline (no shared-string table), which
/// Excel, LibreOffice and openpyxl all read. Characters XML 1.0 cannot carry (control characters
/// other than tab and line breaks) are replaced by U+FFFD; the CSV export keeps them exactly.
public enum XLSXWriter {
    /// Style indexes of `styles.xml`.
    enum Style: Int {
        case plain = 0
        case header
        case date
        case dateTime
        case percent
        case wrapped
    }

    public static func write(_ tables: [ReportTable], title: String) throws -> [UInt8] {
        precondition(!tables.isEmpty, "a workbook has at least one sheet")
        var files: [(String, String)] = [
            ("[Content_Types].xml", contentTypes(sheets: tables.count)),
            ("_rels/.rels", rootRelationships),
            ("docProps/core.xml", core(title: title)),
            (
                "xl/workbook.xml",
                workbook(
                    names: uniqueSheetNames(tables.map(\.name)),
                    filters: tables.map { filterRange($0, absolute: true) }
                )
            ),
            ("xl/_rels/workbook.xml.rels", workbookRelationships(sheets: tables.count)),
            ("xl/styles.xml", styles),
        ]
        for (index, table) in tables.enumerated() {
            files.append(("xl/worksheets/sheet\(index + 1).xml", sheet(table)))
        }
        let archive = try Archive(accessMode: .create)
        // A fixed date keeps the bytes of the same report identical from run to run.
        let date = Date(timeIntervalSince1970: 315_532_800)
        for (path, text) in files {
            let data = Data(text.utf8)
            try archive.addEntry(
                with: path,
                type: .file,
                uncompressedSize: Int64(data.count),
                modificationDate: date,
                compressionMethod: .deflate
            ) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        guard let data = archive.data else { throw ExportError("the workbook could not be assembled in memory") }
        return [UInt8](data)
    }

    // MARK: Parts

    static func contentTypes(sheets: Int) -> String {
        var xml = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"
        xml += #"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#
        xml += #"<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>"#
        xml += #"<Default Extension="xml" ContentType="application/xml"/>"#
        xml +=
            #"<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#
        xml +=
            #"<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>"#
        xml +=
            #"<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>"#
        for index in 1...sheets {
            xml +=
                #"<Override PartName="/xl/worksheets/sheet\#(index).xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
        }
        return xml + "</Types>"
    }

    static let rootRelationships = #"""
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>
        """#

    static func core(title: String) -> String {
        #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"
            + #"<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">"#
            + "<dc:title>\(escape(title))</dc:title><dc:creator>fieldlog</dc:creator></cp:coreProperties>"
    }

    /// The range a sheet's filter covers: the header row and every data row (nil without headers),
    /// as `A1:F9`, or `$A$1:$F$9` for a defined name.
    static func filterRange(_ table: ReportTable, absolute: Bool = false) -> String? {
        guard !table.headers.isEmpty else { return nil }
        let mark = absolute ? "$" : ""
        return "\(mark)A\(mark)1:\(mark)\(column(table.headers.count - 1))\(mark)\(table.rows.count + 1)"
    }

    /// The sheets, and for each filtered one the hidden `_xlnm._FilterDatabase` name Excel keeps
    /// beside an `autoFilter` (ECMA-376 Part 1, 18.2.6 and 18.3.1.2); `filters` are absolute ranges.
    static func workbook(names: [String], filters: [String?]) -> String {
        var xml = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"
        xml +=
            #"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>"#
        for (index, name) in names.enumerated() {
            xml += #"<sheet name="\#(escape(name))" sheetId="\#(index + 1)" r:id="rId\#(index + 1)"/>"#
        }
        xml += "</sheets>"
        let named = zip(names, filters).enumerated().compactMap { index, pair in pair.1.map { (index, pair.0, $0) } }
        if !named.isEmpty {
            xml += "<definedNames>"
            for (index, name, range) in named {
                let quoted = "'" + name.replacingOccurrences(of: "'", with: "''") + "'"
                xml +=
                    #"<definedName name="_xlnm._FilterDatabase" localSheetId="\#(index)" hidden="1">\#(escape(quoted))!\#(range)</definedName>"#
            }
            xml += "</definedNames>"
        }
        return xml + "</workbook>"
    }

    static func workbookRelationships(sheets: Int) -> String {
        var xml = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"
        xml += #"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
        for index in 1...sheets {
            xml +=
                #"<Relationship Id="rId\#(index)" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet\#(index).xml"/>"#
        }
        xml +=
            #"<Relationship Id="rId\#(sheets + 1)" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>"#
        return xml + "</Relationships>"
    }

    /// Fonts: 0 normal, 1 bold. Fills: 0 none, 1 gray125 (both required), 2 light grey. Cell
    /// formats follow `Style`: 164 is "yyyy-mm-dd", 165 "yyyy-mm-dd hh:mm", 166 "0.0%".
    static let styles = #"""
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/><numFmt numFmtId="166" formatCode="0.0%"/></numFmts><fonts count="2"><font><sz val="11"/><name val="等线"/></font><font><b/><sz val="11"/><name val="等线"/></font></fonts><fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill><fill><patternFill patternType="solid"><fgColor rgb="FFD9D9D9"/><bgColor indexed="64"/></patternFill></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1"><alignment horizontal="center" vertical="center" wrapText="1"/></xf><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>
        """#

    static func sheet(_ table: ReportTable) -> String {
        var xml = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"
        xml += #"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#
        let lastColumn = column(max(table.headers.count, 1) - 1)
        xml += #"<dimension ref="A1:\#(lastColumn)\#(table.rows.count + 1)"/>"#
        xml +=
            #"<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>"#
        xml += #"<sheetFormatPr defaultRowHeight="15"/><cols>"#
        for (index, width) in table.widths.prefix(table.headers.count).enumerated() {
            xml += #"<col min="\#(index + 1)" max="\#(index + 1)" width="\#(width)" customWidth="1"/>"#
        }
        xml += "</cols><sheetData>"
        xml +=
            #"<row r="1">"#
            + table.headers.enumerated().map { cell(.text($0.element), column: $0.offset, row: 1, style: .header) }
            .joined() + "</row>"
        for (offset, row) in table.rows.enumerated() {
            let number = offset + 2
            xml += #"<row r="\#(number)">"#
            for (index, value) in row.enumerated() {
                let long = if case .text(let text) = value { text.count > 40 || text.contains("\n") } else { false }
                xml += cell(value, column: index, row: number, style: long ? .wrapped : .plain)
            }
            xml += "</row>"
        }
        xml += "</sheetData>"
        if let range = filterRange(table) { xml += #"<autoFilter ref="\#(range)"/>"# }
        return xml + "</worksheet>"
    }

    static func cell(_ value: ReportCell, column index: Int, row: Int, style: Style) -> String {
        let reference = column(index) + String(row)
        switch value {
        case .empty, .percent(nil):
            return style == .plain ? "" : #"<c r="\#(reference)" s="\#(style.rawValue)"/>"#
        case .text(let text):
            return
                #"<c r="\#(reference)" t="inlineStr" s="\#(style.rawValue)"><is><t xml:space="preserve">\#(escape(fitted(text)))</t></is></c>"#
        case .number(let number):
            return
                #"<c r="\#(reference)"><v>\#(number.rounded() == number ? String(Int64(number)) : String(number))</v></c>"#
        case .date(let day):
            return #"<c r="\#(reference)" s="\#(Style.date.rawValue)"><v>\#(day.ordinal + serialOf1970)</v></c>"#
        case .dateTime(let day, let minute):
            let serial = Double(day.ordinal + serialOf1970) + Double(minute) / 1440
            return #"<c r="\#(reference)" s="\#(Style.dateTime.rawValue)"><v>\#(serial)</v></c>"#
        case .percent(let fraction?):
            return #"<c r="\#(reference)" s="\#(Style.percent.rawValue)"><v>\#(fraction)</v></c>"#
        }
    }

    /// The most characters (UTF-16 code units) Excel holds in a cell; a workbook with a longer
    /// cell opens only after Excel "repairs" it.
    static let maxCellLength = 32_767
    /// What ends a text cut to fit: says so, and where the whole text is.
    static let truncationNote = "…〔超过 Excel 单元格 32767 字符上限，已截断；全文见同一导出的 CSV 或 JSON 文件〕"

    /// A text cut, if it must be, to `maxCellLength` with `truncationNote` at its end (never inside
    /// a character).
    static func fitted(_ text: String) -> String {
        guard text.utf16.count > maxCellLength else { return text }
        let budget = maxCellLength - truncationNote.utf16.count
        var kept = ""
        var length = 0
        for character in text {
            let size = character.utf16.count
            guard length + size <= budget else { break }
            kept.append(character)
            length += size
        }
        return kept + truncationNote
    }

    /// The spreadsheet serial number of 1970-01-01 (days since 1899-12-30).
    static let serialOf1970 = 25_569

    /// A, B, …, Z, AA, AB, …
    static func column(_ index: Int) -> String {
        var index = index
        var name = ""
        repeat {
            name = String(UnicodeScalar(UInt8(65 + index % 26))) + name
            index = index / 26 - 1
        } while index >= 0
        return name
    }

    /// Sheet names: at most 31 characters, none of []:*?/\, and unique.
    static func uniqueSheetNames(_ names: [String]) -> [String] {
        var seen: Set<String> = []
        return names.map { name in
            var clean = String(name.map { "[]:*?/\\".contains($0) ? "_" : $0 }.prefix(31))
            if clean.isEmpty { clean = "Sheet" }
            var candidate = clean
            var counter = 2
            while seen.contains(candidate) {
                candidate = String(clean.prefix(28)) + "(\(counter))"
                counter += 1
            }
            seen.insert(candidate)
            return candidate
        }
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            // A carriage return as a reference: a raw one is read back as a line feed (XML 1.0 §2.11).
            case "\r": out += "&#13;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                let value = scalar.value
                let allowed = value >= 0x20 && !(0xFFFE...0xFFFF).contains(value)
                out.unicodeScalars.append(allowed ? scalar : "\u{FFFD}")
            }
        }
        return out
    }
}

/// An export that could not be made or verified.
public struct ExportError: Error, Sendable, CustomStringConvertible {
    /// What a failed verification found, for a screen to word it.
    public enum Kind: Sendable {
        case altered, forged, unknownSigner, notASignature, other
    }

    public let message: String
    public let kind: Kind

    public init(_ message: String, kind: Kind = .other) {
        self.message = message
        self.kind = kind
    }

    public var description: String { message }
}

extension ExportError: FieldlogError {
    public var codeName: String { "export" }
}
