import AsyncHTTPClient
import FieldCrypto
import FieldLedger
import FieldStore
import FieldSync
import Foundation
import Hummingbird

/// 同步: the hub, a laptop on the LAN, and U盘 bundles; the same domain calls as `fieldlog sync`
/// and `fieldlog bundle`.
extension WebPages {
    /// The 同步 page: the hub's address, the last successful sync, what waits, the sync running or
    /// its result, and the forms for a laptop and for bundles. `notices` are a bundle import's lines.
    func syncPage(_ context: WebContext, error: String? = nil, notices: [String] = []) throws -> Response {
        let standing = try ledger.syncStanding()
        let devices = try ledger.registryListing("devices").filter {
            $0["revoked"] != "1" && $0["public_key"] != ledger.publicKey.hex
        }
        let job = jobs.current
        let view = SyncView(
            csrf: context.session?.csrf ?? "",
            error: error,
            notices: notices,
            hub: try ledger.rememberedHub() ?? "",
            lastSync: standing.last.map { Self.localTime($0.at, profile: ledger.profile) },
            waiting: standing.waiting,
            refusedCount: standing.refused.count,
            hasRefused: !standing.refused.isEmpty,
            hasJob: job != nil,
            jobRunning: job?.running == true,
            jobTarget: job?.target ?? "",
            jobPhase: job?.phase ?? "",
            jobCommits: job?.commits ?? 0,
            jobResult: job?.result ?? [],
            jobError: job?.error,
            devices: devices.map { device in
                let code = device["code"] ?? ""
                let role = Role(rawValue: device["role"] ?? "")?.displayName ?? ""
                return OptionView(value: code, label: "\(code) \(device["holder"] ?? "")（\(role)）", selected: false)
            }
        )
        var response = try page(view, "sync", title: "同步", context: context)
        if error != nil { response.status = .unprocessableContent }
        return response
    }

