import FieldLedger
import FieldWeb

/// The view models the console's templates render: plain values, already in the county's words.
/// A template names only keys of its model (`DashboardTemplateTests` renders each with `sample`
/// and fails on an empty slot).
protocol DashboardView: Sendable {
    /// A model with every optional set and every list non-empty, for the template check.
    static var sample: Self { get }
}

struct NavLink: Sendable {
    var label: String
    var href: String
    var current: Bool
}

/// The page around every page: the title, the navigation, who is logged in, the body.
struct ConsoleLayout: DashboardView {
    var title: String
    var county: String
    var today: String
    var body: String
    /// The navigation, for a logged-in user only.
    var nav: [NavLink] = []
    var user: String?
    var role: String?
    var csrf: String?
    var notice: String?
    /// Seconds after which the page reloads itself (an export being written).
    var refresh: String?

    static var sample: ConsoleLayout {
        .init(
            title: "总览",
            county: "高唐县",
            today: "2026-12-02",
            body: "<p>x</p>",
            nav: [NavLink(label: "总览", href: "/", current: true)],
            user: "张三",
            role: "督查人员",
            csrf: "t",
            notice: "已保存。",
            refresh: "2"
        )
    }
}

struct RefusalPage: DashboardView {
    var message: String
    var advice: String

    static var sample: RefusalPage { .init(message: "尚未登录。", advice: "请先登录。") }
}

struct LoginPage: DashboardView {
    var csrf: String
    var name: String
    var error: String?
    /// The county's name, for the note under the form (the code field is always shown: an account
    /// without TOTP leaves it empty).
    var county: String

    static var sample: LoginPage { .init(csrf: "t", name: "张三", error: "用户名或密码不对。", county: "高唐县") }
}

struct CountRow: Sendable {
    var label: String
    var count: String
    var link: String?
}

struct RateRow: Sendable {
    var label: String
    var now: String
    var then: String
}

struct ChartSection: Sendable {
    var title: String
    var chart: ChartView
}

/// 总览.
struct OverviewPage: DashboardView {
    var month: String
    var previous: String
    var states: [CountRow]
    var total: String
    var flags: [CountRow]
    var rates: [RateRow]
    var overdueNote: String
    var charts: [ChartSection]

    static var sample: OverviewPage {
        .init(
            month: "2026-12",
            previous: "2026-11",
            states: [CountRow(label: "办理中", count: "3", link: "/ledger?status=IN_PROGRESS")],
            total: "10",
            flags: [CountRow(label: "超期", count: "1", link: "/ledger?overdue=on")],
            rates: [RateRow(label: "按时办结率", now: "50.0%", then: "—")],
            overdueNote: "超期 1 件",
            charts: [
                ChartSection(
                    title: "按牵头单位",
                    chart: WebCharts.chart("按时办结率", [("县市场监管局", .init(), .init())])
                )
            ]
        )
    }
}

struct Choice: Sendable {
    var value: String
    var label: String
    var selected: Bool
}

struct HiddenField: Sendable {
    var name: String
    var value: String
}

struct ColumnChoice: Sendable {
    var index: Int
    var label: String
    var checked: Bool
}

struct HeaderCell: Sendable {
    var label: String
    /// The link that sorts by this column, when it sorts.
    var link: String?
    /// ▲ or ▼ on the column the rows are sorted by.
    var mark: String
}

struct LedgerRowView: Sendable {
    var cells: [String]
}

/// 工作台账.
struct LedgerPageView: DashboardView {
    var csrf: String
    var sizes: [Choice]
    var statuses: [Choice]
    var leads: [Choice]
    var cadres: [Choice]
    var townships: [Choice]
    var categories: [Choice]
    var overdue: Bool
    var from: String
    var to: String
    var sorts: [Choice]
    var descending: Bool
    var columns: [ColumnChoice]
    var total: String
    var overdueCount: String
    var page: Int
    var pages: Int
    var headers: [HeaderCell]
    var rows: [LedgerRowView]
    var hasRows: Bool
    var previous: String?
    var next: String?
    /// The view's query as hidden fields of the export form (exactly what is shown is exported).
    var hidden: [HiddenField]

    static var sample: LedgerPageView {
        .init(
            csrf: "t",
            sizes: [Choice(value: "50", label: "50 条", selected: true)],
            statuses: [Choice(value: "", label: "未办结", selected: true)],
            leads: [Choice(value: "县市场监管局", label: "县市场监管局", selected: false)],
            cadres: [Choice(value: "王强", label: "王强", selected: false)],
            townships: [Choice(value: "鱼邱湖街道", label: "鱼邱湖街道", selected: false)],
            categories: [Choice(value: "基础设施", label: "基础设施", selected: false)],
            overdue: true,
            from: "2026-01-01",
            to: "2026-12-31",
            sorts: [Choice(value: "number", label: "诉求编号", selected: true)],
            descending: true,
            columns: [ColumnChoice(index: 1, label: "诉求编号", checked: true)],
            total: "1",
            overdueCount: "0",
            page: 1,
            pages: 1,
            headers: [HeaderCell(label: "诉求编号", link: "/ledger?sort=number", mark: "▲")],
            rows: [LedgerRowView(cells: ["1", "GT-2026-0001"])],
            hasRows: true,
            previous: "/ledger?page=1",
            next: "/ledger?page=2",
            hidden: [HiddenField(name: "lead", value: "县市场监管局")]
        )
    }
}

/// An export being written, or written and signed.
struct ExportPage: DashboardView {
    var running: Bool
    var name: String
    var rows: String
    var size: String
    var hash: String
    var signedAt: String
    var file: String
    var signature: String
    var failure: String?

    static var sample: ExportPage {
        .init(
            running: true,
            name: "高唐县企业诉求工作台账_截至2026-12-02.xlsx",
            rows: "12",
            size: "4096",
            hash: "0a1b2c3d",
            signedAt: "2026-12-02 14:00",
            file: "/exports/x/file",
            signature: "/exports/x/sig",
            failure: "导出失败。"
        )
    }
}

struct AuditRow: Sendable {
    var at: String
    var user: String
    var action: String
    var outcome: String
    var detail: String
    var address: String
}

/// 操作日志.
struct AuditPage: DashboardView {
    var actions: [Choice]
    var rows: [AuditRow]
    var hasRows: Bool
    var total: String
    var page: Int
    var pages: Int
    var previous: String?
    var next: String?

    static var sample: AuditPage {
        .init(
            actions: [Choice(value: "login", label: "登录", selected: true)],
            rows: [
                AuditRow(
                    at: "2026-12-02 14:00",
                    user: "张三",
                    action: "登录",
                    outcome: "成功",
                    detail: "",
                    address: "127.0.0.1"
                )
            ],
            hasRows: true,
            total: "1",
            page: 1,
            pages: 1,
            previous: "/audit?page=1",
            next: "/audit?page=2"
        )
    }
}
