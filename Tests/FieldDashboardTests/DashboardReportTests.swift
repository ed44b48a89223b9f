import FieldCrypto
import FieldExport
import FieldStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import FieldDashboard
@testable import FieldLedger

/// 久拖不决, 推诿扯皮, 督办, 月调度 and 冲突.
@Suite struct DashboardReportTests {
    @Test func theListsFindTheDemandsThatDragOn() throws {
        let county = try ConsoleCounty()
        let today = county.hub.localToday(profile: county.hub.profile)
        #expect(try county.hub.supervisionList(.escalated, today: today).rows.isEmpty)
        // Four months on, the three assigned demands, never signed, are long overdue.
        let later = today.adding(days: 120)
        let assigned = Set([0, 1, 2].map { county.numbers[$0] })
        for list in [SupervisionList.escalated, .dragOn] {
            let table = try county.hub.supervisionList(list, today: later)
            #expect(Set(table.rows.map { $0[1].text }) == assigned, "\(list)")
            #expect(table.headers.first == "序号" && table.headers.last == "原因")
            #expect(table.rows.allSatisfy { !$0[10].text.isEmpty }, "each with its reasons")
        }
        let escalated = try county.hub.supervisionList(.escalated, today: later)
        #expect(escalated.rows[0][10].text.contains("挂牌督办"), "\(escalated.rows[0])")
    }

    /// 总览 reads the county once; its rates are those the reports compute one grouping at a time.
    @Test func theOverviewsRatesAreTheReportsRates() throws {
        let county = try ConsoleCounty()
        let today = county.hub.localToday(profile: county.hub.profile)
        for day in [today, today.adding(days: 40)] {
            let month = try #require(Period(month: String(day.description.prefix(7))))
            let overview = try county.hub.countyOverview(month: month, today: day)
            #expect(overview.rates == (try county.hub.rates(for: month, today: day)))
            #expect(overview.previousRates == (try county.hub.rates(for: month.previousMonth, today: day)))
            for (grouping, groups) in overview.groups {
                let now = try county.hub.rates(for: month, by: grouping, today: day)
                let then = try county.hub.rates(for: month.previousMonth, by: grouping, today: day)
                #expect(groups.map(\.name) == now.keys.sorted(), "\(grouping)")
                for group in groups {
                    #expect(group.now == now[group.name] && group.then == (then[group.name] ?? Rates()), "\(grouping)")
                }
            }
            #expect(overview.total == 5 && overview.unresolved == 5)
        }
    }

    @Test func theListPagesTheMonthlyReportAndTheirExports() async throws {
        let county = try ConsoleCounty()
        try await county.withConsole { browser in
            try await browser.loginSupervisor()
            for (path, title) in [("dragOn", "久拖不决"), ("buckPassing", "推诿扯皮"), ("escalated", "督办")] {
                let page = try await browser.get("/lists/\(path)")
                #expect(page.status == .ok && page.text.contains("高唐县企业诉求\(title)清单"), "\(path)")
                #expect(page.text.contains("填报单位：高唐县企业诉求县枢纽") && page.text.contains("（共 0 条）"))
            }
            #expect(try await browser.get("/lists/nope").status == .notFound)
            let month = String(county.hub.today().prefix(7))
            let monthly = try await browser.get("/monthly?month=\(month)")
            #expect(monthly.status == .ok && monthly.text.contains("企业诉求月调度（"))
            for section in ["总体", "按单位", "按类别", "按镇街", "久拖不决", "推诿扯皮"] {
                #expect(monthly.text.contains("<h2>\(section)"), "\(section)")
            }
            #expect(monthly.text.contains("县人力资源社会保障局"))
            let bad = try await browser.get("/monthly?month=twelve")
            #expect(bad.status == .badRequest && bad.text.contains("不是月份"))

            let csrf = try #require(ConsoleBrowser.csrf(in: monthly.text))
            let started = try await browser.post(
                "/monthly/export",
                [("csrf", csrf), ("month", month), ("format", "xlsx")]
            )
            let location = try #require(started.headers[.location])
            var page = try await browser.get(location)
            while page.text.contains("正在导出") { page = try await browser.get(location) }
            #expect(page.text.contains("企业诉求月调度\(month)_截至"), "\(page.text)")
            let file = try await browser.get(location + "/file")
            let signature = try await browser.get(location + "/sig")
            _ = try ExportFile.verify(file.bytes, signature: signature.bytes, ledger: county.hub)
            let list = try await browser.post("/lists/dragOn/export", [("csrf", csrf), ("format", "csv")])
            #expect(list.status == .seeOther)
        }
    }

    @Test func theConflictsPageShowsEveryOpenConflictReadOnly() async throws {
        let county = try ConsoleCounty()
        // A second laptop of 李娜 holds everything, and both edit the same title apart.
        let key = SigningKey.generate()
        _ = try county.hub.enroll(publicKey: key.publicKey, role: .cadre, cadre: "李娜")
        let other = try Ledger.open(path: nil, root: county.root.publicKey, key: key)
        var records: [[UInt8]] = []
        try county.hub.replica.exportRecords { records.append($0) }
        _ = try other.replica.importRecords(records)
        let number = county.numbers[3]
        try county.li.editDemand(number, fields: ["title": "厂区道路积水（东门）"])
        try other.editDemand(number, fields: ["title": "厂区道路积水<西门>"])
        var theirs: [[UInt8]] = []
        try other.replica.exportRecords { theirs.append($0) }
        _ = try county.hub.replica.importRecords(theirs)
        try await county.withConsole { browser in
            try await browser.loginSupervisor()
            let page = try await browser.get("/conflicts")
            #expect(page.status == .ok && page.text.contains("厂区道路积水（东门）") && page.text.contains("厂区道路积水&lt;西门&gt;"))
            #expect(
                page.text.contains("没有待裁定的流转冲突") && !page.text.contains("<form method=\"post\" action=\"/conflicts")
            )
            let workflowOnly = try await browser.get("/conflicts?kind=workflow")
            #expect(!workflowOnly.text.contains("东门") && workflowOnly.text.contains("流转冲突"))
            let enterprises = try await browser.get("/conflicts?table=enterprises")
            #expect(!enterprises.text.contains("东门") && enterprises.text.contains("没有未裁定的数据冲突"))
            #expect(try await browser.get("/conflicts?kind=nope").status == .badRequest)
            #expect(try await browser.get("/conflicts?table=nope").status == .badRequest)
        }
    }
}
