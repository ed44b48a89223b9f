import FieldCrypto
import FieldExport
import FieldStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import ZIPFoundation

@testable import FieldDashboard
@testable import FieldLedger

/// 登记管理: the registry with its history, and an import shown line by line before anything is
/// committed; operators only.
@Suite struct DashboardRegistryTests {
    /// A multipart/form-data body of text fields and one file.
    static func multipart(_ fields: [(String, String)], file: (name: String, bytes: [UInt8])) -> (String, [UInt8]) {
        let boundary = "----fieldlog\(UInt32.random(in: 0...UInt32.max))"
        var body: [UInt8] = []
        for (name, value) in fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        body += Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(file.name)\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                .utf8
        )
        body += file.bytes + Array("\r\n--\(boundary)--\r\n".utf8)
        return ("multipart/form-data; boundary=\(boundary)", body)
    }

    static func upload(
        _ browser: inout ConsoleBrowser,
        kind: String,
        name: String,
        _ bytes: [UInt8]
    ) async throws -> TestClient.Response {
        let csrf = try #require(ConsoleBrowser.csrf(in: try await browser.get("/registry").text))
        let (type, body) = multipart([("csrf", csrf), ("kind", kind)], file: (name, bytes))
        return try await browser.client.execute(
            TestClient.Request(
                "/registry/import",
                method: .post,
                authority: browser.host,
                headers: browser.headers([.contentType: type, .origin: browser.origin]),
                body: ByteBuffer(bytes: body)
            )
        )
    }

    static func loginOperator(_ browser: inout ConsoleBrowser, _ county: ConsoleCounty) async throws {
        let response = try await browser.login(
            ConsoleCounty.operator.name,
            ConsoleCounty.operator.password,
            code: try county.code()
        )
        #expect(response.status == .seeOther)
    }

    @Test func aSupervisorCannotReachTheRegistry() async throws {
        let county = try ConsoleCounty()
        let before = try county.hub.registryNames(.department)
        try await county.withConsole { browser in
            try await browser.loginSupervisor()
            #expect(
                !(try await browser.get("/").text.contains("href=\"/registry\"")),
                "not in a supervisor's navigation"
            )
            let page = try await browser.get("/registry")
            #expect(page.status == .forbidden && page.text.contains("此操作仅限运维人员"))
            let csv = Array("单位名称,类型\n县税务二局,县直部门\n".utf8)
            let csrf = try #require(ConsoleBrowser.csrf(in: try await browser.get("/").text))
            let (type, body) = Self.multipart([("csrf", csrf), ("kind", "departments")], file: ("d.csv", csv))
            let refused = try await browser.client.execute(
                TestClient.Request(
                    "/registry/import",
                    method: .post,
                    authority: browser.host,
                    headers: browser.headers([.contentType: type, .origin: browser.origin]),
                    body: ByteBuffer(bytes: body)
                )
            )
            #expect(refused.status == .forbidden)
        }
        #expect(try county.hub.registryNames(.department) == before)
    }

    @Test func theRegistryIsListedWithEachRowsHistory() async throws {
        let county = try ConsoleCounty()
        try await county.withConsole { browser in
            try await Self.loginOperator(&browser, county)
            let page = try await browser.get("/registry?kind=enterprises")
            #expect(page.status == .ok && page.text.contains("山东高唐纺织有限公司") && page.text.contains("91371526MA3CQ8K1XF"))
            #expect(page.text.contains("13805390001"), "an operator sees the contacts whole")
            let start = try #require(page.text.range(of: "href=\"/registry/history?")).lowerBound
            let link = String(page.text[page.text.index(start, offsetBy: 6)...].prefix { $0 != "\"" })
                .replacingOccurrences(of: "&amp;", with: "&")
            let history = try await browser.get(link)
            #expect(history.status == .ok && history.text.contains("县级运维 (root)") && history.text.contains("已生效"))
            #expect(try await browser.get("/registry?kind=nope").status == .badRequest)
            #expect(try await browser.get("/registry/history?kind=enterprises&id=x").status == .badRequest)
        }
    }

    @Test func aFileWithBadLinesShowsEachErrorAndCommitsNothing() async throws {
        let county = try ConsoleCounty()
        let enterprises = try county.hub.registryNames(.enterprise)
        let cadres = try county.hub.registryNames(.cadre)
        try await county.withConsole { browser in
            try await Self.loginOperator(&browser, county)
            let csv = """
                企业名称,统一社会信用代码,所属镇街/园区
                高唐县新华印刷有限公司,91371526MA3CQ8K1XX,鱼邱湖街道
                高唐县永安建材有限公司,91371082775260043P,人和街道
                高唐县永安建材二厂,91371082775260043P,人和街道
                高唐县丰源面粉有限公司,91110108551385082Q,梁村镇

                """
            let preview = try await Self.upload(&browser, kind: "enterprises", name: "企业.csv", Array(csv.utf8))
            #expect(preview.status == .ok && preview.text.contains("有错误的行 2 行"), "\(preview.text)")
            #expect(preview.text.contains("<td>2</td><td>高唐县新华印刷有限公司</td><td>不能导入</td>"))
            #expect(preview.text.contains("统一社会信用代码不对"))
            #expect(preview.text.contains("<td>4</td><td>高唐县永安建材二厂</td><td>不能导入</td>"))
            #expect(preview.text.contains("统一社会信用代码重复") && preview.text.contains("first on line 3"))
            #expect(preview.text.contains("<td>5</td><td>高唐县丰源面粉有限公司</td><td>新增</td>"))
            #expect(!preview.text.contains("确认导入"), "a file with errors cannot be committed")

            let cadreFile = "姓名,职务,单位\n赵六,局长,县不存在局\n陈刚,局长,县行政审批局\n"
            let unknown = try await Self.upload(&browser, kind: "cadres", name: "干部.csv", Array(cadreFile.utf8))
            #expect(unknown.text.contains("<td>2</td><td>赵六</td><td>不能导入</td>") && unknown.text.contains("登记中没有所指的单位"))
            #expect(unknown.text.contains("有错误的行 1 行"))

            let gbk = Array(Hex.decode("b5a5cebbc3fbb3c62cc0e0d0cd0acfd8cbb0cef1b6febed62ccfd8d6b1b2bfc3c50a")!)
            let encoded = try await Self.upload(&browser, kind: "departments", name: "单位.csv", gbk)
            #expect(encoded.text.contains("GBK 编码") && encoded.text.contains("CSV UTF-8（逗号分隔）"))
            #expect(!encoded.text.contains("确认导入"))
        }
        #expect(try county.hub.registryNames(.enterprise) == enterprises)
        #expect(try county.hub.registryNames(.cadre) == cadres)
    }

    @Test func aWorkbookIsPreviewedThenCommittedOnce() async throws {
        let county = try ConsoleCounty()
        let table = ReportTable(
            name: "单位",
            headers: ["单位名称", "类型", "负责人"],
            rows: [
                [.text("县税务二局"), .text("县直部门"), .text("王一")],
                [.text("县行政审批局"), .text("县直部门"), .text("张立")],
            ]
        )
        let workbook = try XLSXWriter.write([table], title: "单位")
        try await county.withConsole { browser in
            try await Self.loginOperator(&browser, county)
            let preview = try await Self.upload(&browser, kind: "departments", name: "单位.xlsx", workbook)
            #expect(
                preview.text.contains("新增 1 行，修改 0 行，不变 1 行") && preview.text.contains("有错误的行 0 行"),
                "\(preview.text)"
            )
            #expect(
                try county.hub.registryNames(.department).contains("县税务二局") == false,
                "nothing before the confirmation"
            )
            let token = try #require(
                preview.text.components(separatedBy: "name=\"token\" value=\"").last?.prefix { $0 != "\"" }
            )
            let csrf = try #require(ConsoleBrowser.csrf(in: preview.text))
            let done = try await browser.post("/registry/import/commit", [("csrf", csrf), ("token", String(token))])
            #expect(done.status == .seeOther)
            let page = try await browser.get(try #require(done.headers[.location]))
            #expect(page.text.contains("已导入“单位.xlsx”") && page.text.contains("县税务二局"))
            let twice = try await browser.post("/registry/import/commit", [("csrf", csrf), ("token", String(token))])
            #expect(twice.status == .notFound)
            let notAWorkbook = try await Self.upload(
                &browser,
                kind: "departments",
                name: "单位.xlsx",
                Array("hello".utf8)
            )
            #expect(notAWorkbook.text.contains("不是可读的 Excel 工作簿"))
        }
        #expect(try county.hub.registryNames(.department).contains("县税务二局"))
        let audit = try county.accounts.auditTrail(action: "registry_import", limit: 5, offset: 0).entries
        #expect(audit.count == 1 && audit[0].detail.contains("1 行新增或修改"))
    }

    /// A workbook as Excel writes it: shared strings (one rich), a sparse row, numbers, a date.
    @Test func aWorkbookWithSharedStringsIsReadCellByCell() throws {
        let archive = try Archive(accessMode: .create)
        let parts: [(String, String)] = [
            (
                "xl/workbook.xml",
                #"<workbook xmlns:r="r"><sheets><sheet name="链接" sheetId="1" r:id="rId1"/></sheets></workbook>"#
            ),
            (
                "xl/_rels/workbook.xml.rels",
                #"<Relationships><Relationship Id="rId1" Target="worksheets/data.xml"/></Relationships>"#
            ),
            (
                "xl/sharedStrings.xml",
                #"<sst><si><t>包联领导</t></si><si><t>企业名称</t></si><si><r><t>开始</t></r><r><t xml:space="preserve">日期</t></r></si><si><t>王强 &amp; 李娜</t></si></sst>"#
            ),
            (
                "xl/worksheets/data.xml",
                #"<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row><row r="2"><c r="A2" t="s"><v>3</v></c><c r="C2"><v>46027</v></c><c r="D2"><v>13805390001</v></c></row><row r="3"/></sheetData></worksheet>"#
            ),
        ]
        for (path, text) in parts {
            let data = Data(text.utf8)
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count)) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        let rows = try XLSXReader.rows([UInt8](try #require(archive.data)))
        #expect(rows == [["包联领导", "企业名称", "开始日期"], ["王强 & 李娜", "", "2026-01-05", "13805390001"]])
    }
}
