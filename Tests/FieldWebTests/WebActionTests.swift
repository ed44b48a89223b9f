import FieldCrypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import FieldLedger
@testable import FieldWeb

/// The workflow's steps as forms on 诉求详情: only the steps this device may take now, each taken
/// through the ledger; a refusal said in Chinese with the values kept and nothing stored.
@Suite struct WebActionTests {
    /// Posts the form of `action` from the demand's page, with the page's CSRF token.
    static func act(
        _ browser: WebBrowser,
        _ number: String,
        _ action: String,
        _ fields: [(String, String)] = [],
        csrf known: String? = nil
    ) async throws -> TestClient.Response {
        let page = try await browser.get("/demands/\(number)")
        let csrf = try #require(known ?? WebBrowser.csrf(in: page.text))
        return try await browser.post("/demands/\(number)/act", [("csrf", csrf), ("action", action)] + fields)
    }

    @Test func aCadreSubmitsItsDraftAndSeesOnlyItsOwnSteps() async throws {
        let county = try WebTestCounty()
        let number = county.number
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            let draft = try await browser.get("/demands/\(number)")
            let csrf = try #require(WebBrowser.csrf(in: draft.text))
            #expect(draft.text.contains("value=\"submit\"") && draft.text.contains("<legend>提交</legend>"))
            #expect(!draft.text.contains("value=\"assign\""), "a cadre is offered no coordinator's step")
            let taken = try await Self.act(browser, number, "submit")
            #expect(taken.status == .seeOther && taken.headers[.location] == "/demands/\(number)")
            let after = try await browser.get("/demands/\(number)")
            #expect(after.text.contains("待受理") && after.text.contains("草稿 → 待受理"))
            #expect(after.text.contains("本机当前没有可对该诉求办理的操作"), "nothing more for the cadre now")
            // A form posted from a page shown before the step (another tab): refused as such.
            let again = try await Self.act(browser, number, "submit", csrf: csrf)
            #expect(again.status == .unprocessableContent)
            #expect(again.text.contains("当前为“待受理”，不能“提交”"), "\(again.text)")
        }
        #expect(try county.cadre.status(of: number).state == .pendingIntake)
    }

    @Test func aRefusedStepSaysWhyInChineseKeepsTheValuesAndStoresNothing() async throws {
        let county = try WebTestCounty()
        _ = try county.cadre.act(.submit, on: county.number, ActionInput())
        let coordinatorKey = SigningKey.generate()
        _ = try county.operatorLedger.enroll(publicKey: coordinatorKey.publicKey, role: .coordinator)
        let coordinator = Ledger(
            replica: county.operatorLedger.replica,
            publicKey: coordinatorKey.publicKey,
            signer: coordinatorKey
        )
        var configuration = county.configuration()
        configuration.ledger = coordinator
        let number = county.number
        let events = try coordinator.workflowEvents(of: try coordinator.demand(named: number)).count
        try await buildWebApp(configuration).test(.live) { live in
            let port = try #require(live.port)
            try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                var browser = WebBrowser(client: client, port: port)
                try await browser.login(county.sessions)
                let page = try await browser.get("/demands/\(number)")
                for offered in ["assign", "reject", "reply"] {
                    #expect(page.text.contains("value=\"\(offered)\""), "the coordinator is offered \(offered)")
                }
                let hostile = "<b>不予受理</b>"
                let noComment = try await Self.act(browser, number, "reject", [("comment", "  ")])
                #expect(noComment.status == .unprocessableContent)
                #expect(noComment.text.contains("“不予受理”需要填写意见"), "\(noComment.text)")
                let noLead = try await Self.act(browser, number, "assign", [("comment", hostile)])
                #expect(noLead.text.contains("请填写“牵头单位”"))
                #expect(
                    noLead.text.contains("&lt;b&gt;不予受理&lt;/b&gt;</textarea>"),
                    "the typed comment is kept, escaped"
                )
                let unknown = try await Self.act(browser, number, "assign", [("lead", "不存在的局")])
                #expect(unknown.status == .unprocessableContent && unknown.text.contains("未能保存"))
                #expect(try coordinator.workflowEvents(of: try coordinator.demand(named: number)).count == events)
                let bogus = try await Self.act(browser, number, "launch")
                #expect(bogus.status == .badRequest)
                let assigned = try await Self.act(browser, number, "assign", [("lead", "县市场监管局"), ("comment", "请办理")])
                #expect(assigned.status == .seeOther)
                let after = try await browser.get("/demands/\(number)")
                #expect(after.text.contains("待签收") && after.text.contains("请办理"))
            }
        }
        #expect(try coordinator.status(of: number).state == .pendingSign)
    }
}
