import FieldCrypto
import FieldStore
import Foundation

extension Ledger {
    /// The cadre this device acts for, if any.
    func deviceCadre() throws -> UUID? {
        guard let device = try read({ try $0.device(publicKey) }), !device.deleted else { return nil }
        return device.cadre
    }

    func deviceCode() throws -> String {
        if isRoot { return "D000" }
        return try text("devices", RegistryIDs.device(publicKey), "code") ?? "D???"
    }

    func writeRecord(enterprise: UUID, _ build: (inout WriteBatch) throws -> Void) throws {
        try writeRecord(enterprise: enterprise) { batch, _ in try build(&batch) }
    }

    /// `writeRecord`, with `build` inside the write transaction, reading through `store`.
    func writeRecord(enterprise: UUID, _ build: (inout WriteBatch, LedgerStore) throws -> Void) throws {
        do {
            try replica.write(scope: RegistryIDs.scope(of: enterprise), as: try key) { batch, db in
                try build(&batch, LedgerStore(db: db))
            }
        } catch let error as StoreError where [.notEnrolled, .notAuthorized, .revoked].contains(error.code) {
            throw LedgerError(.notPermitted, error.message)
        }
    }

    /// The enterprises this device logs visits and demands for, by name: a cadre's linked ones
    /// (lead or assisting, active), every live one for other roles.
    public func writableEnterprises() throws -> [String] {
        let names: [String]
        if try enrolledRole() == .cadre, let cadre = try deviceCadre() {
            names = try read { store in
                try store.activeLinkages().filter { $0.cadre == cadre }.compactMap {
                    try store.text("enterprises", $0.enterprise, "name")
                }
            }
        } else {
            names = try read { try $0.liveValues("enterprises", "name") }
        }
        return Array(Set(names)).sorted()
    }

    /// A visit as checked, ready to write.
    struct CheckedVisit {
        var enterprise: UUID
        var values: [String: Value]
    }

    /// A demand as checked, ready to write (its number is taken in the write transaction).
    struct CheckedDemand {
        var values: [String: Value]
    }

    /// Logs a visit in the enterprise's scope. Returns the visit id.
    @discardableResult
    public func addVisit(_ input: VisitInput) throws -> UUID {
        try addVisit(input, demands: []).visit
    }

    /// Logs a visit and the demands the enterprise raised in it, all in one commit: every one is
    /// checked first, so a bad demand stores nothing, not even the visit. Returns the visit's id
    /// and the demands' numbers, in order.
    @discardableResult
    public func addVisit(_ input: VisitInput, demands: [DemandInput]) throws -> (visit: UUID, demands: [String]) {
        let visit = try checkedVisit(input)
        if input.noDemands && !demands.isEmpty {
            throw LedgerError(
                .invalidField,
                "the visit is marked as raising no demands (本次无诉求) but \(demands.count) are given; remove one or the other",
                field: .noDemands
            )
        }
        var checked: [CheckedDemand] = []
        for (index, demand) in demands.enumerated() {
            do {
                var demand = demand
                demand.enterprise = input.enterprise
                demand.visit = nil
                checked.append(try checkedDemand(demand, enterprise: visit.enterprise))
            } catch let error as LedgerError {
                var numbered = LedgerError(error.code, "demand \(index + 1): " + error.message, field: error.field)
                numbered.row = index + 1
                throw numbered
            }
        }
        var id = UUID()
        var numbers: [String] = []
        let author = try demandAuthor()
        try writeRecord(enterprise: visit.enterprise) { batch, store in
            id = batch.insert("visits", visit.values)
            numbers = try insertDemands(checked, visit: id, by: author, into: &batch, store: store).map(\.number)
        }
        return (id, numbers)
    }

