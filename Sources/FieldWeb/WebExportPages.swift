import FieldCrypto
import FieldExport
import FieldLedger
import FieldStore
import Foundation
import Hummingbird
import Synchronization

/// Files made on the 导出 page, kept in memory for their download links (the last few only; a
/// restart forgets them: export again).
final class WebDownloads: Sendable {
    struct File: Sendable {
        var name: String
        var type: String
        var bytes: [UInt8]
        var signature: [UInt8]
        var rows: Int
        var summary: ExportSignature
    }

    static let kept = 8
    private let files = Mutex<[(token: String, file: File)]>([])

    func keep(_ file: File) -> String {
        let token = WebSessions.secret()
        files.withLock { files in
            files.append((token, file))
            if files.count > Self.kept { files.removeFirst(files.count - Self.kept) }
        }
        return token
    }

    func file(_ token: String) -> File? { files.withLock { $0.first { $0.token == token }?.file } }
}

/// 导出: the 工作台账 and 月调度 as .xlsx or .csv, signed by this device; and 核验, which checks an
/// uploaded file against its signature. The same calls as `fieldlog export`.
extension WebPages {
    func exportPage(_ context: WebContext, error: String? = nil, kept: WebForm? = nil) throws -> Response {
        func options(_ values: [String], chosen: String?) -> [OptionView] {
            values.map { OptionView(value: $0, label: $0, selected: $0 == chosen) }
        }
        let departments = try ledger.registryListing("departments").compactMap { $0["name"] }.sorted()
        let cadres = try ledger.registryListing("cadres").compactMap { $0["name"] }.sorted()
        let townships = try ledger.townships()
        let month = String(ledger.today().prefix(7))
        let view = ExportView(
            csrf: context.session?.csrf ?? "",
            error: error,
            unresolved: kept.map { $0["unresolved"] == "on" } ?? true,
            overdue: kept?["overdue"] == "on",
            departments: options(departments, chosen: kept?["department"]),
            cadres: options(cadres, chosen: kept?["cadre"]),
            townships: options(townships, chosen: kept?["township"]),
            categories: options(Vocabulary.categories, chosen: kept?["category"]),
            from: kept?["from"] ?? "",
            to: kept?["to"] ?? "",
            month: kept?["month"] ?? month
        )
        var response = try page(view, "export", title: "导出", context: context)
        if error != nil { response.status = .unprocessableContent }
        return response
    }

