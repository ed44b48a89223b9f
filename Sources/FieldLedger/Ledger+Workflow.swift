import FieldCrypto
import FieldStore
import Foundation

/// What a workflow action carries besides its verb (each action needs some of it; see
/// docs/workflow.md). Department names and event ids are resolved by the ledger.
public struct ActionInput: Sendable {
    public var comment: String?
    /// assign / reassign: the lead department, and co-departments.
    public var lead: String?
    public var co: [String] = []
    /// return: the department the lead suggests instead.
    public var suggest: String?
    /// extend: the new deadline (YYYY-MM-DD), or a number of working days added to the current one.
    public var until: String?
    public var days: Int?
    /// reply: 办理结果 and 答复内容; `contacted`: when the enterprise was first contacted (ISO 8601,
    /// or "YYYY-MM-DD HH:MM" in county time), on sign or reply.
    public var outcome: String?
    public var reply: String?
    public var contacted: String?
    /// follow-up / reopen: the enterprise's verdict.
    public var resolved: Bool?
    public var satisfaction: String?
    /// long-term: the milestone plan ("YYYY-MM-DD 内容; …").
    public var milestones: String?
    /// settle: the first event of the branch to keep.
    public var keep: String?

    public init(comment: String? = nil) { self.comment = comment }
}

extension Vocabulary {
    public static let satisfactions = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    public static let satisfied: Set = ["非常满意", "满意", "基本满意"]
}

extension Ledger {
    // MARK: Calendar and profile

    /// The working-day calendar: the years this build ships, with the years loaded into the
    /// registry by the operator on top (a loaded year replaces a shipped one).
    public func calendar() throws -> WorkCalendar {
        try Self.calendar(from: try read { try $0.calendarRows() })
    }

    /// The shipped years with the loaded ones on top.
    static func calendar(from rows: [(year: Int, days: String)]) throws -> WorkCalendar {
        var calendar = WorkCalendar.shipped
        for row in rows { try calendar.load(year: row.year, lines: row.days) }
        return calendar
    }

    /// Loads working-day calendar years from a CSV file (`date,kind[,note]`) into the registry, one
    /// row per year: it replicates like any registry data. Returns the years loaded.
    @discardableResult
    public func loadCalendar(csv text: String, source: String?) throws -> [Int] {
        try requireRoot("load a working-day calendar")
        var parsed = WorkCalendar()
        try parsed.load(csv: text)
        let years = parsed.loadedYears.sorted()
        try replica.write(scope: Commit.registryScope, as: try key) { batch in
            for year in years {
                let id = RegistryIDs.derived("calendar", Array(String(year).utf8))
                batch.set("calendars", row: id, "year", .integer(Int64(year)))
                batch.set("calendars", row: id, "days", .text(parsed.lines(of: year)))
                batch.set("calendars", row: id, "source", .optionalText(source))
            }
        }
        return years
    }

    // MARK: Events and status

    /// The workflow events of a demand, as stored.
    public func workflowEvents(of demand: UUID) throws -> [WorkflowEvent] {
        try read { try $0.events(of: demand) }
    }

    /// A demand's status derived from its events.
    public func status(of demand: String, profile: DeadlineProfile = .shandong2115) throws -> DemandStatus {
        Workflow.derive(
            try workflowEvents(of: try self.demand(named: demand)),
            calendar: try calendar(),
            profile: profile,
            actors: try workflowActors()
        )
    }

    /// Every device's registry role and department, and the root key (see `WorkflowActors`).
    public func workflowActors() throws -> WorkflowActors {
        try read { try $0.workflowActors(root: replica.root) }
    }

