import FieldCrypto
import FieldExport
import FieldLedger
import FieldStore
import FieldWeb
import Foundation
import Hummingbird

/// A table of a report page, as text.
struct ReportTableView: Sendable {
    var name: String
    var count: String
    var headers: [String]
    var rows: [LedgerRowView]
    var hasRows: Bool

    init(_ table: ReportTable, counted: Bool = true) {
        name = table.name
        count = counted ? "（共 \(table.rows.count) 条）" : ""
        headers = table.headers
        rows = table.rows.map { LedgerRowView(cells: $0.map(\.text)) }
        hasRows = !table.rows.isEmpty
    }
}

/// 久拖不决, 推诿扯皮, 督办 and 月调度: tables under a printed heading (A4 landscape), with the
/// export of the same tables.
struct ReportPage: DashboardView {
    var heading: String
    var unit: String
    var asOf: String
    var csrf: String
    var action: String
    var hidden: [HiddenField]
    /// The month chosen, for 月调度 (its selector is shown when set).
    var month: String?
    var note: String
    var tables: [ReportTableView]

    static var sample: ReportPage {
        .init(
            heading: "高唐县企业诉求久拖不决清单",
            unit: "高唐县企业诉求县枢纽",
            asOf: "2026年12月2日",
            csrf: "t",
            action: "/lists/dragOn/export",
            hidden: [HiddenField(name: "month", value: "2026-12")],
            month: "2026-12",
            note: "办理超过 60 个工作日未办结的诉求。",
            tables: [ReportTableView(ReportTable(name: "久拖不决", headers: ["序号"], rows: [[.number(1)]]))]
        )
    }
}

struct ConflictValueRow: Sendable {
    var value: String
    var author: String
    var time: String
}

struct ConflictCellRow: Sendable {
    var record: String
    var column: String
    var values: [ConflictValueRow]
}

struct WorkflowConflictRow: Sendable {
    var number: String
    var branches: [String]
}

/// 冲突: every open cell conflict and workflow conflict in the county.
struct ConflictsPage: DashboardView {
    var kinds: [Choice]
    var tables: [Choice]
    var cells: [ConflictCellRow]
    var hasCells: Bool
    var showCells: Bool
    var workflow: [WorkflowConflictRow]
    var hasWorkflow: Bool
    var showWorkflow: Bool

    static var sample: ConflictsPage {
        .init(
            kinds: [Choice(value: "cell", label: "数据冲突", selected: true)],
            tables: [Choice(value: "enterprises", label: "企业", selected: false)],
            cells: [
                ConflictCellRow(
                    record: "企业 甲",
                    column: "联系电话",
                    values: [ConflictValueRow(value: "1390000", author: "王强", time: "2026-12-01 09:00")]
                )
            ],
            hasCells: true,
            showCells: true,
            workflow: [WorkflowConflictRow(number: "GT-2026-D001-0001", branches: ["1a2b · 交办"])],
            hasWorkflow: true,
            showWorkflow: true
        )
    }
}

extension DashboardPages {
    /// What each supervisors' list holds, for the page's note.
    static func note(_ list: SupervisionList) -> String {
        switch list {
        case .dragOn: "未办结且办理过久、超期过久、反复重办或长期跟踪已过最后节点的诉求（久拖不决），超期最久的在前。"
        case .buckPassing: "反复退回，或涉及多个单位而均未签收的诉求（推诿扯皮），超期最久的在前。"
        case .escalated: "因超期被催办、督办或挂牌督办的诉求，超期最久的在前。"
        }
    }

    /// A supervisors' list named in a path.
    static func list(_ name: String) throws -> SupervisionList {
        guard let list = SupervisionList(rawValue: name) else {
            throw DashboardRefusal(.notFound, "没有这个清单。", "从导航栏进入久拖不决、推诿扯皮或督办清单。")
        }
        return list
    }

