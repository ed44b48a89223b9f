import ArgumentParser
import FieldLedger
import FieldStore
import Foundation

/// The options every workflow verb accepts; each verb uses the ones its action needs and the
/// ledger says which are missing.
struct ActionOptions: ParsableArguments {
    @Option(help: "Why (required for return, extend, reject, reject-reply, reopen, long-term, settle).") var comment:
        String?
    @Option(help: "assign/reassign: the lead department (牵头单位).") var lead: String?
    @Option(help: "assign/reassign: a co-department (配合单位); repeat for more.") var co: [String] = []
    @Option(help: "return: the department it belongs to instead.") var suggest: String?
    @Option(help: "extend: the new deadline, YYYY-MM-DD.") var until: String?
    @Option(help: "extend: working days added to the current deadline.") var days: Int?
    @Option(help: "reply: 办理结果.") var outcome: String?
    @Option(help: "reply: 答复内容.") var reply: String?
    @Option(help: "sign/reply: when the enterprise was contacted, 'YYYY-MM-DD HH:MM' county time.") var contacted:
        String?
    @Option(help: "follow-up: did the enterprise say it is resolved? yes or no.") var resolved: String?
    @Option(help: "follow-up/reopen: 非常满意, 满意, 基本满意, 不满意 or 非常不满意.") var satisfaction: String?
    @Option(help: "long-term: the milestone plan, \"YYYY-MM-DD 内容; YYYY-MM-DD 内容\".") var milestones: String?
    @Option(help: "settle: the first event of the branch to keep (from `demand show`).") var keep: String?

    func input() throws -> ActionInput {
        var input = ActionInput(comment: comment)
        input.lead = lead
        input.co = co
        input.suggest = suggest
        input.until = until
        input.days = days
        input.outcome = outcome
        input.reply = reply
        input.contacted = contacted
        if let resolved {
            switch resolved.lowercased() {
            case "yes", "y", "true", "是", "已解决": input.resolved = true
            case "no", "n", "false", "否", "未解决": input.resolved = false
            default: throw CLIError("--resolved takes yes or no")
            }
        }
        input.satisfaction = satisfaction
        input.milestones = milestones
        input.keep = keep
        return input
    }
}

/// A `fieldlog demand <verb> NUMBER` command: one workflow action.
protocol WorkflowVerb: ParsableCommand {
    static var action: DemandAction { get }
    var global: GlobalOptions { get }
    var options: ActionOptions { get }
    var demand: String { get }
}

extension WorkflowVerb {
    func run() throws {
        let ledger = try global.ledger(write: true)
        let status = try ledger.act(Self.action, on: demand, try options.input(), profile: try global.profile())
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
}

extension DemandCommand {
    static let workflowVerbs: [any ParsableCommand.Type] = [
        Submit.self, Assign.self, Sign.self, Return.self, Reassign.self, Extend.self, Reply.self, AcceptReply.self,
        RejectReply.self,
        FollowUp.self, Reopen.self, LongTerm.self, Archive.self, Reject.self, Settle.self,
    ]

    struct Submit: WorkflowVerb {
        static let action = DemandAction.submit
        static let configuration = CommandConfiguration(
            commandName: "submit",
            abstract: "Cadre: submit a registered demand for intake (草稿 → 待受理)."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: ActionOptions
        @Argument(help: "The demand number or id.") var demand: String
    }

    struct Assign: WorkflowVerb {
        static let action = DemandAction.assign
        static let configuration = CommandConfiguration(
            commandName: "assign",
            abstract: "Coordinator: hand to a lead department (待受理 → 待签收); --lead, --co."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: ActionOptions
        @Argument(help: "The demand number or id.") var demand: String
    }

    struct Sign: WorkflowVerb {
        static let action = DemandAction.sign
        static let configuration = CommandConfiguration(
            commandName: "sign",
            abstract: "Lead department: sign for it (待签收 → 办理中); --contacted."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: ActionOptions
        @Argument(help: "The demand number or id.") var demand: String
    }

