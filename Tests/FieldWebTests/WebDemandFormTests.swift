import FieldCrypto
import FieldStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import FieldLedger
@testable import FieldWeb

/// 新增诉求 (a demand outside a visit, as `fieldlog demand add`), and hostile text on the pages
/// added after the first ones: each value escaped wherever it is shown.
@Suite struct WebDemandFormTests {
    @Test func aDemandIsRegisteredOrRefusedBesideItsField() async throws {
        let county = try WebTestCounty()
        let before = try county.cadre.demands().count
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            let form = try await browser.get("/demands/new")
            #expect(form.status == .ok && form.text.contains("12345转办"))
            let csrf = try #require(WebBrowser.csrf(in: form.text))
            let noContent = try await browser.post(
                "/demands",
                [("csrf", csrf), ("enterprise", "高唐纺织有限公司"), ("title", "排污许可<续期>"), ("content", " ")]
            )
            #expect(noContent.status == .unprocessableContent && noContent.text.contains("请填写“诉求内容”"))
            #expect(noContent.text.contains("id=\"content-error\"") && noContent.text.contains("排污许可&lt;续期&gt;"))
            let badChannel = try await browser.post(
                "/demands",
                [
                    ("csrf", csrf), ("enterprise", "高唐纺织有限公司"), ("title", "排污许可续期"), ("content", "到期"),
                    ("type", "服务求助"), ("category", "其他"), ("urgency", "一般"), ("channel", "微信群"),
                ]
            )
            #expect(badChannel.status == .unprocessableContent && badChannel.text.contains("请从列表中选择“来源渠道”"))
            let saved = try await browser.post(
                "/demands",
                [
                    ("csrf", csrf), ("enterprise", "高唐纺织有限公司"), ("title", "排污许可续期"), ("content", "许可证下月到期"),
                    ("type", "服务求助"), ("category", "安全环保"), ("channel", "12345转办"), ("urgency", "紧急"),
                ]
            )
            #expect(saved.status == .seeOther)
            let page = try await browser.get(try #require(saved.headers[.location]))
            #expect(page.text.contains("诉求已登记（草稿）") && page.text.contains("排污许可续期"))
            #expect(page.text.contains("12345转办"))
        }
        #expect(try county.cadre.demands().count == before + 1)
    }

    @Test func hostileTextIsEscapedOnEveryNewPage() async throws {
        let hostile = "<script>alert(1)</script>\u{202E}<img src=x onerror=alert(2)>"
        let county = try WebTestCounty(demandTitle: hostile)
        try county.cadre.editDemand(county.number, fields: ["content": hostile, "remarks": hostile])
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            let home = try await browser.get("/")
            let start = try #require(home.text.range(of: "href=\"/enterprises/")).lowerBound
            let enterprise = String(home.text[home.text.index(start, offsetBy: 6)...].prefix { $0 != "\"" })
            for path in [
                enterprise, "/demands/\(county.number)", "/demands?view=intake&text=%3Cscript%3E", "/sync",
                "/export", "/rates", "/device", "/demands/new",
            ] {
                let page = try await browser.get(path)
                #expect(page.status == .ok, "\(path)")
                #expect(!page.text.contains("<script>alert"), "\(path) shows markup unescaped")
                #expect(!page.text.contains("<img src=x"), "\(path) shows markup unescaped")
            }
            let detail = try await browser.get("/demands/\(county.number)")
            #expect(detail.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "修改记录 and the facts show it escaped")
        }
    }
}

/// Every control a person fills in on every page has a label bound to it (`<label for=ID>`), so a
/// screen reader names it and a click on the words reaches it.
@Suite struct WebLabelTests {
    /// The ids of the visible controls of a page, and of its labels' `for`.
    static func controls(in page: String) -> (controls: [String], labelled: Set<String>) {
        var controls: [String] = []
        var labelled: Set<String> = []
        for tag in page.split(separator: "<").dropFirst() {
            let text = String(tag.prefix { $0 != ">" })
            func attribute(_ name: String) -> String? {
                guard let range = text.range(of: " \(name)=\"") else { return nil }
                return String(text[range.upperBound...].prefix { $0 != "\"" })
            }
            if text.hasPrefix("label "), let target = attribute("for") { labelled.insert(target) }
            let isControl = text.hasPrefix("input ") || text.hasPrefix("select ") || text.hasPrefix("textarea ")
            if isControl && attribute("type") != "hidden" { controls.append(attribute("id") ?? "(no id: \(text))") }
        }
        return (controls, labelled)
    }

    @Test func everyControlHasItsLabel() async throws {
        let county = try WebTestCounty()
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            let home = try await browser.get("/")
            let start = try #require(home.text.range(of: "href=\"/enterprises/")).lowerBound
            let enterprise = String(home.text[home.text.index(start, offsetBy: 6)...].prefix { $0 != "\"" })
            var checked = 0
            for path in [
                "/", enterprise, "/visits/new", "/demands/new", "/demands", "/demands/\(county.number)", "/conflicts",
                "/sync", "/export", "/export/verify", "/rates", "/device",
            ] {
                let page = try await browser.get(path)
                let (controls, labelled) = Self.controls(in: page.text)
                for control in controls { #expect(labelled.contains(control), "\(path): \(control) has no label") }
                checked += controls.count
            }
            #expect(checked > 50, "the check saw the forms (\(checked) controls)")
        }
    }
}
