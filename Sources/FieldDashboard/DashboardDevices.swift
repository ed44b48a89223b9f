import FieldCrypto
import FieldHub
import FieldLedger
import FieldStore
import FieldWeb
import Foundation
import Hummingbird

struct DeviceRow: Sendable {
    var code: String
    var holder: String
    var role: String
    var enrolledAt: String
    var lastSync: String
    var silent: Bool
    var pushed: String
    var stored: String
    var refused: [String]
    var skew: String
    var state: String
    var fingerprint: String
    /// The revocation page, for an operator and a device not revoked yet.
    var revoke: String?
}

struct ForkRow: Sendable {
    var device: String
    var scope: String
    var sequence: String
    var commits: [String]
    /// Where the feed stands: excluded from a place, or readmitted.
    var state: String
    /// The operator's decisions on it, in words.
    var decisions: [String]
    /// The readmission form, for an operator.
    var readmit: String?
}

/// 设备与同步.
struct DevicesPage: DashboardView {
    var statuses: [Choice]
    var rows: [DeviceRow]
    var hasRows: Bool
    var total: String
    var silentCount: String
    var revokedCount: String
    var forks: [ForkRow]
    var hasForks: Bool
    /// 生成登记码, for an operator.
    var enroll: String?
    var notice: String?

    static var sample: DevicesPage {
        .init(
            statuses: [Choice(value: "silent", label: "超过 7 天未同步", selected: true)],
            rows: [
                DeviceRow(
                    code: "D001",
                    holder: "王强",
                    role: "包联干部",
                    enrolledAt: "2026-12-01 09:00",
                    lastSync: "2026-12-02 10:00",
                    silent: true,
                    pushed: "12",
                    stored: "40",
                    refused: ["签名时间与县枢纽时钟相差过大 2 次"],
                    skew: "+3 秒",
                    state: "有效",
                    fingerprint: "ab12-cd34",
                    revoke: "/devices/revoke?key=ab"
                )
            ],
            hasRows: true,
            total: "1",
            silentCount: "1",
            revokedCount: "0",
            forks: [
                ForkRow(
                    device: "王强（D001）",
                    scope: "企业 高唐纺织有限公司",
                    sequence: "7",
                    commits: ["1a2b… 2026-12-01 09:00"],
                    state: "自第 7 条起排除",
                    decisions: ["第 7 条处恢复 1a2b…（运维甲，2026-12-02 10:00）：已恢复"],
                    readmit: "/devices/readmit?key=ab&scope=ent:x"
                )
            ],
            hasForks: true,
            enroll: "/devices/enroll",
            notice: "已吊销。"
        )
    }
}

/// The confirmation of a revocation, typed.
struct RevokePage: DashboardView {
    var csrf: String
    var key: String
    var code: String
    var holder: String
    var fingerprint: String
    var error: String?

    static var sample: RevokePage {
        .init(csrf: "t", key: "ab", code: "D001", holder: "王强", fingerprint: "ab12-cd34", error: "输入的设备编号不对。")
    }
}

/// The readmission of a forked feed: the branches held at the fork, one to choose (or none), and
/// the device code typed again.
struct ReadmitPage: DashboardView {
    struct Branch: Sendable {
        var id: String
        var short: String
        var time: String
        var checked: Bool
    }

    var csrf: String
    var key: String
    var scope: String
    var code: String
    var holder: String
    var enterprise: String
    var sequence: String
    var branches: [Branch]
    var noneChecked: Bool
    var decisions: [String]
    var note: String
    var error: String?

    static var sample: ReadmitPage {
        .init(
            csrf: "t",
            key: "ab",
            scope: "ent:x",
            code: "D001",
            holder: "王强",
            enterprise: "企业 高唐纺织有限公司",
            sequence: "7",
            branches: [Branch(id: "1a2b", short: "1a2b3c4d5e6f", time: "2026-12-01 09:00", checked: true)],
            noneChecked: false,
            decisions: ["第 7 条处不恢复（运维甲）：不恢复"],
            note: "核实后保留原机",
            error: "输入的设备编号与该数据流的设备不符，未作决定。"
        )
    }
}

/// A one-time enrollment code: the form, then the code once.
struct EnrollPage: DashboardView {
    var csrf: String
    var roles: [Choice]
    var cadres: [Choice]
    var departments: [Choice]
    var label: String
    var hours: String
    var error: String?
    var code: String?
    var command: String?
    var expires: String?
    var fingerprint: String
    var qr: String?