    /// `POST /export/ledger` and `/export/monthly`: the report of the filter, written and signed,
    /// kept for its download links; then the page with the links.
    func export(_ report: String, context: WebContext) throws -> Response {
        let form = context.form ?? WebForm(body: "")
        func value(_ key: String) -> String? {
            guard let text = form[key]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        guard let format = value("format").flatMap(ExportFormat.init(rawValue:)), format != .json else {
            return try exportPage(context, error: "请选择文件格式（.xlsx 或 .csv）。", kept: form)
        }
        guard let key = ledger.signingKey else {
            throw WebRefusal(.forbidden, "本机以只读方式打开，不能签名导出。", "请重新运行 fieldlog ui。")
        }
        let today = ledger.localToday(profile: ledger.profile)
        let tables: [ReportTable]
        let title: String
        if report == "monthly" {
            guard let month = value("month"), let period = Period(month: month) else {
                return try exportPage(context, error: "请填写月份（如 2026-03）。", kept: form)
            }
            tables = try ledger.monthlyReport(period, today: today, profile: ledger.profile)
            title = "月调度 \(month)"
        } else {
            var filter = LedgerFilter()
            filter.unresolvedOnly = form["unresolved"] == "on"
            filter.overdueOnly = form["overdue"] == "on"
            filter.department = value("department")
            filter.cadre = value("cadre")
            filter.township = value("township")
            filter.category = value("category")
            if value("from") != nil || value("to") != nil {
                guard let from = Day(value("from") ?? "2000-01-01"), let to = Day(value("to") ?? "2100-12-31"),
                    from <= to
                else {
                    return try exportPage(context, error: "登记日期的起止不对：请填写日期，起日不晚于止日。", kept: form)
                }
                filter.period = Period(from: from, to: to)
            }
            tables = [try ledger.workLedger(filter, today: today, profile: ledger.profile)]
            title = "工作台账"
        }
        let bytes = try ExportFile.bytes(tables, format: format, title: title)
        let name = "\(title.replacingOccurrences(of: " ", with: "-"))-\(ledger.today()).\(format.rawValue)"
        let signature = try ExportFile.sign(bytes, name: name, ledger: ledger, key: key)
        let token = downloads.keep(
            WebDownloads.File(
                name: name,
                type: format == .xlsx
                    ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" : "text/csv; charset=utf-8",
                bytes: bytes,
                signature: try signature.encoded(),
                rows: tables.map(\.rows.count).reduce(0, +),
                summary: signature
            )
        )
        return .redirect(to: "/export/ready/\(token)", type: .normal)
    }

    /// `GET /export/ready/TOKEN`: what was exported, with its two download links.
    func exportReady(_ token: String, context: WebContext) throws -> Response {
        guard let file = downloads.file(token) else {
            throw WebRefusal(.notFound, "这份导出已不在（fieldlog ui 只保留最近几份）。", "请在“导出”页重新导出。")
        }
        let view = ExportReadyView(
            name: file.name,
            rows: file.rows,
            size: file.bytes.count,
            hash: String(file.summary.blake2b256.prefix(16)),
            signer: file.summary.signerName,
            signedAt: Self.localTime(file.summary.signedAt, profile: ledger.profile),
            file: "/export/files/\(token)",
            signature: "/export/files/\(token)/sig"
        )
        return try page(view, "exportReady", title: "导出完成", context: context)
    }

    /// `GET /export/files/TOKEN` (and `/sig`): the file, or its signature.
    func exportFile(_ token: String, signature: Bool) throws -> Response {
        guard let file = downloads.file(token) else {
            throw WebRefusal(.notFound, "这份导出已不在（fieldlog ui 只保留最近几份）。", "请在“导出”页重新导出。")
        }
        if signature { return Self.download(Data(file.signature), name: file.name + ".sig", type: "application/json") }
        return Self.download(Data(file.bytes), name: file.name, type: file.type)
    }

    func verifyForm(_ context: WebContext, result: VerifyView.Result? = nil) throws -> Response {
        let view = VerifyView(csrf: context.session?.csrf ?? "", result: result)
        var response = try page(view, "verify", title: "核验导出文件", context: context)
        if let result, !result.verified { response.status = .unprocessableContent }
        return response
    }

    /// `POST /export/verify`: an uploaded file and its `.sig`, checked as `fieldlog export verify`.
    func verifyUpload(_ context: WebContext) throws -> Response {
        guard let file = context.form?.files["file"], let signature = context.form?.files["signature"],
            !file.filename.isEmpty, !signature.filename.isEmpty
        else {
            return try verifyForm(
                context,
                result: .init(verified: false, lines: ["请同时选择导出的文件和它的签名文件（.sig）。"])
            )
        }
        do {
            let (who, parsed) = try ExportFile.verify(file.bytes, signature: signature.bytes, ledger: ledger)
            let key = (try? PublicKey(hex: parsed.signer))?.fingerprint ?? parsed.signer
            return try verifyForm(
                context,
                result: .init(
                    verified: true,
                    lines: [
                        "已核验：“\(file.filename)”未被改动。",
                        "签名人 \(who)（密钥指纹 \(key)），签于 \(Self.localTime(parsed.signedAt, profile: ledger.profile))。",
                        "依据 \(parsed.heads.count) 个提交流进度计算。",
                    ]
                )
            )
        } catch let error as ExportError {
            return try verifyForm(context, result: .init(verified: false, lines: [WebWords.verifyFailure(error)]))
        }
    }
}