    /// `POST /sync`: starts a sync with the hub (`kind=hub`) or a laptop (`kind=peer`) at the
    /// address given, and leads back to the 同步 page, which follows it live.
    func startSync(_ context: WebContext) throws -> Response {
        let form = context.form ?? WebForm(body: "")
        let isPeer = form["kind"] == "peer"
        let address = (form["address"] ?? "").trimmingCharacters(in: .whitespaces)
        guard let url = URL(string: address), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            let example = isPeer ? "http://192.168.1.23:8081" : "http://10.1.2.3:8080"
            return try syncPage(context, error: "地址“\(address)”不是网址，请填写如 \(example) 的地址。")
        }
        guard let key = ledger.signingKey else {
            throw WebRefusal(.forbidden, "本机以只读方式打开，不能同步。", "请重新运行 fieldlog ui。")
        }
        let base = address.hasSuffix("/") ? String(address.dropLast()) : address
        let ledger = ledger
        let started = jobs.start(target: (isPeer ? "同事笔记本 " : "县级平台 ") + base) { progress in
            try await Self.sync(ledger: ledger, key: key, address: base, isPeer: isPeer, progress: progress)
        }
        guard started else {
            return try syncPage(context, error: "已有一次同步正在进行，请等它结束。")
        }
        return .redirect(to: "/sync", type: .normal)
    }

    /// One sync over signed HTTP, as `fieldlog sync` runs it; a hub sync is remembered (its address
    /// and time, and the own commits it refused). Returns the result's lines in Chinese.
    static func sync(
        ledger: Ledger,
        key: SigningKey,
        address: String,
        isPeer: Bool,
        progress: @escaping @Sendable (String, Int, Int) -> Void
    ) async throws -> [String] {
        let conflictsBefore = try ledger.openConflicts().count
        let client = HTTPTransport.makeClient()
        var transport = HTTPTransport(baseURL: address, key: key, hubKey: ledger.rootKey, client: client)
        transport.acceptHubProcess = { [ledger] candidate in ledger.isHubProcess(candidate) }
        if isPeer {
            transport.server = "the laptop"
            transport.acceptPeer = { candidate in
                if case .enrolled = (try? ledger.standing(of: candidate)) ?? .unknown { return true }
                return false
            }
        }
        let result: Result<SyncSummary, any Error>
        do {
            result = .success(
                try await SyncClient(replica: ledger.syncEngine, peer: address).sync(over: transport) { step in
                    progress(step.phase == "push" ? "发送中" : "接收中", step.commits, step.bytes)
                }
            )
        } catch {
            result = .failure(error)
        }
        try await client.shutdown()
        let summary = try result.get()
        if !isPeer {
            try ledger.rememberHub(address)
            try ledger.noteSynced(target: address, refused: summary.refusedThere)
        }
        let workflow = try ledger.workflowConflicts(profile: ledger.profile).map(\.number)
        return WebWords.syncResult(
            summary,
            newConflicts: max(0, summary.conflicts - conflictsBefore),
            workflow: workflow
        )
    }

    /// `GET /sync/events`: the running sync's progress as server-sent events, one JSON snapshot per
    /// change, ending with the sync.
    func syncEvents() -> Response {
        let updates = jobs.updates()
        var fields = HTTPFields()
        fields[.contentType] = "text/event-stream; charset=utf-8"
        fields[.cacheControl] = "no-store"
        let body = ResponseBody { writer in
            for await snapshot in updates {
                let json = String(decoding: (try? JSONEncoder().encode(snapshot)) ?? Data("{}".utf8), as: UTF8.self)
                try await writer.write(ByteBuffer(string: "data: \(json)\n\n"))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: fields, body: body)
    }

    /// `POST /sync/bundle`: a bundle for the chosen device, downloaded: what both it and this
    /// device may read, as `fieldlog bundle export --for`.
    func exportBundle(_ context: WebContext) throws -> Response {
        let recipient = (context.form?["recipient"] ?? "").trimmingCharacters(in: .whitespaces)
        guard !recipient.isEmpty else { return try syncPage(context, error: "请选择 U 盘包的接收设备。") }
        let scopes: Set<String>
        do {
            scopes = try ledger.bundleScopes(for: recipient).scopes
        } catch let error as LedgerError {
            return try syncPage(context, error: WebWords.refusal(error, demand: ""))
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fieldlog-ui-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("bundle").path
        _ = try ledger.writeBundle(scopes: scopes, to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let name = "fieldlog-\(recipient)-\(ledger.today()).bundle"
        return Self.download(bytes, name: name, type: "application/octet-stream")
    }

    /// `POST /sync/import`: takes an uploaded bundle's commits, each checked as on any import.
    func importBundle(_ context: WebContext) throws -> Response {
        guard let file = context.form?.files["bundle"], !file.bytes.isEmpty else {
            return try syncPage(context, error: "请选择要导入的 U 盘包文件（.bundle）。")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fieldlog-ui-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("upload.bundle").path
        try Data(file.bytes).write(to: URL(fileURLWithPath: path))
        let records: CommitBundle.Records
        do {
            records = try CommitBundle.open(path)
        } catch {
            return try syncPage(context, error: "“\(file.filename)”不是 fieldlog 的 U 盘包，未导入任何内容。")
        }
        let report = try ledger.importRecords(records)
        var lines = [
            "已导入“\(file.filename)”：共 \(records.count) 条提交，新应用 \(report.applied) 条，已有 \(report.skipped) 条，暂存 \(report.held) 条，拒收 \(report.refused.count) 条。"
        ]
        lines += report.refused.prefix(20).map { "拒收：" + $0.reason }
        return try syncPage(context, notices: lines)
    }

    /// A file to save, under `name` (RFC 6266 `filename*` for the Chinese in it).
    static func download(_ bytes: Data, name: String, type: String) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = type
        fields[.contentDisposition] = WebDownloadName.disposition(name)
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// The `Content-Disposition` of a download: an ASCII name for old clients, and the real (Chinese)
/// name in `filename*` (RFC 6266).
package enum WebDownloadName {
    package static func disposition(_ name: String) -> String {
        let ascii = String(name.unicodeScalars.map { $0.isASCII && $0 != "\"" ? Character($0) : "_" })
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ascii
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }
}