    static var sample: EnrollPage {
        .init(
            csrf: "t",
            roles: [Choice(value: "cadre", label: "包联干部", selected: true)],
            cadres: [Choice(value: "王强", label: "王强", selected: true)],
            departments: [Choice(value: "县市场监管局", label: "县市场监管局", selected: false)],
            label: "王强的笔记本",
            hours: "24",
            error: "包联干部的登记码须选择干部。",
            code: "ABCD-EFGH-JKMN",
            command: "fieldlog enroll --hub http://hub:8080 --code ABCD-EFGH-JKMN",
            expires: "2026-12-03 10:00",
            fingerprint: "ab12-cd34",
            qr: "<svg></svg>"
        )
    }
}

extension DashboardPages {
    /// A refusal code of the hub in the county's words.
    static let refusalWords: [String: String] = [
        "created_out_of_window": "签名时间与县枢纽时钟相差过大", "revoked_key": "设备已吊销", "replayed_nonce": "重复的请求",
        "bad_signature": "签名不对", "out_of_scope": "推送了无权写入的数据", "digest_mismatch": "内容与摘要不符",
        "expired": "签名已过期", "busy": "县枢纽繁忙", "body_too_large": "请求过大", "bad_request": "请求格式不对",
        "incomplete_body": "请求未传完", "already_enrolled": "已登记过", "unsupported_version": "协议版本不支持",
    ]

    /// Days without a sync after which a device is listed as silent.
    static let silentDays: Int64 = 7

    /// `GET /devices?status=…`: every device of the registry with what the hub saw of it, the
    /// silent ones, the revoked ones and the forks with their evidence.
    func devicesPage(_ request: Request, context: DashboardContext) async throws -> Response {
        let status = request.uri.queryParameters.get("status").flatMap { $0.isEmpty ? nil : $0 }
        let statuses = [("active", "有效"), ("silent", "超过 7 天未同步"), ("revoked", "已吊销"), ("forked", "已隔离（分叉）")]
        if let status, !statuses.contains(where: { $0.0 == status }) {
            throw DashboardRefusal(.badRequest, "没有“\(status)”这种状态。", "请从“状态”下拉框中选择。")
        }
        let isOperator = try context.user.role == .operator
        let revoked = request.uri.queryParameters.get("revoked")
        let (ledger, now, shared) = (ledger, accounts.clock(), deviceActivity)
        return try await page(context, title: "设备与同步", path: "/devices") {
            let devices = try ledger.registryListing("devices")
            let activity = try shared?() ?? DeviceActivity.stored(in: ledger)
            let forks = try ledger.forks()
            let decisions = try ledger.readmissions()
            let forked = Set(forks.filter { $0.excludedFrom != nil }.map(\.author))
            var stored: [String: UInt64] = [:]
            for feed in try ledger.replica.feeds() { stored[feed.author, default: 0] += feed.head }
            var rows: [DeviceRow] = []
            var silentCount = 0
            var revokedCount = 0
            for device in devices {
                let key = device["public_key"] ?? ""
                let seen = activity[key]
                let isRevoked = device["revoked"] == "1"
                let silent = !isRevoked && (seen?.lastSync.map { now - $0 > Self.silentDays * 86400 } ?? true)
                if silent { silentCount += 1 }
                if isRevoked { revokedCount += 1 }
                switch status {
                case "active": if isRevoked { continue }
                case "silent": if !silent { continue }
                case "revoked": if !isRevoked { continue }
                case "forked": if !forked.contains(key) { continue }
                default: break
                }
                let publicKey = try? PublicKey(hex: key)
                rows.append(
                    DeviceRow(
                        code: device["code"] ?? "",
                        holder: device["holder"] ?? "",
                        role: Ledger.registryDisplay("devices", "role", device["role"] ?? ""),
                        enrolledAt: ISOTime.parse(device["enrolled_at"] ?? "").map(Self.localTime(milliseconds:))
                            ?? (device["enrolled_at"] ?? ""),
                        lastSync: seen?.lastSync.map { Self.localTime(milliseconds: $0 * 1000) } ?? "从未",
                        silent: silent,
                        pushed: String(seen?.pushed ?? 0),
                        stored: String(stored[key] ?? 0),
                        refused: (seen?.refused ?? [:]).sorted { $0.key < $1.key }.map {
                            "\(Self.refusalWords[$0.key] ?? $0.key) \($0.value) 次"
                        },
                        skew: seen?.skew.map { $0 == 0 ? "0 秒" : String(format: "%+d 秒", $0) } ?? "—",
                        state: isRevoked ? "已吊销" : forked.contains(key) ? "已隔离（分叉）" : "有效",
                        fingerprint: publicKey?.fingerprint ?? key,
                        revoke: isOperator && !isRevoked ? "/devices/revoke?key=\(key)" : nil
                    )
                )
            }
            let readmitted = request.uri.queryParameters.get("readmitted").flatMap { key in
                decisions.first { "\($0.publicKey) \($0.scope)" == key }
            }
            let notice = try revoked.flatMap { key -> String? in
                guard let device = devices.first(where: { $0["public_key"] == key }), device["revoked"] == "1" else {
                    return nil
                }
                let last = try ledger.replica.heads(of: PublicKey(hex: key)).values.max() ?? 0
                return "已吊销设备 \(device["code"] ?? "")（\(device["holder"] ?? "")）：吊销由县根密钥签名的登记提交记录；其最后接受的提交序号为 \(last)。"
            }
            return (
                DevicesPage(
                    statuses: statuses.map { Choice(value: $0.0, label: $0.1, selected: $0.0 == status) },
                    rows: rows,
                    hasRows: !rows.isEmpty,
                    total: String(devices.count),
                    silentCount: String(silentCount),
                    revokedCount: String(revokedCount),
                    forks: forks.map { fork in
                        ForkRow(
                            device: (try? PublicKey(hex: fork.author)).flatMap { try? ledger.authorName($0) }
                                ?? fork.author,
                            scope: ledger.scopeLabel(fork.scope),
                            sequence: String(fork.sequence),
                            commits: fork.commits.map {
                                "\($0.id.prefix(16))… \(Self.localTime(milliseconds: Int64($0.milliseconds)))"
                            },
                            state: fork.excludedFrom.map { "已隔离：自第 \($0) 条起排除" } ?? "已恢复：有效至第 \(fork.head) 条",
                            decisions: decisions.filter { $0.publicKey == fork.author && $0.scope == fork.scope }.map(
                                Self.decisionWords
                            ),
                            readmit: isOperator ? "/devices/readmit?key=\(fork.author)&scope=\(fork.scope)" : nil
                        )
                    },
                    hasForks: !forks.isEmpty,
                    enroll: isOperator ? "/devices/enroll" : nil,
                    notice: notice
                        ?? readmitted.map {
                            "已决定：\(Self.decisionWords($0))。决定由县根密钥签名的登记提交记录，各终端同步后按此决定。"
                        }
                ),
                "devices"
            )
        }
    }

