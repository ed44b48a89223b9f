import FieldCrypto
import FieldStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import FieldLedger
@testable import FieldWeb

/// 导出: the 工作台账 of a filter and the 月调度, written and signed by this device and downloaded;
/// 核验 checks an uploaded file against its signature.
@Suite struct WebExportTests {
    @Test func theLedgerIsExportedSignedAndVerified() async throws {
        let county = try WebTestCounty()
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            let page = try await browser.get("/export")
            #expect(page.status == .ok && page.text.contains("工作台账") && page.text.contains("月调度"))
            let csrf = try #require(WebBrowser.csrf(in: page.text))
            let made = try await browser.post(
                "/export/ledger",
                [("csrf", csrf), ("unresolved", "on"), ("format", "csv")]
            )
            #expect(made.status == .seeOther)
            let ready = try await browser.get(try #require(made.headers[.location]))
            #expect(ready.text.contains("已导出并签名") && ready.text.contains("1 行"))
            let link = try #require(ready.text.range(of: "href=\"/export/files/")).lowerBound
            let token = ready.text[ready.text.index(link, offsetBy: 20)...].prefix { $0 != "\"" }
            let file = try await browser.get("/export/files/\(token)")
            #expect(file.headers[.contentDisposition]?.contains("filename*=UTF-8''") == true)
            let bytes = [UInt8](file.body.map { Data($0.readableBytesView) } ?? Data())
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.hasPrefix("\u{FEFF}序号,"), "the CSV opens in Excel with its header: \(text.prefix(40))")
            #expect(text.contains(county.number))
            let signature = [UInt8](
                try await browser.get("/export/files/\(token)/sig").body.map { Data($0.readableBytesView) } ?? Data()
            )

            let verified = try await browser.upload(
                "/export/verify",
                fields: [("csrf", csrf)],
                files: [("file", "工作台账.csv", bytes), ("signature", "工作台账.csv.sig", signature)]
            )
            #expect(verified.status == .ok && verified.text.contains("未被改动"), "\(verified.text)")
            var altered = bytes
            altered[altered.count - 3] ^= 1
            let refused = try await browser.upload(
                "/export/verify",
                fields: [("csrf", csrf)],
                files: [("file", "工作台账.csv", altered), ("signature", "工作台账.csv.sig", signature)]
            )
            #expect(refused.status == .unprocessableContent && refused.text.contains("已被改动"))
            let notSig = try await browser.upload(
                "/export/verify",
                fields: [("csrf", csrf)],
                files: [("file", "工作台账.csv", bytes), ("signature", "a.sig", Array("{}".utf8))]
            )
            #expect(notSig.status == .unprocessableContent && notSig.text.contains("不是 fieldlog 的签名文件"))

            let xlsx = try await browser.post(
                "/export/monthly",
                [("csrf", csrf), ("month", "2026-12"), ("format", "xlsx")]
            )
            let monthly = try await browser.get(try #require(xlsx.headers[.location]))
            #expect(monthly.text.contains("月调度-2026-12"))

            let json = try await browser.post("/export/ledger", [("csrf", csrf), ("format", "json")])
            #expect(json.status == .unprocessableContent && json.text.contains("请选择文件格式"))
            let dates = try await browser.post(
                "/export/ledger",
                [("csrf", csrf), ("format", "csv"), ("from", "2026-12-31"), ("to", "2026-01-01")]
            )
            #expect(dates.status == .unprocessableContent && dates.text.contains("起日不晚于止日"))
            #expect(try await browser.get("/export/files/nothing").status == .notFound)
        }
    }
}
