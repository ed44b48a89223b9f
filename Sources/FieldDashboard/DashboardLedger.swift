import FieldCrypto
import FieldExport
import FieldLedger
import FieldWeb
import Foundation
import Hummingbird
import Synchronization

/// What a 工作台账 view asks for: the 查询条件, the order, the columns and the page. Read from a
/// page's query string and, identically, from the export form's hidden fields, so that an export
/// holds exactly the rows and columns of the view it was started from.
struct LedgerSelection: Sendable, Equatable {
    /// "" for the unresolved (the default), "all", or a state's raw value.
    var status = ""
    var lead: String?
    var cadre: String?
    var township: String?
    var category: String?
    var overdue = false
    var from: Day?
    var to: Day?
    var sort = LedgerSort.number
    var descending = false
    /// Indexes into `Ledger.ledgerHeaders` beyond 序号 (which is always first), in the ledger's order.
    var columns: [Int] = Self.defaultColumns
    var page = 1
    /// Rows per page.
    var size = 50

    static let sizes = [20, 50, 100, 200]

    /// The columns shown when none are chosen: the ones a supervisor scans, in the ledger's order.
    static let defaultColumns = [1, 2, 4, 5, 7, 9, 10, 11, 16, 19, 20, 21, 22, 23]

    /// Reads the fields of a query or a form; refuses (in Chinese) a value that is not one of its
    /// choices.
    init(_ value: (String) -> String?, all: (String) -> [String]) throws {
        func text(_ name: String) -> String? {
            guard let value = value(name)?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return value
        }
        if let status = text("status") {
            guard status == "all" || DemandState(rawValue: status) != nil else {
                throw DashboardRefusal(.badRequest, "没有“\(status)”这种状态。", "请从“状态”下拉框中选择。")
            }
            self.status = status
        }
        (lead, cadre, township, category) = (text("lead"), text("cadre"), text("township"), text("category"))
        overdue = text("overdue") == "on"
        for (name, label) in [("from", "登记日期自"), ("to", "登记日期至")] {
            guard let day = text(name) else { continue }
            guard let parsed = Day(day) else {
                throw DashboardRefusal(.badRequest, "\(label)“\(day)”不是日期。", "请按 2026-03-01 的格式填写。")
            }
            if name == "from" { from = parsed } else { to = parsed }
        }
        if let sort = text("sort") {
            guard let parsed = LedgerSort(rawValue: sort) else {
                throw DashboardRefusal(.badRequest, "不能按“\(sort)”排序。", "请从“排序”下拉框中选择。")
            }
            self.sort = parsed
        }
        descending = text("dir") == "desc"
        let chosen = all("col").filter { !$0.isEmpty }
        if !chosen.isEmpty {
            var columns = Set<Int>()
            for text in chosen {
                guard let index = Int(text), (1..<Ledger.ledgerHeaders.count).contains(index) else {
                    throw DashboardRefusal(.badRequest, "没有第“\(text)”列。", "请在“显示的列”中勾选。")
                }
                columns.insert(index)
            }
            self.columns = columns.sorted()
        }
        if let size = text("size") {
            guard let number = Int(size), Self.sizes.contains(number) else {
                throw DashboardRefusal(.badRequest, "每页条数只能是 20、50、100 或 200。", "请从“每页”下拉框中选择。")
            }
            self.size = number
        }
        if let page = text("page") {
            guard let number = Int(page), number >= 1, number <= 1_000_000 else {
                throw DashboardRefusal(.badRequest, "页码“\(page)”不对。", "页码是从 1 开始的整数。")
            }
            self.page = number
        }
    }

    /// The view's fields, as a query string or hidden fields carry them (without the page).
    var fields: [(String, String)] {
        var fields: [(String, String)] = [
            ("status", status), ("lead", lead ?? ""), ("cadre", cadre ?? ""), ("township", township ?? ""),
            ("category", category ?? ""), ("overdue", overdue ? "on" : ""), ("from", from?.description ?? ""),
            ("to", to?.description ?? ""), ("sort", sort == .number ? "" : sort.rawValue),
            ("dir", descending ? "desc" : ""), ("size", size == 50 ? "" : String(size)),
        ]
        if columns != Self.defaultColumns { fields += columns.map { ("col", String($0)) } }
        return fields.filter { !$0.1.isEmpty }
    }