    /// The registry's row of the device `key` names, if it is enrolled.
    func device(_ key: String?) throws -> [String: String] {
        guard let key, (try? PublicKey(hex: key)) != nil,
            let device = try ledger.registryListing("devices").first(where: { $0["public_key"] == key })
        else {
            throw DashboardRefusal(.notFound, "没有这台设备。", "请从设备与同步页进入。")
        }
        return device
    }

    /// `GET /devices/revoke?key=…` (operators): the confirmation, typed.
    func revokeForm(key: String?, context: DashboardContext, error: String? = nil) async throws -> Response {
        try context.requireOperator()
        let csrf = context.session?.csrf ?? ""
        let found = try await database.run { try device(key) }
        var response = try await page(context, title: "吊销设备", path: "/devices") {
            (
                RevokePage(
                    csrf: csrf,
                    key: key ?? "",
                    code: found["code"] ?? "",
                    holder: found["holder"] ?? "",
                    fingerprint: (try? PublicKey(hex: key ?? ""))?.fingerprint ?? "",
                    error: error
                ),
                "revoke"
            )
        }
        if error != nil { response.status = .unprocessableContent }
        return response
    }

    /// `POST /devices/revoke` (operators): revokes the device once its code is typed again, as a
    /// registry commit signed by the hub's key.
    func revoke(_ context: DashboardContext) async throws -> Response {
        try context.requireOperator()
        let user = try context.user
        let key = context.form?["key"] ?? ""
        let typed = (context.form?["confirm"] ?? "").trimmingCharacters(in: .whitespaces)
        let (ledger, accounts, address) = (ledger, accounts, context.address)
        let found = try await database.run { try device(key) }
        guard found["revoked"] != "1" else {
            throw DashboardRefusal(.conflict, "该设备已经吊销。", "不必再次吊销。")
        }
        guard !typed.isEmpty, typed == found["code"] else {
            return try await revokeForm(key: key, context: context, error: "输入的设备编号与要吊销的设备不符，未吊销。")
        }
        try await database.run {
            _ = try ledger.revoke(publicKey: try PublicKey(hex: key))
            try accounts.audit(
                user: user.name,
                action: "revoke",
                outcome: "ok",
                detail: "\(found["code"] ?? "") \(found["holder"] ?? "")",
                address: address
            )
        }
        return .redirect(to: "/devices?revoked=\(key)", type: .normal)
    }

