import ArgumentParser
import FieldLedger
import FieldStore
import Foundation

// Each workflow verb declares the options of its own step, from the groups below, and checks in
// `validate()` that the ones its step always needs are there (before the passphrase is asked for).
// The ledger checks them again, for every client: what depends on the demand's state (an outcome
// is not asked of a coordinator answering directly) is its to say.

/// A comment, kept in the 流转日志.
struct CommentOption: ParsableArguments {
    @Option(help: "Why (kept in the 流转日志).") var comment: String?
}

/// assign, reassign: the lead department and co-departments.
struct AssignOptions: ParsableArguments {
    @Option(help: "The lead department (牵头单位).") var lead: String?
    @Option(help: "A co-department (配合单位); repeat for more.") var co: [String] = []
}

/// sign, reply: when the enterprise was contacted.
struct ContactedOption: ParsableArguments {
    @Option(help: "When the enterprise was contacted, 'YYYY-MM-DD HH:MM' county time.") var contacted: String?
}

/// extend: the new deadline, or working days added to the current one.
struct ExtendOptions: ParsableArguments {
    @Option(help: "The new deadline, YYYY-MM-DD.") var until: String?
    @Option(help: "Working days added to the current deadline.") var days: Int?
}

/// reply: 办理结果 and 答复内容.
struct ReplyOptions: ParsableArguments {
    @Option(help: "办理结果 (not when the coordinator answers directly).") var outcome: String?
    @Option(help: "答复内容.") var reply: String?
}

/// follow-up, reopen: the enterprise's satisfaction.
struct SatisfactionOption: ParsableArguments {
    @Option(help: "非常满意, 满意, 基本满意, 不满意 or 非常不满意.") var satisfaction: String?
}

/// A `fieldlog demand <verb> NUMBER` command: one workflow step.
protocol WorkflowVerb: ParsableCommand {
    static var action: DemandAction { get }
    var global: GlobalOptions { get }
    var demand: String { get }
    /// The step's input from this verb's options.
    func input() throws -> ActionInput
}

extension WorkflowVerb {
    func run() throws {
        let ledger = try global.ledger(write: true)
        let status = try ledger.act(Self.action, on: demand, try input(), profile: try global.profile())
        if global.json {
            try global.printJSON(["demand": demand, "action": Self.action.rawValue, "state": status.state.rawValue])
            return
        }
        var line = "\(demand): \(Self.action.chinese) → \(status.state.chinese) (\(status.state.rawValue))"
        if let deadline = status.deadline, status.state.isUnresolved {
            line +=
                "  办结时限 \(deadline)\(status.deadlineIsProvisional ? " (provisional: no calendar for that year)" : "")"
        }
        print(line)
    }

    /// Refuses a verb without an option its step always needs.
    func require(_ value: String?, _ field: LedgerError.Field, _ what: String) throws {
        guard let value, !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw CLIError("\(Self.action.rawValue) needs \(CLIField.option(field)) (\(what))")
        }
    }
}

/// assign and reassign: a lead department (required) and co-departments.
protocol AssignmentVerb: WorkflowVerb {
    var assignment: AssignOptions { get }
    var comment: CommentOption { get }
}

extension AssignmentVerb {
    func validate() throws { try require(assignment.lead, .lead, "the lead department") }

    func input() -> ActionInput {
        var input = ActionInput(comment: comment.comment)
        input.lead = assignment.lead
        input.co = assignment.co
        return input
    }
}

extension DemandCommand {
    static let workflowVerbs: [any ParsableCommand.Type] = [
        Submit.self, Assign.self, Sign.self, Return.self, Reassign.self, Extend.self, Reply.self, AcceptReply.self,
        RejectReply.self, FollowUp.self, Reopen.self, LongTerm.self, Archive.self, Reject.self, Settle.self,
    ]

    struct Submit: WorkflowVerb {
        static let action = DemandAction.submit
        static let configuration = CommandConfiguration(
            commandName: "submit",
            abstract: "Cadre: submit a registered demand for intake (草稿 → 待受理)."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var comment: CommentOption
        @Argument(help: "The demand number or id.") var demand: String

        func input() -> ActionInput { ActionInput(comment: comment.comment) }
    }

    struct Assign: AssignmentVerb {
        static let action = DemandAction.assign
        static let configuration = CommandConfiguration(
            commandName: "assign",
            abstract: "Coordinator: hand to a lead department (待受理 → 待签收); --lead, --co."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var assignment: AssignOptions
        @OptionGroup var comment: CommentOption
        @Argument(help: "The demand number or id.") var demand: String

    }

