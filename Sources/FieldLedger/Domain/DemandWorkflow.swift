import FieldStore
import Foundation

/// A demand's state (docs/workflow.md). The Chinese name is what users see.
public enum DemandState: String, CaseIterable, Sendable, Codable {
    case draft = "DRAFT"
    case pendingIntake = "PENDING_INTAKE"
    case notAccepted = "NOT_ACCEPTED"
    case pendingSign = "PENDING_SIGN"
    case inProgress = "IN_PROGRESS"
    case returnRequested = "RETURN_REQUESTED"
    case replied = "REPLIED"
    case pendingFollowUp = "PENDING_FOLLOWUP"
    case closed = "CLOSED"
    case longTerm = "LONG_TERM"
    case archived = "ARCHIVED"

    public var chinese: String {
        switch self {
        case .draft: "草稿"
        case .pendingIntake: "待受理"
        case .notAccepted: "不予受理"
        case .pendingSign: "待签收"
        case .inProgress: "办理中"
        case .returnRequested: "退回待裁定"
        case .replied: "已答复"
        case .pendingFollowUp: "待回访"
        case .closed: "已办结"
        case .longTerm: "长期跟踪"
        case .archived: "已销号"
        }
    }

    /// Every state before 已办结 (the unresolved ledger), apart from the refused ones.
    public var isUnresolved: Bool { ![.closed, .archived, .notAccepted].contains(self) }
}

/// What someone does to a demand; the raw value is the CLI's verb and the event's `action`.
public enum DemandAction: String, CaseIterable, Sendable, Codable {
    case submit, assign, sign
    case `return`
    case reassign, extend, reply
    case acceptReply = "accept-reply"
    case rejectReply = "reject-reply"
    case followUp = "follow-up"
    case reopen
    case longTerm = "long-term"
    case archive, reject, settle

    /// The action as the 流转日志 names it.
    public var chinese: String {
        switch self {
        case .submit: "提交"
        case .assign: "交办"
        case .sign: "签收"
        case .return: "申请退回"
        case .reassign: "改派"
        case .extend: "延期"
        case .reply: "答复"
        case .acceptReply: "审核通过"
        case .rejectReply: "退回重办"
        case .followUp: "回访"
        case .reopen: "重办"
        case .longTerm: "长期跟踪"
        case .archive: "销号"
        case .reject: "不予受理"
        case .settle: "裁定冲突"
        }
    }

    /// The Chinese name of an event's action as stored (`create`, `edit` and the workflow verbs).
    public static func chinese(_ action: String) -> String {
        switch action {
        case "create": "登记"
        case "edit": "修改"
        default: DemandAction(rawValue: action)?.chinese ?? action
        }
    }
}

/// Who may act, as the workflow sees roles: the coordinator's powers belong to the operator and the
/// county root key too; a department acts only on demands whose lead it is.
enum Actor: String, Sendable {
    case cadre, department, coordinator

    func admits(_ role: Role) -> Bool {
        switch self {
        case .cadre: role == .cadre
        case .department: role == .department
        case .coordinator: role == .coordinator || role == .operator
        }
    }
}

/// One allowed move: the action from a state to a state, by whom, with what it needs.
struct Transition: Sendable {
    var action: DemandAction
    var from: DemandState
    var to: DemandState
    var actors: [Actor]
    var needsComment = false
}

