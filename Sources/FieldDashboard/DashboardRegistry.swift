import FieldCrypto
import FieldExport
import FieldHub
import FieldLedger
import FieldStore
import FieldWeb
import Foundation
import Hummingbird
import Synchronization

struct RegistryRow: Sendable {
    var cells: [String]
    var history: String
}

/// 登记管理: the registry by kind, with each row's history, and the import with its preview.
struct RegistryPage: DashboardView {
    var csrf: String
    var kinds: [Choice]
    var kindLabel: String
    var headers: [String]
    var rows: [RegistryRow]
    var hasRows: Bool
    var total: String
    var notice: String?

    static var sample: RegistryPage {
        .init(
            csrf: "t",
            kinds: [Choice(value: "enterprises", label: "企业", selected: true)],
            kindLabel: "企业",
            headers: ["企业名称"],
            rows: [RegistryRow(cells: ["山东高唐纺织有限公司"], history: "/registry/history?id=x")],
            hasRows: true,
            total: "1",
            notice: "已导入。"
        )
    }
}

struct HistoryRow: Sendable {
    var time: String
    var author: String
    var field: String
    var value: String
    var status: String
    var commit: String
}

struct HistoryPage: DashboardView {
    var record: String
    var back: String
    var rows: [HistoryRow]

    static var sample: HistoryPage {
        .init(
            record: "企业 山东高唐纺织有限公司",
            back: "/registry?kind=enterprises",
            rows: [
                HistoryRow(
                    time: "2026-12-01 09:00",
                    author: "县级运维 (root)",
                    field: "联系电话",
                    value: "13805390001",
                    status: "已生效",
                    commit: "1a2b3c4d"
                )
            ]
        )
    }
}

struct PreviewRow: Sendable {
    var line: Int
    var name: String
    var action: String
    var detail: String
    var error: String?
}

/// What an upload would do, before anything is committed.
struct PreviewPage: DashboardView {
    var csrf: String
    var file: String
    var kindLabel: String
    var summary: String
    var rows: [PreviewRow]
    var errors: String
    var hasErrors: Bool
    /// The token of the upload to commit, when it has no error.
    var token: String?
    /// A refusal of the file as a whole (GBK, not a workbook, a column missing).
    var refusal: String?

    static var sample: PreviewPage {
        .init(
            csrf: "t",
            file: "enterprises.csv",
            kindLabel: "企业",
            summary: "新增 1 行，修改 0 行，不变 0 行",
            rows: [PreviewRow(line: 2, name: "甲企业", action: "新增", detail: "", error: "统一社会信用代码不对")],
            errors: "1",
            hasErrors: true,
            token: "abc",
            refusal: "文件是 GBK 编码。"
        )
    }
}

extension DashboardPages {
    static let registryKinds: [(Ledger.RegistryFile, String)] = [
        (.departments, "单位"), (.cadres, "干部"), (.enterprises, "企业"), (.linkages, "包联关系"),
    ]

    static func registryKind(_ text: String?) throws -> (Ledger.RegistryFile, String) {
        let text = text.flatMap { $0.isEmpty ? nil : $0 } ?? "enterprises"
        guard let kind = registryKinds.first(where: { $0.0.rawValue == text }) else {
            throw DashboardRefusal(.badRequest, "没有“\(text)”这类登记。", "请选择单位、干部、企业或包联关系。")
        }
        return kind
    }

    /// `GET /registry?kind=…` (operators): the registry's rows of a kind, each with its history.
    func registryPage(_ request: Request, context: DashboardContext) async throws -> Response {
        try context.requireOperator()
        let (kind, label) = try Self.registryKind(request.uri.queryParameters.get("kind"))
        let (ledger, csrf) = (ledger, context.session?.csrf ?? "")
        let imported = request.uri.queryParameters.get("imported")
        return try await page(context, title: "登记管理", path: "/registry") {
            let columns = Ledger.registryColumns(kind.rawValue)
            let rows = try ledger.registryListing(kind.rawValue, showPersonalData: true)
            return (
                RegistryPage(
                    csrf: csrf,
                    kinds: Self.registryKinds.map { Choice(value: $0.0.rawValue, label: $0.1, selected: $0.0 == kind) },
                    kindLabel: label,
                    headers: columns.map(\.label),
                    rows: rows.map { row in
                        RegistryRow(
                            cells: columns.map { Ledger.registryDisplay(kind.rawValue, $0.key, row[$0.key] ?? "") },
                            history: "/registry/history?kind=\(kind.rawValue)&id=\(row["id"] ?? "")"
                        )
                    },
                    hasRows: !rows.isEmpty,
                    total: String(rows.count),
                    notice: imported.map { "已导入“\($0)”：登记的改动由县根密钥签名的登记提交记录。" }
                ),
                "registry"
            )
        }
    }

    /// `GET /registry/history?id=…` (operators): every signed change of a registry row.
    func registryHistory(_ request: Request, context: DashboardContext) async throws -> Response {
        try context.requireOperator()
        let (kind, _) = try Self.registryKind(request.uri.queryParameters.get("kind"))
        guard let text = request.uri.queryParameters.get("id"), let id = UUID(uuidString: text) else {
            throw DashboardRefusal(.badRequest, "没有指明要看的记录。", "请从登记管理的列表进入。")
        }
        let ledger = ledger
        return try await page(context, title: "登记记录的历史", path: "/registry") {
            let history: (table: String, lines: [HistoryLine])
            do {
                history = try ledger.history(of: id.uuidString)
            } catch {
                throw DashboardRefusal(.notFound, "没有这条记录。", "请从登记管理的列表进入。")
            }
            let name = try ledger.recordNames(of: [(history.table, id)])[id]
            return (
                HistoryPage(
                    record: try ledger.recordLabel(table: history.table, row: id, name: name),
                    back: "/registry?kind=\(kind.rawValue)",
                    rows: history.lines.map { line in
                        HistoryRow(
                            time: ISOTime.parse(line.time).map(Self.localTime(milliseconds:)) ?? line.time,
                            author: line.author,
                            field: RecordNames.column(line.field, of: history.table),
                            value: line.value,
                            status: line.status == "applied" ? "已生效" : line.status,
                            commit: String(line.commit.prefix(16))
                        )
                    }
                ),
                "history"
            )
        }
    }

