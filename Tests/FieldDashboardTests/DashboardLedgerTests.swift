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

/// 工作台账: filters, sorting, the column chooser and paging, in SQL; and the export of exactly
/// the view, signed by the hub, with who exported it and when.
@Suite struct DashboardLedgerTests {
    /// The 诉求编号 cells of a ledger page, in order.
    static func numbers(_ page: String) -> [String] {
        page.components(separatedBy: "<td>").dropFirst().map { String($0.prefix { $0 != "<" }) }.filter {
            $0.hasPrefix("GT-")
        }
    }

    @Test func theFiltersFindTheirDemands() async throws {
        let county = try ConsoleCounty()
        let n = county.numbers
        try await county.withConsole { browser in
            try await browser.loginSupervisor()
            // Numbers are per device (D001 王强's, D002 李娜's), so the ledger's order is theirs.
            let all = try await browser.get("/ledger")
            #expect(all.status == .ok && all.text.contains("共 5 条（其中超期 0 条） 第 1/1 页"))
            #expect(all.text.contains("<th scope=\"col\">序号</th>"), "序号 comes first")
            #expect(Self.numbers(all.text) == n.sorted(), "by number by default")
            let cases: [(String, [String])] = [
                ("status=PENDING_SIGN", [n[0], n[1], n[2]]),
                ("status=DRAFT", [n[3], n[4]]),
                ("lead=\(encoded("县人力资源社会保障局"))", [n[0], n[2]]),
                ("cadre=\(encoded("李娜"))", [n[2], n[3]]),
                // 王强 registered three, and leads for 山东高唐纺织有限公司 and 高唐县鑫盛食品有限公司.
                ("cadre=\(encoded("王强"))", [n[0], n[1], n[4]]),
                ("township=\(encoded("人和街道"))", [n[2], n[3]]),
                ("category=\(encoded("用工"))", [n[0]]),
                ("overdue=on", []),
                ("from=2000-01-01&to=2000-12-31", []),
                ("status=all&sort=category", n.sortedByCategory(county)),
                ("sort=number&dir=desc", n.sorted().reversed()),
            ]
            for (query, listed) in cases {
                let expected = query.contains("sort=") ? listed : listed.sorted()
                let page = try await browser.get("/ledger?\(query)")
                #expect(page.status == .ok, "\(query)")
                #expect(Self.numbers(page.text) == expected, "\(query)")
                #expect(page.text.contains("共 \(expected.count) 条"), "\(query)")
            }
        }
    }