    func checkedVisit(_ input: VisitInput) throws -> CheckedVisit {
        let enterprise = try enterprise(named: input.enterprise)
        try requireInService(.enterprise, enterprise, for: "new visit")
        try requireLinked(enterprise)
        let mode = try Vocabulary.check(input.mode, in: Vocabulary.visitModes, field: "mode", as: .mode)
        let date = try Vocabulary.checkDate(input.date ?? today(), field: "visit date", as: .visitDate)
        // A visit is logged once it happened; a planned one is the last visit's next visit date.
        guard date <= today() else {
            throw LedgerError(
                .invalidField,
                "the visit date \(date) is after today (\(today())); log a visit once it happened, and a planned one as the last visit's \(field: .nextVisit)",
                field: .visitDate
            )
        }
        let next = try input.nextVisit.map { value throws(LedgerError) in
            try Vocabulary.checkDate(value, field: "next visit date", as: .nextVisit)
        }
        if let next, next < date {
            throw LedgerError(
                .invalidField,
                "the next visit date \(next) is before the visit itself (\(date))",
                field: .nextVisit
            )
        }
        return CheckedVisit(
            enterprise: enterprise,
            values: [
                "enterprise_id": .id(enterprise), "cadre_id": .id(try deviceCadre()), "visit_date": .text(date),
                "participants": .optionalText(input.participants), "mode": .text(mode),
                "service_day": .integer(input.isServiceDay ? 1 : 0),
                "topics": .optionalText(input.topics), "notes": .optionalText(input.notes),
                "no_demands": .integer(input.noDemands ? 1 : 0),
                "solved_on_spot": .optionalText(input.solvedOnSpot), "next_visit_date": .optionalText(next),
            ]
        )
    }

    /// Registers a demand with its number and first event, in one commit. Returns (id, number).
    ///
    /// The number is `GT-<year>-<device code>-<nnnn>`: the device code is unique (the operator
    /// hands codes out in the registry) and the counter is this device's own, so a laptop can
    /// number a demand offline, on the spot, with no collision and no renumbering later.
    @discardableResult
    public func addDemand(_ input: DemandInput) throws -> (id: UUID, number: String) {
        let enterprise = try enterprise(named: input.enterprise)
        let demand = try checkedDemand(input, enterprise: enterprise)
        var added: [(id: UUID, number: String)] = []
        let author = try demandAuthor()
        try writeRecord(enterprise: enterprise) { batch, store in
            added = try insertDemands([demand], visit: input.visit, by: author, into: &batch, store: store)
        }
        return added[0]
    }

