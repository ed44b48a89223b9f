import FieldLedger
import Foundation
import ZIPFoundation

/// Reads the first sheet of an .xlsx workbook as rows of text, for a registry file saved from
/// Excel or WPS: shared strings, inline strings and numbers (an integer without ".0"), each cell
/// placed by its reference so empty cells stay empty. A number in a column whose header holds 日期
/// is an Excel date serial and is read as YYYY-MM-DD. The XML is scanned by this file alone (no
/// XML library: the product links no C library beyond SQLite and libsodium).
public enum XLSXReader {
    public static func rows(_ bytes: [UInt8]) throws -> [[String]] {
        let archive: Archive
        do {
            archive = try Archive(data: Data(bytes), accessMode: .read)
        } catch {
            throw ExportError("the file is not an .xlsx workbook (it is not a ZIP archive)")
        }
        func part(_ path: String) throws -> [UInt8]? {
            guard let entry = archive[path] else { return nil }
            // A registry is megabytes; a part that unpacks to more is not one (a ZIP bomb).
            guard entry.uncompressedSize <= 256 << 20 else {
                throw ExportError("the workbook's \(path) unpacks to more than 256 MB")
            }
            var data = Data()
            _ = try archive.extract(entry, skipCRC32: false) { data.append($0) }
            return [UInt8](data)
        }
        guard let sheet = try part(try firstSheetPath(part)) else {
            throw ExportError("the workbook has no worksheet")
        }
        let shared = try part("xl/sharedStrings.xml").map { sharedStrings($0[...]) } ?? []
        var rows: [[String]] = []
        var numeric: [[Bool]] = []
        for row in elements("row", in: sheet[...]) {
            var cells: [String] = []
            var numbers: [Bool] = []
            for cell in elements("c", in: row.body) {
                let column = cell.attributes["r"].map(columnIndex) ?? cells.count
                guard column < 16_384 else { continue }
                while cells.count < column {
                    cells.append("")
                    numbers.append(false)
                }
                let value = elements("v", in: cell.body).first.map { unescape($0.text) }
                var text = ""
                var isNumber = false
                switch cell.attributes["t"] {
                case "s":
                    text = value.flatMap(Int.init).flatMap { shared.indices.contains($0) ? shared[$0] : nil } ?? ""
                case "inlineStr": text = elements("t", in: cell.body).map { unescape($0.text) }.joined()
                case "str", "b", "e": text = value ?? ""
                default:
                    text = value.map(number) ?? ""
                    isNumber = value != nil
                }
                if column < cells.count {
                    cells[column] = text
                    numbers[column] = isNumber
                } else {
                    cells.append(text)
                    numbers.append(isNumber)
                }
            }
            rows.append(cells)
            numeric.append(numbers)
        }
        // Dates: the columns whose header names a 日期.
        if let header = rows.first {
            for (column, name) in header.enumerated() where name.contains("日期") {
                for index in rows.indices.dropFirst() where column < rows[index].count && numeric[index][column] {
                    if let serial = Double(rows[index][column]) { rows[index][column] = date(serial) }
                }
            }
        }
        // Trailing empty rows (a sheet's formatting often reaches further than its data).
        while let last = rows.last, last.allSatisfy(\.isEmpty) { rows.removeLast() }
        return rows
    }

    /// The path of the workbook's first sheet, through its relationships (sheet1.xml if they are missing).
    static func firstSheetPath(_ part: (String) throws -> [UInt8]?) throws -> String {
        guard let workbook = try part("xl/workbook.xml"), let sheet = elements("sheet", in: workbook[...]).first,
            let id = sheet.attributes["r:id"], let relations = try part("xl/_rels/workbook.xml.rels"),
            let target = elements("Relationship", in: relations[...]).first(where: { $0.attributes["Id"] == id })?
                .attributes["Target"]
        else { return "xl/worksheets/sheet1.xml" }
        return target.hasPrefix("/") ? String(target.dropFirst()) : "xl/" + target
    }

    static func sharedStrings(_ xml: ArraySlice<UInt8>) -> [String] {
        elements("si", in: xml).map { item in
            // A rich string's runs each hold a <t>; phonetic hints (<rPh>) are not the text.
            var body = item.body
            while let start = find(Array("<rPh".utf8), in: body, from: body.startIndex),
                let end = find(Array("</rPh>".utf8), in: body, from: start)
            {
                body = ArraySlice(body[body.startIndex..<start] + body[(end + 6)...])
            }
            return elements("t", in: body).map { unescape($0.text) }.joined()
        }
    }