    struct Sign: WorkflowVerb {
        static let action = DemandAction.sign
        static let configuration = CommandConfiguration(
            commandName: "sign",
            abstract: "Lead department: sign for it (待签收 → 办理中); --contacted."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var contact: ContactedOption
        @OptionGroup var comment: CommentOption
        @Argument(help: "The demand number or id.") var demand: String

        func input() -> ActionInput {
            var input = ActionInput(comment: comment.comment)
            input.contacted = contact.contacted
            return input
        }
    }

    struct Return: WorkflowVerb {
        static let action = DemandAction.return
        static let configuration = CommandConfiguration(
            commandName: "return",
            abstract: "Lead department: not ours (→ 退回待裁定); --suggest, --comment."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The department it belongs to instead.") var suggest: String?
        @OptionGroup var comment: CommentOption
        @Argument(help: "The demand number or id.") var demand: String

        func validate() throws {
            try require(suggest, .suggest, "the unit it belongs to")
            try require(comment.comment, .comment, "the reason")
        }

        func input() -> ActionInput {
            var input = ActionInput(comment: comment.comment)
            input.suggest = suggest
            return input
        }
    }

    struct Reassign: AssignmentVerb {
        static let action = DemandAction.reassign
        static let configuration = CommandConfiguration(
            commandName: "reassign",
            abstract: "Coordinator: decide a return (→ 待签收); --lead (the same lead may then not return it again)."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var assignment: AssignOptions
        @OptionGroup var comment: CommentOption
        @Argument(help: "The demand number or id.") var demand: String

    }

    struct Extend: WorkflowVerb {
        static let action = DemandAction.extend
        static let configuration = CommandConfiguration(
            commandName: "extend",
            abstract: "Lead asks, coordinator approves an extension; --until or --days, --comment."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var extension_: ExtendOptions
        @OptionGroup var comment: CommentOption
        @Argument(help: "The demand number or id.") var demand: String

        func validate() throws {
            guard extension_.until == nil || extension_.days == nil else {
                throw CLIError("extend takes --until DATE or --days N, not both")
            }
            try require(comment.comment, .comment, "the reason")
        }

        func input() -> ActionInput {
            var input = ActionInput(comment: comment.comment)
            input.until = extension_.until
            input.days = extension_.days
            return input
        }
    }

    struct Reply: WorkflowVerb {
        static let action = DemandAction.reply
        static let configuration = CommandConfiguration(
            commandName: "reply",
            abstract: "Lead: answer (办理中 → 已答复); coordinator: answer directly (待受理 → 待回访); --outcome, --reply."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var answer: ReplyOptions
        @OptionGroup var contact: ContactedOption
        @OptionGroup var comment: CommentOption
        @Argument(help: "The demand number or id.") var demand: String

        func validate() throws { try require(answer.reply, .reply, "答复内容") }

        func input() -> ActionInput {
            var input = ActionInput(comment: comment.comment)
            input.outcome = answer.outcome
            input.reply = answer.reply
            input.contacted = contact.contacted
            return input
        }
    }

    struct AcceptReply: WorkflowVerb {
        static let action = DemandAction.acceptReply
        static let configuration = CommandConfiguration(
            commandName: "accept-reply",
            abstract: "Coordinator: accept the reply (已答复 → 待回访)."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var comment: CommentOption
        @Argument(help: "The demand number or id.") var demand: String

        func input() -> ActionInput { ActionInput(comment: comment.comment) }
    }

    struct RejectReply: WorkflowVerb {
        static let action = DemandAction.rejectReply
        static let configuration = CommandConfiguration(
            commandName: "reject-reply",
            abstract: "Coordinator: send the reply back (已答复 → 办理中); --comment."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var comment: CommentOption
        @Argument(help: "The demand number or id.") var demand: String

        func validate() throws { try require(comment.comment, .comment, "the reason") }

        func input() -> ActionInput { ActionInput(comment: comment.comment) }
    }

    struct FollowUp: WorkflowVerb {
        static let action = DemandAction.followUp
        static let configuration = CommandConfiguration(
            commandName: "follow-up",
            abstract: "Cadre/coordinator: the enterprise's verdict (待回访 → 已办结); --resolved, --satisfaction."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "Did the enterprise say it is resolved? yes or no.") var resolved: String?
        @OptionGroup var satisfaction: SatisfactionOption
        @OptionGroup var comment: CommentOption
        @Argument(help: "The demand number or id.") var demand: String

        func validate() throws {
            try require(resolved, .resolved, "the enterprise's verdict, yes or no")
            _ = try verdict()
            try require(satisfaction.satisfaction, .satisfaction, "非常满意, 满意, 基本满意, 不满意 or 非常不满意")
        }

        func verdict() throws -> Bool? {
            switch resolved?.lowercased() {
            case nil: return nil
            case "yes", "y", "true", "是", "已解决": return true
            case "no", "n", "false", "否", "未解决": return false
            default: throw CLIError("--resolved takes yes or no")
            }
        }

