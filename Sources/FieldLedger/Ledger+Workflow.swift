import FieldCrypto
import FieldStore
import Foundation
import GRDB

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
        try Self.calendar(from: try read(Self.calendarRows))
    }

    /// The loaded calendar years of the registry, in year order.
    static func calendarRows(_ db: Database) throws -> [(year: Int, days: String)] {
        try Row.fetchAll(
            db,
            sql: "SELECT year, days FROM calendars WHERE deleted = 0 AND year IS NOT NULL ORDER BY year"
        ).map {
            (year: $0[0] as Int, days: ($0[1] as String?) ?? "")
        }
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

    /// The columns an event is read from, in the order `workflowEvent` reads them.
    static let eventColumns =
        "id, demand_id, parent_id, at, actor_key, actor_name, role, action, from_state, to_state, comment, data"

    /// The workflow events of a demand, as stored.
    public func workflowEvents(of demand: UUID) throws -> [WorkflowEvent] {
        try read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT \(Self.eventColumns) FROM demand_events WHERE demand_id = ? AND deleted = 0 ORDER BY at, id",
                arguments: [Data(demand.bytes16)]
            ).compactMap(Self.workflowEvent)
        }
    }

    /// An event from a row of `eventColumns` (read by position: the reports read tens of thousands).
    static func workflowEvent(_ row: Row) -> WorkflowEvent? {
        func uuid(_ index: Int) -> UUID? { (row[index] as Data?).flatMap(UUID.init(blob:)) }
        guard let id = uuid(0), let demand = uuid(1), let at = (row[3] as String?).flatMap(ISOTime.parse) else {
            return nil
        }
        let json = (row[11] as String?).flatMap { text in
            FlatJSON.parse(text) ?? (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String])
        }
        return WorkflowEvent(
            id: id,
            demand: demand,
            parent: uuid(2),
            at: at,
            actorKey: row[4] ?? "",
            actorName: row[5] ?? "",
            role: row[6] ?? "",
            action: row[7] ?? "",
            from: (row[8] as String?).flatMap(DemandState.init(rawValue:)),
            to: (row[9] as String?).flatMap(DemandState.init(rawValue:)),
            comment: row[10],
            data: json ?? [:]
        )
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
        try read { db in try Self.workflowActors(db, root: replica.root) }
    }

    static func workflowActors(_ db: Database, root: PublicKey) throws -> WorkflowActors {
        var devices: [String: WorkflowActors.Device] = [:]
        let rows = try Row.fetchCursor(
            db,
            sql: "SELECT public_key, role, department_id FROM devices WHERE public_key IS NOT NULL"
        )
        while let row = try rows.next() {
            guard let key = row[0] as String?, let role = (row[1] as String?).flatMap(Role.init(rawValue:)) else {
                continue
            }
            devices[key] = WorkflowActors.Device(role: role, department: (row[2] as Data?).flatMap(UUID.init(blob:)))
        }
        return WorkflowActors(root: root.hex, devices: devices)
    }

    /// The status of every live demand, by id: from the status cache (see `StatusCache`), which
    /// derives and stores what it lacks; derived afresh if the cache cannot be written.
    public func allStatuses(profile: DeadlineProfile = .shandong2115) throws -> [UUID: DemandStatus] {
        do {
            return try cachedStatuses(profile: profile)
        } catch {
            let calendar = try calendar()
            return try read { db in
                try Self.deriveStatuses(
                    db,
                    calendar: calendar,
                    profile: profile,
                    actors: try Self.workflowActors(db, root: replica.root)
                )
            }
        }
    }

    /// Every department's name, by id (for reports that name many).
    func departmentNames() throws -> [UUID: String] {
        try read { db in
            var names: [UUID: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, name FROM departments WHERE deleted = 0") {
                guard let id = (row[0] as Data?).flatMap(UUID.init(blob:)), let name = row[1] as String? else {
                    continue
                }
                names[id] = name
            }
            return names
        }
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

    /// Takes a workflow action on a demand: checks it against the state machine, this device's
    /// role (and, for a department, that it is the lead), and the data the action needs; then
    /// appends its event, following the current tip. Returns the new status.
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
        let calendar = try calendar()
        let events = try workflowEvents(of: id)
        let actors = try workflowActors()
        let status = Workflow.derive(events, calendar: calendar, profile: profile, actors: actors)
        let number = try text("demands", id, "number") ?? id.lowercased
        guard let role = try enrolledRole() else {
            throw LedgerError(.notPermitted, "this device is not enrolled (or is revoked)")
        }
        let nowMilliseconds = Int64(replica.options.wallClock())
        var data: [String: String] = [:]
        var parent = status.tip
        var to = status.state

        if action == .settle {
            guard Actor.coordinator.admits(role) else {
                throw LedgerError(
                    .transitionRefused,
                    "only the coordinator settles a workflow conflict; a \(role.rawValue) may not"
                )
            }
            guard let fork = status.conflicts.first else {
                throw LedgerError(.notFound, "demand \(number) has no workflow conflict to settle")
            }
            let handles = Self.eventHandles(events.map(\.id))
            let branches = fork.map { "\(handles[$0] ?? $0.lowercased) (\($0.lowercased))" }.joined(separator: ", ")
            guard let keep = input.keep else {
                throw LedgerError(
                    .missingField,
                    "settle needs \(field: .keep), the first event of the branch to keep: one of \(branches)"
                )
            }
            // Named among every event of the demand, so a handle that also fits another event is
            // refused as ambiguous rather than taken for the first match.
            let kept = try Self.event(named: keep, among: events.map(\.id), what: "event of demand \(number)")
            guard fork.contains(kept) else {
                throw LedgerError(
                    .invalidField,
                    "event \(keep) of demand \(number) does not begin one of the conflicting branches; choose one of \(branches)"
                )
            }
            data["keep"] = kept.lowercased
            data["overrule"] = fork.filter { $0 != kept }.map(\.lowercased).joined(separator: ",")
            let keptLine = Workflow.derive(
                events,
                calendar: calendar,
                profile: profile,
                actors: actors,
                overruling: Set(fork.filter { $0 != kept })
            )
            parent = keptLine.tip
            to = keptLine.state
            guard let comment = input.comment, !comment.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw LedgerError(.missingField, "settle needs \(field: .comment) (why this branch is kept)")
            }
        } else {
            if status.hasConflict {
                throw LedgerError(
                    .workflowConflict,
                    "demand \(number) has a workflow conflict (concurrent actions: \(status.conflicts[0].map { Self.eventHandles(events.map(\.id))[$0] ?? $0.lowercased }.joined(separator: ", "))); the coordinator settles it first, keeping one branch (\(field: .keep)) with a \(field: .comment)"
                )
            }
            let moves = Workflow.allowed(from: status.state)
            let candidates = moves.filter { $0.action == action }
            guard !candidates.isEmpty else {
                throw LedgerError(
                    .transitionRefused,
                    "\(action.rawValue) is not allowed on demand \(number) in state \(status.state.rawValue) (\(status.state.chinese)); allowed: \(Workflow.describe(moves))"
                )
            }
            guard let transition = candidates.first(where: { $0.actors.contains { $0.admits(role) } }) else {
                throw LedgerError(
                    .transitionRefused,
                    "a \(role.rawValue) device may not \(action.rawValue) demand \(number) in state \(status.state.rawValue); that is for: \(candidates.flatMap(\.actors).map(\.rawValue).joined(separator: ", ")). Allowed from this state: \(Workflow.describe(moves))"
                )
            }
            to = transition.to
            if role == .department {
                guard let mine = actors.department(of: publicKey.hex), mine == status.lead else {
                    throw LedgerError(
                        .transitionRefused,
                        "only the lead department of demand \(number) may \(action.rawValue) it"
                    )
                }
                if action == .return, status.noReturnLeads.contains(mine) {
                    throw LedgerError(
                        .transitionRefused,
                        "the coordinator kept this department as lead after its return; it may not return demand \(number) again"
                    )
                }
            }
            let comment = input.comment?.trimmingCharacters(in: .whitespaces) ?? ""
            if transition.needsComment && comment.isEmpty {
                throw LedgerError(.missingField, "\(action.rawValue) needs \(field: .comment) (the reason)")
            }
            try fill(
                &data,
                for: transition,
                input: input,
                status: status,
                role: role,
                calendar: calendar,
                profile: profile,
                now: nowMilliseconds
            )
        }

        let enterprise = try read { db in
            try Data.fetchOne(
                db,
                sql: "SELECT enterprise_id FROM demands WHERE id = ? AND deleted = 0",
                arguments: [Data(id.bytes16)]
            )
        }.map { UUID(bytes16: [UInt8]($0)) }
        guard let enterprise else { throw LedgerError(.notFound, "demand \(number) is deleted") }
        let actor = try authorName(publicKey)
        let json = String(
            decoding: try JSONSerialization.data(withJSONObject: data, options: [.sortedKeys]),
            as: UTF8.self
        )
        try writeRecord(enterprise: enterprise) { batch in
            batch.insert(
                "demand_events",
                [
                    "demand_id": .id(id), "parent_id": .id(parent), "at": .text(ISOTime.format(nowMilliseconds)),
                    "actor_key": .text(publicKey.hex),
                    "actor_name": .text(actor), "role": .text(role.rawValue), "action": .text(action.rawValue),
                    "from_state": .text(status.state.rawValue), "to_state": .text(to.rawValue),
                    "comment": .optionalText(input.comment),
                    "data": .text(json),
                ]
            )
        }
        return Workflow.derive(try workflowEvents(of: id), calendar: calendar, profile: profile, actors: actors)
    }

    /// Checks and gathers the data an action needs.
    private func fill(
        _ data: inout [String: String],
        for transition: Transition,
        input: ActionInput,
        status: DemandStatus,
        role: Role,
        calendar: WorkCalendar,
        profile: DeadlineProfile,
        now: Int64
    ) throws {
        let action = transition.action
        func required(_ value: String?, _ field: LedgerError.Field, _ what: String = "") throws(LedgerError) -> String {
            guard let value, !value.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw LedgerError(.missingField, "\(action.rawValue) needs \(field: field)\(what)")
            }
            return value.trimmingCharacters(in: .whitespaces)
        }
        switch action {
        case .assign, .reassign:
            let lead = try department(named: try required(input.lead, .lead, " (the lead department)"))
            let co = try input.co.map { try department(named: $0) }.filter { $0 != lead }
            data["lead"] = lead.lowercased
            if !co.isEmpty { data["co"] = co.map(\.lowercased).joined(separator: ",") }
        case .return:
            let suggest = try department(
                named: try required(input.suggest, .suggest, " (the unit it belongs to)")
            )
            data["suggest"] = suggest.lowercased
        case .extend:
            guard let deadline = status.deadline else {
                throw LedgerError(.invalidField, "demand has no deadline to extend")
            }
            let until: Day
            if let text = input.until {
                guard let day = Day(text) else {
                    throw LedgerError(.invalidField, "\(field: .until) '\(text)' is not a date like 2026-03-15")
                }
                until = day
            } else if let days = input.days, days > 0 {
                until = calendar.addingWorkdays(days, to: deadline).day
            } else if role != .department, let pending = status.pendingExtension {
                until = pending
            } else {
                throw LedgerError(
                    .missingField,
                    "extend needs \(field: .until) (a date) or \(field: .days) (working days)"
                )
            }
            guard until > deadline else {
                throw LedgerError(.invalidField, "the extension \(until) is not after the deadline \(deadline)")
            }
            let start = status.handlingStart ?? deadline
            let cap = calendar.addingWorkdays(profile.maximumWorkdays, to: start).day
            guard until <= cap else {
                throw LedgerError(
                    .invalidField,
                    "an extension may reach at most \(profile.maximumWorkdays) working days from \(start): \(cap) (asked \(until))"
                )
            }
            if role == .department {
                let today = profile.localDay(now)
                guard calendar.workdays(after: today, through: deadline) >= profile.extensionNoticeWorkdays else {
                    throw LedgerError(
                        .transitionRefused,
                        "an extension is asked for at least \(profile.extensionNoticeWorkdays) working day(s) before the deadline \(deadline); it is too late"
                    )
                }
            }
            data["until"] = until.description
        case .reply:
            data["reply"] = try required(input.reply, .reply, " (答复内容)")
            if transition.from != .pendingIntake { data["outcome"] = try required(input.outcome, .outcome, " (办理结果)") }
            if let contacted = input.contacted { data["contacted"] = try contactTime(contacted, profile: profile) }
        case .sign:
            if let contacted = input.contacted { data["contacted"] = try contactTime(contacted, profile: profile) }
        case .followUp:
            guard let resolved = input.resolved else {
                throw LedgerError(
                    .missingField,
                    "follow-up needs \(field: .resolved) yes or no (the enterprise's verdict)"
                )
            }
            data["resolved"] = resolved ? "yes" : "no"
            data["satisfaction"] = try Vocabulary.check(
                try required(input.satisfaction, .satisfaction),
                in: Vocabulary.satisfactions,
                field: "satisfaction"
            )
        case .reopen:
            if let satisfaction = input.satisfaction {
                data["satisfaction"] = try Vocabulary.check(
                    satisfaction,
                    in: Vocabulary.satisfactions,
                    field: "satisfaction"
                )
            }
        case .longTerm:
            data["milestones"] = try required(input.milestones, .milestones, " (\"YYYY-MM-DD 内容; …\")")
            for part in data["milestones"]!.split(separator: ";") {
                let date = part.trimmingCharacters(in: .whitespaces).prefix(10)
                guard Day(date) != nil else {
                    throw LedgerError(.invalidField, "milestone '\(part)' does not start with a date like 2026-06-30")
                }
            }
        case .submit, .rejectReply, .acceptReply, .archive, .reject, .settle:
            break
        }
    }

    /// A contact time as given on the command line: ISO 8601, or "YYYY-MM-DD HH:MM" in county time.
    private func contactTime(_ text: String, profile: DeadlineProfile) throws(LedgerError) -> String {
        if let milliseconds = ISOTime.parse(text) { return ISOTime.format(milliseconds) }
        let parts = text.split(separator: " ")
        if parts.count == 2, let day = Day(parts[0]) {
            let clock = parts[1].split(separator: ":")
            if clock.count == 2, let hour = Int(clock[0]), let minute = Int(clock[1]), (0..<24).contains(hour),
                (0..<60).contains(minute)
            {
                return ISOTime.format(profile.instant(day, minute: hour * 60 + minute))
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