    func checkedDemand(_ input: DemandInput, enterprise: UUID) throws -> CheckedDemand {
        try requireInService(.enterprise, enterprise, for: "new demand")
        try requireLinked(enterprise)
        let title = input.title.trimmingCharacters(in: .whitespaces)
        guard !title.isEmpty else { throw LedgerError(.missingField, "a demand needs a title", field: .title) }
        guard !input.content.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw LedgerError(.missingField, "a demand needs its content (what the enterprise asks)", field: .content)
        }
        let type = try Vocabulary.check(input.type, in: Vocabulary.demandTypes, field: "type", as: .type)
        let category = try Vocabulary.check(input.category, in: Vocabulary.categories, field: "category", as: .category)
        let channel = try Vocabulary.check(input.channel, in: Vocabulary.channels, field: "channel", as: .channel)
        let urgency = try Vocabulary.check(input.urgency, in: Vocabulary.urgencies, field: "urgency", as: .urgency)
        if let visit = input.visit {
            let visitEnterprise = try read { try $0.enterprise(ofVisit: visit) }
            guard let visitEnterprise else {
                throw LedgerError(
                    .notFound,
                    "no visit \(visit.lowercased) is held here; list them with `fieldlog visit list`"
                )
            }
            guard visitEnterprise == enterprise else {
                throw LedgerError(
                    .invalidField,
                    "that visit was to another enterprise; name a visit to this one (\(field: .visit))"
                )
            }
        }
        return CheckedDemand(values: [
            "channel": .text(channel), "enterprise_id": .id(enterprise), "cadre_id": .id(try deviceCadre()),
            "type": .text(type), "category": .text(category), "title": .text(title),
            "content": .text(input.content), "expected": .optionalText(input.expected), "urgency": .text(urgency),
            "state": .text("DRAFT"),
        ])
    }

    /// Who registers demands from this device: the prefix of its numbers, its name and role (read
    /// before the write transaction, which cannot read through the ledger).
    func demandAuthor() throws -> (prefix: String, actor: String, role: String) {
        (
            "GT-\(today().prefix(4))-\(try deviceCode())-", try authorName(publicKey),
            try enrolledRole()?.rawValue ?? "unknown"
        )
    }

    /// Inserts checked demands raised in `visit`, numbered in turn, each with its first event.
    func insertDemands(
        _ demands: [CheckedDemand],
        visit: UUID?,
        by author: (prefix: String, actor: String, role: String),
        into batch: inout WriteBatch,
        store: LedgerStore
    ) throws -> [(id: UUID, number: String)] {
        guard !demands.isEmpty else { return [] }
        let (prefix, actor, role) = author
        // Read inside the write transaction: two `demand add` at once (six processes on one
        // laptop handed out -0003 twice and -0004 three times) now take their numbers in turn.
        let last = try store.lastDemandNumber(prefix: prefix)
        var added: [(id: UUID, number: String)] = []
        for (index, demand) in demands.enumerated() {
            let number = prefix + String(format: "%04d", last + 1 + index)
            var values = demand.values
            values["number"] = .text(number)
            values["visit_id"] = .id(visit)
            values["registered_at"] = .text(now())
            let id = batch.insert("demands", values)
            batch.insert(
                "demand_events",
                [
                    "demand_id": .id(id), "at": .text(now()), "actor_key": .text(publicKey.hex),
                    "actor_name": .text(actor),
                    "role": .text(role), "action": .text("create"), "from_state": .null, "to_state": .text("DRAFT"),
                    "comment": .text("登记诉求 \(number)"),
                ]
            )
            added.append((id, number))
        }
        return added
    }

    /// The demand with this number, id or id prefix.
    public func demand(named text: String) throws -> UUID {
        try find("demands", text, by: ["number"], what: "demand")
    }

    /// The demand that `text` names, for reading it: on a department's device, only one assigned
    /// to the department (`requireShown`). A step on a demand is judged by the workflow instead,
    /// which refuses a department's step on a demand it does not lead, naming the allowed ones.
    public func shownDemand(named text: String) throws -> UUID {
        let id = try demand(named: text)
        try requireShown(id, named: text)
        return id
    }

    /// Edits fields of a demand (see `Vocabulary.editableDemandFields`) and appends an `edit` event.
    public func editDemand(_ demand: String, fields: [String: String], comment: String? = nil) throws {
        let id = try self.demand(named: demand)
        guard !fields.isEmpty else { throw LedgerError(.missingField, "nothing to edit: give at least one field") }
        let state = try status(of: id.lowercased, profile: profile).state
        if state == .closed || state == .archived {
            throw LedgerError(
                .notPermitted,
                "demand \(demand) is \(state.chinese): its facts stay as they were when it was closed; reopen it (重办) to change them"
            )
        }
        var values: [String: Value] = [:]
        for (field, value) in fields { values[field] = try Vocabulary.demandValue(field, value) }
        try writeDemandCells(id, values, comment: comment ?? "修改 " + fields.keys.sorted().joined(separator: ", "))
    }

    /// Writes cells of a demand and an `edit` event naming them in its 流转日志, in one commit.
    func writeDemandCells(_ id: UUID, _ values: [String: Value], comment: String) throws {
        guard let (enterprise, state) = try read({ try $0.demandRow(id) }) else {
            throw LedgerError(.notFound, "demand \(id.lowercased) is deleted")
        }
        let actor = try authorName(publicKey)
        let role = try enrolledRole()?.rawValue ?? "unknown"
        try writeRecord(enterprise: enterprise) { batch in
            batch.update("demands", row: id, values)
            batch.insert(
                "demand_events",
                [
                    "demand_id": .id(id), "at": .text(now()), "actor_key": .text(publicKey.hex),
                    "actor_name": .text(actor),
                    "role": .text(role), "action": .text("edit"), "from_state": .optionalText(state),
                    "to_state": .optionalText(state),
                    "comment": .text(comment),
                ]
            )
        }
    }

    /// Resolves a conflicted cell by writing the chosen value (which supersedes every head): one of
    /// the heads as it stands (`value`), or a new text checked by the same rules as an edit (`text`;
    /// `conflicts resolve --value` once stored 十万火急 as an urgency and an empty title). A demand's
    /// resolution is an `edit` event in its 流转日志, like any edit.
    public func resolveConflict(
        table: String,
        row: UUID,
        column: String,
        value: Value? = nil,
        text: String? = nil
    ) throws {
        guard let scope = try replica.conflict(table: table, row: row, column: column)?.scope else {
            throw LedgerError(.notFound, "no open conflict on \(table).\(column) of \(row.lowercased)")
        }
        let chosen: Value
        switch (value, text) {
        case (let value?, nil): chosen = value
        case (nil, let text?): chosen = try Vocabulary.value(of: table, column, text)
        default: preconditionFailure("a conflict is resolved with a head's value or a new text, one of them")
        }
        if table == "demands" {
            try writeDemandCells(row, [column: chosen], comment: "解决冲突 \(column)")
            return
        }
        do {
            try replica.write(scope: scope, as: try key) { $0.set(table, row: row, column, chosen) }
        } catch let error as StoreError where error.code == .notEnrolled || error.code == .notAuthorized {
            throw LedgerError(.notPermitted, error.message)
        }
    }
}