/// The whole state machine of docs/workflow.md. Anything not listed is refused.
enum Workflow {
    static let transitions: [Transition] = [
        Transition(action: .submit, from: .draft, to: .pendingIntake, actors: [.cadre, .coordinator]),
        Transition(action: .reject, from: .pendingIntake, to: .notAccepted, actors: [.coordinator], needsComment: true),
        Transition(action: .assign, from: .pendingIntake, to: .pendingSign, actors: [.coordinator]),
        Transition(
            action: .reply,
            from: .pendingIntake,
            to: .pendingFollowUp,
            actors: [.coordinator]
        ),
        Transition(action: .sign, from: .pendingSign, to: .inProgress, actors: [.department]),
        Transition(
            action: .return,
            from: .pendingSign,
            to: .returnRequested,
            actors: [.department],
            needsComment: true
        ),
        Transition(
            action: .return,
            from: .inProgress,
            to: .returnRequested,
            actors: [.department],
            needsComment: true
        ),
        Transition(
            action: .reassign,
            from: .returnRequested,
            to: .pendingSign,
            actors: [.coordinator]
        ),
        Transition(
            action: .extend,
            from: .inProgress,
            to: .inProgress,
            actors: [.department, .coordinator],
            needsComment: true
        ),
        Transition(
            action: .reply,
            from: .inProgress,
            to: .replied,
            actors: [.department]
        ),
        Transition(action: .rejectReply, from: .replied, to: .inProgress, actors: [.coordinator], needsComment: true),
        Transition(action: .acceptReply, from: .replied, to: .pendingFollowUp, actors: [.coordinator]),
        Transition(
            action: .followUp,
            from: .pendingFollowUp,
            to: .closed,
            actors: [.cadre, .coordinator]
        ),
        Transition(
            action: .reopen,
            from: .pendingFollowUp,
            to: .inProgress,
            actors: [.cadre, .coordinator],
            needsComment: true
        ),
        Transition(
            action: .longTerm,
            from: .inProgress,
            to: .longTerm,
            actors: [.coordinator],
            needsComment: true
        ),
        Transition(
            action: .longTerm,
            from: .replied,
            to: .longTerm,
            actors: [.coordinator],
            needsComment: true
        ),
        Transition(
            action: .reply,
            from: .longTerm,
            to: .pendingFollowUp,
            actors: [.department]
        ),
        Transition(action: .archive, from: .closed, to: .archived, actors: [.coordinator]),
    ]

    /// The moves open from `state`, as "action (by whom)" for error messages.
    static func allowed(from state: DemandState) -> [Transition] { transitions.filter { $0.from == state } }

    static func describe(_ moves: [Transition]) -> String {
        guard !moves.isEmpty else { return "none (a final state)" }
        return moves.map { "\($0.action.rawValue) (\($0.actors.map(\.rawValue).joined(separator: "/")))" }.joined(
            separator: ", "
        )
    }
}

/// Who wrote each event, as the registry says: the workflow admits a step only if the registry
/// role (and department) of the key that signed it may take it. The root key has the operator's
/// role, which holds the coordinator's powers. Revoked devices stay in it: their steps from
/// before the revocation still count (the engine cuts off what came after).
public struct WorkflowActors: Sendable, Equatable {
    var root: String
    var devices: [String: Device]

    struct Device: Sendable, Equatable {
        var role: Role
        var department: UUID?
    }

    func role(of key: String) -> Role? { key == root ? .operator : devices[key]?.role }
    func department(of key: String) -> UUID? { devices[key]?.department }

    /// A stable text of the directory, for the status cache's key.
    var canonical: String {
        ([root]
            + devices.keys.sorted().map { key in
                let device = devices[key]!
                return "\(key) \(device.role.rawValue) \(device.department?.lowercased ?? "-")"
            }).joined(separator: "\n")
    }
}

/// One entry of a demand's event log (流转日志), as stored in `demand_events`.
public struct WorkflowEvent: Sendable, Equatable {
    public var id: UUID
    public var demand: UUID
    public var parent: UUID?
    /// Milliseconds since 1970 (UTC).
    public var at: Int64
    public var actorKey: String
    public var actorName: String
    public var role: String
    public var action: String
    public var from: DemandState?
    public var to: DemandState?
    public var comment: String?
    public var data: [String: String]

    /// True for the workflow's own events (not `create` or `edit`, which are not transitions).
    var isTransition: Bool { DemandAction(rawValue: action) != nil }
}

