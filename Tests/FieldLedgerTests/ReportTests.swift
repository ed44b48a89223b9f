import FieldCrypto
import FieldStore
import Foundation
import Testing
import ZIPFoundation

@testable import FieldExport
@testable import FieldLedger

/// The hand-worked data set of docs/rates.md: four demands (and one not accepted) moved through
/// September to November 2025 on the shipped calendar. Every expected figure below was worked out
/// by hand in that document.
struct HandWorkedCounty {
    let county: WorkflowCounty
    let a, b, c, d, e: String

    init() throws {
        let county = try WorkflowCounty(at: "2025-09-24 09:00")
        self.county = county
        let c = county
        func act(
            _ ledger: Ledger,
            _ action: DemandAction,
            _ number: String,
            at time: String,
            _ build: (inout ActionInput) -> Void = { _ in }
        ) throws {
            county.clock.set(time)
            _ = try ledger.act(action, on: number, county.input(build))
        }
        a = try c.newDemand(title: "A")
        b = try c.newDemand(title: "B")
        self.c = try c.newDemand(title: "C")
        d = try c.newDemand(title: "D")
        e = try c.newDemand(title: "E")
        for number in [a, b, self.c, d, e] { _ = try c.cadre.act(.submit, on: number, ActionInput()) }
        try act(c.coordinator, .reject, self.c, at: "2025-09-24 09:30") { $0.comment = "重复" }

        // In time order (the clock of a replica never runs backwards). A: on time everywhere,
        // closed resolved and satisfied. B: returned, reassigned, signed late, replied after the
        // deadline. D: assigned late on a Monday afternoon, signed and contacted in time, still
        // open. E: signed at once, replied, reopened unsatisfied, replied again, closed unresolved.
        try act(c.coordinator, .assign, e, at: "2025-09-24 10:00") { $0.lead = "县市场监管局" }
        try act(c.market, .sign, e, at: "2025-09-24 11:00")
        try act(c.coordinator, .assign, a, at: "2025-09-29 09:00") { $0.lead = "县市场监管局" }
        try act(c.market, .sign, a, at: "2025-09-29 10:00") { $0.contacted = "2025-09-29 10:30" }
        try act(c.coordinator, .assign, b, at: "2025-10-09 09:00") { $0.lead = "县市场监管局" }
        try act(c.market, .return, b, at: "2025-10-09 14:00") {
            $0.comment = "非本单位"
            $0.suggest = "县行政审批局"
        }
        try act(c.coordinator, .reassign, b, at: "2025-10-10 09:00") { $0.lead = "县行政审批局" }
        try act(c.approval, .sign, b, at: "2025-10-13 09:00")
        try act(c.market, .reply, e, at: "2025-10-15 10:00") {
            $0.outcome = "已办"
            $0.reply = "第一次答复"
        }
        try act(c.coordinator, .acceptReply, e, at: "2025-10-15 11:00")
        try act(c.cadre, .reopen, e, at: "2025-10-16 09:00") {
            $0.comment = "未解决"
            $0.satisfaction = "不满意"
        }
        try act(c.market, .reply, a, at: "2025-10-20 10:00") {
            $0.outcome = "已解决"
            $0.reply = "已办结"
        }
        try act(c.coordinator, .acceptReply, a, at: "2025-10-20 11:00")
        try act(c.coordinator, .assign, d, at: "2025-10-20 16:30") { $0.lead = "县住房城乡建设局" }
        try act(c.housing, .sign, d, at: "2025-10-21 09:00") { $0.contacted = "2025-10-21 09:15" }
        try act(c.cadre, .followUp, a, at: "2025-10-22 10:00") {
            $0.resolved = true
            $0.satisfaction = "满意"
        }
        try act(c.market, .reply, e, at: "2025-10-28 10:00") {
            $0.outcome = "已办"
            $0.reply = "第二次答复"
        }
        try act(c.coordinator, .acceptReply, e, at: "2025-10-28 11:00")
        try act(c.cadre, .followUp, e, at: "2025-10-30 10:00") {
            $0.resolved = false
            $0.satisfaction = "基本满意"
        }
        try act(c.approval, .reply, b, at: "2025-11-03 09:00") {
            $0.outcome = "已办"
            $0.reply = "迟到的答复"
        }
    }
}

@Suite struct RateTests {
    let october = Period(month: "2025-10")!

