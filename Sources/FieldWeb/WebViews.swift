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
    /// The confirmation of the last save, shown once on the page that follows it.
    var notice: String?
    /// The pages of this device's role beyond those of everyone (待受理, 督办 …).
    var links: [LinkView] = []
    /// 大字: the larger font size chosen on 设备.
    var large = false

    static var sample: LayoutView {
        .init(
            title: "工作台",
            county: "高唐县",
            role: "包联干部",
            today: "2026-12-01",
            body: "",
            notice: "已保存。",
            links: [LinkView(label: "督办", href: "/demands?view=escalated")],
            large: true
        )
    }
}

struct LinkView: Sendable {
    var label: String
    var href: String
}

/// One of a cadre's enterprises on 工作台.
struct EnterpriseRowView: Sendable {
    var name: String
    var link: String
    var role: String
    var lastVisit: String
    var sinceVisit: String
    var openDemands: Int
}

/// One visit on 企业详情.
struct VisitRowView: Sendable {
    var date: String
    var mode: String
    var serviceDay: String
    var cadre: String
    var topics: String
    var handle: String
}

struct EnterpriseView: WebView {
    var name: String
    var facts: [FactView]
    var cadres: [String]
    /// 新增走访 for this enterprise, when this device logs its visits.
    var visitLink: String?
    var visits: [VisitRowView]
    var hasVisits: Bool
    var demands: [DemandRowView]
    var hasDemands: Bool
    var demandCount: Int

    static var sample: EnterpriseView {
        .init(
            name: "甲企业",
            facts: [FactView(label: "行业", value: "纺织")],
            cadres: ["王强（主包）"],
            visitLink: "/visits/new?enterprise=x",
            visits: [
                VisitRowView(
                    date: "2026-12-01",
                    mode: "实地走访",
                    serviceDay: "是",
                    cadre: "王强",
                    topics: "用工",
                    handle: "a1b2c3d4"
                )
            ],
            hasVisits: true,
            demands: [DemandRowView.sample],
            hasDemands: true,
            demandCount: 1
        )
    }
}

struct DeviceView: WebView {
    var csrf: String
    var facts: [FactView]
    var large: Bool

    static var sample: DeviceView { .init(csrf: "t", facts: [FactView(label: "角色", value: "包联干部")], large: true) }
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
    /// 有冲突, 被拒, 未同步 or 已同步.
    var badge: FlagView?
}

struct FlagView: Sendable {
    var text: String
    /// The CSS class that colours it: `yellow`, `red`, `alert` or `note`.
    var kind: String
}

struct HomeView: WebView {
    /// A cadre's enterprises (主包 first), with the last visit and the open demands.
    var enterprises: [EnterpriseRowView]
    var hasEnterprises: Bool
    var openCount: Int
    var overdueCount: Int
    var cardCount: Int
    var conflictCount: Int
    var heldCount: Int
    /// Own commits written since the last sync with the hub.
    var waitingCount: Int
    var demands: [DemandRowView]
    var hasDemands: Bool
    /// More are unresolved than the page lists.
    var isCut: Bool