    /// The county's "2026年12月2日".
    static func longDate(_ day: String) -> String {
        let parts = day.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return day }
        return "\(parts[0])年\(parts[1])月\(parts[2])日"
    }

    /// `GET /lists/:name`: 久拖不决, 推诿扯皮 or 督办, today.
    func supervisionPage(_ name: String, context: DashboardContext) async throws -> Response {
        let list = try Self.list(name)
        let (ledger, csrf) = (ledger, context.session?.csrf ?? "")
        return try await page(context, title: list.chinese, path: "/lists/\(name)") {
            let place = county()
            let table = try ledger.supervisionList(list, profile: ledger.profile)
            return (
                ReportPage(
                    heading: "\(place.name)企业诉求\(list.chinese)清单",
                    unit: "\(place.name)企业诉求县枢纽",
                    asOf: Self.longDate(place.today),
                    csrf: csrf,
                    action: "/lists/\(name)/export",
                    hidden: [],
                    month: nil,
                    note: Self.note(list),
                    tables: [ReportTableView(table)]
                ),
                "report"
            )
        }
    }

    /// `POST /lists/:name/export`.
    func exportSupervision(_ name: String, context: DashboardContext) async throws -> Response {
        let list = try Self.list(name)
        let ledger = ledger
        return try await startJob(context, title: "企业诉求\(list.chinese)清单", filter: list.chinese) { _ in
            [try ledger.supervisionList(list, profile: ledger.profile)]
        }
    }

    /// The month a 月调度 request names (this month by default).
    func month(_ text: String?) throws -> (Period, String) {
        let monthText = text.flatMap { $0.isEmpty ? nil : $0 } ?? String(ledger.today().prefix(7))
        guard let month = Period(month: monthText) else {
            throw DashboardRefusal(.badRequest, "“\(monthText)”不是月份。", "请按 2026-03 的格式选择月份。")
        }
        return (month, monthText)
    }

    /// `GET /monthly?month=YYYY-MM`: the 月调度 report, every section as a table.
    func monthlyPage(_ request: Request, context: DashboardContext) async throws -> Response {
        let (month, monthText) = try self.month(request.uri.queryParameters.get("month"))
        let (ledger, csrf) = (ledger, context.session?.csrf ?? "")
        return try await page(context, title: "月调度", path: "/monthly") {
            let place = county()
            let tables = try ledger.monthlyReport(
                month,
                today: ledger.localToday(profile: ledger.profile),
                profile: ledger.profile
            )
            let parts = monthText.split(separator: "-")
            return (
                ReportPage(
                    heading: "\(place.name)企业诉求月调度（\(parts[0])年\(Int(parts[1]) ?? 0)月）",
                    unit: "\(place.name)企业诉求县枢纽",
                    asOf: Self.longDate(place.today),
                    csrf: csrf,
                    action: "/monthly/export",
                    hidden: [HiddenField(name: "month", value: monthText)],
                    month: monthText,
                    note: "比率的口径见 docs/rates.md；按单位的排名按按时办结率。",
                    tables: tables.map { ReportTableView($0, counted: false) }
                ),
                "report"
            )
        }
    }

    /// `POST /monthly/export`.
    func exportMonthly(_ context: DashboardContext) async throws -> Response {
        let (month, monthText) = try self.month(context.form?["month"])
        let ledger = ledger
        return try await startJob(context, title: "企业诉求月调度\(monthText)", filter: "月份 \(monthText)") { _ in
            try ledger.monthlyReport(month, today: ledger.localToday(profile: ledger.profile), profile: ledger.profile)
        }
    }

    /// `GET /conflicts?kind=cell|workflow&table=…`: the county's open conflicts, read-only (a cell
    /// is settled with `fieldlog conflicts resolve` or on a device's 冲突 page; a workflow conflict
    /// by the coordinator).
    func conflictsPage(_ request: Request, context: DashboardContext) async throws -> Response {
        let kind = request.uri.queryParameters.get("kind").flatMap { $0.isEmpty ? nil : $0 }
        let table = request.uri.queryParameters.get("table").flatMap { $0.isEmpty ? nil : $0 }
        if let kind, !["cell", "workflow"].contains(kind) {
            throw DashboardRefusal(.badRequest, "没有“\(kind)”这种冲突。", "请从“类型”下拉框中选择。")
        }
        if let table, RecordNames.tables[table] == nil {
            throw DashboardRefusal(.badRequest, "没有“\(table)”这种记录。", "请从“记录”下拉框中选择。")
        }
        let ledger = ledger
        return try await page(context, title: "冲突", path: "/conflicts") {
            let open = try ledger.openConflicts()
            let shown = open.filter { table == nil || $0.table == table }
            let names = try ledger.recordNames(of: shown.map { ($0.table, $0.row) })
            var authors: [String: String] = [:]
            let cells = try shown.map { conflict in
                ConflictCellRow(
                    record: try ledger.recordLabel(table: conflict.table, row: conflict.row, name: names[conflict.row]),
                    column: RecordNames.column(conflict.column, of: conflict.table),
                    values: try conflict.heads.map { head in
                        let author = try authors[head.author.hex] ?? ledger.authorName(head.author)
                        authors[head.author.hex] = author
                        return ConflictValueRow(
                            value: Ledger.display(head.value),
                            author: author,
                            time: ISOTime.local(Int64(head.timestamp.milliseconds), profile: ledger.profile)
                        )
                    }
                )
            }
            let workflow =
                table == nil || table == "demands"
                ? try ledger.workflowConflicts(profile: ledger.profile).map { conflict in
                    WorkflowConflictRow(
                        number: conflict.number,
                        branches: conflict.branches.map { event in
                            let time = ISOTime.parse(event.at).map(Self.localTime(milliseconds:)) ?? event.at
                            return "\(event.handle) · \(time) · \(event.actor) · \(DemandAction.chinese(event.action))"
                        }
                    )
                } : []
            let tables = Set(open.map(\.table)).union(table.map { [$0] } ?? []).sorted().map {
                Choice(value: $0, label: RecordNames.tables[$0] ?? $0, selected: $0 == table)
            }
            return (
                ConflictsPage(
                    kinds: [("cell", "数据冲突（同一字段的不同值）"), ("workflow", "流转冲突（同一诉求的并行操作）")].map {
                        Choice(value: $0.0, label: $0.1, selected: $0.0 == kind)
                    },
                    tables: tables,
                    cells: cells,
                    hasCells: !cells.isEmpty,
                    showCells: kind != "workflow",
                    workflow: workflow,
                    hasWorkflow: !workflow.isEmpty,
                    showWorkflow: kind != "cell"
                ),
                "conflicts"
            )
        }
    }
}