    @Test func theHandWorkedStatuses() throws {
        let data = try HandWorkedCounty()
        let ledger = data.county.operatorLedger
        #expect(try ledger.status(of: data.a).deadline?.description == "2025-10-27")
        let b = try ledger.status(of: data.b)
        #expect(b.assignments.map(\.signDeadline.description) == ["2025-10-10", "2025-10-11"])
        #expect(b.deadline?.description == "2025-10-31")
        let d = try ledger.status(of: data.d)
        #expect(ISOTime.local(d.assignments[0].contactDeadline, profile: .shandong2115) == "2025-10-21 09:30")
        #expect(d.deadline?.description == "2025-11-11")
        #expect(try ledger.status(of: data.e).deadlineAtReply?.description == "2025-11-06")
    }

    @Test func overallRatesForOctober() throws {
        let data = try HandWorkedCounty()
        let rates = try data.county.operatorLedger.rates(for: october)
        #expect(rates.signOnTime == Ratio(1, 3))
        #expect(rates.response == Ratio(1, 2))
        #expect(rates.onTime == Ratio(1, 2))
        #expect(rates.overdue == 1)
        #expect(rates.resolution == Ratio(1, 2))
        #expect(rates.satisfaction == Ratio(2, 3))
        #expect(rates.returned == Ratio(1, 3))
        #expect(rates.reopened == Ratio(1, 3))
        #expect(rates.handlingWorkdays.sorted() == [10, 20])
        #expect(rates.meanHandlingWorkdays == 15)
    }

    @Test func ratesByDepartmentForOctober() throws {
        let data = try HandWorkedCounty()
        let byDepartment = try data.county.operatorLedger.rates(for: october, by: .department)
        let market = try #require(byDepartment["县市场监管局"])
        #expect(market.signOnTime == Ratio(0, 1))
        #expect(market.returned == Ratio(1, 1))
        #expect(market.onTime == Ratio(1, 1))
        #expect(market.satisfaction == Ratio(2, 3))
        #expect(market.reopened == Ratio(1, 3))
        #expect(market.resolution == Ratio(1, 2))
        let approval = try #require(byDepartment["县行政审批局"])
        #expect(approval.signOnTime == Ratio(0, 1))
        #expect(approval.returned == Ratio(0, 1))
        #expect(approval.response == Ratio(0, 1))
        #expect(approval.onTime == Ratio(0, 1))
        #expect(approval.overdue == 1)
        let housing = try #require(byDepartment["县住房城乡建设局"])
        #expect(housing.signOnTime == Ratio(1, 1))
        #expect(housing.returned == Ratio(0, 1))
        #expect(housing.response == Ratio(1, 1))
        #expect(housing.onTime == Ratio(0, 0))
    }

    @Test func theMonthlyReportAndItsLists() throws {
        let data = try HandWorkedCounty()
        let tables = try data.county.operatorLedger.monthlyReport(october, today: Day("2025-11-12")!)
        #expect(tables.map(\.name) == ["总体", "按单位", "按干部", "按类别", "按镇街", "久拖不决", "推诿扯皮"])
        let totals = Dictionary(uniqueKeysWithValues: tables[0].rows.map { ($0[0].text, $0[1]) })
        #expect(totals["按时办结率"] == .percent(0.5))
        #expect(totals["签收及时率"] == .percent(1.0 / 3))
        #expect(totals["超期"] == .number(1))
        #expect(totals["平均办理工作日"] == .number(15))
        #expect(totals["办结"] == .number(2))
        // Ranked by the on-time rate: 县市场监管局 (1/1) first, 县行政审批局 (0/1), then 县住房城乡建设局 (nothing due).
        #expect(tables[1].rows.map { $0[0].text } == ["县市场监管局", "县行政审批局", "县住房城乡建设局"])
        #expect(tables[1].rows.map { $0.last! } == [.number(1), .number(2), .number(3)])
        // On 12 November, B (replied, not accepted) and D (overdue) have been open more than 30 working days.
        #expect(tables[5].rows.map { $0[0].text }.sorted() == [data.b, data.d].sorted())
        #expect(tables[6].rows.isEmpty)
    }

    @Test func ratesByCategoryTownshipAndCadre() throws {
        let data = try HandWorkedCounty()
        let ledger = data.county.operatorLedger
        let overall = try ledger.rates(for: october)
        // Every demand of the data set is 基础设施, in 鱼邱湖街道, registered by 王强: each breakdown
        // has one group, equal to the whole.
        #expect(try ledger.rates(for: october, by: .category) == ["基础设施": overall])
        #expect(try ledger.rates(for: october, by: .township) == ["鱼邱湖街道": overall])
        #expect(try ledger.rates(for: october, by: .cadre) == ["王强": overall])
        // A second category splits it.
        data.county.clock.set("2025-11-20 09:00")
        try ledger.editDemand(data.b, fields: ["category": "审批"])
        let split = try ledger.rates(for: october, by: .category)
        #expect(split["审批"]?.onTime == Ratio(0, 1))
        #expect(split["基础设施"]?.onTime == Ratio(1, 1))
    }

