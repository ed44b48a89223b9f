import FieldLedger
import FieldStore
import Foundation
import Hummingbird

/// 诉求 and its lists: the 查询条件 panel (paged in SQL through `Ledger.demandPage`), the queues of
/// the coordinator (待受理) and departments (待签收), and the supervisors' 督办, 久拖不决 and 推诿扯皮.
extension WebPages {
    /// A list of the demand page: a queue (a state) or a supervisors' list (an overlay of today).
    enum DemandList: String, CaseIterable {
        case intake, sign, escalated, dragOn, buckPassing

        var title: String {
            switch self {
            case .intake: "待受理"
            case .sign: "待签收"
            case .escalated: "督办"
            case .dragOn: "久拖不决"
            case .buckPassing: "推诿扯皮"
            }
        }

        /// Whether a demand with these overlays is on a supervisors' list.
        func holds(_ overlay: Overlay) -> Bool {
            switch self {
            case .intake, .sign: true
            case .escalated: overlay.escalation != .none
            case .dragOn: !overlay.dragOn.isEmpty
            case .buckPassing: !overlay.buckPassing.isEmpty
            }
        }
    }

    /// `GET /demands`: the demands this device shows that match the 查询条件, 50 to a page.
    func demands(_ request: Request, context: WebContext) throws -> Response {
        let parameters = request.uri.queryParameters
        func value(_ key: String) -> String? {
            guard let text = parameters[Substring(key)].map(String.init)?.trimmingCharacters(in: .whitespaces),
                !text.isEmpty
            else { return nil }
            return text
        }
        let list = value("view").flatMap(DemandList.init(rawValue:))
        var query = DemandQuery()
        if let state = value("state") {
            guard let parsed = DemandState(rawValue: state.uppercased()) else {
                throw WebRefusal(.badRequest, "没有这个状态。", "请从“状态”列表中选择。")
            }
            query.state = parsed
        }
        if list == .intake { query.state = .pendingIntake }
        if list == .sign { query.state = .pendingSign }
        query.text = value("text")
        let lead = value("lead")
        if let lead {
            guard let id = try? ledger.department(named: lead) else {
                throw WebRefusal(.badRequest, "没有这个单位：\(lead)。", "请从“牵头单位”列表中选择。")
            }
            query.lead = id
        }
        query.category = value("category")
        query.township = value("township")
        query.overdueOnly = value("overdue") == "on"
        for (key, label) in [("from", "登记日期自"), ("to", "登记日期至")] {
            guard let text = value(key) else { continue }
            guard let day = Day(text) else {
                throw WebRefusal(.badRequest, "“\(label)”不是日期：\(text)。", "请按 2026-03-15 的格式填写。")
            }
            if key == "from" { query.from = day } else { query.to = day }
        }
        let badges = try SyncBadges(ledger: ledger)
        let sync = value("sync").flatMap(SyncBadges.Kind.init(rawValue:))
        if let sync {
            let conflicted = badges.conflicted.union(try workflowConflicted())
            let refused = Set(badges.standing.refused.keys).subtracting(conflicted)
            let unsynced = badges.standing.unsynced.subtracting(conflicted).subtracting(refused)
            switch sync {
            case .conflict: query.only = conflicted
            case .refused: query.only = refused
            case .unsynced: query.only = unsynced
            case .synced: query.excluding = conflicted.union(refused).union(unsynced)
            }
        }
        let requested = max(1, value("page").flatMap { Int($0) } ?? 1)
        let (calendar, today) = (try ledger.calendar(), ledger.localToday(profile: ledger.profile))
        var page: DemandPage
        if let list, list != .intake, list != .sign {
            // The supervisors' lists depend on today's overlays: judged on every matching demand.
            let all = try ledger.demandPage(query, offset: 0, size: .max, profile: ledger.profile)
            let held = all.rows.filter { row in
                row.status.map { list.holds($0.overlay(on: today, calendar: calendar, profile: ledger.profile)) }
                    ?? false
            }
            page = DemandPage(
                total: held.count,
                rows: Array(held.dropFirst((requested - 1) * Self.pageSize).prefix(Self.pageSize))
            )
        } else {
            page = try ledger.demandPage(
                query,
                offset: (requested - 1) * Self.pageSize,
                size: Self.pageSize,
                profile: ledger.profile
            )
        }
        let pages = max(1, (page.total + Self.pageSize - 1) / Self.pageSize)
        let current = min(requested, pages)
        if current != requested {
            page = try ledger.demandPage(
                query,
                offset: (current - 1) * Self.pageSize,
                size: Self.pageSize,
                profile: ledger.profile
            )
        }
        func link(_ number: Int) -> String {
            var parts = URLComponents()
            parts.path = "/demands"
            let keys = ["view", "state", "text", "lead", "category", "township", "overdue", "from", "to", "sync"]
            parts.queryItems =
                keys.compactMap { key in value(key).map { URLQueryItem(name: key, value: $0) } }
                + [URLQueryItem(name: "page", value: String(number))]
            return parts.string ?? "/demands"
        }
        func options(_ values: [String], chosen: String?) -> [OptionView] {
            values.map { OptionView(value: $0, label: $0, selected: $0 == chosen) }
        }
        let rows = rows(of: page, calendar: calendar, today: today, badges: badges)
        let view = DemandListView(
            list: list?.rawValue ?? "",
            states: DemandState.allCases.map {
                OptionView(value: $0.rawValue, label: $0.chinese, selected: $0 == query.state)
            },
            text: query.text ?? "",
            leads: options(try ledger.registryListing("departments").compactMap { $0["name"] }.sorted(), chosen: lead),
            categories: options(Vocabulary.categories, chosen: query.category),
            townships: options(try townships(), chosen: query.township),
            overdue: query.overdueOnly,
            from: query.from?.description ?? "",
            to: query.to?.description ?? "",
            syncKinds: SyncBadges.Kind.allCases.map {
                OptionView(value: $0.rawValue, label: $0.chinese, selected: $0 == sync)
            },
            total: page.total,
            page: current,
            pages: pages,
            previous: current > 1 ? link(current - 1) : nil,
            next: current < pages ? link(current + 1) : nil,
            demands: rows,
            hasDemands: !rows.isEmpty
        )
        return try self.page(view, "demands", title: list?.title ?? "诉求", context: context)
    }

    /// The townships and parks of the registry's enterprises.
    func townships() throws -> [String] { try ledger.townships() }

    /// The demands with a workflow conflict to settle.
    func workflowConflicted() throws -> Set<UUID> {
        Set(try ledger.workflowConflicts(profile: ledger.profile).compactMap { UUID(uuidString: $0.demand) })
    }
}
