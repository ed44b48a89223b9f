import FieldCrypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import FieldLedger
@testable import FieldWeb

/// 新增走访: a visit and its demands on one form, saved in one commit; a refusal in Chinese with
/// everything typed kept, and nothing stored, not even the visit.
@Suite struct WebVisitTests {
    static func form(_ csrf: String, _ fields: [(String, String)]) -> [(String, String)] { [("csrf", csrf)] + fields }

    @Test func aVisitWithTwoDemandsIsSavedInOneCommit() async throws {
        let county = try WebTestCounty()
        let before = try county.cadre.demands().count
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            let page = try await browser.get("/visits/new")
            #expect(page.status == .ok && page.text.contains("本次无诉求") && page.text.contains("高唐纺织有限公司"))
            let csrf = try #require(WebBrowser.csrf(in: page.text))
            let saved = try await browser.post(
                "/visits",
                Self.form(
                    csrf,
                    [
                        ("enterprise", "高唐纺织有限公司"), ("date", county.cadre.today()), ("mode", "实地"),
                        ("serviceDay", "on"), ("topics", "用工、用电"), ("title1", "招工难"), ("content1", "缺熟练挡车工 30 人"),
                        ("type1", "服务求助"), ("category1", "用工"), ("urgency1", "紧急"), ("title2", "变压器增容"),
                        ("content2", "新增设备用电负荷"), ("category2", "水电气热"), ("title3", ""), ("nextVisit", ""),
                    ]
                )
            )
            #expect(saved.status == .seeOther, "\(saved.text)")
            let home = try await browser.get("/")
            #expect(home.text.contains("招工难") && home.text.contains("变压器增容"))
        }
        let demands = try county.cadre.demands()
        #expect(demands.count == before + 2)
        let visits = try county.cadre.visits()
        #expect(visits.count == 1 && visits[0].isServiceDay && visits[0].topics == "用工、用电")
        let added = demands.filter { ["招工难", "变压器增容"].contains($0.title) }
        #expect(added.allSatisfy { $0.channel == "服务日走访" })
        #expect(added.first { $0.title == "招工难" }?.urgency == "紧急")
    }

    @Test func aRefusedVisitKeepsWhatWasTypedAndStoresNothing() async throws {
        let county = try WebTestCounty()
        let (visits, demands) = (try county.cadre.visits().count, try county.cadre.demands().count)
        let hostile = "<script>alert(1)</script>"
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            let csrf = try #require(WebBrowser.csrf(in: try await browser.get("/visits/new").text))
            let noEnterprise = try await browser.post("/visits", Self.form(csrf, [("topics", hostile)]))
            #expect(noEnterprise.status == .unprocessableContent && noEnterprise.text.contains("请选择“企业”"))
            #expect(noEnterprise.text.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""), "kept, escaped")
            // The second demand row has a title but no content: the whole visit is refused.
            let badRow = try await browser.post(
                "/visits",
                Self.form(
                    csrf,
                    [
                        ("enterprise", "高唐纺织有限公司"), ("topics", "用工"), ("title1", "招工难"), ("content1", "缺人"),
                        ("title2", "只有标题"),
                    ]
                )
            )
            #expect(badRow.status == .unprocessableContent)
            // Said beside the field, in Chinese (issue 15: errors per field), naming the row.
            #expect(badRow.text.contains("（诉求 2）") && badRow.text.contains("请填写“诉求内容”"), "\(badRow.text)")
            #expect(badRow.text.contains("id=\"content2-error\""), "beside the second row's content")
            #expect(badRow.text.contains("value=\"只有标题\"") && badRow.text.contains("value=\"招工难\""))
            let both = try await browser.post(
                "/visits",
                Self.form(
                    csrf,
                    [("enterprise", "高唐纺织有限公司"), ("noDemands", "on"), ("title1", "招工难"), ("content1", "缺人")]
                )
            )
            #expect(both.status == .unprocessableContent && both.text.contains("本次无诉求"))
            #expect(both.text.contains("id=\"noDemands\" name=\"noDemands\" value=\"on\" checked"))
            let future = try await browser.post(
                "/visits",
                Self.form(csrf, [("enterprise", "高唐纺织有限公司"), ("date", "2099-01-01")])
            )
            #expect(future.status == .unprocessableContent && future.text.contains("2099-01-01"))
        }
        #expect(try county.cadre.visits().count == visits && county.cadre.demands().count == demands)
    }
}
