import FieldStore
import Foundation

/// One workflow step with exactly what it carries (docs/workflow.md), references resolved: a
/// department is its registry id, a branch its first event's id, a contact time an instant.
public enum WorkflowStep: Sendable, Equatable {
    case submit
    /// 不予受理.
    case reject
    case assign(lead: UUID, co: [UUID])
    /// 签收, with the first contact with the enterprise if it came first.
    case sign(contacted: Int64?)
    /// 申请退回, naming the unit the demand belongs to instead.
    case `return`(suggest: UUID)
    case reassign(lead: UUID, co: [UUID])
    case extend(Extension)
    /// 答复: 答复内容, 办理结果 (needed unless the coordinator answers at intake), first contact.
    case reply(reply: String, outcome: String?, contacted: Int64?)
    case acceptReply
    case rejectReply
    /// 回访: the enterprise's verdict.
    case followUp(resolved: Bool, satisfaction: String)
    /// 重办, with the enterprise's satisfaction if it gave one.
    case reopen(satisfaction: String?)
    /// 长期跟踪 with its milestone plan ("YYYY-MM-DD 内容; …").
    case longTerm(milestones: String)
    case archive
    /// 裁定冲突: keep the branch that begins with this event, overrule the others.
    case settle(keep: UUID)

    /// How far an extension reaches.
    public enum Extension: Sendable, Equatable {
        /// To this day.
        case until(Day)
        /// This many working days past the deadline in force.
        case workdays(Int)
        /// The coordinator approves the date the lead department asked for.
        case asked
    }

    public var action: DemandAction {
        switch self {
        case .submit: .submit
        case .reject: .reject
        case .assign: .assign
        case .sign: .sign
        case .return: .return
        case .reassign: .reassign
        case .extend: .extend
        case .reply: .reply
        case .acceptReply: .acceptReply
        case .rejectReply: .rejectReply
        case .followUp: .followUp
        case .reopen: .reopen
        case .longTerm: .longTerm
        case .archive: .archive
        case .settle: .settle
        }
    }
}

/// What an event of a step carries besides its verb: the `data` column of `demand_events`, a flat
/// JSON object of strings (docs/workflow.md), encoded with `JSONEncoder` (keys sorted, absent
/// values left out). The reports read it back with `FlatJSON`, which reads this encoding.
public struct EventData: Codable, Sendable, Equatable {
    /// assign, reassign: the lead department's id, and the co-departments' ids joined by commas.
    public var lead: String?
    public var co: String?
    /// return: the department suggested instead.
    public var suggest: String?
    /// extend: the new deadline, YYYY-MM-DD.
    public var until: String?
    /// reply: 答复内容 and 办理结果.
    public var reply: String?
    public var outcome: String?
    /// sign, reply: the first contact with the enterprise (ISO 8601).
    public var contacted: String?
    /// follow-up: "yes" or "no"; follow-up, reopen: the enterprise's satisfaction.
    public var resolved: String?
    public var satisfaction: String?
    /// long-term: the milestone plan.
    public var milestones: String?
    /// settle: the first event of the branch kept, and those of the branches overruled (commas).
    public var keep: String?
    public var overrule: String?

    public init() {}

    /// The JSON text stored in the event.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Optional strings always encode; this cannot fail.
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }
}

/// The event a step becomes: what it follows, the states it moves between, and its data.
public struct PlannedEvent: Sendable, Equatable {
    public var action: DemandAction
    /// The event it follows (the tip of the line, or for a settle the tip of the kept branch).
    public var parent: UUID?
    public var from: DemandState
    public var to: DemandState
    public var comment: String?
    public var data: EventData
}

/// Why the workflow refuses a step: each reason with what its sentence needs.
public enum WorkflowRefusal: Error, Sendable, Equatable {
    /// The demand has concurrent, contradictory actions; the coordinator settles them first.
    case conflict(branches: [UUID])
    /// Not a move from this state.
    case notAllowed(DemandAction, state: DemandState)
    /// A move from this state, but for other roles.
    case notForRole(DemandAction, role: Role, state: DemandState)
    /// A department acting on a demand it does not lead.
    case notLead(DemandAction)
    /// A lead kept by the coordinator after its return may not return the demand again.
    case mayNotReturnAgain
    case needsComment(DemandAction)
    case settleNotCoordinator(Role)
    case noConflictToSettle
    case notABranch(UUID, branches: [UUID])
    case noDeadline
    /// extend without a date or a number of working days (and no date asked for to approve).
    case extensionNeedsDate
    case extensionNotAfter(Day, deadline: Day)
    case extensionBeyondCap(Day, start: Day, cap: Day, workdays: Int)
    case extensionTooLate(deadline: Day, noticeWorkdays: Int)
    /// reply after handling without 办理结果.
    case replyNeedsOutcome
    case badMilestone(String)
}