    /// The link to this view at `page`, or sorted by `sort` (the same column again reverses it).
    func link(page: Int? = nil, sortedBy sort: LedgerSort? = nil) -> String {
        var view = self
        if let sort {
            view.descending = view.sort == sort ? !descending : false
            view.sort = sort
        }
        let query = DashboardPages.query(view.fields + [("page", page.map { $0 > 1 ? String($0) : "" } ?? "")])
        return "/ledger" + (query.isEmpty ? "" : "?" + query)
    }

    /// The query the ledger runs: names resolved to the registry's ids.
    func query(_ ledger: Ledger) throws -> DemandQuery {
        var query = DemandQuery()
        switch status {
        case "": query.unresolvedOnly = true
        case "all": break
        default: query.state = DemandState(rawValue: status)
        }
        if let lead {
            guard let id = try? ledger.department(named: lead) else {
                throw DashboardRefusal(.badRequest, "登记中没有名为“\(lead)”的单位。", "请从“牵头单位”下拉框中选择。")
            }
            query.lead = id
        }
        if let cadre {
            guard let id = try? ledger.cadre(named: cadre) else {
                throw DashboardRefusal(.badRequest, "登记中没有名为“\(cadre)”的干部。", "请从下拉框中选择。")
            }
            query.cadre = id
        }
        (query.township, query.category, query.overdueOnly) = (township, category, overdue)
        (query.from, query.to) = (from, to)
        (query.sort, query.descending) = (sort, descending)
        return query
    }

    /// The 查询条件 in words, for the file's 导出说明.
    var description: String {
        var parts = [
            status == "" ? "未办结" : status == "all" ? "全部状态" : DemandState(rawValue: status)?.chinese ?? status
        ]
        if let lead { parts.append("牵头单位：\(lead)") }
        if let cadre { parts.append("包联领导或登记干部：\(cadre)") }
        if let township { parts.append("所属镇街/园区：\(township)") }
        if let category { parts.append("诉求类别：\(category)") }
        if overdue { parts.append("只看超期") }
        if from != nil || to != nil { parts.append("登记日期 \(from?.description ?? "…") 至 \(to?.description ?? "…")") }
        parts.append("按\(sort.header)\(descending ? "倒序" : "顺序")")
        return parts.joined(separator: "；")
    }

    /// The columns written: 序号, then the chosen ones.
    var shownColumns: [Int] { [0] + columns }
}

extension DashboardPages {
    /// `GET /ledger?…`: one page of the 工作台账, filtered, sorted and paged in SQL.
    func ledgerPage(_ request: Request, context: DashboardContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        let selection = try LedgerSelection(
            { parameters.get($0) },
            all: { parameters.getAll($0) }
        )
        let (ledger, csrf) = (ledger, context.session.map(\.csrf) ?? "")
        return try await page(context, title: "工作台账", path: "/ledger") {
            let query = try selection.query(ledger)
            let size = selection.size
            let page = try ledger.ledgerPage(
                query,
                offset: (selection.page - 1) * size,
                size: size,
                profile: ledger.profile,
                showPersonalData: true
            )
            let pages = max(1, (page.total + size - 1) / size)
            let columns = selection.shownColumns
            let headers = Ledger.ledgerHeaders
            func options(_ values: [String], _ chosen: String?) -> [Choice] {
                values.map { Choice(value: $0, label: $0, selected: $0 == chosen) }
            }
            let sortable = Dictionary(uniqueKeysWithValues: LedgerSort.allCases.map { ($0.header, $0) })
            let statuses =
                [
                    Choice(value: "", label: "未办结", selected: selection.status == ""),
                    Choice(value: "all", label: "全部", selected: selection.status == "all"),
                ]
                + DemandState.allCases.map {
                    Choice(value: $0.rawValue, label: $0.chinese, selected: $0.rawValue == selection.status)
                }
            let view = LedgerPageView(
                csrf: csrf,
                sizes: LedgerSelection.sizes.map { Choice(value: String($0), label: "\($0) 条", selected: $0 == size) },
                statuses: statuses,
                leads: options(try ledger.registryNames(.department), selection.lead),
                cadres: options(try ledger.registryNames(.cadre), selection.cadre),
                townships: options(try ledger.townships(), selection.township),
                categories: options(Vocabulary.categories, selection.category),
                overdue: selection.overdue,
                from: selection.from?.description ?? "",
                to: selection.to?.description ?? "",
                sorts: LedgerSort.allCases.map {
                    Choice(value: $0.rawValue, label: $0.header, selected: $0 == selection.sort)
                },
                descending: selection.descending,
                columns: (1..<headers.count).map {
                    ColumnChoice(index: $0, label: headers[$0], checked: selection.columns.contains($0))
                },
                total: String(page.total),
                overdueCount: String(page.overdue),
                page: selection.page,
                pages: pages,
                headers: columns.map { index in
                    let sort = sortable[headers[index]]
                    return HeaderCell(
                        label: headers[index],
                        link: sort.map { selection.link(sortedBy: $0) },
                        mark: sort == selection.sort ? (selection.descending ? " ▼" : " ▲") : ""
                    )
                },
                rows: page.rows.map { row in LedgerRowView(cells: columns.map { row[$0].text }) },
                hasRows: !page.rows.isEmpty,
                previous: selection.page > 1 ? selection.link(page: selection.page - 1) : nil,
                next: selection.page < pages ? selection.link(page: selection.page + 1) : nil,
                hidden: selection.fields.map { HiddenField(name: $0.0, value: $0.1) }
            )
            return (view, "ledger")
        }
    }