/// One deadline window: the assignment it began with, and what happened within it.
public struct Assignment: Sendable, Equatable {
    public var lead: UUID
    public var co: [UUID]
    public var assignedAt: Int64
    public var signDeadline: Day
    public var contactDeadline: Int64
    public var signedAt: Int64?
    public var isReassignment: Bool
    /// The lead returned it during this assignment.
    public var returned = false
}

/// One answer of the enterprise at a follow-up (回访): closing it, or reopening it (重办).
public struct FollowUp: Sendable, Equatable {
    public var at: Int64
    public var reopened: Bool
    public var resolved: Bool?
    public var satisfaction: String?
}

/// Everything derived from a demand's events: the state, the deadlines in force, the counts that
/// the overlays, rates and lists need, and any workflow conflict. Pure: the same events give the
/// same status on every replica.
public struct DemandStatus: Sendable, Equatable {
    public var state: DemandState = .draft
    /// The event the next action follows (the tip of the chosen line).
    public var tip: UUID?
    public var submittedAt: Int64?
    public var assignments: [Assignment] = []
    public var lead: UUID? { assignments.last?.lead }
    public var coDepartments: [UUID] { assignments.last?.co ?? [] }
    /// The first contact with the enterprise (the `contacted` time of a sign or reply, else the reply).
    public var firstContactAt: Int64?
    /// The day the handling clock started (signing, or the sign deadline if not signed by then, or a reopening).
    public var handlingStart: Day?
    /// The handling deadline in force (after extensions and reopenings), end of that local day.
    public var deadline: Day?
    public var extendedTo: Day?
    public var deadlineIsProvisional = false
    /// An extension asked for by the lead and not yet approved.
    public var pendingExtension: Day?
    /// The last reply (办理结果 and 答复内容) and when it was given, with the deadline then in force.
    public var repliedAt: Int64?
    public var deadlineAtReply: Day?
    public var outcome: String?
    public var reply: String?
    public var closedAt: Int64?
    public var followUpAt: Int64?
    public var resolved: Bool?
    public var satisfaction: String?
    /// Every follow-up on the line, in order.
    public var followUps: [FollowUp] = []
    public var returns = 0
    public var returningDepartments: [UUID] = []
    public var reopenings = 0
    /// Leads kept after a return: they may not return the demand again.
    public var noReturnLeads: [UUID] = []
    public var milestones: String?
    public var lastProgress: String?
    public var lastActivityAt: Int64?
    /// Forks of concurrent, contradictory actions not yet settled: each lists the first event of
    /// every live branch; the first is the branch the state follows.
    public var conflicts: [[UUID]] = []

    public var hasConflict: Bool { !conflicts.isEmpty }
    /// Events on the line's way that their actor may not take (another role's step, a department
    /// acting on a demand it does not lead, a state the step does not lead to, an unknown key):
    /// kept in the log, never counted (`Workflow.admits`).
    public var disregarded: [UUID] = []

    /// Every department that has been the lead.
    public var departmentsInvolved: [UUID] {
        var seen: [UUID] = []
        for assignment in assignments where !seen.contains(assignment.lead) { seen.append(assignment.lead) }
        return seen
    }

    public var everSigned: Bool { assignments.contains { $0.signedAt != nil } }
}

extension Workflow {
    /// Orders siblings deterministically: by time, then by event id.
    static func precedes(_ a: WorkflowEvent, _ b: WorkflowEvent) -> Bool {
        a.at != b.at ? a.at < b.at : a.id.bytes16.lexicographicallyPrecedes(b.id.bytes16)
    }

