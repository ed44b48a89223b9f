import FieldCrypto
import FieldLedger
import FieldStore
import Foundation
import Hummingbird
import Mustache

/// The pages: each handler asks the ledger (the same domain API as the CLI) and turns the answer
/// into a view model; no rule lives here or in a template.
struct WebPages: Sendable {
    let ledger: Ledger
    let sessions: WebSessions
    let checkPassphrase: @Sendable (String) -> Bool
    let jobs: WebSyncJobs
    let downloads: WebDownloads

    /// Demands per page of a list.
    static let pageSize = 50

    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in WebTemplates.all {
            // The templates are constants of this binary; `WebTemplateTests` parses each.
            try! library.register(text, named: name)
        }
        return library
    }()

    /// A page body rendered with its template, inside the layout.
    static func render(_ view: some WebView, _ template: String, title: String, layout: LayoutView? = nil) -> String {
        let body = library.render(view, withTemplate: template) ?? ""
        var page = layout ?? LayoutView(title: title, county: "fieldlog", role: "", today: "", body: "")
        page.title = title
        page.body = body
        return library.render(page, withTemplate: "layout") ?? body
    }

    static func html(_ text: String) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "text/html; charset=utf-8"
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// The layout's facts of this device: the county, its role, today; and the confirmation of the
    /// session's last save, shown once.
    func layout(_ context: WebContext) throws -> LayoutView {
        LayoutView(
            title: "",
            county: try ledger.countyName() ?? "本县",
            role: try ledger.enrolledRole()?.displayName ?? "尚未登记",
            today: ledger.today(),
            body: "",
            notice: context.session.flatMap { sessions.takeNotice($0.id) },
            links: Self.links(for: try ledger.enrolledRole()),
            large: context.largeFont
        )
    }

    /// The pages of a role beyond everyone's: the queues and the supervisors' lists.
    static func links(for role: Role?) -> [LinkView] {
        let supervision = [
            LinkView(label: "督办", href: "/demands?view=escalated"),
            LinkView(label: "久拖不决", href: "/demands?view=dragOn"),
            LinkView(label: "推诿扯皮", href: "/demands?view=buckPassing"),
            LinkView(label: "比率", href: "/rates"),
        ]
        switch role {
        case .coordinator, .operator: return [LinkView(label: "待受理", href: "/demands?view=intake")] + supervision
        case .department: return [LinkView(label: "待签收", href: "/demands?view=sign")]
        case .supervisor: return supervision
        case .cadre, .hub, .federation, nil: return []
        }
    }

    func page(_ view: some WebView, _ template: String, title: String, context: WebContext) throws -> Response {
        Self.html(Self.render(view, template, title: title, layout: try layout(context)))
    }

    // MARK: Login and lock

    /// `GET /login?token=…`: spends the one-time token and sets the session cookie.
    func login(_ request: Request) throws -> Response {
        guard let token = request.uri.queryParameters["token"].map(String.init), let id = sessions.redeem(token) else {
            throw WebRefusal(
                .forbidden,
                "登录链接无效或已经用过。",
                "请在终端重新运行 fieldlog ui，用它新打印的链接打开。"
            )
        }
        var response = Response.redirect(to: "/", type: .normal)
        response.setCookie(
            Cookie(name: WebGuardMiddleware.cookie, value: id, path: "/", httpOnly: true, sameSite: .strict)
        )
        return response
    }

    func unlockForm(_ context: WebContext, error: String? = nil) throws -> Response {
        Self.html(Self.render(UnlockView(csrf: context.session?.csrf ?? "", error: error), "unlock", title: "解锁"))
    }

    /// `POST /unlock`: the passphrase typed again unlocks the session.
    func unlock(_ context: WebContext) throws -> Response {
        guard let session = context.session else { throw WebRefusal(.unauthorized, "尚未登录。", "请用登录链接打开。") }
        guard checkPassphrase(context.form?["passphrase"] ?? "") else {
            var response = try unlockForm(context, error: "口令不对，请再输入一次。")
            response.status = .unauthorized
            return response
        }
        sessions.unlock(session.id)
        return .redirect(to: "/", type: .normal)
    }

    // MARK: Pages

    /// The link to a demand's page.
    static func link(toDemand number: String) -> String {
        "/demands/" + (number.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? "")
    }

    /// The demand `number` names, if this device shows it; a page saying so otherwise.
    func shownDemand(_ number: String) throws -> DemandSummary {
        do {
            return try ledger.demandDetail(number)
        } catch let error as LedgerError where [.notFound, .ambiguous, .notPermitted].contains(error.code) {
            throw WebRefusal(.notFound, "没有诉求 \(number)，或本机无权查看。", "请从诉求列表进入。")
        }
    }

    /// A demand's overlays today (nil without a status).
    func overlay(_ status: DemandStatus?, calendar: WorkCalendar, today: Day) -> Overlay? {
        status?.overlay(on: today, calendar: calendar, profile: ledger.profile)
    }

    /// One demand as a row of a list, with its overlays (`overlay`).
    func row(
        _ summary: DemandSummary,
        status: DemandStatus?,
        overlay: Overlay?,
        calendar: WorkCalendar,
        today: Day,
        badge: FlagView? = nil
    ) -> DemandRowView {
        let state = DemandState(rawValue: summary.state ?? "") ?? .draft
        var flags: [FlagView] = []
        var left: String?
        if let status, let overlay {
            if overlay.isOverdue {
                flags.append(FlagView(text: "超期 \(overlay.overdueWorkdays) 个工作日", kind: "alert"))
            } else if let deadline = status.deadline, state.isUnresolved {
                left = "还有 \(calendar.workdays(after: today, through: deadline)) 个工作日"
            }
            if overlay.card != .none {
                flags.append(FlagView(text: overlay.card.rawValue, kind: overlay.card == .red ? "red" : "yellow"))
            }
            if overlay.escalation != .none { flags.append(FlagView(text: overlay.escalation.chinese, kind: "alert")) }
        }
        if summary.hasWorkflowConflict { flags.append(FlagView(text: "流转冲突待裁定", kind: "note")) }
        return DemandRowView(
            number: summary.number,
            link: Self.link(toDemand: summary.number),
            title: summary.title,
            enterprise: summary.enterprise,
            state: state.chinese,
            deadline: status?.deadline?.description,
            workdaysLeft: left,
            flags: flags,
            badge: badge
        )
    }

    /// The rows of a page of demands, each with its overlays today and its sync badge.
    func rows(of page: DemandPage, calendar: WorkCalendar, today: Day, badges: SyncBadges) -> [DemandRowView] {
        page.rows.map { row in
            self.row(
                row.summary,
                status: row.status,
                overlay: overlay(row.status, calendar: calendar, today: today),
                calendar: calendar,
                today: today,
                badge: UUID(uuidString: row.summary.id).flatMap {
                    badges.flag(of: $0, workflowConflict: row.summary.hasWorkflowConflict)
                }
            )
        }
    }

    /// 工作台: the unresolved demands this device shows, with their deadlines and overlays.
    func home(_ context: WebContext) throws -> Response {
        let (calendar, today) = (try ledger.calendar(), ledger.localToday(profile: ledger.profile))
        let badges = try SyncBadges(ledger: ledger)
        var query = DemandQuery()
        query.unresolvedOnly = true
        query.mostUrgentFirst = true
        // The counts and the most urgent page, each filtered and counted in SQL.
        let open = try ledger.demandPage(
            query,
            offset: 0,
            size: Self.pageSize,
            today: today,
            cardHorizon: try ledger.cardHorizon(today: today, profile: ledger.profile),
            profile: ledger.profile
        )
        let rows = rows(of: open, calendar: calendar, today: today, badges: badges)
        let enterprises = try ledger.myEnterprises(profile: ledger.profile).map { enterprise in
            EnterpriseRowView(
                name: enterprise.name,
                link: Self.link(toEnterprise: enterprise.id),
                role: enterprise.role?.displayName ?? "",
                lastVisit: enterprise.lastVisit ?? "尚未走访",
                sinceVisit: enterprise.daysSinceVisit.map { $0 == 0 ? "今天" : "\($0) 天前" } ?? "",
                openDemands: enterprise.openDemands
            )
        }
        let view = HomeView(
            enterprises: enterprises,
            hasEnterprises: !enterprises.isEmpty,
            openCount: open.total,
            overdueCount: open.overdue,
            cardCount: open.carded,
            conflictCount: try ledger.openConflictCount(),
            heldCount: try ledger.heldCommitCount(),
            waitingCount: badges.standing.waiting,
            demands: rows,
            hasDemands: !rows.isEmpty,
            isCut: open.total > rows.count
        )
        return try page(view, "home", title: "工作台", context: context)
    }

    /// 诉求详情: the facts, the overlays, the steps this device may take now (each a form), and the
    /// 流转日志. After a refused step, `error` says why and `kept` is the form as it was sent.
    func demand(
        _ number: String,
        context: WebContext,
        error: String? = nil,
        kept: WebForm? = nil,
        editError: String? = nil,
        keptEdit: WebForm? = nil
    ) throws -> Response {
        let summary = try shownDemand(number)
        let status = try ledger.status(of: summary.id, profile: ledger.profile)
        let (calendar, today) = (try ledger.calendar(), ledger.localToday(profile: ledger.profile))
        let overlay = status.overlay(on: today, calendar: calendar, profile: ledger.profile)
        let row = row(summary, status: status, overlay: overlay, calendar: calendar, today: today)
        var facts: [FactView] = [FactView(label: "企业", value: summary.enterprise)]
        for (label, value) in [
            ("统一社会信用代码", summary.uscc), ("所属镇街/园区", summary.township), ("登记干部", summary.cadre),
            ("诉求类型", summary.type), ("诉求类别", summary.category), ("诉求内容", summary.content),
            ("期望结果", summary.expected), ("紧急程度", summary.urgency), ("来源渠道", summary.channel),
            ("办理时限", row.deadline), ("时限提示", row.workdaysLeft),
        ] {
            if let value, !value.isEmpty { facts.append(FactView(label: label, value: value)) }
        }
        let events = try ledger.events(ofDemand: summary.id).map { event in
            let from = event.from.flatMap(DemandState.init(rawValue:))?.chinese
            let to = event.to.flatMap(DemandState.init(rawValue:))?.chinese
            return EventView(
                time: Self.localTime(event.at, profile: ledger.profile),
                actor: event.actor,
                action: DemandAction.chinese(event.action),
                change: [from, to].compactMap { $0 }.joined(separator: " → "),
                comment: event.comment
            )
        }
        let actions = try actionForms(summary, status: status, kept: kept)
        let blocks = try ledger.editBlocks(ofDemand: summary.id)
        let editFields = editForm(summary, blocks: blocks, kept: keptEdit)
        let ahead = try UUID(uuidString: summary.id).map { try ledger.commitsAhead(touching: $0) } ?? 0
        let badge = try SyncBadges(ledger: ledger).flag(
            of: UUID(uuidString: summary.id) ?? UUID(),
            workflowConflict: summary.hasWorkflowConflict
        )
        let view = DemandDetailView(
            number: summary.number,
            link: row.link,
            title: summary.title,
            state: row.state,
            flags: row.flags,
            facts: facts,
            events: events,
            reasons: overlay.dragOn.map { "久拖不决：" + $0.chinese } + overlay.buckPassing.map { "推诿扯皮：" + $0.chinese },
            csrf: context.session?.csrf ?? "",
            error: error,
            actions: actions,
            hasActions: !actions.isEmpty,
            badge: badge,
            editError: editError,
            editFields: editFields ?? [],
            canEdit: editFields != nil,
            editBlocks: blocks.map(WebWords.editBlock),
            ahead: ahead > 0 ? "有 \(ahead) 条涉及该诉求的修改来自时钟超前的设备，已暂存，待本机时间到达后生效。" : nil,
            changes: try changes(ofDemand: summary.id)
        )
        var response = try page(view, "demand", title: "诉求详情", context: context)
        if error != nil || editError != nil { response.status = .unprocessableContent }
        return response
    }

    /// An ISO 8601 time as county-local "YYYY-MM-DD HH:MM".
    static func localTime(_ iso: String, profile: DeadlineProfile) -> String {
        ISOTime.parse(iso).map { ISOTime.local($0, profile: profile) } ?? iso
    }

    // MARK: Workflow steps

    /// A form for each step the workflow allows this device now, with the values the step needs
    /// (the ledger checks them again); a refused form's values are kept.
    func actionForms(_ summary: DemandSummary, status: DemandStatus, kept: WebForm?) throws -> [ActionFormView] {
        let actions = try ledger.allowedActions(for: status)
        guard !actions.isEmpty else { return [] }
        let departments = try ledger.registryListing("departments").compactMap { $0["name"] }
        let branches: [OptionView] =
            actions.contains(.settle)
            ? try ledger.workflowConflicts(profile: ledger.profile).filter { $0.demand == summary.id }.flatMap(
                \.branches
            )
            .map { event in
                OptionView(
                    value: event.handle,
                    label: "\(event.handle) \(DemandAction.chinese(event.action)) · \(event.actor)",
                    selected: false
                )
            } : []
        return actions.map { action in
            let values = kept?["action"] == action.rawValue ? kept : nil
            func field(_ name: LedgerError.Field, _ key: String, required: Bool = false) -> FieldView {
                FieldView(
                    name: key,
                    id: "\(action.rawValue)-\(key)",
                    label: WebWords.label(name),
                    required: required,
                    value: values?[key] ?? ""
                )
            }
            func text(_ name: LedgerError.Field, _ key: String, required: Bool = false) -> FieldView {
                var view = field(name, key, required: required)
                view.isText = true
                return view
            }
            func area(_ name: LedgerError.Field, _ key: String, required: Bool = false) -> FieldView {
                var view = field(name, key, required: required)
                view.isArea = true
                return view
            }
            func select(
                _ name: LedgerError.Field,
                _ key: String,
                _ choices: [OptionView],
                required: Bool = false,
                multiple: Bool = false
            ) -> FieldView {
                var view = field(name, key, required: required)
                view.isSelect = true
                view.multiple = multiple
                let chosen = Set(values?.all(key) ?? [])
                view.options = choices.map {
                    OptionView(value: $0.value, label: $0.label, selected: chosen.contains($0.value))
                }
                return view
            }
            let units = departments.map { OptionView(value: $0, label: $0, selected: false) }
            let comment = area(.comment, "comment", required: Self.needsComment.contains(action))
            var fields: [FieldView]
            switch action {
            case .assign, .reassign:
                fields = [
                    select(.lead, "lead", units, required: true), select(.coDepartments, "co", units, multiple: true),
                    comment,
                ]
            case .return: fields = [select(.suggest, "suggest", units, required: true), comment]
            case .extend:
                var until = field(.until, "until")
                until.isDate = true
                var days = field(.days, "days")
                days.isNumber = true
                fields = [until, days, comment]
            case .reply:
                fields = [
                    area(.reply, "reply", required: true), text(.outcome, "outcome"),
                    text(.contacted, "contacted"), comment,
                ]
            case .sign: fields = [text(.contacted, "contacted"), comment]
            case .followUp:
                fields = [
                    select(
                        .resolved,
                        "resolved",
                        [
                            OptionView(value: "yes", label: "是", selected: false),
                            OptionView(value: "no", label: "否", selected: false),
                        ],
                        required: true
                    ),
                    select(
                        .satisfaction,
                        "satisfaction",
                        Vocabulary.satisfactions.map { OptionView(value: $0, label: $0, selected: false) },
                        required: true
                    ),
                    comment,
                ]
            case .reopen:
                fields = [
                    select(
                        .satisfaction,
                        "satisfaction",
                        Vocabulary.satisfactions.map { OptionView(value: $0, label: $0, selected: false) }
                    ),
                    comment,
                ]
            case .longTerm: fields = [area(.milestones, "milestones", required: true), comment]
            case .settle: fields = [select(.keep, "keep", branches, required: true), comment]
            case .submit, .reject, .acceptReply, .rejectReply, .archive: fields = [comment]
            }
            return ActionFormView(
                action: action.rawValue,
                label: action.chinese,
                confirm: [.reject, .archive].contains(action) ? "确定要“\(action.chinese)”吗？此操作签名后不能撤回。" : nil,
                fields: fields
            )
        }
    }

    /// The steps whose form asks for a comment (the state machine's, and a settle's reason).
    static let needsComment: Set<DemandAction> = [.reject, .return, .extend, .rejectReply, .reopen, .longTerm, .settle]

    /// `POST /demands/NUMBER/act`: one step, from its form. Taken, it leads back to the demand;
    /// refused, the demand's page says why in Chinese and keeps what was typed.
    func act(_ number: String, context: WebContext) throws -> Response {
        let form = context.form ?? WebForm(body: "")
        guard let action = form["action"].flatMap(DemandAction.init(rawValue:)) else {
            throw WebRefusal(.badRequest, "没有这个操作。", "请用诉求详情页上的按钮办理。")
        }
        func value(_ key: String) -> String? {
            guard let text = form[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
                return nil
            }
            return text
        }
        var input = ActionInput(comment: value("comment"))
        input.lead = value("lead")
        input.co = form.all("co").filter { !$0.isEmpty }
        input.suggest = value("suggest")
        input.until = value("until")
        input.days = value("days").flatMap { Int($0) }
        input.reply = value("reply")
        input.outcome = value("outcome")
        input.contacted = value("contacted")
        input.resolved = value("resolved").map { $0 == "yes" }
        input.satisfaction = value("satisfaction")
        input.milestones = value("milestones")
        input.keep = value("keep")
        let summary = try shownDemand(number)
        do {
            try ledger.act(action, on: summary.id, input, profile: ledger.profile)
        } catch let error as LedgerError {
            return try demand(
                number,
                context: context,
                error: WebWords.refusal(error, demand: summary.number),
                kept: form
            )
        }
        sessions.notice(WebWords.Saved.act, to: context.session?.id)
        return .redirect(to: Self.link(toDemand: summary.number), type: .normal)
    }

    // MARK: 新增走访

    /// Inline demand rows on the visit form.
    static let demandRows = 3

    /// The visit form, empty (with today's date) or as `kept` was typed, with `error` above it.
    func visitForm(
        _ context: WebContext,
        error: String? = nil,
        problem: LedgerError? = nil,
        kept: WebForm? = nil,
        chosen: String? = nil
    ) throws -> Response {
        /// The sentence beside `field` (of demand row `row`), when the refusal is about it.
        func beside(_ fields: Set<LedgerError.Field>, row: Int? = nil) -> String? {
            guard let problem, let field = problem.field, fields.contains(field), problem.row == row else { return nil }
            return WebWords.fieldProblem(problem)
        }
        func options(_ values: [String], chosen: String?) -> [OptionView] {
            values.map { OptionView(value: $0, label: $0, selected: $0 == chosen) }
        }
        let view = VisitFormView(
            csrf: context.session?.csrf ?? "",
            error: error,
            enterpriseError: beside([.enterprise]),
            dateError: beside([.visitDate]),
            modeError: beside([.mode]),
            noDemandsError: beside([.noDemands]),
            nextVisitError: beside([.nextVisit]),
            enterprises: options(try ledger.writableEnterprises(), chosen: kept?["enterprise"] ?? chosen),
            date: kept?["date"] ?? ledger.today(),
            modes: options(Vocabulary.visitModes, chosen: kept?["mode"]),
            serviceDay: kept?["serviceDay"] == "on",
            participants: kept?["participants"] ?? "",
            topics: kept?["topics"] ?? "",
            notes: kept?["notes"] ?? "",
            noDemands: kept?["noDemands"] == "on",
            rows: (1...Self.demandRows).map { index in
                DemandRowInputView(
                    index: index,
                    titleError: beside([.title], row: index),
                    contentError: beside([.content], row: index),
                    choiceError: beside([.type, .category, .urgency, .channel], row: index),
                    title: kept?["title\(index)"] ?? "",
                    content: kept?["content\(index)"] ?? "",
                    expected: kept?["expected\(index)"] ?? "",
                    types: options(Vocabulary.demandTypes, chosen: kept?["type\(index)"]),
                    categories: options(Vocabulary.categories, chosen: kept?["category\(index)"]),
                    urgencies: options(Vocabulary.urgencies, chosen: kept?["urgency\(index)"])
                )
            },
            solvedOnSpot: kept?["solvedOnSpot"] ?? "",
            nextVisit: kept?["nextVisit"] ?? ""
        )
        var response = try page(view, "visit", title: "新增走访", context: context)
        if error != nil { response.status = .unprocessableContent }
        return response
    }

    /// `POST /visits`: the visit and the demand rows with a title, in one commit through the
    /// ledger; refused, the form comes back with the reason in Chinese and what was typed.
    func addVisit(_ context: WebContext) throws -> Response {
        let form = context.form ?? WebForm(body: "")
        func value(_ key: String) -> String? {
            guard let text = form[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
                return nil
            }
            return text
        }
        guard let enterprise = value("enterprise") else {
            return try visitForm(
                context,
                error: "未保存：请改正下面标出的内容。",
                problem: LedgerError(.missingField, "an enterprise is needed", field: .enterprise),
                kept: form
            )
        }
        let visit = VisitInput(
            enterprise: enterprise,
            date: value("date"),
            participants: value("participants"),
            mode: value("mode") ?? Vocabulary.visitModes[0],
            isServiceDay: form["serviceDay"] == "on",
            topics: value("topics"),
            notes: value("notes"),
            noDemands: form["noDemands"] == "on",
            solvedOnSpot: value("solvedOnSpot"),
            nextVisit: value("nextVisit")
        )
        var demands: [DemandInput] = []
        for index in 1...Self.demandRows {
            guard let title = value("title\(index)") else { continue }
            var demand = DemandInput(enterprise: enterprise, title: title, content: value("content\(index)") ?? "")
            demand.type = value("type\(index)") ?? demand.type
            demand.category = value("category\(index)") ?? demand.category
            demand.urgency = value("urgency\(index)") ?? demand.urgency
            demand.expected = value("expected\(index)")
            demand.channel = visit.isServiceDay ? "服务日走访" : "日常走访"
            demands.append(demand)
        }
        let added: (visit: UUID, demands: [String])
        do {
            added = try ledger.addVisit(visit, demands: demands)
        } catch let error as LedgerError {
            let beside = WebWords.fieldProblem(error) != nil
            return try visitForm(
                context,
                error: beside
                    ? "未保存：请改正下面标出的内容\(error.row.map { "（诉求 \($0)）" } ?? "")。"
                    : WebWords.refusal(error, demand: ""),
                problem: beside ? error : nil,
                kept: form
            )
        }
        _ = added
        sessions.notice(WebWords.Saved.visit, to: context.session?.id)
        return .redirect(to: "/", type: .normal)
    }

    // MARK: 冲突

    /// 冲突: every cell this device shows with more than one value, side by side with author and
    /// time and 采用此值 for each; and the workflow conflicts, each linking to its demand, where the
    /// coordinator finds 裁定.
    func conflicts(_ context: WebContext, error: String? = nil) throws -> Response {
        let shown = try ledger.shownRecords(profile: ledger.profile)
        let open = try ledger.openConflicts().filter { try ledger.isShown(table: $0.table, row: $0.row, among: shown) }
        let names = try ledger.recordNames(of: open.map { ($0.table, $0.row) })
        var authors: [String: String] = [:]
        let cells = try open.map { conflict in
            CellConflictView(
                record: try ledger.recordLabel(table: conflict.table, row: conflict.row, name: names[conflict.row]),
                column: RecordNames.column(conflict.column, of: conflict.table),
                table: conflict.table,
                row: conflict.row.lowercased,
                columnName: conflict.column,
                values: try conflict.heads.enumerated().map { index, head in
                    let author = try authors[head.author.hex] ?? ledger.authorName(head.author)
                    authors[head.author.hex] = author
                    return CellValueView(
                        pick: index + 1,
                        value: Ledger.display(head.value),
                        author: author,
                        time: ISOTime.local(Int64(head.timestamp.milliseconds), profile: ledger.profile),
                        shown: index == 0
                    )
                }
            )
        }
        let workflow = try ledger.workflowConflicts(profile: ledger.profile).map { conflict in
            WorkflowConflictView(
                number: conflict.number,
                link: Self.link(toDemand: conflict.number),
                branches: conflict.branches.map { event in
                    "\(event.handle) · \(Self.localTime(event.at, profile: ledger.profile)) · \(event.actor) · \(DemandAction.chinese(event.action))"
                }
            )
        }
        let view = ConflictsView(
            csrf: context.session?.csrf ?? "",
            error: error,
            cells: cells,
            hasCells: !cells.isEmpty,
            workflow: workflow,
            hasWorkflow: !workflow.isEmpty
        )
        var response = try page(view, "conflicts", title: "冲突", context: context)
        if error != nil { response.status = .unprocessableContent }
        return response
    }

    /// `POST /conflicts/resolve`: keeps the picked value of a cell, signed as a new change.
    func resolveConflict(_ context: WebContext) throws -> Response {
        let form = context.form ?? WebForm(body: "")
        guard let table = form["table"], let row = form["row"].flatMap(UUID.init(uuidString:)),
            let column = form["column"], let pick = form["pick"].flatMap({ Int($0) })
        else {
            throw WebRefusal(.badRequest, "这不是冲突页面的表单。", "请在“冲突”页面上选择要采用的值。")
        }
        guard
            let conflict = try ledger.openConflicts().first(where: {
                $0.table == table && $0.row == row && $0.column == column
            })
        else {
            return try conflicts(context, error: "这处冲突已经不存在（可能已由他人裁定并同步过来）。")
        }
        guard conflict.heads.indices.contains(pick - 1) else {
            return try conflicts(context, error: "所选的值已不在这处冲突中，请重新选择。")
        }
        do {
            try ledger.resolveConflict(table: table, row: row, column: column, value: conflict.heads[pick - 1].value)
        } catch let error as LedgerError {
            return try conflicts(context, error: WebWords.refusal(error, demand: ""))
        }
        sessions.notice(WebWords.Saved.resolve, to: context.session?.id)
        return .redirect(to: "/conflicts", type: .normal)
    }
}