extension Workflow {
    /// Judges a step on a demand and returns the event it becomes, or why it is refused: the state
    /// machine, the actor's registry role (and, for a department, that it leads the demand), the
    /// comment the move needs, and what the step's payload must satisfy (an extension's bounds,
    /// a reply's outcome, a milestone plan's dates). Pure: no storage, no clock of its own.
    ///
    /// - Parameters:
    ///   - events: the demand's events; `status` is what they derive to with `actors`.
    ///   - department: the actor's department, for a department's device.
    ///   - now: the time of the step, in milliseconds since 1970.
    public static func plan(
        _ step: WorkflowStep,
        comment: String?,
        events: [WorkflowEvent],
        status: DemandStatus,
        actors: WorkflowActors,
        role: Role,
        department: UUID?,
        calendar: WorkCalendar,
        profile: DeadlineProfile,
        now: Int64
    ) throws(WorkflowRefusal) -> PlannedEvent {
        let action = step.action
        let said = comment?.trimmingCharacters(in: .whitespaces) ?? ""
        var data = EventData()
        if case .settle(let kept) = step {
            guard Actor.coordinator.admits(role) else { throw .settleNotCoordinator(role) }
            guard let fork = status.conflicts.first else { throw .noConflictToSettle }
            guard fork.contains(kept) else { throw .notABranch(kept, branches: fork) }
            let overruled = fork.filter { $0 != kept }
            data.keep = kept.lowercased
            data.overrule = overruled.map(\.lowercased).joined(separator: ",")
            let keptLine = derive(
                events,
                calendar: calendar,
                profile: profile,
                actors: actors,
                overruling: Set(overruled)
            )
            guard !said.isEmpty else { throw .needsComment(.settle) }
            return PlannedEvent(
                action: .settle,
                parent: keptLine.tip,
                from: status.state,
                to: keptLine.state,
                comment: comment,
                data: data
            )
        }
        let transition = try transition(action, status: status, role: role, department: department)
        if transition.needsComment && said.isEmpty { throw .needsComment(action) }
        switch step {
        case .assign(let lead, let co), .reassign(let lead, let co):
            data.lead = lead.lowercased
            let others = co.filter { $0 != lead }
            if !others.isEmpty { data.co = others.map(\.lowercased).joined(separator: ",") }
        case .return(let suggest):
            data.suggest = suggest.lowercased
        case .extend(let reach):
            data.until = try extensionDay(
                reach,
                status: status,
                role: role,
                calendar: calendar,
                profile: profile,
                now: now
            ).description
        case .reply(let reply, let outcome, let contacted):
            data.reply = reply
            if transition.from != .pendingIntake {
                guard let outcome else { throw .replyNeedsOutcome }
                data.outcome = outcome
            }
            data.contacted = contacted.map(ISOTime.format)
        case .sign(let contacted):
            data.contacted = contacted.map(ISOTime.format)
        case .followUp(let resolved, let satisfaction):
            data.resolved = resolved ? "yes" : "no"
            data.satisfaction = satisfaction
        case .reopen(let satisfaction):
            data.satisfaction = satisfaction
        case .longTerm(let milestones):
            for part in milestones.split(separator: ";") {
                guard Day(part.trimmingCharacters(in: .whitespaces).prefix(10)) != nil else {
                    throw .badMilestone(String(part))
                }
            }
            data.milestones = milestones
        case .submit, .reject, .acceptReply, .rejectReply, .archive, .settle:
            break
        }
        return PlannedEvent(
            action: action,
            parent: status.tip,
            from: status.state,
            to: transition.to,
            comment: comment,
            data: data
        )
    }

    /// The move `action` from the demand's state that `role` may take, or why not (a conflict
    /// first, then the state machine, then the role, then a department's lead).
    static func transition(
        _ action: DemandAction,
        status: DemandStatus,
        role: Role,
        department: UUID?
    ) throws(WorkflowRefusal) -> Transition {
        if let fork = status.conflicts.first { throw .conflict(branches: fork) }
        let candidates = allowed(from: status.state).filter { $0.action == action }
        guard !candidates.isEmpty else { throw .notAllowed(action, state: status.state) }
        guard let transition = candidates.first(where: { $0.actors.contains { $0.admits(role) } }) else {
            throw .notForRole(action, role: role, state: status.state)
        }
        if role == .department {
            guard let department, department == status.lead else { throw .notLead(action) }
            if action == .return, status.noReturnLeads.contains(department) { throw .mayNotReturnAgain }
        }
        return transition
    }

    /// The day an extension reaches: after the deadline in force, within the most working days
    /// from the start of handling, and asked for by a department in time.
    static func extensionDay(
        _ reach: WorkflowStep.Extension,
        status: DemandStatus,
        role: Role,
        calendar: WorkCalendar,
        profile: DeadlineProfile,
        now: Int64
    ) throws(WorkflowRefusal) -> Day {
        guard let deadline = status.deadline else { throw .noDeadline }
        let until: Day
        switch reach {
        case .until(let day): until = day
        case .workdays(let days) where days > 0: until = calendar.addingWorkdays(days, to: deadline).day
        case .asked where role != .department && status.pendingExtension != nil: until = status.pendingExtension!
        case .workdays, .asked: throw .extensionNeedsDate
        }
        guard until > deadline else { throw .extensionNotAfter(until, deadline: deadline) }
        let start = status.handlingStart ?? deadline
        let cap = calendar.addingWorkdays(profile.maximumWorkdays, to: start).day
        guard until <= cap else {
            throw .extensionBeyondCap(until, start: start, cap: cap, workdays: profile.maximumWorkdays)
        }
        if role == .department {
            let today = profile.localDay(now)
            guard calendar.workdays(after: today, through: deadline) >= profile.extensionNoticeWorkdays else {
                throw .extensionTooLate(deadline: deadline, noticeWorkdays: profile.extensionNoticeWorkdays)
            }
        }
        return until
    }
}

