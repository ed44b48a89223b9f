/// The view models the templates render: plain values, already in the county's words. A template
/// names only keys of its model (`WebTemplateTests` checks every template against a sample).
protocol WebView: Sendable {
    /// A model with every optional set and every list non-empty, for the template check.
    static var sample: Self { get }
}

/// The page around every page: the title, the navigation and the body already rendered.
struct LayoutView: WebView {
    var title: String
    var county: String
    var role: String
    var today: String
    var body: String

    static var sample: LayoutView { .init(title: "工作台", county: "高唐县", role: "包联干部", today: "2026-12-01", body: "") }
}

struct RefusalView: WebView {
    var message: String
    var advice: String

    static var sample: RefusalView { .init(message: "尚未登录。", advice: "请用登录链接。") }
}

struct UnlockView: WebView {
    var csrf: String
    var error: String?

    static var sample: UnlockView { .init(csrf: "t", error: "口令不对。") }
}

/// One demand in a list: number, title, enterprise, state, deadline and overlays, as text.
struct DemandRowView: Sendable {
    var number: String
    var link: String
    var title: String
    var enterprise: String
    var state: String
    var deadline: String?
    var workdaysLeft: String?
    /// 黄牌/红牌, 督办 levels, 超期 and a workflow conflict, each as words (never colour alone).
    var flags: [FlagView]
}

struct FlagView: Sendable {
    var text: String
    /// The CSS class that colours it: `yellow`, `red`, `alert` or `note`.
    var kind: String
}

struct HomeView: WebView {
    var openCount: Int
    var overdueCount: Int
    var cardCount: Int
    var conflictCount: Int
    var heldCount: Int
    var demands: [DemandRowView]
    var hasDemands: Bool

    static var sample: HomeView {
        .init(
            openCount: 1,
            overdueCount: 1,
            cardCount: 1,
            conflictCount: 1,
            heldCount: 1,
            demands: [DemandRowView.sample],
            hasDemands: true
        )
    }
}

extension DemandRowView {
    static var sample: DemandRowView {
        .init(
            number: "GT-2026-D001-0001",
            link: "/demands/GT-2026-D001-0001",
            title: "用地",
            enterprise: "甲企业",
            state: "办理中",
            deadline: "2026-12-20",
            workdaysLeft: "还有 3 个工作日",
            flags: [FlagView(text: "黄牌", kind: "yellow")]
        )
    }
}

/// One choice of a select, marked when it is the one chosen.
struct OptionView: Sendable {
    var value: String
    var label: String
    var selected: Bool
}

struct DemandListView: WebView {
    var states: [OptionView]
    var text: String
    var total: Int
    var page: Int
    var pages: Int
    var previous: String?
    var next: String?
    var demands: [DemandRowView]
    var hasDemands: Bool

    static var sample: DemandListView {
        .init(
            states: [OptionView(value: "IN_PROGRESS", label: "办理中", selected: true)],
            text: "用地",
            total: 1,
            page: 1,
            pages: 1,
            previous: "/demands?page=1",
            next: "/demands?page=2",
            demands: [DemandRowView.sample],
            hasDemands: true
        )
    }
}

/// A label and a value of a demand's facts.
struct FactView: Sendable {
    var label: String
    var value: String
}

/// One entry of the 流转日志.
struct EventView: Sendable {
    var time: String
    var actor: String
    var action: String
    var change: String
    var comment: String?
}

struct DemandDetailView: WebView {
    var number: String
    var title: String
    var state: String
    var flags: [FlagView]
    var facts: [FactView]
    var events: [EventView]
    var reasons: [String]

    static var sample: DemandDetailView {
        .init(
            number: "GT-2026-D001-0001",
            title: "用地",
            state: "办理中",
            flags: [FlagView(text: "红牌", kind: "red")],
            facts: [FactView(label: "企业", value: "甲企业")],
            events: [
                EventView(
                    time: "2026-12-01 09:00",
                    actor: "王强 (D002)",
                    action: "交办",
                    change: "待受理 → 待签收",
                    comment: "请办理"
                )
            ],
            reasons: ["久拖不决：超期"]
        )
    }
}