    /// Walks the line of events the state follows, and finds the unsettled conflicts.
    ///
    /// The events form a tree by `parent`. Where an event has several children, the branches are
    /// concurrent actions; a `settle` event (by the coordinator) names in `overrule` the first
    /// events of the branches it sets aside, and an overruled event and everything after it are out
    /// (kept in the log, never counted). Among the live branches at a fork, the line follows the
    /// earliest child (time, then id); while more than one live branch remains, the demand shows a
    /// conflict listing the first event of each.
    ///
    /// A live event that `admits` refuses (asked with the line so far applied) is disregarded, with
    /// everything after it: it is kept in the log, listed by the caller, and never counted.
    static func walk(
        _ events: [WorkflowEvent],
        overruling extra: Set<UUID> = [],
        admits: (WorkflowEvent) -> Bool,
        apply: (WorkflowEvent) -> Void
    ) -> (conflicts: [[UUID]], disregarded: [UUID]) {
        let transitions = events.filter(\.isTransition)
        var children: [UUID?: [WorkflowEvent]] = [:]
        for event in transitions { children[event.parent, default: []].append(event) }
        for key in children.keys { children[key]!.sort(by: precedes) }
        let known = Set(transitions.map(\.id))
        var overruled = extra
        for event in transitions where event.action == DemandAction.settle.rawValue {
            for id in (event.data["overrule"] ?? "").split(separator: ",") {
                if let id = UUID(uuidString: String(id)) { overruled.insert(id) }
            }
        }
        // An event whose parent is unknown (not yet received) hangs off the root until it arrives.
        let roots = transitions.filter { $0.parent == nil || !known.contains($0.parent!) }.sorted(by: precedes)
        var conflicts: [[UUID]] = []
        var disregarded: [UUID] = []
        var options = roots.filter { !overruled.contains($0.id) }
        while !options.isEmpty {
            var admitted: [WorkflowEvent] = []
            for option in options {
                if admits(option) { admitted.append(option) } else { disregarded.append(option.id) }
            }
            guard let first = admitted.first else { break }
            if admitted.count > 1 { conflicts.append(admitted.map(\.id)) }
            apply(first)
            options = (children[first.id] ?? []).filter { !overruled.contains($0.id) }
        }
        return (conflicts, disregarded)
    }

    /// Whether `event` is a step its actor may take from `status`: a transition from the current
    /// state that the actor's registry role is admitted to, ending in the state the transition
    /// names; for a department, only on a demand it leads (and a return only if the coordinator has
    /// not kept it as lead after an earlier return). A settle is the coordinator's. The role is
    /// the registry's, never the one the event states.
    static func admits(_ event: WorkflowEvent, after status: DemandStatus, actors: WorkflowActors) -> Bool {
        guard let role = actors.role(of: event.actorKey), let action = DemandAction(rawValue: event.action) else {
            return false
        }
        if action == .settle { return Actor.coordinator.admits(role) }
        guard
            let transition = allowed(from: status.state).first(where: {
                $0.action == action && $0.actors.contains { $0.admits(role) }
            }),
            event.to == transition.to
        else { return false }
        if role == .department {
            guard let department = actors.department(of: event.actorKey), department == status.lead else {
                return false
            }
            if action == .return, status.noReturnLeads.contains(department) { return false }
        }
        return true
    }