    // MARK: Export

    /// `POST /ledger/export`: writes the view the form describes as a file signed by the hub, in
    /// the background, and answers at once with the page that follows it.
    func startExport(_ context: DashboardContext) async throws -> Response {
        let form = context.form ?? WebForm(body: "")
        let selection = try LedgerSelection({ form[$0] }, all: { form.all($0) })
        let ledger = ledger
        // The query is checked before anything starts: a bad filter is a refusal, not a failed job.
        let query = try await database.run { try selection.query(ledger) }
        return try await startJob(context, title: "企业诉求工作台账", filter: selection.description) { progress in
            [try Self.ledgerTable(query: query, selection: selection, ledger: ledger, progress: progress)]
        }
    }

    /// Starts an export of the tables `build` makes (reporting rows as it goes) in the format the
    /// form asks, named `<county><title>_截至<today>`, with 导出说明, signed by the hub; answers with
    /// the page that follows it. Each export is written to the audit trail.
    func startJob(
        _ context: DashboardContext,
        title: String,
        filter: String,
        build: @escaping @Sendable (_ progress: @Sendable (Int) -> Void) throws -> [ReportTable]
    ) async throws -> Response {
        let user = try context.user
        let text = context.form?["format"] ?? "xlsx"
        guard let format = ExportFormat(rawValue: text) else {
            throw DashboardRefusal(.badRequest, "没有“\(text)”这种格式。", "请选择 Excel、CSV 或 JSON。")
        }
        let (ledger, key, accounts, address, jobs) = (ledger, key, accounts, context.address, jobs)
        let id = Hex.encode(secureRandomBytes(16))
        let name = try await database.run {
            let place = county()
            let name = "\(place.name)\(title)_截至\(place.today).\(format.rawValue)"
            try jobs.startExport(id: id, owner: user.name, name: name, format: format, at: accounts.clock())
            return name
        }
        let database = database
        Task {
            let outcome: (String, String)
            do {
                let rows = try await database.run {
                    var tables = try build { try? jobs.exportProgress(id: id, rows: $0, at: accounts.clock()) }
                    let rows = tables.first?.rows.count ?? 0
                    tables.append(Self.about(user: user, filter: filter, rows: rows))
                    let bytes = try ExportFile.bytes(tables, format: format, title: name)
                    let signature = try ExportFile.sign(bytes, name: name, ledger: ledger, key: key)
                    try jobs.finishExport(
                        id: id,
                        file: bytes,
                        signature: try signature.encoded(),
                        signed: signature,
                        rows: rows,
                        at: accounts.clock()
                    )
                    return rows
                }
                outcome = ("ok", "\(name)，\(rows) 行；\(filter)")
            } catch {
                try? await database.run {
                    try jobs.failExport(
                        id: id,
                        message: "导出未完成，没有生成文件。请重试；仍不行请把枢纽的日志发给运维人员。",
                        at: accounts.clock()
                    )
                }
                outcome = ("failed", name)
            }
            try? await database.run {
                try accounts.audit(
                    user: user.name,
                    action: "export",
                    outcome: outcome.0,
                    detail: outcome.1,
                    address: address
                )
            }
        }
        return .redirect(to: "/exports/\(id)", type: .normal)
    }