    /// A readmission in words: the place, the branch or none, who decided and when, and where the
    /// feed stands on the hub.
    static func decisionWords(_ decision: Ledger.Readmission) -> String {
        let what = decision.chosen.map { "恢复 \($0.prefix(12))…" } ?? "不恢复任何分支"
        let when = decision.decidedAt.flatMap(ISOTime.parse).map(Self.localTime(milliseconds:)) ?? ""
        let who = [decision.decidedBy, when].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "，")
        return "第 \(decision.sequence) 条处\(what)（\(who)）：\(decision.standingText)"
    }

    /// The fork of the feed `key` writes in `scope`, with the device's registry row.
    func forkOf(key: String?, scope: String?) throws -> (ForkEvidence, [String: String]) {
        let device = try device(key)
        guard let scope, let fork = try ledger.forks().first(where: { $0.author == key && $0.scope == scope }) else {
            throw DashboardRefusal(.notFound, "这台设备在该范围没有分叉。", "请从设备与同步页的分叉列表进入。")
        }
        return (fork, device)
    }

    /// `GET /devices/readmit?key=…&scope=…` (operators): the branches held at the fork, to choose
    /// one or none, with the device code typed again.
    func readmitForm(
        key: String?,
        scope: String?,
        context: DashboardContext,
        form: WebForm? = nil,
        error: String? = nil
    ) async throws -> Response {
        try context.requireOperator()
        let csrf = context.session?.csrf ?? ""
        let ledger = ledger
        var response = try await page(context, title: "恢复分叉的数据流", path: "/devices") {
            let (fork, device) = try forkOf(key: key, scope: scope)
            let decisions = try ledger.readmissions().filter { $0.publicKey == fork.author && $0.scope == fork.scope }
            let current =
                form?["branch"] ?? decisions.first(where: { $0.sequence == fork.sequence }).map { $0.chosen ?? "none" }
            return (
                ReadmitPage(
                    csrf: csrf,
                    key: fork.author,
                    scope: fork.scope,
                    code: device["code"] ?? "",
                    holder: device["holder"] ?? "",
                    enterprise: ledger.scopeLabel(fork.scope),
                    sequence: String(fork.sequence),
                    branches: fork.commits.map {
                        ReadmitPage.Branch(
                            id: $0.id,
                            short: String($0.id.prefix(12)),
                            time: Self.localTime(milliseconds: Int64($0.milliseconds)),
                            checked: $0.id == current
                        )
                    },
                    noneChecked: current == "none",
                    decisions: decisions.map(Self.decisionWords),
                    note: form?["note"] ?? "",
                    error: error
                ),
                "readmit"
            )
        }
        if error != nil { response.status = .unprocessableContent }
        return response
    }

    /// `POST /devices/readmit` (operators): decides which branch of the fork counts, or none, once
    /// the device code is typed again, as a registry commit signed by the hub's key.
    func readmit(_ context: DashboardContext) async throws -> Response {
        try context.requireOperator()
        let user = try context.user
        let form = context.form ?? WebForm(body: "")
        let (key, scope) = (form["key"] ?? "", form["scope"] ?? "")
        let branch = (form["branch"] ?? "").trimmingCharacters(in: .whitespaces)
        let typed = (form["confirm"] ?? "").trimmingCharacters(in: .whitespaces)
        let note = (form["note"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let (ledger, accounts, address) = (ledger, accounts, context.address)
        let (fork, device) = try await database.run { try forkOf(key: key, scope: scope) }
        func again(_ error: String) async throws -> Response {
            try await readmitForm(key: key, scope: scope, context: context, form: form, error: error)
        }
        guard branch == "none" || fork.commits.contains(where: { $0.id == branch }) else {
            return try await again("请选择要恢复的分支，或选择“不恢复任何分支”。")
        }
        guard !typed.isEmpty, typed == device["code"] else {
            return try await again("输入的设备编号与该数据流的设备不符，未作决定。")
        }
        guard note.count <= 500 else { return try await again("说明最多 500 字。") }
        do {
            try await database.run {
                let decided = try ledger.readmit(
                    publicKey: try PublicKey(hex: key),
                    scope: scope,
                    branch: branch,
                    decidedBy: user.name,
                    note: note.isEmpty ? nil : note
                )
                try accounts.audit(
                    user: user.name,
                    action: "readmit",
                    outcome: "ok",
                    detail:
                        "\(device["code"] ?? "") \(ledger.scopeLabel(scope)) 第 \(decided.sequence) 条 \(decided.chosen.map { String($0.prefix(12)) } ?? "不恢复")",
                    address: address
                )
            }
        } catch let error as LedgerError {
            return try await again(error.message.contains("nothing was changed") ? "这已经是该处的决定，未作改动。" : error.message)
        }
        let target = "\(key) \(scope)".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return .redirect(to: "/devices?readmitted=\(target)", type: .normal)
    }

    /// `GET /devices/enroll` (operators): the form of a one-time enrollment code.
    func enrollForm(
        _ context: DashboardContext,
        form: WebForm? = nil,
        error: String? = nil,
        made: (String, Int64)? = nil
    )
        async throws -> Response
    {
        try context.requireOperator()
        let csrf = context.session?.csrf ?? ""
        let (ledger, hubURL) = (ledger, hubURL())
        let roles: [Role] = [.cadre, .department, .coordinator, .supervisor, .operator]
        var response = try await page(context, title: "生成登记码", path: "/devices") {
            let command = made.map { code, _ in
                "fieldlog init && fieldlog enroll --hub \(hubURL ?? "http://县枢纽地址:8080") --code \(code) --root-fingerprint \(ledger.rootKey.fingerprint)"
            }
            return (
                EnrollPage(
                    csrf: csrf,
                    roles: roles.map {
                        Choice(value: $0.rawValue, label: $0.displayName, selected: $0.rawValue == form?["role"])
                    },
                    cadres: try ledger.registryNames(.cadre).map {
                        Choice(value: $0, label: $0, selected: $0 == form?["cadre"])
                    },
                    departments: try ledger.registryNames(.department).map {
                        Choice(value: $0, label: $0, selected: $0 == form?["department"])
                    },
                    label: made == nil ? form?["label"] ?? "" : "",
                    hours: form?["hours"] ?? "24",
                    error: error,
                    code: made?.0,
                    command: command,
                    expires: made.map { Self.localTime(milliseconds: $0.1 * 1000) },
                    fingerprint: ledger.rootKey.fingerprint,
                    qr: try command.map { try QRCode.svg(for: $0) }
                ),
                "enroll"
            )
        }
        if error != nil { response.status = .unprocessableContent }
        return response
    }

    /// `POST /devices/enroll` (operators): makes a code, shown once. The audit trail notes the role
    /// and label, never the code.
    func enroll(_ context: DashboardContext) async throws -> Response {
        try context.requireOperator()
        let user = try context.user
        let form = context.form ?? WebForm(body: "")
        guard let role = Role(rawValue: form["role"] ?? "") else {
            return try await enrollForm(context, form: form, error: "请选择角色。")
        }
        guard let hours = Int64(form["hours"] ?? ""), (1...720).contains(hours) else {
            return try await enrollForm(context, form: form, error: "有效时长为 1 到 720 小时。")
        }
        func chosen(_ name: String) -> String? { form[name].flatMap { $0.isEmpty ? nil : $0 } }
        let (cadre, department, label) = (chosen("cadre"), chosen("department"), chosen("label"))
        let (ledger, accounts, address, now, storeCode) = (
            ledger, accounts, context.address, accounts.clock(), storeCode
        )
        do {
            let code = try await database.run {
                let codes = EnrollmentCodes(ledger: ledger)
                let made = try codes.make(
                    role: role,
                    cadre: role == .cadre ? cadre : nil,
                    department: role == .department ? department : nil,
                    label: label,
                    validFor: hours * 3600,
                    now: now
                )
                // The hub's own database, or the shared store of several hub processes.
                try (storeCode ?? codes.keep)(made.record)
                let code = made.code
                try accounts.audit(
                    user: user.name,
                    action: "enroll_code",
                    outcome: "ok",
                    detail: "\(role.displayName) \(cadre ?? department ?? "") \(label ?? "")，\(hours) 小时",
                    address: address
                )
                return code
            }
            return try await enrollForm(context, form: form, made: (code, now + hours * 3600))
        } catch let error as LedgerError {
            let message =
                switch error.code {
                case .missingField: role == .cadre ? "包联干部的登记码须选择干部。" : "牵头单位的登记码须选择单位。"
                case .notFound: "登记中没有所选的干部或单位。"
                default: "未能生成登记码：\(error.message)"
                }
            return try await enrollForm(context, form: form, error: message)
        }
    }
}