    static var sample: HomeView {
        .init(
            enterprises: [
                EnterpriseRowView(
                    name: "甲企业",
                    link: "/enterprises/x",
                    role: "主包",
                    lastVisit: "2026-11-01",
                    sinceVisit: "30 天前",
                    openDemands: 1
                )
            ],
            hasEnterprises: true,
            openCount: 1,
            overdueCount: 1,
            cardCount: 1,
            conflictCount: 1,
            heldCount: 1,
            waitingCount: 1,
            demands: [DemandRowView.sample],
            hasDemands: true,
            isCut: true
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
            flags: [FlagView(text: "黄牌", kind: "yellow")],
            badge: FlagView(text: "未同步", kind: "note")
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
    /// The list shown (`view=`), kept by the 查询 form; empty for 诉求.
    var list: String
    var states: [OptionView]
    var text: String
    var leads: [OptionView]
    var categories: [OptionView]
    var townships: [OptionView]
    var overdue: Bool
    var from: String
    var to: String
    /// The sync badges to filter on.
    var syncKinds: [OptionView]
    var total: Int
    var page: Int
    var pages: Int
    var previous: String?
    var next: String?
    var demands: [DemandRowView]
    var hasDemands: Bool

    static var sample: DemandListView {
        .init(
            list: "intake",
            states: [OptionView(value: "IN_PROGRESS", label: "办理中", selected: true)],
            text: "用地",
            leads: [OptionView(value: "县市场监管局", label: "县市场监管局", selected: true)],
            categories: [OptionView(value: "用地", label: "用地", selected: true)],
            townships: [OptionView(value: "鱼邱湖街道", label: "鱼邱湖街道", selected: true)],
            overdue: true,
            from: "2026-01-01",
            to: "2026-12-31",
            syncKinds: [OptionView(value: "unsynced", label: "未同步", selected: true)],
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

/// A value a step's form asks for. Mustache has no branches on kinds, so each kind is a flag.
struct FieldView: Sendable {
    var name: String
    var id: String
    var label: String
    var required: Bool
    var value: String
    var isText = false
    var isArea = false
    var isDate = false
    var isNumber = false
    var isSelect = false
    var multiple = false
    var options: [OptionView] = []
}

/// One step this device may take now, as a form of its own with the values it needs.
struct ActionFormView: Sendable {
    var action: String
    var label: String
    var confirm: String?
    var fields: [FieldView]
}

struct DemandDetailView: WebView {
    var number: String
    var link: String
    var title: String
    var state: String
    var flags: [FlagView]
    var facts: [FactView]
    var events: [EventView]
    var reasons: [String]
    var csrf: String
    /// Why the last step was refused, in Chinese (the form keeps what was typed).
    var error: String?
    var actions: [ActionFormView]
    var hasActions: Bool
    var badge: FlagView?
    /// Why the last edit was refused (the form keeps what was typed).
    var editError: String?
    var editFields: [FieldView]
    var canEdit: Bool
    /// Why this device may not change the facts (when `canEdit` is false).
    var editBlocks: [String]
    /// Changes held because their clock is ahead of this computer's.
    var ahead: String?
    /// 修改记录: every signed change of the demand's fields.
    var changes: [ChangeView]

    static var sample: DemandDetailView {
        .init(
            number: "GT-2026-D001-0001",
            link: "/demands/GT-2026-D001-0001",
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
            reasons: ["久拖不决：超期"],
            csrf: "t",
            error: "请填写“意见”。",
            actions: [
                ActionFormView(
                    action: "assign",
                    label: "交办",
                    confirm: "确定？",
                    fields: [
                        FieldView(
                            name: "lead",
                            id: "assign-lead",
                            label: "牵头单位",
                            required: true,
                            value: "",
                            isSelect: true,
                            options: [OptionView(value: "县市场监管局", label: "县市场监管局", selected: true)]
                        )
                    ]
                )
            ],
            hasActions: true,
            badge: FlagView(text: "已同步", kind: "ok"),
            editError: "请填写“标题”。",
            editFields: [
                FieldView(
                    name: "category",
                    id: "edit-category",
                    label: "诉求类别",
                    required: true,
                    value: "用地",
                    isSelect: true,
                    options: [OptionView(value: "用地", label: "用地", selected: true)]
                )
            ],
            canEdit: true,
            editBlocks: ["诉求已办结。"],
            ahead: "有 1 条修改暂存。",
            changes: [
                ChangeView(time: "2026-12-01 09:00", author: "王强 (D002)", field: "标题", value: "用地", status: "已生效")
            ]
        )
    }
}

/// One signed change of a field (修改记录).
struct ChangeView: Sendable {
    var time: String
    var author: String
    var field: String
    var value: String
    var status: String
}

/// One inline demand row of the visit form.
struct DemandRowInputView: Sendable {
    var index: Int
    /// What is wrong with this row's values, said beside each (nil: nothing).
    var titleError: String? = nil
    var contentError: String? = nil
    var choiceError: String? = nil
    var title: String
    var content: String
    var expected: String
    var types: [OptionView]
    var categories: [OptionView]
    var urgencies: [OptionView]
}

/// 新增走访: a visit with its demands, on one page; after a refusal, what was typed.
struct VisitFormView: WebView {
    var csrf: String
    var error: String?
    /// What is wrong with a value of the visit, said beside it.
    var enterpriseError: String?
    var dateError: String?
    var modeError: String?
    var noDemandsError: String?
    var nextVisitError: String?
    var enterprises: [OptionView]
    var date: String
    var modes: [OptionView]
    var serviceDay: Bool
    var participants: String
    var topics: String
    var notes: String
    var noDemands: Bool
    var rows: [DemandRowInputView]
    var solvedOnSpot: String
    var nextVisit: String

    static var sample: VisitFormView {
        let option = OptionView(value: "a", label: "a", selected: true)
        return .init(
            csrf: "t",
            error: "请填写“企业”。",
            enterpriseError: "请选择企业。",
            dateError: "日期有误。",
            modeError: "请选择。",
            noDemandsError: "请二选一。",
            nextVisitError: "日期有误。",
            enterprises: [option],
            date: "2026-12-01",
            modes: [option],
            serviceDay: true,
            participants: "王强",
            topics: "用工",
            notes: "n",
            noDemands: false,
            rows: [
                DemandRowInputView(
                    index: 1,
                    titleError: "请填写。",
                    contentError: "请填写。",
                    choiceError: "请选择。",
                    title: "t",
                    content: "c",
                    expected: "e",
                    types: [option],
                    categories: [option],
                    urgencies: [option]
                )
            ],
            solvedOnSpot: "s",
            nextVisit: "2026-12-31"
        )
    }
}

/// One value of a conflicting cell.
struct CellValueView: Sendable {
    var pick: Int
    var value: String
    var author: String
    var time: String
    /// The value shown now (the merge rule's pick until someone chooses).
    var shown: Bool
}

/// A cell with more than one value.
struct CellConflictView: Sendable {
    var record: String
    var column: String
    var table: String
    var row: String
    var columnName: String
    var values: [CellValueView]
}

/// A demand with concurrent, contradictory steps.
struct WorkflowConflictView: Sendable {
    var number: String
    var link: String
    var branches: [String]
}

struct ConflictsView: WebView {
    var csrf: String
    var error: String?
    var cells: [CellConflictView]
    var hasCells: Bool
    var workflow: [WorkflowConflictView]
    var hasWorkflow: Bool

    static var sample: ConflictsView {
        .init(
            csrf: "t",
            error: "已经不存在。",
            cells: [
                CellConflictView(
                    record: "诉求 GT-2026-D001-0001",
                    column: "标题 (title)",
                    table: "demands",
                    row: "0",
                    columnName: "title",
                    values: [
                        CellValueView(pick: 1, value: "a", author: "王强 (D001)", time: "2026-12-01 09:00", shown: true)
                    ]
                )
            ],
            hasCells: true,
            workflow: [WorkflowConflictView(number: "GT-2026-D001-0001", link: "/demands/x", branches: ["a1b2 · 签收"])],
            hasWorkflow: true
        )
    }
}

/// 同步: the hub, the sync running or its result, a laptop on the LAN, and U盘 bundles.
struct SyncView: WebView {
    var csrf: String
    var error: String?
    /// A bundle import's result, line by line.
    var notices: [String]
    var hub: String
    var lastSync: String?
    var waiting: Int
    var refusedCount: Int
    var hasRefused: Bool
    var hasJob: Bool
    var jobRunning: Bool
    var jobTarget: String
    var jobPhase: String
    var jobCommits: Int
    var jobResult: [String]
    var jobError: String?
    /// The devices a bundle may be written for.
    var devices: [OptionView]

    static var sample: SyncView {
        .init(
            csrf: "t",
            error: "地址不对。",
            notices: ["已导入"],
            hub: "http://10.1.2.3:8080",
            lastSync: "2026-12-01 09:00",
            waiting: 2,
            refusedCount: 1,
            hasRefused: true,
            hasJob: true,
            jobRunning: true,
            jobTarget: "县级平台 http://10.1.2.3:8080",
            jobPhase: "接收中",
            jobCommits: 10,
            jobResult: ["发出 1 条"],
            jobError: "连不上",
            devices: [OptionView(value: "D002", label: "D002 李娜（包联干部）", selected: false)]
        )
    }
}

/// 导出: the 工作台账's filter and the 月调度's month, each with a format.
struct ExportView: WebView {
    var csrf: String
    var error: String?
    var unresolved: Bool
    var overdue: Bool
    var departments: [OptionView]
    var cadres: [OptionView]
    var townships: [OptionView]
    var categories: [OptionView]
    var from: String
    var to: String
    var month: String

    static var sample: ExportView {
        let option = OptionView(value: "a", label: "a", selected: true)
        return .init(
            csrf: "t",
            error: "请选择文件格式。",
            unresolved: true,
            overdue: true,
            departments: [option],
            cadres: [option],
            townships: [option],
            categories: [option],
            from: "2026-01-01",
            to: "2026-12-31",
            month: "2026-12"
        )
    }
}

/// An export made: its facts and its two download links.
struct ExportReadyView: WebView {
    var name: String
    var rows: Int
    var size: Int
    var hash: String
    var signer: String
    var signedAt: String
    var file: String
    var signature: String

    static var sample: ExportReadyView {
        .init(
            name: "工作台账-2026-12-01.xlsx",
            rows: 3,
            size: 1000,
            hash: "abcd",
            signer: "督查室 (D005)",
            signedAt: "2026-12-01 09:00",
            file: "/export/files/t",
            signature: "/export/files/t/sig"
        )
    }
}

/// 核验: the upload form, and the result of the last check.
struct VerifyView: WebView {
    struct Result: Sendable {
        var verified: Bool
        var lines: [String]
    }

    var csrf: String
    var result: Result?

    static var sample: VerifyView { .init(csrf: "t", result: Result(verified: true, lines: ["已核验"])) }
}

/// One bar pair of a chart: positions computed here, so the template only places them.
package struct BarView: Sendable {
    package var label: String
    package var labelY: Int
    package var thisY: Int
    package var thisWidth: Int
    package var thisText: String
    package var thisTextX: Int
    package var thisTextY: Int
    package var lastY: Int
    package var lastWidth: Int
    package var lastText: String
    package var lastTextX: Int
    package var lastTextY: Int
}

/// A horizontal bar chart of one rate, this month against the last (`WebPages.chart`).
package struct ChartView: Sendable {
    package var title: String
    package var height: Int
    package var bars: [BarView]
    package var hasBars: Bool
}

struct RateRowView: Sendable {
    var label: String
    var values: [String]
}

struct RateGroupView: Sendable {
    var title: String
    var chart: ChartView
    var headers: [String]
    var rows: [RateRowView]
}

/// 比率: the county's rates this month and last, and by department and township.
struct RatesView: WebView {
    var month: String
    var previous: String
    var county: [RateRowView]
    var overdue: String
    var groups: [RateGroupView]

    static var sample: RatesView {
        let bar = BarView(
            label: "县市场监管局",
            labelY: 22,
            thisY: 8,
            thisWidth: 100,
            thisText: "本月 50.0% (1/2)",
            thisTextX: 306,
            thisTextY: 18,
            lastY: 21,
            lastWidth: 0,
            lastText: "上月 —",
            lastTextX: 206,
            lastTextY: 31
        )
        return .init(
            month: "2026-12",
            previous: "2026-11",
            county: [RateRowView(label: "按时办结率", values: ["50.0% (1/2)", "—"])],
            overdue: "超期 1 件",
            groups: [
                RateGroupView(
                    title: "按牵头单位",
                    chart: ChartView(title: "按时办结率", height: 50, bars: [bar], hasBars: true),
                    headers: ["按时办结率"],
                    rows: [RateRowView(label: "县市场监管局", values: ["50.0% (1/2)"])]
                )
            ]
        )
    }
}

/// 新增诉求: a demand outside a visit, with what is wrong beside each value after a refusal.
struct DemandFormView: WebView {
    var csrf: String
    var error: String?
    var enterpriseError: String?
    var titleError: String?
    var contentError: String?
    var choiceError: String?
    var enterprises: [OptionView]
    var title: String
    var content: String
    var expected: String
    var types: [OptionView]
    var categories: [OptionView]
    var channels: [OptionView]
    var urgencies: [OptionView]

    static var sample: DemandFormView {
        let option = OptionView(value: "a", label: "a", selected: true)
        return .init(
            csrf: "t",
            error: "未保存。",
            enterpriseError: "请选择。",
            titleError: "请填写。",
            contentError: "请填写。",
            choiceError: "请选择。",
            enterprises: [option],
            title: "t",
            content: "c",
            expected: "e",
            types: [option],
            categories: [option],
            channels: [option],
            urgencies: [option]
        )
    }
}
