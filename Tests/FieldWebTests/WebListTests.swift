import FieldCrypto
import FieldStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import FieldLedger
@testable import FieldWeb

/// The pages around the lists: a cadre's enterprises on 工作台 and 企业详情; the coordinator's and
/// departments' queues and the 查询条件 of 诉求 (paged in SQL); 比率; 设备 and its font size.
@Suite struct WebListTests {
    /// Serves the UI of `ledger` (a device of the county) to a logged-in browser.
    func withScreens(
        _ county: WebTestCounty,
        of ledger: Ledger,
        _ body: @escaping @Sendable (inout WebBrowser) async throws -> Void
    ) async throws {
        var configuration = county.configuration()
        configuration.ledger = ledger
        try await buildWebApp(configuration).test(.live) { live in
            let port = try #require(live.port)
            try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                var browser = WebBrowser(client: client, port: port)
                try await browser.login(county.sessions)
                try await body(&browser)
            }
        }
    }

    func device(_ county: WebTestCounty, _ role: Role, department: String? = nil) throws -> Ledger {
        let key = SigningKey.generate()
        _ = try county.operatorLedger.enroll(publicKey: key.publicKey, role: role, department: department, label: "设备")
        return Ledger(replica: county.operatorLedger.replica, publicKey: key.publicKey, signer: key)
    }

    @Test func aCadreSeesItsEnterprisesAndOpensOne() async throws {
        let county = try WebTestCounty()
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            let home = try await browser.get("/")
            #expect(home.text.contains("我包联的企业") && home.text.contains("主包") && home.text.contains("尚未走访"))
            let start = try #require(home.text.range(of: "href=\"/enterprises/")).lowerBound
            let link = String(home.text[home.text.index(start, offsetBy: 6)...].prefix { $0 != "\"" })
            let page = try await browser.get(link)
            #expect(page.status == .ok && page.text.contains("91371082775260043P") && page.text.contains("王强（主包）"))
            #expect(page.text.contains(county.number), "the enterprise's demands are listed")
            #expect(page.text.contains("/visits/new?enterprise="))
            let form = try await browser.get(
                "/visits/new?enterprise=" + "高唐纺织有限公司".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            )
            #expect(form.text.contains("<option value=\"高唐纺织有限公司\" selected>"))
            #expect(try await browser.get("/enterprises/not-an-id").status == .notFound)
            // No role pages for a cadre; everyone has 设备.
            #expect(!home.text.contains("待受理") && home.text.contains("href=\"/device\""))
        }
    }

    @Test func theQueuesAndTheFiltersFindTheirDemands() async throws {
        let county = try WebTestCounty()
        let coordinator = try device(county, .coordinator)
        _ = try county.cadre.act(.submit, on: county.number, ActionInput())
        try await withScreens(county, of: coordinator) { browser in
            let home = try await browser.get("/")
            #expect(home.text.contains("href=\"/demands?view=intake\"") && home.text.contains("督办"))
            let intake = try await browser.get("/demands?view=intake")
            #expect(intake.text.contains("<h1>待受理</h1>") && intake.text.contains("共 1 条"))
            #expect(intake.text.contains(county.number))
            #expect(try await browser.get("/demands?view=sign").text.contains("共 0 条"))
            var input = ActionInput()
            input.lead = "县市场监管局"
            _ = try coordinator.act(.assign, on: county.number, input)
            #expect(try await browser.get("/demands?view=sign").text.contains("共 1 条"))
            let lead = "县市场监管局".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            #expect(try await browser.get("/demands?lead=\(lead)").text.contains("共 1 条"))
            #expect(try await browser.get("/demands?overdue=on").text.contains("共 0 条"))
            #expect(try await browser.get("/demands?text=\(county.number)").text.contains("共 1 条"))
            #expect(try await browser.get("/demands?from=2000-01-01&to=2000-01-02").text.contains("共 0 条"))
            let category = "基础设施".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            #expect(try await browser.get("/demands?category=\(category)").text.contains("共 1 条"))
            #expect(try await browser.get("/demands?state=NOPE").status == .badRequest)
            #expect(try await browser.get("/demands?lead=%E6%97%A0").status == .badRequest)
            let badDate = try await browser.get("/demands?from=2026-13-40")
            #expect(badDate.status == .badRequest && badDate.text.contains("不是日期"))
            for list in ["escalated", "dragOn", "buckPassing"] {
                #expect(try await browser.get("/demands?view=\(list)").status == .ok)
            }
        }
        let department = try device(county, .department, department: "县市场监管局")
        try await withScreens(county, of: department) { browser in
            let home = try await browser.get("/")
            #expect(home.text.contains("href=\"/demands?view=sign\"") && !home.text.contains("view=intake"))
            #expect(try await browser.get("/demands?view=sign").text.contains(county.number))
        }
    }

    @Test func theRatesPageDrawsItsChartsOnTheServer() async throws {
        let county = try WebTestCounty()
        let supervisor = try device(county, .supervisor)
        let coordinator = try device(county, .coordinator)
        _ = try county.cadre.act(.submit, on: county.number, ActionInput())
        var input = ActionInput()
        input.lead = "县市场监管局"
        _ = try coordinator.act(.assign, on: county.number, input)
        let month = String(county.cadre.today().prefix(7))
        try await withScreens(county, of: supervisor) { browser in
            let page = try await browser.get("/rates?month=\(month)")
            #expect(page.status == .ok && page.text.contains("按时办结率") && page.text.contains("本月 \(month)"))
            #expect(page.text.contains("按牵头单位") && page.text.contains("按镇街/园区"))
            #expect(page.text.contains("<svg role=\"img\"") && page.text.contains(">县市场监管局</text>"))
            #expect(!page.text.contains("<script>"), "no inline script draws the charts")
            #expect(try await browser.get("/rates?month=twelve").status == .badRequest)
        }
    }

    @Test func theDevicePageShowsTheFingerprintsAndSwitchesTheFontSize() async throws {
        let county = try WebTestCounty()
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            let page = try await browser.get("/device")
            #expect(page.text.contains(county.cadre.publicKey.fingerprint))
            #expect(page.text.contains(county.root.publicKey.fingerprint) && page.text.contains("包联干部"))
            #expect(!page.text.contains("class=\"large\""))
            let csrf = try #require(WebBrowser.csrf(in: page.text))
            let switched = try await browser.post("/device/font", [("csrf", csrf), ("size", "large")])
            let cookie = try #require(switched.headers[.setCookie])
            #expect(cookie.hasPrefix("fieldlog_font=large") && cookie.contains("HttpOnly"))
            var fields = browser.headers()
            fields[.cookie] = "fieldlog_session=\(browser.cookie!); fieldlog_font=large"
            let large = try await browser.client.execute(
                TestClient.Request("/device", method: .get, authority: browser.host, headers: fields)
            )
            #expect(large.text.contains("<body class=\"large\">") && large.text.contains("已切换为大字"))
        }
    }
}
