import FieldCrypto
import FieldStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import FieldLedger
@testable import FieldWeb

/// 冲突: a cell edited on two laptops apart shows both values side by side, and 采用此值 settles it.
@Suite struct WebConflictTests {
    @Test func aCellConflictIsShownAndSettledInTheBrowser() async throws {
        let county = try WebTestCounty()
        // A second laptop of the same cadre, holding everything the first holds.
        let key = SigningKey.generate()
        _ = try county.operatorLedger.enroll(publicKey: key.publicKey, role: .cadre, cadre: "王强")
        let other = try Ledger.open(path: nil, root: county.root.publicKey, key: key)
        var records: [[UInt8]] = []
        try county.operatorLedger.replica.exportRecords { records.append($0) }
        _ = try other.replica.importRecords(records)
        try county.cadre.editDemand(county.number, fields: ["title": "厂区道路积水（东门）"])
        try other.editDemand(county.number, fields: ["title": "厂区道路积水<西门>"])
        var theirs: [[UInt8]] = []
        try other.replica.exportRecords { theirs.append($0) }
        _ = try county.cadre.replica.importRecords(theirs)
        #expect(try county.cadre.openConflicts().count == 1)
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            let page = try await browser.get("/conflicts")
            #expect(page.status == .ok)
            #expect(page.text.contains("厂区道路积水（东门）") && page.text.contains("厂区道路积水&lt;西门&gt;"))
            #expect(page.text.contains("标题 (title)") && page.text.contains("当前显示"))
            let csrf = try #require(WebBrowser.csrf(in: page.text))
            // The value from the other laptop is picked: whichever is listed second or first.
            let pick =
                page.text.range(of: "厂区道路积水（东门）")!.lowerBound < page.text.range(of: "厂区道路积水&lt;西门&gt;")!.lowerBound
                ? "2" : "1"
            let row = try county.cadre.demand(named: county.number).lowercased
            let taken = try await browser.post(
                "/conflicts/resolve",
                [("csrf", csrf), ("table", "demands"), ("row", row), ("column", "title"), ("pick", pick)]
            )
            #expect(taken.status == .seeOther)
            let after = try await browser.get("/conflicts")
            #expect(after.text.contains("没有未决的字段冲突"))
            let gone = try await browser.post(
                "/conflicts/resolve",
                [("csrf", csrf), ("table", "demands"), ("row", row), ("column", "title"), ("pick", "1")]
            )
            #expect(gone.status == .unprocessableContent && gone.text.contains("已经不存在"))
        }
        #expect(try county.cadre.openConflicts().isEmpty)
        #expect(try county.cadre.demandDetail(county.number).title == "厂区道路积水<西门>")
    }
}
