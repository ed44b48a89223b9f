import FieldLedger
import FieldStore
import Foundation
import Hummingbird

/// 修改诉求 and the record's signed changes (修改记录), and each record's sync badge.
extension WebPages {
    /// The facts of a demand a person may correct, in the order of the visit form.
    static let editableFields = ["title", "content", "expected", "type", "category", "urgency", "remarks"]

    /// The edit form with the demand's values (or those `kept` from a refused try), or nil when
    /// `blocks` say why this device may not change it.
    func editForm(_ summary: DemandSummary, blocks: [EditBlock], kept: WebForm?) -> [FieldView]? {
        guard blocks.isEmpty else { return nil }
        let current: [String: String?] = [
            "title": summary.title, "content": summary.content, "expected": summary.expected, "type": summary.type,
            "category": summary.category, "urgency": summary.urgency, "remarks": summary.remarks,
        ]
        let choices: [String: [String]] = [
            "type": Vocabulary.demandTypes, "category": Vocabulary.categories, "urgency": Vocabulary.urgencies,
        ]
        return Self.editableFields.map { name in
            let value = kept?[name] ?? (current[name] ?? nil) ?? ""
            var field = FieldView(
                name: name,
                id: "edit-\(name)",
                label: RecordNames.chineseColumn(name, of: "demands"),
                required: name == "title",
                value: value
            )
            if let options = choices[name] {
                field.isSelect = true
                field.options = options.map { OptionView(value: $0, label: $0, selected: $0 == value) }
            } else if name == "content" || name == "remarks" {
                field.isArea = true
            } else {
                field.isText = true
            }
            return field
        }
    }

    /// `POST /demands/NUMBER/edit`: the changed facts, signed as one commit with an `edit` event;
    /// refused, the page says why and keeps what was typed.
    func editDemand(_ number: String, context: WebContext) throws -> Response {
        let form = context.form ?? WebForm(body: "")
        let summary = try shownDemand(number)
        let current: [String: String] = [
            "title": summary.title, "content": summary.content ?? "", "expected": summary.expected ?? "",
            "type": summary.type ?? "", "category": summary.category ?? "", "urgency": summary.urgency ?? "",
            "remarks": summary.remarks ?? "",
        ]
        var changed: [String: String] = [:]
        for name in Self.editableFields {
            guard let value = form[name]?.trimmingCharacters(in: .whitespacesAndNewlines) else { continue }
            if value != current[name] { changed[name] = value }
        }
        if changed["title"] == "" {
            return try demand(number, context: context, editError: "请填写“标题”。", keptEdit: form)
        }
        guard !changed.isEmpty else {
            return try demand(number, context: context, editError: "没有改动任何内容，未保存。", keptEdit: form)
        }
        let comment = form["comment"]?.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            try ledger.editDemand(summary.id, fields: changed, comment: comment?.isEmpty == false ? comment : nil)
        } catch let error as LedgerError {
            return try demand(
                number,
                context: context,
                editError: WebWords.refusal(error, demand: summary.number),
                keptEdit: form
            )
        }
        sessions.notice(WebWords.Saved.edit, to: context.session?.id)
        return .redirect(to: Self.link(toDemand: summary.number), type: .normal)
    }

    /// The 修改记录 of a demand: every signed change of its fields, oldest first.
    func changes(ofDemand id: String) throws -> [ChangeView] {
        try ledger.history(of: id).lines.map { line in
            ChangeView(
                time: Self.localTime(line.time, profile: ledger.profile),
                author: line.author,
                field: RecordNames.chineseColumn(line.field, of: "demands"),
                value: line.value,
                status: line.status == "applied"
                    ? "已生效"
                    : line.status.hasPrefix("held")
                        ? "暂存（\(line.status.dropFirst(6))）" : "未采用（\(line.status.dropFirst(10))）"
            )
        }
    }
}

/// Each record's standing against the hub, as a badge: 有冲突, 被拒, 未同步 or 已同步.
struct SyncBadges {
    let standing: SyncStanding
    /// Records with an open cell conflict.
    let conflicted: Set<UUID>

    init(ledger: Ledger) throws {
        standing = try ledger.syncStanding()
        conflicted = try ledger.conflictedRecords(in: "demands")
    }