    /// The status of every live demand, by id: from the status cache (see `StatusCache`), which
    /// derives and stores what it lacks; derived afresh if the cache cannot be written.
    public func allStatuses(profile: DeadlineProfile = .shandong2115) throws -> [UUID: DemandStatus] {
        do {
            return try cachedStatuses(profile: profile)
        } catch {
            let calendar = try calendar()
            return try read { store in
                try store.deriveStatuses(
                    calendar: calendar,
                    profile: profile,
                    actors: try store.workflowActors(root: replica.root)
                )
            }
        }
    }

    /// Every department's name, by id (for reports that name many).
    func departmentNames() throws -> [UUID: String] {
        try read { try $0.departmentNames() }
    }

    /// A department's name (or its id when it is not in the registry this replica holds).
    public func departmentName(_ id: UUID) throws -> String {
        try text("departments", id, "name") ?? id.lowercased
    }

    /// The county-local day of this replica's clock.
    public func localToday(profile: DeadlineProfile = .shandong2115) -> Day {
        profile.localDay(Int64(replica.options.wallClock()))
    }

    // MARK: Acting

    /// Takes a workflow action on a demand, its references given by name as a person types them
    /// (`ActionInput`): resolves them into a `WorkflowStep` and takes it (`take`). The move itself
    /// is checked first, so a step that is not allowed now is refused as such before its inputs.
    @discardableResult
    public func act(
        _ action: DemandAction,
        on demand: String,
        _ input: ActionInput,
        profile: DeadlineProfile = .shandong2115
    )
        throws -> DemandStatus
    {
        let id = try self.demand(named: demand)
        let events = try workflowEvents(of: id)
        let actors = try workflowActors()
        let status = Workflow.derive(events, calendar: try calendar(), profile: profile, actors: actors)
        let number = try text("demands", id, "number") ?? id.lowercased
        let handles = Self.eventHandles(events.map(\.id))
        let handle = { (event: UUID) in handles[event] ?? event.lowercased }
        guard let role = try enrolledRole() else {
            throw LedgerError(.notPermitted, "this device is not enrolled (or is revoked)")
        }
        let step: WorkflowStep
        do {
            if action == .settle {
                guard Actor.coordinator.admits(role) else { throw WorkflowRefusal.settleNotCoordinator(role) }
                guard let fork = status.conflicts.first else { throw WorkflowRefusal.noConflictToSettle }
                guard let keep = input.keep else {
                    let branches = fork.map { "\(handle($0)) (\($0.lowercased))" }.joined(separator: ", ")
                    throw LedgerError(
                        .missingField,
                        "settle needs \(field: .keep), the first event of the branch to keep: one of \(branches)"
                    )
                }
                // Named among every event of the demand, so a handle that also fits another event is
                // refused as ambiguous rather than taken for the first match.
                step = .settle(
                    keep: try Self.event(named: keep, among: events.map(\.id), what: "event of demand \(number)")
                )
            } else {
                let transition = try Workflow.transition(
                    action,
                    status: status,
                    role: role,
                    department: actors.department(of: publicKey.hex)
                )
                if transition.needsComment && (input.comment?.trimmingCharacters(in: .whitespaces) ?? "").isEmpty {
                    throw WorkflowRefusal.needsComment(action)
                }
                step = try self.step(action, input, profile: profile)
            }
        } catch let refusal as WorkflowRefusal {
            throw refusal.ledgerError(demand: number, handle: handle)
        }
        return try take(step, on: demand, comment: input.comment, profile: profile)
    }

    /// The steps this device may take on a demand now (`Workflow.actions`).
    public func allowedActions(on demand: String, profile: DeadlineProfile = .shandong2115) throws -> [DemandAction] {
        try allowedActions(for: try status(of: demand, profile: profile))
    }

    /// The steps this device may take on a demand whose status the caller has derived.
    public func allowedActions(for status: DemandStatus) throws -> [DemandAction] {
        guard let role = try enrolledRole() else { return [] }
        return Workflow.actions(
            status: status,
            role: role,
            department: try workflowActors().department(of: publicKey.hex)
        )
    }

