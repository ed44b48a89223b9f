import FieldCrypto
import FieldLedger
import FieldStore
import Foundation
import Hummingbird

/// 企业详情, and this device's page (设备) with the font-size switch.
extension WebPages {
    /// `GET /enterprises/ID`: the registry's facts, the linked cadres, the visits and the demands.
    func enterprise(_ text: String, context: WebContext) throws -> Response {
        guard let id = UUID(uuidString: text), let facts = try ledger.enterpriseFacts(id),
            let name = try ledger.enterpriseName(id)
        else {
            throw WebRefusal(.notFound, "没有这家企业。", "请从工作台或诉求列表进入。")
        }
        let (calendar, today) = (try ledger.calendar(), ledger.localToday(profile: ledger.profile))
        var query = DemandQuery()
        query.enterprise = id
        let page = try ledger.demandPage(query, offset: 0, size: 200, profile: ledger.profile)
        let badges = try SyncBadges(ledger: ledger)
        let demands = rows(of: page, calendar: calendar, today: today, badges: badges)
        let visits = try ledger.visits(enterprise: name).reversed().map { visit in
            VisitRowView(
                date: visit.date,
                mode: visit.mode ?? "",
                serviceDay: visit.isServiceDay ? "是" : "否",
                cadre: visit.cadre ?? "",
                topics: visit.topics ?? "",
                handle: visit.handle
            )
        }
        let writable = try ledger.writableEnterprises().contains(name)
        let view = EnterpriseView(
            name: name,
            facts: facts.facts.map { FactView(label: $0.0, value: $0.1) },
            cadres: facts.cadres.map { "\($0.0)（\($0.1)）" },
            visitLink: writable
                ? "/visits/new?enterprise=" + (name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
                : nil,
            visits: visits,
            hasVisits: !visits.isEmpty,
            demands: demands,
            hasDemands: !demands.isEmpty,
            demandCount: page.total
        )
        return try self.page(view, "enterprise", title: "企业详情", context: context)
    }

    /// The link to an enterprise's page.
    static func link(toEnterprise id: UUID) -> String { "/enterprises/" + id.lowercased }

    /// `GET /device`: this device's and the county root's fingerprints, its role and enrollment,
    /// and the font size of the screens.
    func device(_ context: WebContext, large: Bool) throws -> Response {
        let own = try ledger.registryListing("devices").first { $0["public_key"] == ledger.publicKey.hex }
        var facts = [
            FactView(label: "本机公钥指纹", value: ledger.publicKey.fingerprint),
            FactView(label: "县根密钥指纹", value: ledger.rootKey.fingerprint),
            FactView(label: "角色", value: try ledger.enrolledRole()?.displayName ?? "尚未登记"),
        ]
        for (key, label) in [("code", "设备编号"), ("holder", "使用人"), ("enrolled_at", "登记时间")] {
            if let value = own?[key], !value.isEmpty {
                facts.append(
                    FactView(
                        label: label,
                        value: key == "enrolled_at" ? Self.localTime(value, profile: ledger.profile) : value
                    )
                )
            }
        }
        let standing = try ledger.standing(of: ledger.publicKey)
        if standing == .revoked { facts.append(FactView(label: "状态", value: "已吊销：本机的新修改不会被接受")) }
        facts.append(
            FactView(label: "时区与工作日", value: "\(ledger.profile.name)，UTC+\(ledger.profile.utcOffsetMinutes / 60)")
        )
        let view = DeviceView(csrf: context.session?.csrf ?? "", facts: facts, large: large)
        return try page(view, "device", title: "设备", context: context)
    }

    /// `POST /device/font`: 标准 or 大字, kept in a cookie of this browser.
    func setFont(_ context: WebContext) -> Response {
        let large = context.form?["size"] == "large"
        sessions.notice(large ? "已切换为大字。" : "已切换为标准字号。", to: context.session?.id)
        var response = Response.redirect(to: "/device", type: .normal)
        response.setCookie(
            Cookie(
                name: Self.fontCookie,
                value: large ? "large" : "standard",
                maxAge: 365 * 86_400,
                path: "/",
                httpOnly: true,
                sameSite: .strict
            )
        )
        return response
    }

    static let fontCookie = "fieldlog_font"
}