    enum Kind: String, CaseIterable {
        case conflict, refused, unsynced, synced

        var chinese: String {
            switch self {
            case .conflict: "有冲突"
            case .refused: "被拒"
            case .unsynced: "未同步"
            case .synced: "已同步"
            }
        }
    }

    func kind(of id: UUID, workflowConflict: Bool) -> Kind {
        if workflowConflict || conflicted.contains(id) { return .conflict }
        if standing.refused[id] != nil { return .refused }
        if standing.unsynced.contains(id) { return .unsynced }
        return .synced
    }

    /// The badge, or nil on the hub's own replica (it has no hub to sync with).
    func flag(of id: UUID, workflowConflict: Bool) -> FlagView? {
        if standing.isHub { return nil }
        let kind = kind(of: id, workflowConflict: workflowConflict)
        return FlagView(text: kind.chinese, kind: kind == .synced ? "ok" : kind == .unsynced ? "note" : "alert")
    }
}

extension RecordNames {
    /// A column's Chinese name alone (the field's own name when it has none).
    static func chineseColumn(_ name: String, of table: String) -> String {
        let named = column(name, of: table)
        guard let open = named.range(of: " (", options: .backwards) else { return named }
        return String(named[..<open.lowerBound])
    }
}

/// 新增诉求: a demand raised outside a visit (a 12345 hand-over, a meeting, one the enterprise
/// sent in), as `fieldlog demand add`.
extension WebPages {
    func demandForm(_ context: WebContext, problem: LedgerError? = nil, kept: WebForm? = nil) throws -> Response {
        func options(_ values: [String], chosen: String?) -> [OptionView] {
            values.map { OptionView(value: $0, label: $0, selected: $0 == chosen) }
        }
        func beside(_ fields: Set<LedgerError.Field>) -> String? {
            guard let problem, let field = problem.field, fields.contains(field) else { return nil }
            return WebWords.fieldProblem(problem)
        }
        let general = problem.flatMap { WebWords.fieldProblem($0) == nil ? WebWords.refusal($0, demand: "") : nil }
        let view = DemandFormView(
            csrf: context.session?.csrf ?? "",
            error: problem == nil ? nil : general ?? "未保存：请改正下面标出的内容。",
            enterpriseError: beside([.enterprise]),
            titleError: beside([.title]),
            contentError: beside([.content]),
            choiceError: beside([.type, .category, .urgency, .channel]),
            enterprises: options(try ledger.writableEnterprises(), chosen: kept?["enterprise"]),
            title: kept?["title"] ?? "",
            content: kept?["content"] ?? "",
            expected: kept?["expected"] ?? "",
            types: options(Vocabulary.demandTypes, chosen: kept?["type"] ?? "服务求助"),
            categories: options(Vocabulary.categories, chosen: kept?["category"] ?? "其他"),
            channels: options(Vocabulary.channels, chosen: kept?["channel"] ?? "12345转办"),
            urgencies: options(Vocabulary.urgencies, chosen: kept?["urgency"] ?? "一般")
        )
        var response = try page(view, "demandNew", title: "新增诉求", context: context)
        if problem != nil { response.status = .unprocessableContent }
        return response
    }

    /// `POST /demands`: registers the demand (a draft); refused, the form says why beside the value.
    func addDemand(_ context: WebContext) throws -> Response {
        let form = context.form ?? WebForm(body: "")
        func value(_ key: String) -> String {
            (form[key] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard !value("enterprise").isEmpty else {
            return try demandForm(
                context,
                problem: LedgerError(.missingField, "an enterprise is needed", field: .enterprise),
                kept: form
            )
        }
        var input = DemandInput(enterprise: value("enterprise"), title: value("title"), content: value("content"))
        input.type = value("type")
        input.category = value("category")
        input.channel = value("channel")
        input.urgency = value("urgency")
        input.expected = value("expected").isEmpty ? nil : value("expected")
        let number: String
        do {
            number = try ledger.addDemand(input).number
        } catch let error as LedgerError {
            return try demandForm(context, problem: error, kept: form)
        }
        sessions.notice("诉求已登记（草稿）；确认无误后“提交”，即进入待受理。", to: context.session?.id)
        return .redirect(to: Self.link(toDemand: number), type: .normal)
    }
}