    struct Return: WorkflowVerb {
        static let action = DemandAction.return
        static let configuration = CommandConfiguration(
            commandName: "return",
            abstract: "Lead department: not ours (→ 退回待裁定); --suggest, --comment."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: ActionOptions
        @Argument(help: "The demand number or id.") var demand: String
    }

    struct Reassign: WorkflowVerb {
        static let action = DemandAction.reassign
        static let configuration = CommandConfiguration(
            commandName: "reassign",
            abstract: "Coordinator: decide a return (→ 待签收); --lead (the same lead may then not return it again)."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: ActionOptions
        @Argument(help: "The demand number or id.") var demand: String
    }

    struct Extend: WorkflowVerb {
        static let action = DemandAction.extend
        static let configuration = CommandConfiguration(
            commandName: "extend",
            abstract: "Lead asks, coordinator approves an extension; --until or --days, --comment."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: ActionOptions
        @Argument(help: "The demand number or id.") var demand: String
    }

    struct Reply: WorkflowVerb {
        static let action = DemandAction.reply
        static let configuration = CommandConfiguration(
            commandName: "reply",
            abstract: "Lead: answer (办理中 → 已答复); coordinator: answer directly (待受理 → 待回访); --outcome, --reply."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: ActionOptions
        @Argument(help: "The demand number or id.") var demand: String
    }

    struct AcceptReply: WorkflowVerb {
        static let action = DemandAction.acceptReply
        static let configuration = CommandConfiguration(
            commandName: "accept-reply",
            abstract: "Coordinator: accept the reply (已答复 → 待回访)."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: ActionOptions
        @Argument(help: "The demand number or id.") var demand: String
    }

    struct RejectReply: WorkflowVerb {
        static let action = DemandAction.rejectReply
        static let configuration = CommandConfiguration(
            commandName: "reject-reply",
            abstract: "Coordinator: send the reply back (已答复 → 办理中); --comment."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: ActionOptions
        @Argument(help: "The demand number or id.") var demand: String
    }

    struct FollowUp: WorkflowVerb {
        static let action = DemandAction.followUp
        static let configuration = CommandConfiguration(
            commandName: "follow-up",
            abstract: "Cadre/coordinator: the enterprise's verdict (待回访 → 已办结); --resolved, --satisfaction."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: ActionOptions
        @Argument(help: "The demand number or id.") var demand: String
    }

    struct Reopen: WorkflowVerb {
        static let action = DemandAction.reopen
        static let configuration = CommandConfiguration(
            commandName: "reopen",
            abstract: "Cadre/coordinator: not satisfied, handle again (重办: 待回访 → 办理中); --comment."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: ActionOptions
        @Argument(help: "The demand number or id.") var demand: String
    }

    struct LongTerm: WorkflowVerb {
        static let action = DemandAction.longTerm
        static let configuration = CommandConfiguration(
            commandName: "long-term",
            abstract: "Coordinator: approve a milestone plan (→ 长期跟踪); --milestones, --comment."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: ActionOptions
        @Argument(help: "The demand number or id.") var demand: String
    }

    struct Archive: WorkflowVerb {
        static let action = DemandAction.archive
        static let configuration = CommandConfiguration(
            commandName: "archive",
            abstract: "Coordinator: archive a closed demand (已办结 → 已销号)."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: ActionOptions
        @Argument(help: "The demand number or id.") var demand: String
    }

    struct Reject: WorkflowVerb {
        static let action = DemandAction.reject
        static let configuration = CommandConfiguration(
            commandName: "reject",
            abstract: "Coordinator: not accepted (待受理 → 不予受理); --comment with the reason."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: ActionOptions
        @Argument(help: "The demand number or id.") var demand: String
    }

    struct Settle: WorkflowVerb {
        static let action = DemandAction.settle
        static let configuration = CommandConfiguration(
            commandName: "settle",
            abstract: "Coordinator: settle a workflow conflict; --keep EVENT, --comment."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: ActionOptions
        @Argument(help: "The demand number or id.") var demand: String
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
