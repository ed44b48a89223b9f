import ArgumentParser
import FieldCrypto
import FieldLedger
import FieldStore
import Foundation

struct VisitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visit",
        abstract: "Visits to enterprises (走访记录).",
        subcommands: [Add.self, List.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Log a visit to an enterprise you are linked to.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The enterprise (name, USCC or id).") var enterprise: String
        @Option(help: "Visit date, YYYY-MM-DD (default today).") var date: String?
        @Option(help: "实地, 电话, 座谈 or 视频.") var mode = "实地"
        @Flag(help: "An Enterprise Service Day visit (企业服务日).") var serviceDay = false
        @Option(help: "Who took part.") var participants: String?
        @Option(help: "Topics discussed.") var topics: String?
        @Option(help: "Notes on the enterprise's operations.") var notes: String?
        @Flag(help: "The enterprise raised no demand.") var noDemands = false
        @Option(help: "Items solved on the spot.") var solved: String?
        @Option(name: [.customLong("next-visit"), .customLong("next")], help: "Next visit date, YYYY-MM-DD.") var next:
            String?

        func run() throws {
            let ledger = try global.ledger(write: true)
            let id = try ledger.addVisit(
                VisitInput(
                    enterprise: enterprise,
                    date: date,
                    participants: participants,
                    mode: mode,
                    isServiceDay: serviceDay,
                    topics: topics,
                    notes: notes,
                    noDemands: noDemands,
                    solvedOnSpot: solved,
                    nextVisit: next
                )
            )
            let handle = try ledger.visitHandles()[id] ?? id.lowercased
            if global.json {
                try global.printJSON(["id": id.lowercased, "handle": handle])
            } else {
                print("已登记走访 \(handle)（登记诉求时用 --visit \(handle)）。")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List visits.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this enterprise.") var enterprise: String?

        func run() throws {
            let visits = try global.ledger(write: false).visits(enterprise: enterprise)
            if global.json {
                try global.printJSON(visits)
                return
            }
            for visit in visits {
                print(
                    "\(visit.handle)  \(visit.date)  \(visit.enterprise)  \(visit.cadre ?? "-")  \(visit.mode ?? "")\(visit.isServiceDay ? " 企业服务日" : "")  \(visit.topics ?? "")"
                )
            }
            print("（共 \(visits.count) 次走访）")
        }
    }
}

struct DemandCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demand",
        abstract: "Enterprise demands (诉求) and their workflow.",
        subcommands: [Add.self, Edit.self, List.self, Show.self] + workflowVerbs
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a demand; prints its number.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The enterprise (name, USCC or id).") var enterprise: String
        @Option(help: "A short title.") var title: String
        @Option(help: "What the enterprise asks.") var content: String
        @Option(help: "政策咨询, 服务求助, 意见建议 or 投诉.") var type = "服务求助"
        @Option(help: "政策兑现, 融资, 用工, 用地, 审批, 水电气热, 基础设施, 市场开拓, 科技创新, 安全环保, 执法监管, 账款拖欠, 法律纠纷 or 其他.")
        var category = "其他"
        @Option(help: "服务日走访, 日常走访, 12345转办, 企业自主提交, 会议 or 上级交办.") var channel = "服务日走访"
        @Option(help: "The outcome the enterprise expects.") var expected: String?
        @Option(help: "一般, 紧急 or 特急.") var urgency = "一般"
        @Option(help: "The visit it was raised in (its handle as `visit list` prints it, or its id).") var visit:
            String?

        func run() throws {
            let ledger = try global.ledger(write: true)
            let visitID = try visit.map(ledger.visit(named:))
            let (id, number) = try ledger.addDemand(
                DemandInput(
                    enterprise: enterprise,
                    title: title,
                    content: content,
                    type: type,
                    category: category,
                    channel: channel,
                    expected: expected,
                    urgency: urgency,
                    visit: visitID
                )
            )
            if global.json {
                try global.printJSON(["id": id.lowercased, "number": number])
            } else {
                print("已登记诉求 \(number)（草稿；提交后进入待受理）。")
            }
        }
    }

    struct Edit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Correct a demand's fields; the change is logged as an event."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The demand number or id.") var demand: String
        @Option var title: String?
        @Option var content: String?
        @Option var type: String?
        @Option var category: String?
        @Option var subcategory: String?
        @Option var expected: String?
        @Option var urgency: String?
        @Option var channel: String?
        @Option var remarks: String?
        @Option(help: "Why (kept in the event log).") var comment: String?

        func run() throws {
            var fields: [String: String] = [:]
            for (name, value) in [
                ("title", title), ("content", content), ("type", type), ("category", category),
                ("subcategory", subcategory),
                ("expected", expected), ("urgency", urgency), ("channel", channel), ("remarks", remarks),
            ] {
                if let value { fields[name] = value }
            }
            guard !fields.isEmpty else {
                throw CLIError("nothing to change: pass at least one of --title, --content, --category, ...")
            }
            let ledger = try global.ledger(write: true)
            try ledger.editDemand(demand, fields: fields, comment: comment)
            print(
                "已修改 \(demand)：\(fields.keys.sorted().map { RecordNames.column($0, of: "demands") }.joined(separator: "、"))，已记入流转日志。"
            )
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List demands.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this enterprise.") var enterprise: String?
        @Option(help: "Only this category.") var category: String?
        @Option(help: "Only this state.") var state: String?
        @Option(help: "Only those whose title or content contains this.") var search: String?

        func run() throws {
            let demands = try global.ledger(write: false).demands(
                matching: DemandFilter(enterprise: enterprise, category: category, state: state, text: search)
            )
            if global.json {
                try global.printJSON(demands)
                return
            }
            for demand in demands {
                let conflict = demand.hasWorkflowConflict ? "  [流转冲突: 待协调人裁定 settle]" : ""
                let state = demand.state.flatMap(DemandState.init(rawValue:))?.chinese ?? demand.state ?? "-"
                print(
                    "\(demand.number)  \(state)  \(demand.enterprise)  [\(demand.category ?? "-")] \(demand.title)\(conflict)"
                )
            }
            print("（共 \(demands.count) 条诉求）")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a demand, its deadlines and overlays, and its event log."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The demand number or id.") var demand: String
        @Option(help: "Judge overdue and cards as of this date, YYYY-MM-DD (default today).") var today: String?

        func run() throws {
            let ledger = try global.ledger(write: false)
            let detail = try ledger.demandDetail(demand)
            let events = try ledger.events(ofDemand: demand)
            if global.json {
                struct Output: Encodable {
                    var demand: DemandSummary
                    var events: [DemandEvent]
                    /// Events whose signer may not take that step: in the log, not counted.
                    var disregarded: [String]
                    /// Per workflow conflict, the ids of the events that begin its branches.
                    var workflowConflicts: [[String]]
                }
                let status = try ledger.status(of: demand, profile: try global.profile())
                try global.printJSON(
                    Output(
                        demand: detail,
                        events: events,
                        disregarded: status.disregarded.map(\.lowercased),
                        workflowConflicts: status.conflicts.map { $0.map(\.lowercased) }
                    )
                )
                return
            }
            print("\(detail.number)  \(detail.title)")
            print("  企业: \(detail.enterprise) (\(detail.uscc ?? "无代码"))  镇街: \(detail.township ?? "-")")
            print(
                "  类型: \(detail.type ?? "-")  类别: \(detail.category ?? "-")  紧急程度: \(detail.urgency ?? "-")  状态: \(detail.state.flatMap(DemandState.init(rawValue:)).map { "\($0.chinese) \($0.rawValue)" } ?? "-")"
            )
            print("  内容: \(detail.content ?? "")")
            if let expected = detail.expected { print("  期望: \(expected)") }
            let profile = try global.profile()
            let status = try ledger.status(of: demand, profile: profile)
            let day =
                try today.map { text throws(CLIError) in
                    guard let day = Day(text) else { throw CLIError("--today '\(text)' is not a date like 2026-03-15") }
                    return day
                } ?? ledger.localToday(profile: profile)
            let overlay = status.overlay(on: day, calendar: try ledger.calendar(), profile: profile)
            if let lead = status.lead {
                let co = try status.coDepartments.map(ledger.departmentName).joined(separator: "、")
                print("  牵头单位: \(try ledger.departmentName(lead))\(co.isEmpty ? "" : "  配合单位: \(co)")")
            }
            if let deadline = status.deadline {
                var line = "  办结时限: \(deadline)\(status.deadlineIsProvisional ? "（暂定：该年工作日历未载入）" : "")"
                if let extended = status.extendedTo { line += "  延期至: \(extended)" }
                if let pending = status.pendingExtension { line += "  延期申请: \(pending)" }
                if overlay.isOverdue { line += "  超期 \(overlay.overdueWorkdays) 个工作日" }
                if overlay.card != .none { line += "  \(overlay.card.rawValue)" }
                if overlay.escalation != .none { line += "  \(overlay.escalation.chinese)" }
                print(line)
            }
            if status.returns > 0 || status.reopenings > 0 {
                print("  退回 \(status.returns) 次  重办 \(status.reopenings) 次")
            }
            if !overlay.dragOn.isEmpty { print("  久拖不决: \(overlay.dragOn.map(\.chinese).joined(separator: "；"))") }
            if !overlay.buckPassing.isEmpty {
                print("  推诿扯皮: \(overlay.buckPassing.map(\.chinese).joined(separator: "；"))")
            }
            let workflowEvents =
                status.conflicts.isEmpty && status.disregarded.isEmpty
                ? [] : try ledger.workflowEvents(of: ledger.demand(named: demand))
            let handles = Dictionary(events.map { ($0.id, $0.handle) }, uniquingKeysWith: { first, _ in first })
            for fork in status.conflicts {
                print("  流转冲突（同时办理的两步；由协调人裁定：fieldlog demand settle \(detail.number) --keep EVENT --comment …）：")
                for id in fork {
                    guard let event = workflowEvents.first(where: { $0.id == id }) else { continue }
                    print(
                        "    事件 \(handles[id.lowercased] ?? id.lowercased)  \(ISOTime.local(event.at, profile: profile))  \(event.actorName)  \(DemandAction.chinese(event.action)) → \(event.to?.chinese ?? "-")  \(event.comment ?? "")"
                    )
                }
            }
            if !status.disregarded.isEmpty {
                print("  不予计入（签名设备的登记角色不能办理的步骤；留在日志中，不计入状态）：")
                for id in status.disregarded {
                    guard let event = workflowEvents.first(where: { $0.id == id }) else { continue }
                    print(
                        "    事件 \(handles[id.lowercased] ?? id.lowercased)  \(ISOTime.local(event.at, profile: profile))  \(event.actorName)  \(DemandAction.chinese(event.action)) → \(event.to?.chinese ?? "-")"
                    )
                }
            }
            print("  流转日志:")
            func state(_ raw: String?) -> String { raw.map { DemandState(rawValue: $0)?.chinese ?? $0 } ?? "-" }
            for event in events {
                let at = ISOTime.parse(event.at).map { ISOTime.local($0, profile: profile) } ?? event.at
                print(
                    "    \(event.handle)  \(at)  \(event.actor)  \(DemandAction.chinese(event.action))  \(state(event.from)) → \(state(event.to))  \(event.comment ?? "")"
                )
            }
        }
    }
}

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Every signed change of a record, with author and time.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "A demand number, or any record's id.") var record: String

    func run() throws {
        let ledger = try global.ledger(write: false)
        let (table, lines) = try ledger.history(of: record)
        if global.json {
            try global.printJSON(lines)
            return
        }
        print("\(RecordNames.tables[table] ?? table) \(record) 的签名修改记录：")
        let profile = try global.profile()
        for line in lines {
            let status = line.status == "applied" ? "" : "  [\(line.status)]"
            let time = ISOTime.parse(line.time).map { ISOTime.local($0, profile: profile) } ?? line.time
            print(
                "  \(time)  \(line.author)  #\(line.sequence) \(String(line.commit.prefix(12)))  \(RecordNames.column(line.field, of: table)) = \(ledger.displayValue(line.value, column: line.field, profile: profile))\(status)"
            )
        }
    }
}