    @Test func contactPhonesAreMaskedForRolesThatMayNotSeeThem() throws {
        let data = try HandWorkedCounty()
        let phoneColumn = Ledger.ledgerHeaders.firstIndex(of: "联系电话")!
        let today = Day("2025-11-12")!
        #expect(try data.county.supervisor.workLedger(today: today).rows[0][phoneColumn] == .text("13800000001"))
        #expect(try data.county.market.workLedger(today: today).rows[0][phoneColumn] == .text("138****0001"))
        #expect(try data.county.cadre.workLedger(today: today).rows[0][phoneColumn] == .text("138****0001"))
    }

    @Test func theWorkLedgerFiltersAndColumns() throws {
        let data = try HandWorkedCounty()
        let ledger = data.county.operatorLedger
        let today = Day("2025-11-12")!
        let all = try ledger.workLedger(today: today)
        #expect(all.headers.count == all.widths.count)
        #expect(all.rows.count == 5)
        #expect(all.rows.allSatisfy { $0.count == all.headers.count })
        var filter = LedgerFilter()
        filter.unresolvedOnly = true
        #expect(
            try ledger.workLedger(filter, today: today).rows.map { $0[1].text }.sorted() == [data.b, data.d].sorted()
        )
        filter.overdueOnly = true
        let overdue = try ledger.workLedger(filter, today: today)
        let column = { (name: String) in Ledger.ledgerHeaders.firstIndex(of: name)! }
        #expect(overdue.rows.map { $0[1].text }.sorted() == [data.b, data.d].sorted())
        let d = try #require(overdue.rows.first { $0[1].text == data.d })
        #expect(d[column("黄/红牌")] == .text("红牌"))
        #expect(d[column("督办级别")] == .text("催办"))
        #expect(d[column("超期工作日")] == .number(1))
        #expect(d[column("办结时限")] == .date(Day("2025-11-11")!))
        #expect(d[column("首次联系时间")] == .dateTime(Day("2025-10-21")!, minute: 9 * 60 + 15))
        var department = LedgerFilter()
        department.department = "县行政审批局"
        #expect(try ledger.workLedger(department, today: today).rows.map { $0[1].text } == [data.b])
    }
}

@Suite struct ExportTests {
    func ledgerTable() throws -> (ReportTable, Ledger) {
        let data = try HandWorkedCounty()
        return (try data.county.operatorLedger.workLedger(today: Day("2025-11-12")!), data.county.operatorLedger)
    }

    @Test func csvHasTheByteOrderMarkAndRoundTripsChinese() throws {
        var table = ReportTable(name: "t", headers: ["企业名称", "备注"])
        table.rows = [[.text("鲁西化工, 高唐分公司"), .text("他说\"马上办\"\n第二行")], [.number(3), .percent(0.5)]]
        let bytes = CSVWriter.write([table])
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let text = String(decoding: bytes.dropFirst(3), as: UTF8.self)
        #expect(text == "企业名称,备注\r\n\"鲁西化工, 高唐分公司\",\"他说\"\"马上办\"\"\n第二行\"\r\n3,50.0%\r\n")
    }