    /// `POST /registry/import` (operators; a file and its kind): the preview, nothing committed.
    func registryUpload(_ context: DashboardContext) async throws -> Response {
        try context.requireOperator()
        let user = try context.user
        let form = context.form ?? WebForm(body: "")
        let (kind, label) = try Self.registryKind(form["kind"])
        guard let file = form.files["file"], !file.filename.isEmpty, !file.bytes.isEmpty else {
            throw DashboardRefusal(.badRequest, "没有选择文件。", "请选择要导入的 CSV 或 .xlsx 文件后再上传。")
        }
        let (ledger, csrf, jobs, now) = (ledger, context.session?.csrf ?? "", jobs, accounts.clock())
        return try await page(context, title: "导入预览", path: "/registry") {
            func refused(_ text: String) -> (any DashboardView, String) {
                (
                    PreviewPage(
                        csrf: csrf,
                        file: file.filename,
                        kindLabel: label,
                        summary: "",
                        rows: [],
                        errors: "0",
                        hasErrors: false,
                        token: nil,
                        refusal: text
                    ),
                    "preview"
                )
            }
            let rows: [[String]]
            do {
                rows = try RegistryUpload.rows(name: file.filename, bytes: file.bytes)
            } catch let error as RegistryUpload.Refusal {
                return refused(error.chinese)
            }
            let preview: RegistryPreview
            do {
                preview = try ledger.previewRegistry(kind, rows: rows, name: file.filename)
            } catch let error as LedgerError {
                return refused("文件整体不能导入：\(error.message)。未导入任何内容。")
            }
            let count = { (action: Ledger.ImportLine.Action) in preview.lines.filter { $0.action == action }.count }
            let token =
                preview.errors == 0
                ? try jobs.keepUpload(
                    PendingUpload(owner: user.name, kind: kind, name: file.filename, rows: rows),
                    at: now
                ) : nil
            return (
                PreviewPage(
                    csrf: csrf,
                    file: file.filename,
                    kindLabel: label,
                    summary: "新增 \(count(.add)) 行，修改 \(count(.update)) 行，不变 \(count(.unchanged)) 行",
                    rows: preview.lines.map { line in
                        let action =
                            switch line.action {
                            case .add: "新增"
                            case .update: "修改"
                            case .unchanged: "不变"
                            case nil: "不能导入"
                            }
                        return PreviewRow(
                            line: line.line,
                            name: line.name,
                            action: action,
                            detail: line.changes.map { "\($0.label)：\($0.old ?? "（空）") → \($0.new ?? "（空）")" }
                                .joined(separator: "；"),
                            error: line.error
                        )
                    },
                    errors: String(preview.errors),
                    hasErrors: preview.errors > 0,
                    token: token,
                    refusal: nil
                ),
                "preview"
            )
        }
    }

    /// `POST /registry/import/commit` (operators): imports an upload previewed without errors, as
    /// registry commits signed by the hub's key.
    func registryCommit(_ context: DashboardContext) async throws -> Response {
        try context.requireOperator()
        let user = try context.user
        let (jobs, token) = (jobs, context.form?["token"] ?? "")
        guard let upload = try await database.run({ try jobs.takeUpload(token: token, owner: user.name) }) else {
            throw DashboardRefusal(.notFound, "这次上传已不在（已导入，或已被更新的上传替代）。", "请重新上传文件并预览。")
        }
        let (ledger, accounts, address) = (ledger, accounts, context.address)
        try await database.run {
            do {
                let plan = try ledger.importRegistry(upload.kind, rows: upload.rows, name: upload.name)
                let changed = plan.filter { $0.action != .unchanged }.count
                try accounts.audit(
                    user: user.name,
                    action: "registry_import",
                    outcome: "ok",
                    detail: "\(upload.name)（\(upload.kind.rawValue)），\(changed) 行新增或修改",
                    address: address
                )
            } catch let error as LedgerError {
                try accounts.audit(
                    user: user.name,
                    action: "registry_import",
                    outcome: "refused",
                    detail: upload.name,
                    address: address
                )
                throw DashboardRefusal(
                    .unprocessableContent,
                    "登记在预览之后有了变化，这份文件现在不能导入（\(error.message)），未导入任何内容。",
                    "请重新上传文件并预览。"
                )
            } catch let error as SharedLogError where error.code == .placeTaken {
                // Several hub processes: another one changed the registry at the same moment.
                try accounts.audit(
                    user: user.name,
                    action: "registry_import",
                    outcome: "refused",
                    detail: upload.name,
                    address: address
                )
                throw DashboardRefusal(.conflict, "另一个枢纽进程同时改了登记，这份文件未导入。", "请重新上传文件并预览。")
            }
        }
        let name = upload.name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return .redirect(to: "/registry?kind=\(upload.kind.rawValue)&imported=\(name)", type: .normal)
    }
}
