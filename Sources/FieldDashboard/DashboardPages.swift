import FieldCrypto
import FieldHub
import FieldLedger
import FieldWeb
import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// The console's pages: each handler asks the ledger or the accounts (on the database threads)
/// and turns the answer into a view model; no rule lives here or in a template.
struct DashboardPages: Sendable {
    let ledger: Ledger
    let key: SigningKey
    let accounts: DashboardAccounts
    let database: DashboardDatabase
    /// Exports being written or downloaded, registry files waiting for confirmation.
    let jobs: any ConsoleJobs
    let secure: Bool
    let files: FileIO
    /// The hub's sync address for enrollment commands (`--url`, or its listening address).
    var hubURL: @Sendable () -> String? = { nil }
    /// The shared store's keeping of enrollment codes (`DashboardConfiguration.storeCode`).
    var storeCode: (@Sendable (SharedEnrollmentCode) throws -> Void)?
    /// The shared store's device activity (`DashboardConfiguration.deviceActivity`).
    var deviceActivity: (@Sendable () throws -> [String: DeviceActivity.Delta])?

    /// Rows per page of the ledger and the audit trail.
    static let pageSize = 50

    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in DashboardTemplates.all {
            // The templates are constants of this binary; `DashboardTemplateTests` renders each.
            try! library.register(text, named: name)
        }
        return library
    }()

    func routes(_ router: Router<DashboardContext>) {
        router.get("/login") { request, context in try await loginForm(request, context: context) }
        router.post("/login") { request, context in try await login(request, context: context) }
        router.post("/logout") { _, context in try await logout(context) }
        router.get("/") { request, context in try await overview(request, context: context) }
        router.get("/ledger") { request, context in try await ledgerPage(request, context: context) }
        router.post("/ledger/export") { _, context in try await startExport(context) }
        router.get("/exports/:id") { _, context in
            try await exportPage(context.parameters.require("id"), context: context)
        }
        router.get("/exports/:id/file") { _, context in
            try await exportFile(context.parameters.require("id"), signature: false, context: context)
        }
        router.get("/exports/:id/sig") { _, context in
            try await exportFile(context.parameters.require("id"), signature: true, context: context)
        }
        router.get("/lists/:name") { _, context in
            try await supervisionPage(context.parameters.require("name"), context: context)
        }
        router.post("/lists/:name/export") { _, context in
            try await exportSupervision(context.parameters.require("name"), context: context)
        }
        router.get("/monthly") { request, context in try await monthlyPage(request, context: context) }
        router.post("/monthly/export") { _, context in try await exportMonthly(context) }
        router.get("/conflicts") { request, context in try await conflictsPage(request, context: context) }
        router.get("/devices") { request, context in try await devicesPage(request, context: context) }
        router.get("/devices/revoke") { request, context in
            try await revokeForm(key: request.uri.queryParameters.get("key"), context: context)
        }
        router.post("/devices/revoke") { _, context in try await revoke(context) }
        router.get("/devices/readmit") { request, context in
            try await readmitForm(
                key: request.uri.queryParameters.get("key"),
                scope: request.uri.queryParameters.get("scope"),
                context: context
            )
        }
        router.post("/devices/readmit") { _, context in try await readmit(context) }
        router.get("/devices/enroll") { _, context in try await enrollForm(context) }
        router.post("/devices/enroll") { _, context in try await enroll(context) }
        router.get("/registry") { request, context in try await registryPage(request, context: context) }
        router.get("/registry/history") { request, context in try await registryHistory(request, context: context) }
        router.post("/registry/import") { _, context in try await registryUpload(context) }
        router.post("/registry/import/commit") { _, context in try await registryCommit(context) }
        router.get("/audit") { request, context in try await auditPage(request, context: context) }
        // No icon: answered at once, so that a browser asking for one is not sent to log in.
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
        router.get("/assets/console.css") { _, _ in
            Self.asset(DashboardAssets.css, type: "text/css; charset=utf-8")
        }
        router.get("/assets/console.js") { _, _ in
            Self.asset(DashboardAssets.js, type: "text/javascript; charset=utf-8")
        }
    }

    static func asset(_ text: String, type: String) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = type
        fields[.cacheControl] = "max-age=3600"
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: Rendering

    /// The pages of the navigation, for a role.
    static func navigation(for role: DashboardRole, current path: String) -> [NavLink] {
        let links = [
            ("总览", "/"), ("工作台账", "/ledger"), ("久拖不决", "/lists/dragOn"), ("推诿扯皮", "/lists/buckPassing"),
            ("督办", "/lists/escalated"), ("月调度", "/monthly"), ("冲突", "/conflicts"), ("设备与同步", "/devices"),
            ("操作日志", "/audit"),
        ]
        let operators = role == .operator ? [("登记管理", "/registry")] : []
        return (links.dropLast() + operators + links.suffix(1)).map {
            NavLink(label: $0.0, href: $0.1, current: $0.1 == path)
        }
    }

    /// A page: its body rendered with its template, inside the layout.
    static func render(
        _ view: some DashboardView,
        _ template: String,
        title: String,
        county: (name: String, today: String),
        session: DashboardAccounts.Session?,
        path: String = "",
        notice: String? = nil,
        refresh: Int? = nil
    ) -> String {
        let body = library.render(view, withTemplate: template) ?? ""
        let layout = ConsoleLayout(
            title: title,
            county: county.name,
            today: county.today,
            body: body,
            nav: session.map { navigation(for: $0.user.role, current: path) } ?? [],
            user: session?.user.name,
            role: session?.user.role.chinese,
            csrf: session?.csrf,
            notice: notice,
            refresh: refresh.map(String.init)
        )
        return library.render(layout, withTemplate: "layout") ?? body
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// The county's name for the layout (the ledger's, or 本县 before it has one), and its today.
    func county() -> (name: String, today: String) { (((try? ledger.countyName()) ?? nil) ?? "本县", ledger.today()) }

    func refusal(_ refusal: DashboardRefusal, context: DashboardContext) -> Response {
        Self.html(
            Self.render(
                RefusalPage(message: refusal.message, advice: refusal.advice),
                "refusal",
                title: "无法完成",
                county: county(),
                session: context.session
            ),
            status: refusal.status
        )
    }

    /// Renders a page on the database threads (its reads and the rendering both).
    func page(
        _ context: DashboardContext,
        title: String,
        path: String,
        refresh: Int? = nil,
        _ build: @escaping @Sendable () throws -> (any DashboardView, String)
    ) async throws -> Response {
        let session = context.session
        let text = try await database.run {
            let (view, template) = try build()
            return Self.render(
                view,
                template,
                title: title,
                county: county(),
                session: session,
                path: path,
                refresh: refresh
            )
        }
        var response = Self.html(text)
        if let refresh { response.headers[HTTPField.Name("Refresh")!] = String(refresh) }
        return response
    }

    func cookie(_ name: String, _ value: String, path: String = "/", maxAge: Int? = nil) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: path, secure: secure, httpOnly: true, sameSite: .strict)
    }

    // MARK: Login

    /// `GET /login`: the form, with a token of its own in a cookie that the POST must carry back.
    func loginForm(
        _ request: Request,
        context: DashboardContext,
        name: String = "",
        error: LoginRefusal? = nil
    )
        async throws -> Response
    {
        // The token of the login cookie this browser holds already, if any: another request of the
        // page (a favicon sent here) must not replace the token the form on screen carries.
        let held = request.cookies[DashboardGuard.loginCookie]?.value
        let token =
            held.flatMap { $0.count == 64 && $0.allSatisfy(\.isHexDigit) ? $0 : nil }
            ?? Hex.encode(secureRandomBytes(32))
        let place = try await database.run { county() }
        var response = Self.html(
            Self.render(
                LoginPage(csrf: token, name: name, error: error?.chinese, county: place.name),
                "login",
                title: "登录",
                county: place,
                session: nil
            ),
            status: error.map(Self.status(of:)) ?? .ok
        )
        response.setCookie(cookie(DashboardGuard.loginCookie, token, path: "/login"))
        return response
    }

    static func status(of refusal: LoginRefusal) -> HTTPResponse.Status {
        if case .tooManyAttempts = refusal { return .tooManyRequests }
        return .unauthorized
    }

    /// `POST /login`: a name, a password and, for an account with TOTP, a code.
    func login(_ request: Request, context: DashboardContext) async throws -> Response {
        let form = context.form
        let name = (form?["name"] ?? "").trimmingCharacters(in: .whitespaces)
        let password = form?["password"] ?? ""
        let code = form?["code"].flatMap { $0.isEmpty ? nil : $0 }
        let (accounts, address) = (accounts, context.address)
        do {
            let (cookieValue, _) = try await database.run {
                try accounts.login(name: name, password: password, code: code, address: address)
            }
            var response = Response.redirect(to: "/", type: .normal)
            response.setCookie(cookie(DashboardGuard.cookie, cookieValue))
            response.setCookie(cookie(DashboardGuard.loginCookie, "", path: "/login", maxAge: 0))
            return response
        } catch let refusal as LoginRefusal {
            return try await loginForm(request, context: context, name: name, error: refusal)
        }
    }

    /// `POST /logout`: ends the session (its cookie is refused from now on, wherever it is).
    func logout(_ context: DashboardContext) async throws -> Response {
        if let cookieValue = context.cookie {
            let (accounts, address) = (accounts, context.address)
            try await database.run { try accounts.logout(cookieValue, address: address) }
        }
        var response = Response.redirect(to: "/login", type: .normal)
        response.setCookie(cookie(DashboardGuard.cookie, "", maxAge: 0))
        return response
    }

    // MARK: 总览

    /// `GET /?month=YYYY-MM` (this month by default).
    func overview(_ request: Request, context: DashboardContext) async throws -> Response {
        let chosen = request.uri.queryParameters["month"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let monthText = chosen ?? String(ledger.today().prefix(7))
        guard let month = Period(month: monthText) else {
            throw DashboardRefusal(.badRequest, "“\(monthText)”不是月份。", "请按 2026-03 的格式选择月份。")
        }
        let ledger = ledger
        return try await page(context, title: "总览", path: "/") {
            let overview = try ledger.countyOverview(month: month, profile: ledger.profile)
            return (OverviewPage(overview, month: monthText), "overview")
        }
    }

    // MARK: 操作日志

    static let auditActions: [(String, String)] = [
        ("login", "登录"), ("logout", "退出"), ("export", "导出"), ("user_add", "开设账号"), ("user_disable", "停用账号"),
        ("revoke", "吊销设备"), ("readmit", "恢复分叉的数据流"), ("enroll_code", "生成登记码"), ("registry_import", "导入登记"),
    ]
    static let auditOutcomes: [String: String] = [
        "ok": "成功", "wrong_password": "用户名或密码不对", "wrong_totp": "动态验证码不对", "rate_limited": "失败次数过多，暂停登录",
        "disabled": "账号已停用", "refused": "被拒绝", "failed": "失败",
    ]

    /// `GET /audit?action=…&page=N`: the audit trail, newest first.
    func auditPage(_ request: Request, context: DashboardContext) async throws -> Response {
        let action = request.uri.queryParameters["action"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        if let action, !Self.auditActions.contains(where: { $0.0 == action }) {
            throw DashboardRefusal(.badRequest, "没有“\(action)”这种操作。", "请从“操作”下拉框中选择。")
        }
        let number = try Self.pageNumber(request)
        let accounts = accounts
        return try await page(context, title: "操作日志", path: "/audit") {
            let page = number
            let (total, entries) = try accounts.auditTrail(
                action: action,
                limit: Self.pageSize,
                offset: (page - 1) * Self.pageSize
            )
            let pages = max(1, (total + Self.pageSize - 1) / Self.pageSize)
            func link(_ page: Int) -> String {
                "/audit?" + Self.query([("action", action ?? ""), ("page", String(page))])
            }
            let names = Dictionary(uniqueKeysWithValues: Self.auditActions)
            return (
                AuditPage(
                    actions: Self.auditActions.map { Choice(value: $0.0, label: $0.1, selected: $0.0 == action) },
                    rows: entries.map { entry in
                        AuditRow(
                            at: Self.localTime(milliseconds: entry.at),
                            user: entry.user ?? "（命令行）",
                            action: names[entry.action] ?? entry.action,
                            outcome: Self.auditOutcomes[entry.outcome] ?? entry.outcome,
                            detail: entry.detail,
                            address: entry.address
                        )
                    },
                    hasRows: !entries.isEmpty,
                    total: String(total),
                    page: page,
                    pages: pages,
                    previous: page > 1 ? link(page - 1) : nil,
                    next: page < pages ? link(page + 1) : nil
                ),
                "audit"
            )
        }
    }

    // MARK: Helpers

    /// `page=N` of a list (1 by default).
    static func pageNumber(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters["page"].map(String.init), !text.isEmpty else { return 1 }
        guard let page = Int(text), page >= 1, page <= 1_000_000 else {
            throw DashboardRefusal(.badRequest, "页码“\(text)”不对。", "页码是从 1 开始的整数。")
        }
        return page
    }

    /// A query string of `pairs`, leaving out empty values.
    static func query(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return pairs.filter { !$0.1.isEmpty }.map { name, value in
            name + "=" + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
        }.joined(separator: "&")
    }

    /// Milliseconds since 1970 as the county's local "YYYY-MM-DD HH:MM".
    static func localTime(milliseconds: Int64) -> String { ISOTime.local(milliseconds, profile: .shandong2115) }
}

extension OverviewPage {
    init(_ overview: CountyOverview, month: String) {
        func count(_ value: Int) -> String { String(value) }
        self.month = month
        previous = String(overview.previous.from.description.prefix(7))
        total = count(overview.total)
        states = overview.byState.filter { $0.count > 0 || $0.state.isUnresolved }.map { state, number in
            CountRow(label: state.chinese, count: count(number), link: "/ledger?status=\(state.rawValue)")
        }
        states.insert(CountRow(label: "未办结合计", count: count(overview.unresolved), link: "/ledger"), at: 0)
        flags = [
            CountRow(label: "超期", count: count(overview.overdue), link: "/ledger?status=all&overdue=on"),
            CountRow(label: "黄牌", count: count(overview.yellowCards), link: nil),
            CountRow(label: "红牌", count: count(overview.redCards), link: nil),
        ]
        flags += overview.escalations.map { CountRow(label: $0.level.chinese, count: count($0.count), link: nil) }
        flags += [
            CountRow(label: "久拖不决", count: count(overview.dragOn), link: nil),
            CountRow(label: "推诿扯皮", count: count(overview.buckPassing), link: nil),
            CountRow(label: "流转冲突待裁定", count: count(overview.workflowConflicts), link: nil),
        ]
        rates = zip(overview.rates.figures, overview.previousRates.figures).map { now, then in
            RateRow(label: now.label, now: now.ratio.display, then: then.ratio.display)
        }
        overdueNote =
            "本月到期未按时办结 \(overview.rates.overdue) 件（上月 \(overview.previousRates.overdue) 件）；本月未到期 \(overview.rates.notYetDue) 件。"
        charts = overview.groups.map { grouping, groups in
            let title =
                switch grouping {
                case .department: "按牵头单位"
                case .township: "按镇街/园区"
                case .category: "按诉求类别"
                case .cadre: "按登记干部"
                }
            return ChartSection(
                title: title + "：按时办结率",
                chart: WebCharts.chart(
                    "\(title)的按时办结率：本月与上月",
                    groups.map { ($0.name, $0.now.onTime, $0.then.onTime) }
                )
            )
        }
    }
}