    /// Takes a workflow step on a demand: `Workflow.plan` judges it against the state machine, this
    /// device's registry role (and, for a department, that it is the lead) and what the step
    /// carries; then its event is appended, following the current tip. Returns the new status.
    @discardableResult
    public func take(
        _ step: WorkflowStep,
        on demand: String,
        comment: String?,
        profile: DeadlineProfile = .shandong2115
    ) throws -> DemandStatus {
        let id = try self.demand(named: demand)
        let calendar = try calendar()
        let events = try workflowEvents(of: id)
        let actors = try workflowActors()
        let status = Workflow.derive(events, calendar: calendar, profile: profile, actors: actors)
        let number = try text("demands", id, "number") ?? id.lowercased
        guard let role = try enrolledRole() else {
            throw LedgerError(.notPermitted, "this device is not enrolled (or is revoked)")
        }
        let now = Int64(replica.options.wallClock())
        let event: PlannedEvent
        do {
            event = try Workflow.plan(
                step,
                comment: comment,
                events: events,
                status: status,
                actors: actors,
                role: role,
                department: actors.department(of: publicKey.hex),
                calendar: calendar,
                profile: profile,
                now: now
            )
        } catch {
            let handles = Self.eventHandles(events.map(\.id))
            throw error.ledgerError(demand: number, handle: { handles[$0] ?? $0.lowercased })
        }
        guard let enterprise = try demandEnterprise(id) else {
            throw LedgerError(.notFound, "demand \(number) is deleted")
        }
        let actor = try authorName(publicKey)
        try writeRecord(enterprise: enterprise) { batch in
            batch.insert(
                "demand_events",
                [
                    "demand_id": .id(id), "parent_id": .id(event.parent), "at": .text(ISOTime.format(now)),
                    "actor_key": .text(publicKey.hex),
                    "actor_name": .text(actor), "role": .text(role.rawValue), "action": .text(event.action.rawValue),
                    "from_state": .text(event.from.rawValue), "to_state": .text(event.to.rawValue),
                    "comment": .optionalText(event.comment),
                    "data": .text(event.data.json),
                ]
            )
        }
        return Workflow.derive(try workflowEvents(of: id), calendar: calendar, profile: profile, actors: actors)
    }

    /// The enterprise a live demand belongs to.
    func demandEnterprise(_ id: UUID) throws -> UUID? {
        try read { try $0.enterprise(ofDemand: id) }
    }