extension Workflow {
    /// The steps `role` (of `department`, for a department) may take on a demand now, in the order
    /// of the state machine: none but the coordinator's settle while a workflow conflict is open.
    public static func actions(status: DemandStatus, role: Role, department: UUID?) -> [DemandAction] {
        if status.hasConflict { return Actor.coordinator.admits(role) ? [.settle] : [] }
        var actions: [DemandAction] = []
        for move in allowed(from: status.state) where !actions.contains(move.action) {
            if (try? transition(move.action, status: status, role: role, department: department)) != nil {
                actions.append(move.action)
            }
        }
        return actions
    }
}

extension WorkflowRefusal {
    /// The refusal as the ledger reports it, naming the demand by `number` and events by `handle`.
    public func ledgerError(demand number: String, handle: (UUID) -> String) -> LedgerError {
        var error = englishError(demand: number, handle: handle)
        error.refusal = self
        return error
    }

    func englishError(demand number: String, handle: (UUID) -> String) -> LedgerError {
        func moves(_ state: DemandState) -> String { Workflow.describe(Workflow.allowed(from: state)) }
        func branches(_ fork: [UUID]) -> String {
            fork.map { "\(handle($0)) (\($0.lowercased))" }.joined(separator: ", ")
        }
        switch self {
        case .conflict(let fork):
            return LedgerError(
                .workflowConflict,
                "demand \(number) has a workflow conflict (concurrent actions: \(fork.map(handle).joined(separator: ", "))); the coordinator settles it first, keeping one branch (\(field: .keep)) with a \(field: .comment)"
            )
        case .notAllowed(let action, let state):
            return LedgerError(
                .transitionRefused,
                "\(action.rawValue) is not allowed on demand \(number) in state \(state.rawValue) (\(state.chinese)); allowed: \(moves(state))"
            )
        case .notForRole(let action, let role, let state):
            let actors = Workflow.allowed(from: state).filter { $0.action == action }.flatMap(\.actors)
            return LedgerError(
                .transitionRefused,
                "a \(role.rawValue) device may not \(action.rawValue) demand \(number) in state \(state.rawValue); that is for: \(actors.map(\.rawValue).joined(separator: ", ")). Allowed from this state: \(moves(state))"
            )
        case .notLead(let action):
            return LedgerError(
                .transitionRefused,
                "only the lead department of demand \(number) may \(action.rawValue) it"
            )
        case .mayNotReturnAgain:
            return LedgerError(
                .transitionRefused,
                "the coordinator kept this department as lead after its return; it may not return demand \(number) again"
            )
        case .needsComment(.settle):
            return LedgerError(.missingField, "settle needs \(field: .comment) (why this branch is kept)")
        case .needsComment(let action):
            return LedgerError(.missingField, "\(action.rawValue) needs \(field: .comment) (the reason)")
        case .settleNotCoordinator(let role):
            return LedgerError(
                .transitionRefused,
                "only the coordinator settles a workflow conflict; a \(role.rawValue) may not"
            )
        case .noConflictToSettle:
            return LedgerError(.notFound, "demand \(number) has no workflow conflict to settle")
        case .notABranch(let event, let fork):
            return LedgerError(
                .invalidField,
                "event \(handle(event)) of demand \(number) does not begin one of the conflicting branches; choose one of \(branches(fork))"
            )
        case .noDeadline:
            return LedgerError(.invalidField, "demand has no deadline to extend")
        case .extensionNeedsDate:
            return LedgerError(
                .missingField,
                "extend needs \(field: .until) (a date) or \(field: .days) (working days)"
            )
        case .extensionNotAfter(let until, let deadline):
            return LedgerError(.invalidField, "the extension \(until) is not after the deadline \(deadline)")
        case .extensionBeyondCap(let until, let start, let cap, let workdays):
            return LedgerError(
                .invalidField,
                "an extension may reach at most \(workdays) working days from \(start): \(cap) (asked \(until))"
            )
        case .extensionTooLate(let deadline, let notice):
            return LedgerError(
                .transitionRefused,
                "an extension is asked for at least \(notice) working day(s) before the deadline \(deadline); it is too late"
            )
        case .replyNeedsOutcome:
            return LedgerError(.missingField, "reply needs \(field: .outcome) (办理结果)")
        case .badMilestone(let part):
            return LedgerError(.invalidField, "milestone '\(part)' does not start with a date like 2026-06-30")
        }
    }
}
