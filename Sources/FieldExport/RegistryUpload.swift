import FieldLedger
import Foundation

/// A registry file as an operator uploads it: CSV (UTF-8, with or without a BOM) or an .xlsx
/// workbook, read into rows. A CSV in GBK (what Excel writes for "CSV" on a Chinese Windows) is
/// recognised and refused with the way to save it as UTF-8, rather than read as garbage.
public enum RegistryUpload {
    public struct Refusal: Error, Equatable {
        /// What is wrong and what to do, in the county's words.
        public var chinese: String
    }

    public static func rows(name: String, bytes: [UInt8]) throws(Refusal) -> [[String]] {
        let lower = name.lowercased()
        if lower.hasSuffix(".xlsx") {
            do { return try XLSXReader.rows(bytes) } catch {
                throw Refusal(
                    chinese: "“\(name)”不是可读的 Excel 工作簿（.xlsx）。请在 Excel 或 WPS 中另存为 .xlsx 或“CSV UTF-8（逗号分隔）”后再上传。"
                )
            }
        }
        if lower.hasSuffix(".xls") {
            throw Refusal(chinese: "“\(name)”是旧版 Excel 文件（.xls），无法读取。请另存为 .xlsx 或“CSV UTF-8（逗号分隔）”后再上传。")
        }
        var body = bytes
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body.removeFirst(3) }
        guard let text = String(validating: body, as: UTF8.self) else {
            if looksLikeGBK(body) {
                throw Refusal(
                    chinese:
                        "“\(name)”是 GBK 编码（中文 Windows 上 Excel“另存为 CSV”的默认编码），直接读取会成乱码，未导入。请在 Excel 中“另存为”选择“CSV UTF-8（逗号分隔）”，或在 WPS 中选择 UTF-8 编码后再上传。"
                )
            }
            throw Refusal(chinese: "“\(name)”不是 UTF-8 编码的文本，未导入。请另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后再上传。")
        }
        do { return try CSV.parse(text, name: name) } catch {
            throw Refusal(chinese: "“\(name)”不是格式正确的 CSV 文件（\(error.message)），未导入。")
        }
    }

    /// Whether bytes that are not UTF-8 read as GBK: every byte above 0x7F begins a pair whose lead
    /// is 0x81…0xFE and whose trail is 0x40…0xFE but 0x7F.
    static func looksLikeGBK(_ bytes: [UInt8]) -> Bool {
        var index = 0
        var pairs = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x80 {
                index += 1
                continue
            }
            guard (0x81...0xFE).contains(byte), index + 1 < bytes.count else { return false }
            let trail = bytes[index + 1]
            guard (0x40...0xFE).contains(trail), trail != 0x7F else { return false }
            pairs += 1
            index += 2
        }
        return pairs > 0
    }
}
