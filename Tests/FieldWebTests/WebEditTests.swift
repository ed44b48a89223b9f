import FieldCrypto
import FieldStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import FieldLedger
@testable import FieldWeb

/// 修改诉求 on 诉求详情: the changed facts signed as one commit with its event, shown in 修改记录; a
/// refused change says why in Chinese and keeps what was typed; a device that may not change the
/// demand is told why instead of getting a form.
@Suite struct WebEditTests {
    @Test func aCadreCorrectsADemandAndSeesTheChangeOnce() async throws {
        let county = try WebTestCounty()
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            let page = try await browser.get("/demands/\(county.number)")
            #expect(page.text.contains("修改诉求内容") && page.text.contains("name=\"title\" value=\"厂区道路积水\""))
            let csrf = try #require(WebBrowser.csrf(in: page.text))
            let saved = try await browser.post(
                "/demands/\(county.number)/edit",
                [
                    ("csrf", csrf), ("title", "厂区道路积水（东门）"), ("content", "雨季积水"), ("category", "基础设施"),
                    ("urgency", "紧急"), ("comment", "补充位置"),
                ]
            )
            #expect(saved.status == .seeOther && saved.headers[.location] == "/demands/\(county.number)")
            let after = try await browser.get("/demands/\(county.number)")
            #expect(after.text.contains("已保存修改"), "the confirmation is shown after the save")
            #expect(after.text.contains("<h2>厂区道路积水（东门）</h2>"))
            #expect(after.text.contains("<td>标题</td><td>厂区道路积水（东门）</td>"), "修改记录 lists the change")
            #expect(after.text.contains("补充位置"), "the reason is in the 流转日志")
            let again = try await browser.get("/demands/\(county.number)")
            #expect(!again.text.contains("已保存修改"), "the confirmation is shown once")
        }
        let demand = try county.cadre.demandDetail(county.number)
        #expect(demand.title == "厂区道路积水（东门）" && demand.urgency == "紧急")
    }

    @Test func aRefusedChangeSaysWhyKeepsTheValuesAndStoresNothing() async throws {
        let county = try WebTestCounty()
        let before = try county.cadre.commitCounts().applied
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            let page = try await browser.get("/demands/\(county.number)")
            let csrf = try #require(WebBrowser.csrf(in: page.text))
            let emptyTitle = try await browser.post(
                "/demands/\(county.number)/edit",
                [("csrf", csrf), ("title", "  "), ("content", "雨季积水<b>加重</b>")]
            )
            #expect(emptyTitle.status == .unprocessableContent && emptyTitle.text.contains("请填写“标题”"))
            #expect(emptyTitle.text.contains("雨季积水&lt;b&gt;加重&lt;/b&gt;"), "what was typed is kept, escaped")
            let badCategory = try await browser.post(
                "/demands/\(county.number)/edit",
                [("csrf", csrf), ("title", "厂区道路积水"), ("category", "不存在的类别")]
            )
            #expect(badCategory.status == .unprocessableContent && badCategory.text.contains("未能保存"))
            let nothing = try await browser.post(
                "/demands/\(county.number)/edit",
                [("csrf", csrf), ("title", "厂区道路积水")]
            )
            #expect(nothing.status == .unprocessableContent && nothing.text.contains("没有改动任何内容"))
        }
        #expect(try county.cadre.commitCounts().applied == before, "a refused change stores nothing")
    }

    @Test func aDeviceThatMayNotChangeADemandIsToldWhy() async throws {
        let county = try WebTestCounty()
        let key = SigningKey.generate()
        _ = try county.operatorLedger.enroll(publicKey: key.publicKey, role: .supervisor, label: "督查室")
        let supervisor = Ledger(replica: county.operatorLedger.replica, publicKey: key.publicKey, signer: key)
        #expect(try supervisor.editBlocks(ofDemand: county.number) == [.roleMayNot(.supervisor)])
        var configuration = county.configuration()
        configuration.ledger = supervisor
        try await buildWebApp(configuration).test(.live) { live in
            try await TestClient.withClient(host: "127.0.0.1", port: live.port!) { client in
                var browser = WebBrowser(client: client, port: live.port!)
                try await browser.login(county.sessions)
                let page = try await browser.get("/demands/\(county.number)")
                #expect(page.text.contains("只能查看和督办，不能修改诉求内容") && !page.text.contains("保存修改"))
                let csrf = try #require(WebBrowser.csrf(in: try await browser.get("/sync").text))
                let tried = try await browser.post(
                    "/demands/\(county.number)/edit",
                    [("csrf", csrf), ("title", "改了")]
                )
                #expect(tried.status == .unprocessableContent && tried.text.contains("本机无权这样做"))
            }
        }
        // The cadre's link ends: the cadre's device is told it is no longer linked.
        try county.operatorLedger.unlink(cadre: "王强", enterprise: "高唐纺织有限公司")
        #expect(try county.cadre.editBlocks(ofDemand: county.number) == [.notLinked])
    }
}