    /// "AB12" → 27 (the column's index from 0).
    static func columnIndex(_ reference: String) -> Int {
        var index = 0
        for scalar in reference.unicodeScalars {
            guard scalar.value >= 65 && scalar.value <= 90 else { break }
            index = index * 26 + Int(scalar.value - 64)
        }
        return max(index - 1, 0)
    }

    /// A number as a person typed it: 13805390001, not 1.3805390001E10 nor 13805390001.0.
    static func number(_ text: String) -> String {
        guard let value = Double(text) else { return text }
        if value.rounded() == value && abs(value) < 1e15 { return String(Int64(value)) }
        return text
    }

    /// An Excel date serial (days since 1899-12-30) as YYYY-MM-DD.
    static func date(_ serial: Double) -> String {
        Day(year: 1899, month: 12, day: 30).map { $0.adding(days: Int(serial.rounded(.down))).description } ?? ""
    }

    struct Element {
        var attributes: [String: String]
        var body: ArraySlice<UInt8>
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Where `needle` begins in `haystack` at or after `from`.
    static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>, from: Int) -> Int? {
        guard let first = needle.first, haystack.endIndex - needle.count >= from else { return nil }
        var index = from
        let last = haystack.endIndex - needle.count
        while index <= last {
            if haystack[index] == first && haystack[index..<(index + needle.count)].elementsEqual(needle) {
                return index
            }
            index += 1
        }
        return nil
    }

    /// The elements named `name` in `xml` (not nested in one another), with their attributes and
    /// what is between their tags (nothing for an empty element). The bytes are scanned once.
    static func elements(_ name: String, in xml: ArraySlice<UInt8>) -> [Element] {
        var out: [Element] = []
        let open = Array(("<" + name).utf8)
        let close = Array(("</" + name + ">").utf8)
        var position = xml.startIndex
        while let start = find(open, in: xml, from: position) {
            let after = start + open.count
            guard after < xml.endIndex else { break }
            let next = xml[after]
            guard
                next == UInt8(ascii: " ") || next == UInt8(ascii: ">") || next == UInt8(ascii: "/") || next == 10
                    || next == 9 || next == 13,
                let end = xml[after...].firstIndex(of: UInt8(ascii: ">"))
            else {
                position = after
                continue
            }
            let tag = xml[after..<end]
            let attributes = Self.attributes(String(decoding: tag, as: UTF8.self))
            if tag.last == UInt8(ascii: "/") {
                out.append(Element(attributes: attributes, body: []))
                position = end + 1
                continue
            }
            guard let bodyEnd = find(close, in: xml, from: end + 1) else { break }
            out.append(Element(attributes: attributes, body: xml[(end + 1)..<bodyEnd]))
            position = bodyEnd + close.count
        }
        return out
    }

    static func attributes(_ tag: String) -> [String: String] {
        var out: [String: String] = [:]
        var rest = tag[...]
        while let equals = rest.firstIndex(of: "=") {
            let key = rest[..<equals].split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).last.map(
                String.init
            )
            let afterEquals = rest[rest.index(after: equals)...]
            guard let quote = afterEquals.first, quote == "\"" || quote == "'" else { break }
            let valueStart = afterEquals.index(after: afterEquals.startIndex)
            guard let valueEnd = afterEquals[valueStart...].firstIndex(of: quote) else { break }
            if let key { out[key] = unescape(String(afterEquals[valueStart..<valueEnd])) }
            rest = afterEquals[afterEquals.index(after: valueEnd)...]
        }
        return out
    }

    /// XML's entities and character references.
    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = text[...]
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semicolon = rest[amp...].firstIndex(of: ";"), rest.distance(from: amp, to: semicolon) <= 10 else {
                out += "&"
                rest = rest[rest.index(after: amp)...]
                continue
            }
            let entity = rest[rest.index(after: amp)..<semicolon]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let scalar: UInt32? =
                    entity.hasPrefix("#x")
                    ? UInt32(entity.dropFirst(2), radix: 16)
                    : entity.hasPrefix("#") ? UInt32(entity.dropFirst()) : nil
                if let scalar, let character = Unicode.Scalar(scalar) {
                    out.unicodeScalars.append(character)
                } else {
                    out += "&" + entity + ";"
                }
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return out + rest
    }
}