    /// The status of a demand from its events, on `calendar` with `profile`.
    static func derive(
        _ events: [WorkflowEvent],
        calendar: WorkCalendar,
        profile: DeadlineProfile,
        actors: WorkflowActors,
        overruling: Set<UUID> = []
    ) -> DemandStatus {
        var status = DemandStatus()
        status.lastActivityAt = events.map(\.at).max()
        let (conflicts, disregarded) = walk(
            events,
            overruling: overruling,
            admits: { admits($0, after: status, actors: actors) },
            apply: { event in
                status.tip = event.id
                if event.action != DemandAction.settle.rawValue, let to = event.to { status.state = to }
                if let comment = event.comment, !comment.isEmpty { status.lastProgress = comment }
                let data = event.data
                let day = profile.localDay(event.at)
                func recordContact() {
                    let contacted = data["contacted"].flatMap(ISOTime.parse) ?? event.at
                    if status.firstContactAt == nil || contacted < status.firstContactAt! {
                        status.firstContactAt = contacted
                    }
                }
                func startHandling(on start: Day) {
                    status.handlingStart = start
                    let (deadline, provisional) = calendar.addingWorkdays(profile.resolveWorkdays, to: start)
                    status.deadline = deadline
                    status.deadlineIsProvisional = provisional
                    status.extendedTo = nil
                }
                switch DemandAction(rawValue: event.action) {
                case .submit:
                    status.submittedAt = event.at
                case .assign, .reassign:
                    guard let lead = data["lead"].flatMap(UUID.init(uuidString:)) else { break }
                    let co = (data["co"] ?? "").split(separator: ",").compactMap { UUID(uuidString: String($0)) }
                    let (signDeadline, provisional) = calendar.addingWorkdays(profile.signWorkdays, to: day)
                    if event.action == DemandAction.reassign.rawValue, lead == status.lead,
                        !status.noReturnLeads.contains(lead)
                    {
                        status.noReturnLeads.append(lead)
                    }
                    status.assignments.append(
                        Assignment(
                            lead: lead,
                            co: co,
                            assignedAt: event.at,
                            signDeadline: signDeadline,
                            contactDeadline: profile.contactDeadline(assigned: event.at, calendar: calendar),
                            signedAt: nil,
                            isReassignment: event.action == DemandAction.reassign.rawValue
                        )
                    )
                    // Until it is signed, the handling clock is projected from the sign deadline.
                    startHandling(on: signDeadline)
                    status.deadlineIsProvisional = status.deadlineIsProvisional || provisional
                    status.pendingExtension = nil
                case .sign:
                    if !status.assignments.isEmpty {
                        status.assignments[status.assignments.count - 1].signedAt = event.at
                        // Not signing does not stop the clock: the handling clock starts at signing or
                        // at the sign deadline, whichever is first.
                        startHandling(on: min(day, status.assignments[status.assignments.count - 1].signDeadline))
                    }
                    if data["contacted"] != nil { recordContact() }
                case .return:
                    status.returns += 1
                    if !status.assignments.isEmpty { status.assignments[status.assignments.count - 1].returned = true }
                    if let lead = status.lead, !status.returningDepartments.contains(lead) {
                        status.returningDepartments.append(lead)
                    }
                case .extend:
                    guard let until = data["until"].flatMap(Day.init) else { break }
                    if actors.role(of: event.actorKey) == .department {
                        status.pendingExtension = until
                    } else {
                        status.deadline = until
                        status.extendedTo = until
                        status.pendingExtension = nil
                        status.deadlineIsProvisional = !calendar.isLoaded(until.year)
                    }
                case .reply:
                    recordContact()
                    status.repliedAt = event.at
                    status.deadlineAtReply = status.deadline
                    status.outcome = data["outcome"] ?? status.outcome
                    status.reply = data["reply"]
                    if event.from == .pendingIntake { status.deadline = nil }
                case .rejectReply, .acceptReply, .archive, .reject, .settle, .none:
                    break
                case .followUp:
                    status.followUpAt = event.at
                    status.closedAt = event.at
                    status.resolved = data["resolved"].map { $0 == "yes" }
                    status.satisfaction = data["satisfaction"]
                    status.followUps.append(
                        FollowUp(
                            at: event.at,
                            reopened: false,
                            resolved: status.resolved,
                            satisfaction: status.satisfaction
                        )
                    )
                case .reopen:
                    status.reopenings += 1
                    status.followUpAt = event.at
                    if let satisfaction = data["satisfaction"] { status.satisfaction = satisfaction }
                    status.followUps.append(
                        FollowUp(at: event.at, reopened: true, resolved: false, satisfaction: data["satisfaction"])
                    )
                    status.repliedAt = nil
                    status.deadlineAtReply = nil
                    startHandling(on: day)
                case .longTerm:
                    status.milestones = data["milestones"]
                }
            }
        )
        status.conflicts = conflicts
        status.disregarded = disregarded
        return status
    }
}