/// Why this device may not change a demand's facts now.
public enum EditBlock: Sendable, Equatable {
    /// This device is not in the registry this replica holds.
    case notEnrolled
    /// This device was revoked.
    case revoked
    /// This device's role writes no demand facts (a supervisor follows, never edits).
    case roleMayNot(Role)
    /// The cadre of this device is not (or no longer) linked to the demand's enterprise.
    case notLinked
    /// Closed or archived: the facts stay as they were.
    case finished(DemandState)
}

extension Ledger {
    /// Why this device may not change the facts of `demand` now; empty when it may. The engine and
    /// `editDemand` refuse the same writes; the screens show these reasons instead of a form.
    public func editBlocks(ofDemand demand: String) throws -> [EditBlock] {
        let id = try self.demand(named: demand)
        guard let (enterprise, _) = try read({ try $0.demandRow(id) }) else { return [] }
        var blocks: [EditBlock] = []
        if !isRoot {
            switch try standing(of: publicKey) {
            case .unknown: blocks.append(.notEnrolled)
            case .revoked: blocks.append(.revoked)
            case .enrolled(let role) where !role.writableTables.contains("demands"): blocks.append(.roleMayNot(role))
            case .enrolled(.cadre):
                let cadre = try deviceCadre()
                let linked = try read { store in
                    try store.activeLinkages().contains { $0.cadre == cadre && $0.enterprise == enterprise }
                }
                if !linked { blocks.append(.notLinked) }
            case .enrolled: break
            }
        }
        let state = try status(of: id.lowercased, profile: profile).state
        if state == .closed || state == .archived { blocks.append(.finished(state)) }
        return blocks
    }

    /// How many commits touching `demand` (its row or its events) wait here because their clock is
    /// ahead of this computer's: they apply once its time reaches theirs.
    public func commitsAhead(touching demand: UUID) throws -> Int {
        let held = try replica.heldCommits(reasonCode: StoreError.Code.futureTimestamp.rawValue)
        guard !held.isEmpty else { return 0 }
        var count = 0
        for commit in held {
            let feed = FeedHead(author: commit.author.hex, scope: commit.scope, head: commit.sequence - 1)
            for record in try replica.records(after: [feed], maxCommits: 1, maxBytes: .max).records {
                if Self.records(written: try WireRecord.unverifiedCommit(record)).contains(demand) { count += 1 }
            }
        }
        return count
    }
}