        func input() throws -> ActionInput {
            var input = ActionInput(comment: comment.comment)
            input.resolved = try verdict()
            input.satisfaction = satisfaction.satisfaction
            return input
        }
    }

    struct Reopen: WorkflowVerb {
        static let action = DemandAction.reopen
        static let configuration = CommandConfiguration(
            commandName: "reopen",
            abstract: "Cadre/coordinator: not satisfied, handle again (重办: 待回访 → 办理中); --comment."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var satisfaction: SatisfactionOption
        @OptionGroup var comment: CommentOption
        @Argument(help: "The demand number or id.") var demand: String

        func validate() throws { try require(comment.comment, .comment, "why the enterprise is not satisfied") }

        func input() -> ActionInput {
            var input = ActionInput(comment: comment.comment)
            input.satisfaction = satisfaction.satisfaction
            return input
        }
    }

    struct LongTerm: WorkflowVerb {
        static let action = DemandAction.longTerm
        static let configuration = CommandConfiguration(
            commandName: "long-term",
            abstract: "Coordinator: approve a milestone plan (→ 长期跟踪); --milestones, --comment."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The milestone plan, \"YYYY-MM-DD 内容; YYYY-MM-DD 内容\".") var milestones: String?
        @OptionGroup var comment: CommentOption
        @Argument(help: "The demand number or id.") var demand: String

        func validate() throws {
            try require(milestones, .milestones, "\"YYYY-MM-DD 内容; …\"")
            try require(comment.comment, .comment, "the reason")
        }

        func input() -> ActionInput {
            var input = ActionInput(comment: comment.comment)
            input.milestones = milestones
            return input
        }
    }

    struct Archive: WorkflowVerb {
        static let action = DemandAction.archive
        static let configuration = CommandConfiguration(
            commandName: "archive",
            abstract: "Coordinator: archive a closed demand (已办结 → 已销号)."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var comment: CommentOption
        @Argument(help: "The demand number or id.") var demand: String

        func input() -> ActionInput { ActionInput(comment: comment.comment) }
    }

    struct Reject: WorkflowVerb {
        static let action = DemandAction.reject
        static let configuration = CommandConfiguration(
            commandName: "reject",
            abstract: "Coordinator: not accepted (待受理 → 不予受理); --comment with the reason."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var comment: CommentOption
        @Argument(help: "The demand number or id.") var demand: String

        func validate() throws { try require(comment.comment, .comment, "the reason") }

        func input() -> ActionInput { ActionInput(comment: comment.comment) }
    }

    struct Settle: WorkflowVerb {
        static let action = DemandAction.settle
        static let configuration = CommandConfiguration(
            commandName: "settle",
            abstract: "Coordinator: settle a workflow conflict; --keep EVENT, --comment."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The first event of the branch to keep (its handle from `demand show`).") var keep: String?
        @OptionGroup var comment: CommentOption
        @Argument(help: "The demand number or id.") var demand: String

        func validate() throws {
            try require(keep, .keep, "the first event of the branch to keep, from `fieldlog demand show`")
            try require(comment.comment, .comment, "why this branch is kept")
        }

        func input() -> ActionInput {
            var input = ActionInput(comment: comment.comment)
            input.keep = keep
            return input
        }
    }
}

struct CalendarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calendar",
        abstract: "The official working-day calendar (工作日历).",
        subcommands: [Load.self, Deadline.self]
    )

    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Operator: load years of the calendar from a CSV file (date,kind[,note]; kind holiday or workday)."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The CSV file.") var file: String
        @Option(help: "Where it comes from (the State Council notice).") var source: String?

        func run() throws {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let years = try global.ledger(write: true).loadCalendar(
                csv: text,
                source: source ?? URL(fileURLWithPath: file).lastPathComponent
            )
            if global.json {
                try global.printJSON(["years": years])
                return
            }
            print(
                "Loaded the working-day calendar of \(years.map(String.init).joined(separator: ", ")); it replicates with the registry."
            )
        }
    }

    struct Deadline: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Count N working days from a date, as deadlines are counted."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The trigger date, YYYY-MM-DD (not counted).") var date: String
        @Argument(help: "How many working days.") var days: Int

        func run() throws {
            guard let day = Day(date) else { throw CLIError("'\(date)' is not a date like 2026-03-15") }
            guard (0...3650).contains(days) else { throw CLIError("days must be between 0 and 3650") }
            let (deadline, provisional) = try global.ledger(write: false).calendar().addingWorkdays(days, to: day)
            if global.json {
                try global.printJSON(["deadline": deadline.description, "provisional": provisional ? "yes" : "no"])
                return
            }
            print(
                "\(date) + \(days) working days = \(deadline)\(provisional ? " (provisional: a year without a loaded calendar)" : "")"
            )
        }
    }
}