    /// The step an action with inputs given by name makes: departments found in the registry, a
    /// contact time read in county time, what each step needs checked present.
    func step(_ action: DemandAction, _ input: ActionInput, profile: DeadlineProfile) throws -> WorkflowStep {
        func required(_ value: String?, _ field: LedgerError.Field, _ what: String = "") throws(LedgerError) -> String {
            guard let value, !value.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw LedgerError(.missingField, "\(action.rawValue) needs \(field: field)\(what)")
            }
            return value.trimmingCharacters(in: .whitespaces)
        }
        func contacted() throws -> Int64? { try input.contacted.map { try contactTime($0, profile: profile) } }
        switch action {
        case .assign, .reassign:
            let lead = try department(named: try required(input.lead, .lead, " (the lead department)"))
            let co = try input.co.map { try department(named: $0) }
            return action == .assign ? .assign(lead: lead, co: co) : .reassign(lead: lead, co: co)
        case .return:
            return .return(
                suggest: try department(named: try required(input.suggest, .suggest, " (the unit it belongs to)"))
            )
        case .extend:
            if let text = input.until {
                guard let day = Day(text) else {
                    throw LedgerError(.invalidField, "\(field: .until) '\(text)' is not a date like 2026-03-15")
                }
                return .extend(.until(day))
            }
            if let days = input.days, days > 0 { return .extend(.workdays(days)) }
            return .extend(.asked)
        case .reply:
            let reply = try required(input.reply, .reply, " (答复内容)")
            let outcome = input.outcome?.trimmingCharacters(in: .whitespaces)
            return .reply(reply: reply, outcome: outcome?.isEmpty == false ? outcome : nil, contacted: try contacted())
        case .sign:
            return .sign(contacted: try contacted())
        case .followUp:
            guard let resolved = input.resolved else {
                throw LedgerError(
                    .missingField,
                    "follow-up needs \(field: .resolved) yes or no (the enterprise's verdict)"
                )
            }
            let satisfaction = try Vocabulary.check(
                try required(input.satisfaction, .satisfaction),
                in: Vocabulary.satisfactions,
                field: "satisfaction"
            )
            return .followUp(resolved: resolved, satisfaction: satisfaction)
        case .reopen:
            return .reopen(
                satisfaction: try input.satisfaction.map {
                    try Vocabulary.check($0, in: Vocabulary.satisfactions, field: "satisfaction")
                }
            )
        case .longTerm:
            return .longTerm(milestones: try required(input.milestones, .milestones, " (\"YYYY-MM-DD 内容; …\")"))
        case .submit: return .submit
        case .reject: return .reject
        case .acceptReply: return .acceptReply
        case .rejectReply: return .rejectReply
        case .archive: return .archive
        case .settle:
            throw LedgerError(.missingField, "settle needs \(field: .keep), the first event of the branch to keep")
        }
    }

    /// A contact time as given on the command line: ISO 8601, or "YYYY-MM-DD HH:MM" in county time.
    private func contactTime(_ text: String, profile: DeadlineProfile) throws(LedgerError) -> Int64 {
        if let milliseconds = ISOTime.parse(text) { return milliseconds }
        let parts = text.split(separator: " ")
        if parts.count == 2, let day = Day(parts[0]) {
            let clock = parts[1].split(separator: ":")
            if clock.count == 2, let hour = Int(clock[0]), let minute = Int(clock[1]), (0..<24).contains(hour),
                (0..<60).contains(minute)
            {
                return profile.instant(day, minute: hour * 60 + minute)
            }
        }
        throw LedgerError(
            .invalidField,
            "\(field: .contacted) '\(text)' is not a time like '2026-03-15 09:30' (county time) or ISO 8601"
        )
    }
}

/// A fast reader for the event data: a flat JSON object of string values, as the workflow writes
/// it. Anything else returns nil (and the caller falls back to JSONSerialization).
enum FlatJSON {
    static func parse(_ text: String) -> [String: String]? {
        var bytes = Array(text.utf8)[...]
        func skipSpace() {
            while let byte = bytes.first, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                bytes.removeFirst()
            }
        }
        func string() -> String? {
            guard bytes.first == UInt8(ascii: "\"") else { return nil }
            bytes.removeFirst()
            var out: [UInt8] = []
            while let byte = bytes.first {
                bytes.removeFirst()
                switch byte {
                case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = bytes.first else { return nil }
                    bytes.removeFirst()
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    default: return nil  // \u escapes: leave to JSONSerialization
                    }
                default: out.append(byte)
                }
            }
            return nil
        }
        skipSpace()
        guard bytes.first == UInt8(ascii: "{") else { return nil }
        bytes.removeFirst()
        var object: [String: String] = [:]
        skipSpace()
        if bytes.first == UInt8(ascii: "}") { return object }
        while true {
            skipSpace()
            guard let key = string() else { return nil }
            skipSpace()
            guard bytes.first == UInt8(ascii: ":") else { return nil }
            bytes.removeFirst()
            skipSpace()
            guard let value = string() else { return nil }
            object[key] = value
            skipSpace()
            guard let next = bytes.first else { return nil }
            bytes.removeFirst()
            if next == UInt8(ascii: "}") {
                skipSpace()
                return bytes.isEmpty ? object : nil
            }
            guard next == UInt8(ascii: ",") else { return nil }
        }
    }
}