    /// 导出说明: who exported, when, what, how many, how it is signed.
    static func about(user: DashboardUser, filter: String, rows: Int) -> ReportTable {
        ReportTable(
            name: "导出说明",
            headers: ["项目", "内容"],
            widths: [12, 80],
            rows: [
                ["导出人", "\(user.name)（\(user.role.chinese)）"],
                ["导出时间", localTime(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))],
                ["查询条件", filter], ["共计", "\(rows) 条"], ["签名", "由县枢纽密钥签名，签名文件为同名 .sig 文件"],
            ].map { $0.map(ReportCell.text) }
        )
    }

    /// The 工作台账 of `query` in the view's columns, built a thousand rows at a time; it holds as
    /// many rows as the query matched, or it is not made.
    static func ledgerTable(
        query: DemandQuery,
        selection: LedgerSelection,
        ledger: Ledger,
        progress: (Int) -> Void
    ) throws -> ReportTable {
        let today = ledger.localToday(profile: ledger.profile)
        let ids = try ledger.ledgerIDs(query, today: today, profile: ledger.profile)
        let columns = selection.shownColumns
        var table = ReportTable(
            name: "工作台账",
            headers: columns.map { Ledger.ledgerHeaders[$0] },
            widths: columns.map { Ledger.ledgerWidths[$0] }
        )
        table.rows.reserveCapacity(ids.count)
        var start = 0
        while start < ids.count {
            let chunk = Array(ids[start..<min(start + 1000, ids.count)])
            let rows = try ledger.workLedgerRows(
                chunk,
                firstIndex: start + 1,
                today: today,
                profile: ledger.profile,
                showPersonalData: true
            )
            table.rows += rows.map { row in columns.map { row[$0] } }
            start += chunk.count
            progress(table.rows.count)
        }
        guard table.rows.count == ids.count else {
            throw ExportError("the ledger changed while it was exported: \(table.rows.count) rows of \(ids.count)")
        }
        return table
    }

    /// `GET /exports/:id`: the export's progress, then its links.
    func exportPage(_ id: String, context: DashboardContext) async throws -> Response {
        let user = try context.user
        let (jobs, now) = (jobs, accounts.clock())
        guard let job = try await database.run({ try jobs.exportJob(id: id, owner: user.name, now: now) }) else {
            throw DashboardRefusal(.notFound, "没有这份导出（或它不是您导出的）。", "请在工作台账页重新导出。")
        }
        let view = ExportPage(
            running: job.running,
            name: job.name,
            rows: String(job.rows),
            size: String(job.size),
            hash: String(job.hash.prefix(16)),
            signedAt: ISOTime.parse(job.signedAt).map(Self.localTime(milliseconds:)) ?? job.signedAt,
            file: "/exports/\(id)/file",
            signature: "/exports/\(id)/sig",
            failure: job.failure
        )
        return try await page(context, title: "导出工作台账", path: "/ledger", refresh: job.running ? 2 : nil) {
            (view, "export")
        }
    }

    /// `GET /exports/:id/file` and `/sig`: the file streamed from disk, with its length.
    func exportFile(_ id: String, signature: Bool, context: DashboardContext) async throws -> Response {
        let user = try context.user
        let (jobs, now) = (jobs, accounts.clock())
        let found = try await database.run { () -> (ExportJob, ExportContent)? in
            guard let job = try jobs.exportJob(id: id, owner: user.name, now: now), !job.running, job.failure == nil,
                let content = try jobs.exportContent(id: id, signature: signature)
            else { return nil }
            return (job, content)
        }
        guard let (job, content) = found else {
            throw DashboardRefusal(.notFound, "这份导出不在或尚未完成。", "请回到导出页，等它完成后再下载。")
        }
        var fields = HTTPFields()
        fields[.contentType] = signature ? "application/json" : job.format.contentType
        fields[.contentDisposition] = WebDownloadName.disposition(signature ? job.name + ".sig" : job.name)
        fields[.contentLength] = String(signature ? job.signatureSize : job.size)
        switch content {
        case .file(let path):
            return Response(status: .ok, headers: fields, body: try await files.loadFile(path: path, context: context))
        case .bytes(let bytes):
            return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}

extension ExportFormat {
    var contentType: String {
        switch self {
        case .xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        case .csv: "text/csv; charset=utf-8"
        case .json: "application/json"
        }
    }
}