    /// The workbook is read by an independent reader (openpyxl, installed by `make test`), and
    /// every cell matches the CSV export of the same table.
    @Test func xlsxIsReadByOpenpyxlAndMatchesTheCSV() throws {
        let (table, _) = try ledgerTable()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fieldlog-xlsx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("ledger.xlsx").path
        try Data(try XLSXWriter.write([table, ReportTable(name: "第二页", headers: ["a"])], title: "工作台账")).write(
            to: URL(fileURLWithPath: path)
        )
        let script = #"""
            import json, sys, datetime, openpyxl
            book = openpyxl.load_workbook(sys.argv[1])
            sheet = book.worksheets[0]
            def text(cell):
                v = cell.value
                if v is None: return ""
                if isinstance(v, datetime.datetime):
                    return v.strftime("%Y-%m-%d %H:%M") if (v.hour or v.minute) or cell.number_format.endswith("hh:mm") else v.strftime("%Y-%m-%d")
                if isinstance(v, float) and cell.number_format.endswith("%"): return "%.1f%%" % (v * 100)
                if isinstance(v, float) and v.is_integer(): return str(int(v))
                return str(v)
            print(json.dumps({
                "sheets": book.sheetnames,
                "frozen": sheet.freeze_panes,
                "filter": sheet.auto_filter.ref,
                "bold": sheet["A1"].font.b,
                "width": sheet.column_dimensions["F"].width,
                "dateFormat": sheet["C2"].number_format,
                "rows": [[text(c) for c in row] for row in sheet.iter_rows()],
            }, ensure_ascii=False))
            """#
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path]
        let pipe = Pipe()
        process.standardOutput = pipe
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(
            process.terminationStatus == 0,
            "openpyxl could not read the workbook (is it installed? `make test` installs it): \(stderr)"
        )
        let result = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
        #expect(result["sheets"] as? [String] == ["工作台账", "第二页"])
        #expect(result["frozen"] as? String == "A2")
        let lastColumn = XLSXWriter.column(table.headers.count - 1)
        #expect(
            result["filter"] as? String == "A1:\(lastColumn)\(table.rows.count + 1)",
            "every data row under the header's filter"
        )
        #expect(result["bold"] as? Bool == true)
        #expect(result["width"] as? Double == 28)
        #expect(result["dateFormat"] as? String == "yyyy-mm-dd")
        let rows = try #require(result["rows"] as? [[String]])
        let csv = String(decoding: CSVWriter.write([table]).dropFirst(3), as: UTF8.self)
        var expected = [table.headers]
        expected += table.rows.map { $0.map(\.text) }
        #expect(rows == expected)
        #expect(csv.hasPrefix(table.headers.joined(separator: ",")))
    }

    @Test func jsonKeepsTypes() throws {
        var table = ReportTable(name: "总体", headers: ["指标", "本月", "日期"])
        table.rows = [[.text("按时办结率"), .percent(0.5), .date(Day("2025-10-27")!)], [.text("超期"), .number(1), .empty]]
        let bytes = try JSONWriter.write([table], title: "月调度", generatedAt: "2025-11-12T00:00:00.000Z")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let rows = try #require(((object["tables"] as? [[String: Any]])?.first?["rows"]) as? [[String: Any]])
        #expect(rows[0]["本月"] as? Double == 0.5)
        #expect(rows[0]["日期"] as? String == "2025-10-27")
        #expect(rows[1]["本月"] as? Int == 1)
        #expect(rows[1]["日期"] is NSNull)
    }

    @Test func xlsxEscapesWhatXMLCannotCarry() throws {
        var table = ReportTable(name: "a/b:c", headers: ["x"])
        table.rows = [[.text("<tag> & \"q\" \u{01}")]]
        let bytes = try XLSXWriter.write([table], title: "t")
        let archive = try Archive(data: Data(bytes), accessMode: .read)
        var sheet = Data()
        _ = try archive.extract(archive["xl/worksheets/sheet1.xml"]!) { sheet.append($0) }
        #expect(String(decoding: sheet, as: UTF8.self).contains("&lt;tag&gt; &amp; &quot;q&quot; \u{FFFD}"))
        var workbook = Data()
        _ = try archive.extract(archive["xl/workbook.xml"]!) { workbook.append($0) }
        #expect(String(decoding: workbook, as: UTF8.self).contains(#"name="a_b_c""#))
    }

    @Test func aSignedExportVerifiesAndAnyChangeOrStrangerFails() throws {
        let (table, ledger) = try ledgerTable()
        let bytes = CSVWriter.write([table])
        let key = SigningKey.generate()
        _ = try ledger.enroll(publicKey: key.publicKey, role: .supervisor, label: "督查室")
        let heads = try ledger.replica.heads()
        let signature = ExportSignature.sign(
            file: bytes,
            name: "ledger.csv",
            key: key,
            signerName: "督查室",
            heads: heads,
            signedAt: "2025-11-12T02:00:00.000Z"
        )
        let parsed = try ExportSignature.decode(try signature.encoded())
        #expect(parsed == signature)
        func known(_ candidate: PublicKey) throws -> String? {
            if case .enrolled(let role) = try ledger.standing(of: candidate) { return role.rawValue }
            return nil
        }
        #expect(try parsed.verify(file: bytes, knownSigner: known) == "supervisor")
        var changed = bytes
        changed[changed.count / 2] ^= 0x01
        let altered = #expect(throws: ExportError.self) { try parsed.verify(file: changed, knownSigner: known) }
        #expect(altered?.message.hasPrefix("ALTERED") == true)
        let stranger = SigningKey.generate()
        let foreign = ExportSignature.sign(
            file: bytes,
            name: "ledger.csv",
            key: stranger,
            signerName: "?",
            heads: heads,
            signedAt: "2025-11-12T02:00:00.000Z"
        )
        let unknown = #expect(throws: ExportError.self) { try foreign.verify(file: bytes, knownSigner: known) }
        #expect(unknown?.message.hasPrefix("UNKNOWN SIGNER") == true)
        var forged = signature
        forged.signedAt = "2025-11-13T02:00:00.000Z"
        let badSignature = #expect(throws: ExportError.self) { try forged.verify(file: bytes, knownSigner: known) }
        #expect(badSignature?.message.hasPrefix("FORGED") == true)
    }
}