    @Test func theColumnChooserAndSortLinksKeepTheView() async throws {
        let county = try ConsoleCounty()
        try await county.withConsole { browser in
            try await browser.loginSupervisor()
            let page = try await browser.get("/ledger?status=all&col=19&col=1")
            let headers = page.text.components(separatedBy: "<th scope=\"col\">").dropFirst().map {
                String($0.components(separatedBy: "</th>")[0]).replacingOccurrences(
                    of: "<[^>]+>| [▲▼]",
                    with: "",
                    options: .regularExpression
                )
            }
            #expect(headers == ["序号", "诉求编号", "当前状态"])
            // Clicking 当前状态 sorts by it and keeps the filter and the columns.
            #expect(page.text.contains("href=\"/ledger?status=all&amp;sort=state&amp;col=1&amp;col=19\""))
            #expect(
                page.text.contains("<input type=\"hidden\" name=\"col\" value=\"19\">"),
                "the export form carries the view"
            )
        }
    }

    @Test func aLongLedgerIsPagedInSQL() async throws {
        let county = try ConsoleCounty()
        for index in 0..<45 {
            _ = try county.wang.addDemand(
                DemandInput(enterprise: "山东高唐纺织有限公司", title: "诉求 \(index)", content: "内容", category: "其他")
            )
        }
        try await county.withConsole { browser in
            try await browser.loginSupervisor()
            let first = try await browser.get("/ledger")
            #expect(first.text.contains("共 50 条（其中超期 0 条） 第 1/1 页"))
            let withSize = try await browser.get("/ledger?size=20&page=3")
            #expect(withSize.text.contains("共 50 条（其中超期 0 条） 第 3/3 页"), "\(withSize.text.prefix(300))")
            #expect(Self.numbers(withSize.text).count == 10)
            #expect(withSize.text.contains("<tr><td>41</td>"), "序号 goes on from the pages before")
            #expect(withSize.text.contains("rel=\"prev\"") && !withSize.text.contains("rel=\"next\""))
        }
    }

    @Test func aFilterThatIsNotAChoiceIsRefusedInChinese() async throws {
        let county = try ConsoleCounty()
        try await county.withConsole { browser in
            try await browser.loginSupervisor()
            let refusals: [(String, String)] = [
                ("lead=\(encoded("无此单位"))", "登记中没有名为“无此单位”的单位"),
                ("cadre=\(encoded("无此人"))", "登记中没有名为“无此人”的干部"),
                ("status=NOPE", "没有“NOPE”这种状态"),
                ("from=2026-13-40", "不是日期"),
                ("col=99", "没有第“99”列"),
                ("sort=nope", "不能按“nope”排序"),
                ("page=0", "页码“0”不对"),
                ("size=7", "每页条数"),
            ]
            for (query, message) in refusals {
                let page = try await browser.get("/ledger?\(query)")
                #expect(page.status == .badRequest && page.text.contains(message), "\(query): \(page.text.prefix(200))")
            }
        }
    }

    /// Starts an export of `fields` and follows it to its file and signature.
    static func export(
        _ browser: inout ConsoleBrowser,
        _ fields: [(String, String)]
    ) async throws -> (
        file: [UInt8], signature: [UInt8], name: String, page: String
    ) {
        let ledger = try await browser.get("/ledger")
        let csrf = try #require(ConsoleBrowser.csrf(in: ledger.text))
        let started = try await browser.post("/ledger/export", [("csrf", csrf)] + fields)
        #expect(started.status == .seeOther)
        let location = try #require(started.headers[.location])
        var page = try await browser.get(location)
        while page.text.contains("正在导出") { page = try await browser.get(location) }
        #expect(page.text.contains("已导出并由县枢纽密钥签名"), "\(page.text)")
        let file = try await browser.get(location + "/file")
        #expect(file.status == .ok)
        #expect(file.headers[.contentLength] == String(file.bytes.count), "the length is known: a cut download shows")
        let disposition = try #require(file.headers[.contentDisposition])
        let name = try #require(disposition.components(separatedBy: "filename*=UTF-8''").last?.removingPercentEncoding)
        let signature = try await browser.get(location + "/sig")
        return (file.bytes, signature.bytes, name, location)
    }

    @Test func theExportHoldsExactlyTheViewSignedByTheHub() async throws {
        let county = try ConsoleCounty()
        let n = county.numbers
        try await county.withConsole { browser in
            try await browser.loginSupervisor()
            let view = [("lead", "县人力资源社会保障局"), ("col", "1"), ("col", "11"), ("col", "19")]
            let csv = try await Self.export(&browser, view + [("format", "csv")])
            #expect(csv.name == "高唐县企业诉求工作台账_截至\(county.hub.today()).csv")
            let text = String(decoding: csv.file, as: UTF8.self)
            #expect(text.hasPrefix("\u{FEFF}工作台账\r\n序号,诉求编号,牵头单位,当前状态\r\n"), "\(text.prefix(80))")
            #expect(text.contains("1,\(n[0]),县人力资源社会保障局,待签收\r\n2,\(n[2]),县人力资源社会保障局,待签收\r\n\r\n导出说明"))
            #expect(text.contains("导出人,张督查（督查人员）") && text.contains("导出时间,20"))
            #expect(text.contains("共计,2 条") && text.contains("查询条件,未办结；牵头单位：县人力资源社会保障局"))
            let (signer, parsed) = try ExportFile.verify(csv.file, signature: csv.signature, ledger: county.hub)
            #expect(parsed.signer == county.root.publicKey.hex && !signer.isEmpty)

            var altered = csv.file
            altered[altered.count - 3] ^= 1
            #expect(throws: ExportError.self) {
                try ExportFile.verify(altered, signature: csv.signature, ledger: county.hub)
            }

            let xlsx = try await Self.export(&browser, [("status", "all"), ("format", "xlsx")])
            let archive = try Archive(data: Data(xlsx.file), accessMode: .read)
            func part(_ path: String) throws -> String {
                var data = Data()
                _ = try archive.extract(try #require(archive[path])) { data.append($0) }
                return String(decoding: data, as: UTF8.self)
            }
            let sheet = try part("xl/worksheets/sheet1.xml")
            #expect(sheet.components(separatedBy: "<row ").count - 1 == 1 + 5, "the header and every demand")
            #expect(try part("xl/worksheets/sheet2.xml").contains("张督查（督查人员）"))
            _ = try ExportFile.verify(xlsx.file, signature: xlsx.signature, ledger: county.hub)

            let json = try await Self.export(&browser, [("status", "DRAFT"), ("format", "json")])
            let document = try #require(try JSONSerialization.jsonObject(with: Data(json.file)) as? [String: Any])
            let tables = try #require(document["tables"] as? [[String: Any]])
            #expect((tables[0]["rows"] as? [Any])?.count == 2)

            // Another account cannot fetch it.
            var other = browser
            other.cookies = [:]
            let operatorLogin = try await other.login(
                ConsoleCounty.operator.name,
                ConsoleCounty.operator.password,
                code: try county.code()
            )
            #expect(operatorLogin.status == .seeOther)
            #expect(try await other.get(json.page + "/file").status == .notFound)
        }
        let exports = try county.accounts.auditTrail(action: "export", limit: 10, offset: 0).entries
        #expect(
            exports.count == 3 && exports.allSatisfy { $0.user == ConsoleCounty.supervisor.name && $0.outcome == "ok" }
        )
        #expect(exports.last?.detail.contains("2 行") == true)
    }

    /// The console keeps the last 50 exports, and any still being written: older files are
    /// deleted as new exports start.
    @Test func oldExportsAreDeletedButNotOneBeingWritten() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("exports-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let exports = LocalConsoleJobs(folder: folder)
        let signature = ExportSignature.sign(
            file: [1],
            name: "x",
            key: SigningKey.generate(),
            signerName: "x",
            heads: [],
            signedAt: "2026-12-02T00:00:00.000Z"
        )
        let writing = "still-writing"
        try exports.startExport(id: writing, owner: "a", name: "still writing", format: .csv, at: 0)
        var finished: [String] = []
        for index in 0..<(ConsoleLimits.exportsKept + 5) {
            let id = "export-\(index)"
            try exports.startExport(id: id, owner: "a", name: "export \(index)", format: .csv, at: 0)
            try exports.finishExport(id: id, file: [1], signature: [2], signed: signature, rows: 1, at: 0)
            finished.append(id)
        }
        #expect(exports.exportJob(id: writing, owner: "a", now: 0)?.running == true, "the export being written stays")
        // The one being written is kept beside the last 50.
        let gone = finished.prefix(5).filter { exports.exportJob(id: $0, owner: "a", now: 0) == nil }
        #expect(gone.count == 5 && !FileManager.default.fileExists(atPath: exports.path(finished[0], signature: false)))
        #expect(
            finished.suffix(ConsoleLimits.exportsKept).allSatisfy {
                exports.exportJob(id: $0, owner: "a", now: 0) != nil
            }
        )
    }

    @Test func theAuditPageListsLoginsAndExports() async throws {
        let county = try ConsoleCounty()
        try await county.withConsole { browser in
            _ = try await browser.login(ConsoleCounty.supervisor.name, "wrong-password")
            try await browser.loginSupervisor()
            _ = try await Self.export(&browser, [("format", "csv")])
            let page = try await browser.get("/audit")
            #expect(page.status == .ok && page.text.contains("共 5 条"), "two accounts added, two logins, an export")
            #expect(page.text.contains("用户名或密码不对") && page.text.contains("导出") && page.text.contains("开设账号"))
            let logins = try await browser.get("/audit?action=login")
            #expect(logins.text.contains("共 2 条"))
            #expect(try await browser.get("/audit?action=drop").status == .badRequest)
        }
    }
}

extension [String] {
    /// These numbers sorted by their demands' categories (then by number), as the ledger sorts.
    func sortedByCategory(_ county: ConsoleCounty) -> [String] {
        let categories = ["用工", "水电气热", "政策兑现", "基础设施", "审批"]
        let byNumber = Dictionary(uniqueKeysWithValues: zip(county.numbers, categories))
        return sorted { (byNumber[$0]!, $0) < (byNumber[$1]!, $1) }
    }
}