struct Conflicts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List open conflicts (concurrent edits of the same field), or resolve one.",
        subcommands: [List.self, Resolve.self],
        defaultSubcommand: List.self
    )

    /// A conflict: of a cell (`kind` "cell"), or of a demand's workflow (`kind` "workflow": table
    /// `demand_events`, row the demand's id, column `workflow`, one head per competing branch, its
    /// `commit` the id of the event that begins it).
    struct Item: Encodable {
        var kind: String
        var table: String
        var row: String
        /// What `conflicts resolve --row` takes for the row: a demand's number, else its handle.
        var record: String
        var column: String
        var scope: String
        var heads: [Head]
        var demand: String?
    }

    struct Head: Encodable {
        var value: String
        var author: String
        var time: String
        var commit: String
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List open conflicts; the first value of each is the one shown."
        )
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let ledger = try global.ledger(write: false)
            var items: [Item] = []
            let shown = try ledger.shownRecords(profile: try global.profile())
            let conflicts = try ledger.openConflicts().filter {
                try ledger.isShown(table: $0.table, row: $0.row, among: shown)
            }
            let names = try ledger.recordNames(of: conflicts.map { ($0.table, $0.row) })
            for conflict in conflicts {
                items.append(
                    Item(
                        kind: "cell",
                        table: conflict.table,
                        row: conflict.row.lowercased,
                        record: names[conflict.row] ?? conflict.row.lowercased,
                        column: conflict.column,
                        scope: conflict.scope,
                        heads: try conflict.heads.map {
                            Head(
                                value: Ledger.display($0.value),
                                author: try ledger.authorName($0.author),
                                time: $0.timestamp.iso8601,
                                commit: $0.commit.hex
                            )
                        }
                    )
                )
            }
            let workflow = try ledger.workflowConflicts(profile: try global.profile())
            for conflict in workflow {
                items.append(
                    Item(
                        kind: "workflow",
                        table: "demand_events",
                        row: conflict.demand,
                        record: conflict.number,
                        column: "workflow",
                        scope: "",
                        heads: conflict.branches.map {
                            Head(value: "\($0.action) → \($0.to ?? "-")", author: $0.actor, time: $0.at, commit: $0.id)
                        },
                        demand: conflict.number
                    )
                )
            }
            if global.json {
                try global.printJSON(items)
                return
            }
            let profile = try global.profile()
            func local(_ time: String) -> String {
                ISOTime.parse(time).map { ISOTime.local($0, profile: profile) } ?? time
            }
            for item in items where item.kind == "cell" {
                let row = UUID(uuidString: item.row) ?? UUID()
                print(
                    "字段冲突 \(try ledger.recordLabel(table: item.table, row: row, name: item.record)) · \(RecordNames.column(item.column, of: item.table))："
                )
                for (index, head) in item.heads.enumerated() {
                    print(
                        "  [\(index + 1)] \(head.value)   — \(head.author), \(local(head.time))\(index == 0 ? "  （当前显示）" : "")"
                    )
                }
                print(
                    "  裁定：fieldlog conflicts resolve --row \(item.record) --column \(item.column) --pick N（或 --value 新值）"
                )
            }
            let cells = items.count - workflow.count
            print("（未决字段冲突 \(cells) 处）")
            for conflict in workflow {
                print(
                    "流转冲突 \(conflict.number)（同时办理的两步；由协调人裁定：fieldlog demand settle \(conflict.number) --keep EVENT --comment …）："
                )
                for event in conflict.branches {
                    let to = event.to.map { DemandState(rawValue: $0)?.chinese ?? $0 } ?? "-"
                    print(
                        "  事件 \(event.handle)  \(local(event.at))  \(event.actor)  \(DemandAction.chinese(event.action)) → \(to)  \(event.comment ?? "")"
                    )
                }
            }
            if !workflow.isEmpty { print("（未决流转冲突 \(workflow.count) 处）") }
        }
    }

    struct Resolve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Settle a conflict by keeping one value (or a new one)."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The record: a demand's number, the handle `conflicts` prints, or the row id.") var row: String
        @Option(help: "The column, as `conflicts` prints it (title, urgency, ...).") var column: String
        @Option(help: "Keep the N-th listed value.") var pick: Int?
        @Option(help: "Write this value instead.") var value: String?

        func run() throws {
            let ledger = try global.ledger(write: true)
            let wanted = row.trimmingCharacters(in: .whitespaces).lowercased()
            let compact = wanted.replacingOccurrences(of: "-", with: "")
            var candidates: [Conflict] = []
            let open = try ledger.openConflicts().filter { $0.column == column }
            let names = try ledger.recordNames(of: open.map { ($0.table, $0.row) })
            for conflict in open {
                let id = conflict.row.lowercased
                let name = (names[conflict.row] ?? id).lowercased()
                let byEnding =
                    compact.count >= Ledger.recordHandleLength && compact.allSatisfy(\.isHexDigit)
                    && id.replacingOccurrences(of: "-", with: "").hasSuffix(compact)
                if id == wanted || name == wanted || byEnding { candidates.append(conflict) }
            }
            guard let conflict = candidates.first else {
                throw CLIError("no open conflict on \(column) of \(row); list them with `fieldlog conflicts`")
            }
            guard candidates.count == 1 else {
                throw CLIError(
                    "\(row) names \(candidates.count) conflicts on \(column); give the row id that `fieldlog conflicts --json` shows"
                )
            }
            let rowID = conflict.row
            let label =
                try ledger.recordLabel(table: conflict.table, row: rowID, name: names[rowID]) + " · "
                + RecordNames.column(column, of: conflict.table)
            switch (pick, value) {
            case (let index?, nil):
                guard (1...conflict.heads.count).contains(index) else {
                    throw CLIError("--pick takes 1 to \(conflict.heads.count)")
                }
                let chosen = conflict.heads[index - 1].value
                try ledger.resolveConflict(table: conflict.table, row: rowID, column: column, value: chosen)
                print("已裁定 \(label)：\(Ledger.display(chosen))。")
            case (nil, let text?):
                try ledger.resolveConflict(table: conflict.table, row: rowID, column: column, text: text)
                print("已裁定 \(label)：\(text)。")
            default: throw CLIError("give either --pick N or --value TEXT")
            }
        }
    }
}
