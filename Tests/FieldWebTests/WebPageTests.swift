import FieldCrypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Mustache
import Testing

@testable import FieldLedger
@testable import FieldWeb

@Suite struct WebPageTests {
    @Test func theDemandListAndDetailShowTheDemandInChinese() async throws {
        let county = try WebTestCounty()
        _ = try county.cadre.act(.submit, on: county.number, ActionInput())
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            let list = try await browser.get("/demands")
            #expect(list.status == .ok)
            #expect(list.text.contains("共 1 条") && list.text.contains("待受理"), "\(list.text)")
            let filtered = try await browser.get("/demands?state=CLOSED")
            #expect(filtered.text.contains("共 0 条") && filtered.text.contains("没有符合条件的诉求"))
            let bad = try await browser.get("/demands?state=NONSENSE")
            #expect(bad.status == .badRequest && bad.text.contains("没有这个状态"))
            let detail = try await browser.get("/demands/\(county.number)")
            #expect(detail.status == .ok)
            #expect(detail.text.contains("流转日志") && detail.text.contains("提交") && detail.text.contains("草稿 → 待受理"))
            let missing = try await browser.get("/demands/GT-1999-D999-9999")
            #expect(missing.status == .notFound && missing.text.contains("没有诉求"))
            let nowhere = try await browser.get("/nowhere")
            #expect(nowhere.status == .notFound && nowhere.text.contains("没有这个页面"))
        }
    }

    /// Text a person typed is shown escaped on every page that shows it: markup, script, quotes,
    /// SQL and bidi controls come out as text, and a long title whole.
    @Test func hostileTextIsShownEscaped() async throws {
        let hostile = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>'; DROP TABLE demands;--\u{202E}txt.exe"
        let county = try WebTestCounty(demandTitle: hostile + String(repeating: "长", count: 20_000))
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            for path in ["/", "/demands", "/demands/\(county.number)", "/demands?text=%3Cscript%3E"] {
                let page = try await browser.get(path)
                #expect(page.status == .ok, "\(path)")
                #expect(!page.text.contains("<script>alert"), "\(path) shows markup unescaped")
                #expect(!page.text.contains("<img src=x"), "\(path) shows markup unescaped")
                if path != "/demands?text=%3Cscript%3E" {
                    #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "\(path)")
                    #expect(page.text.contains(String(repeating: "长", count: 20_000)), "\(path) cut the title")
                }
            }
            let search = try await browser.get("/demands?text=%3Cscript%3E")
            #expect(search.text.contains("value=\"&lt;script&gt;\""))
        }
    }
}

/// Every template parses and names only keys its view model has (a template naming a missing key
/// would render nothing there, silently).
@Suite struct WebTemplateTests {
    static let models: [String: any WebView] = [
        "layout": LayoutView.sample, "refusal": RefusalView.sample, "unlock": UnlockView.sample,
        "home": HomeView.sample, "demands": DemandListView.sample, "demand": DemandDetailView.sample,
        "visit": VisitFormView.sample, "conflicts": ConflictsView.sample, "sync": SyncView.sample,
        "export": ExportView.sample, "exportReady": ExportReadyView.sample, "verify": VerifyView.sample,
        "enterprise": EnterpriseView.sample, "device": DeviceView.sample, "rates": RatesView.sample,
        "demandNew": DemandFormView.sample,
    ]

    @Test func everyTemplateHasAModelAndParses() throws {
        #expect(Set(Self.models.keys) == Set(WebTemplates.all.keys))
        for text in WebTemplates.all.values { _ = try MustacheTemplate(string: text) }
        _ = WebPages.library
    }

    @Test func everyTemplateNamesOnlyKeysOfItsModel() throws {
        for (name, text) in WebTemplates.all {
            let unknown = TemplateKeys.unknown(in: text, model: try #require(Self.models[name]))
            #expect(unknown.isEmpty, "\(name) names \(unknown), which its view model lacks")
        }
    }

    /// The check itself finds a key a model lacks, in a section and at the top.
    @Test func theCheckFindsAMissingKey() {
        #expect(TemplateKeys.unknown(in: "{{title}} {{nope}}", model: RefusalView.sample) == ["title", "nope"])
        #expect(
            TemplateKeys.unknown(in: "{{#demands}}{{number}}{{missing}}{{/demands}}", model: HomeView.sample)
                == ["missing"]
        )
        #expect(TemplateKeys.unknown(in: "{{#demands}}{{openCount}}{{/demands}}", model: HomeView.sample).isEmpty)
    }
}
