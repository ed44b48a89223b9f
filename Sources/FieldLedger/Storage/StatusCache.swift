import FieldCrypto
import FieldStore
import Foundation
import GRDB

/// Each demand's derived status, kept beside the data so that the reports do not replay every
/// event of the county on every call (docs/performance.md, ledger queries).
///
/// The cache is local to this replica and never replicated: `_status_cache` begins with an
/// underscore, so the engine does not treat it as a replicated table. It is always a pure function
/// of what it caches:
/// - a trigger on `demand_events` deletes a demand's row whenever any of its events is inserted,
///   changed or deleted, by whatever writes it (a local action, a merge, a sync);
/// - every row was derived with one calendar and one deadline profile: `_status_cache_key` holds
///   the BLAKE2b of the codec version, the profile, the shipped calendar, the loaded calendar
///   rows and the workflow's actors (every device's role and department, which decide which
///   events count), and a different key empties the cache;
/// - missing rows are derived and stored in one write transaction, which reads the events it
///   derives from in that same transaction, so no concurrent write can leave a stale row.
enum StatusCache {
    /// Bumped whenever `DemandStatus` or its derivation changes (the key changes with it).
    static let codecVersion = "fieldlog status cache v3"

    /// Beside each status, the columns a page of demands is filtered and counted by in SQL
    /// (`QueryStore.demandPage`): the state, the lead department, every department ever assigned
    /// (`,hex,hex,`, a department's device shows those), the deadline while a reply is awaited
    /// (`due`, overdue once today is past it) and whether the reply came late (`late`).
    static let ddl = """
        CREATE TABLE IF NOT EXISTS _status_cache(
            demand_id BLOB PRIMARY KEY, status BLOB NOT NULL,
            state TEXT, lead BLOB, assigned TEXT, due TEXT, late INTEGER
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS _status_cache_key(id INTEGER PRIMARY KEY CHECK (id = 1), key TEXT NOT NULL);
        CREATE TRIGGER IF NOT EXISTS _status_cache_event_insert AFTER INSERT ON demand_events BEGIN
            DELETE FROM _status_cache WHERE demand_id = NEW.demand_id;
        END;
        CREATE TRIGGER IF NOT EXISTS _status_cache_event_update AFTER UPDATE ON demand_events BEGIN
            DELETE FROM _status_cache WHERE demand_id IN (OLD.demand_id, NEW.demand_id);
        END;
        CREATE TRIGGER IF NOT EXISTS _status_cache_event_delete AFTER DELETE ON demand_events BEGIN
            DELETE FROM _status_cache WHERE demand_id = OLD.demand_id;
        END;
        """

    /// The key of a calendar and profile (see the type's comment).
    static func key(
        calendarRows: [(year: Int, days: String)],
        profile: DeadlineProfile,
        actors: WorkflowActors
    ) throws -> String {
        let hasher = BLAKE2b.Hasher()
        hasher.update(field: codecVersion)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        hasher.update(field: String(decoding: try encoder.encode(profile), as: UTF8.self))
        for file in LedgerSchema.shippedCalendars { hasher.update(field: file) }
        for row in calendarRows {
            hasher.update(field: String(row.year))
            hasher.update(field: row.days)
        }
        hasher.update(field: actors.canonical)
        return Hex.encode(hasher.finalize())
    }
}

extension StatusCache {
    /// Whether a live demand with live events has no cache row (what a page of the demand list
    /// needs): one probe per demand, through `_demand_events_demand`.
    static let missingLiveSQL = """
        SELECT EXISTS (SELECT 1 FROM demands d WHERE d.deleted = 0
            AND NOT EXISTS (SELECT 1 FROM _status_cache c WHERE c.demand_id = d.id)
            AND EXISTS (SELECT 1 FROM demand_events e WHERE e.demand_id = d.id AND e.deleted = 0))
        """

    /// Whether a demand with live events has no cache row.
    static let missingSQL =
        "SELECT EXISTS (SELECT 1 FROM demand_events e WHERE e.deleted = 0 AND NOT EXISTS (SELECT 1 FROM _status_cache c WHERE c.demand_id = e.demand_id))"

    /// The filter columns of a status (see `ddl`).
    static func filterColumns(
        _ status: DemandStatus,
        profile: DeadlineProfile
    ) -> (state: String, lead: Data?, assigned: String, due: String?, late: Int) {
        let departments = Set(status.assignments.flatMap { [$0.lead] + $0.co }).map { Hex.encode($0.bytes16) }
        var late = 0
        if !status.awaitsReply, status.deadline != nil, let repliedAt = status.repliedAt,
            let due = status.deadlineAtReply ?? status.deadline,
            profile.localDay(repliedAt) > due
        {
            late = 1
        }
        return (
            status.state.rawValue,
            status.lead.map { Data($0.bytes16) },
            "," + departments.sorted().joined(separator: ",") + ",",
            status.awaitsReply ? status.deadline?.description : nil,
            late
        )
    }
}

extension Ledger {
    /// Creates the cache table and its triggers if this replica has none yet; a cache of a
    /// replica made before the filter columns gains them, emptied (it is derived again).
    func installStatusCache() throws {
        let (installed, hasColumns) = try replica.database.read { db in
            (
                try Bool.fetchOne(
                    db,
                    sql:
                        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = '_status_cache_event_delete')"
                ) ?? false,
                try Bool.fetchOne(
                    db,
                    sql: "SELECT EXISTS (SELECT 1 FROM pragma_table_info('_status_cache') WHERE name = 'late')"
                ) ?? false
            )
        }
        if !installed { try replica.database.write { db in try db.execute(sql: StatusCache.ddl) } }
        if installed && !hasColumns {
            try replica.database.write { db in
                for column in ["state TEXT", "lead BLOB", "assigned TEXT", "due TEXT", "late INTEGER"] {
                    try db.execute(sql: "ALTER TABLE _status_cache ADD COLUMN \(column)")
                }
                try db.execute(sql: "DELETE FROM _status_cache")
            }
        }
    }

    /// True when the cache holds a current row for every demand with live events (then a page of
    /// demands can be filtered and counted in SQL); derives what is missing when it can.
    func statusCacheIsComplete(profile: DeadlineProfile) -> Bool {
        func complete() throws -> Bool {
            try replica.database.read { db in
                let key = try StatusCache.key(
                    calendarRows: try LedgerStore(db: db).calendarRows(),
                    profile: profile,
                    actors: try LedgerStore(db: db).workflowActors(root: replica.root)
                )
                guard try String.fetchOne(db, sql: "SELECT key FROM _status_cache_key WHERE id = 1") == key else {
                    return false
                }
                return !(try Bool.fetchOne(db, sql: StatusCache.missingLiveSQL) ?? true)
            }
        }
        if (try? complete()) == true { return true }
        guard (try? cachedStatuses(profile: profile)) != nil else { return false }
        return (try? complete()) == true
    }

    /// The status of every live demand, by id: cached statuses, and the rest derived (and cached).
    func cachedStatuses(profile: DeadlineProfile) throws -> [UUID: DemandStatus] {
        // The fast path: a read of the cache, when it holds every demand that has live events.
        let hit: [UUID: DemandStatus]? = try replica.database.read { db in
            let key = try StatusCache.key(
                calendarRows: try LedgerStore(db: db).calendarRows(),
                profile: profile,
                actors: try LedgerStore(db: db).workflowActors(root: replica.root)
            )
            guard try String.fetchOne(db, sql: "SELECT key FROM _status_cache_key WHERE id = 1") == key else {
                return nil
            }
            let missing = try Bool.fetchOne(db, sql: StatusCache.missingSQL) ?? true
            guard !missing else { return nil }
            let cache = try Self.readCache(db)
            return cache.undecodable.isEmpty ? cache.statuses : nil
        }
        if let hit { return hit }
        // Derive what is missing, in one write transaction with the events it reads.
        return try replica.database.write { db in
            let rows = try LedgerStore(db: db).calendarRows()
            let actors = try LedgerStore(db: db).workflowActors(root: replica.root)
            let key = try StatusCache.key(calendarRows: rows, profile: profile, actors: actors)
            if try String.fetchOne(db, sql: "SELECT key FROM _status_cache_key WHERE id = 1") != key {
                try db.execute(sql: "DELETE FROM _status_cache")
                try db.execute(
                    sql:
                        "INSERT INTO _status_cache_key(id, key) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET key = excluded.key",
                    arguments: [key]
                )
            }
            for id in try Self.readCache(db).undecodable {
                try db.execute(sql: "DELETE FROM _status_cache WHERE demand_id = ?", arguments: [id])
            }
            let calendar = try Self.calendar(from: rows)
            let derived = try LedgerStore(db: db).deriveStatuses(
                calendar: calendar,
                profile: profile,
                actors: actors,
                where: "AND demand_id NOT IN (SELECT demand_id FROM _status_cache)"
            )
            let insert = try db.cachedStatement(
                sql:
                    "INSERT OR REPLACE INTO _status_cache(demand_id, status, state, lead, assigned, due, late) VALUES (?, ?, ?, ?, ?, ?, ?)"
            )
            for (demand, status) in derived {
                let columns = StatusCache.filterColumns(status, profile: profile)
                try insert.execute(arguments: [
                    Data(demand.bytes16), Data(StatusCodec.encode(status)), columns.state, columns.lead,
                    columns.assigned, columns.due, columns.late,
                ])
            }
            return try Self.readCache(db).statuses
        }
    }

    /// Every cached status, and the ids of rows that do not decode (they are derived again).
    static func readCache(_ db: Database) throws -> (statuses: [UUID: DemandStatus], undecodable: [Data]) {
        var statuses: [UUID: DemandStatus] = [:]
        var undecodable: [Data] = []
        let rows = try Row.fetchCursor(db, sql: "SELECT demand_id, status FROM _status_cache")
        while let row = try rows.next() {
            let id: Data = row[0]
            guard let demand = UUID(blob: id), let blob = row[1] as Data?, let status = StatusCodec.decode(blob) else {
                undecodable.append(id)
                continue
            }
            statuses[demand] = status
        }
        return (statuses, undecodable)
    }

}

/// A compact binary form of `DemandStatus`: fixed order, big-endian integers, length-prefixed
/// strings, a presence byte before every optional. Only this replica reads it back.
enum StatusCodec {
    static func encode(_ status: DemandStatus) -> [UInt8] {
        var out = Writer()
        out.string(status.state.rawValue)
        out.optionalUUID(status.tip)
        out.optionalInt(status.submittedAt)
        out.int(Int64(status.assignments.count))
        for assignment in status.assignments {
            out.uuid(assignment.lead)
            out.uuids(assignment.co)
            out.int(assignment.assignedAt)
            out.day(assignment.signDeadline)
            out.int(assignment.contactDeadline)
            out.optionalInt(assignment.signedAt)
            out.bool(assignment.isReassignment)
            out.bool(assignment.returned)
        }
        out.optionalInt(status.firstContactAt)
        out.optionalDay(status.handlingStart)
        out.optionalDay(status.deadline)
        out.optionalDay(status.extendedTo)
        out.bool(status.deadlineIsProvisional)
        out.optionalDay(status.pendingExtension)
        out.optionalInt(status.repliedAt)
        out.optionalDay(status.deadlineAtReply)
        out.optionalString(status.outcome)
        out.optionalString(status.reply)
        out.optionalInt(status.closedAt)
        out.optionalInt(status.followUpAt)
        out.optionalBool(status.resolved)
        out.optionalString(status.satisfaction)
        out.int(Int64(status.followUps.count))
        for followUp in status.followUps {
            out.int(followUp.at)
            out.bool(followUp.reopened)
            out.optionalBool(followUp.resolved)
            out.optionalString(followUp.satisfaction)
        }
        out.int(Int64(status.returns))
        out.uuids(status.returningDepartments)
        out.int(Int64(status.reopenings))
        out.uuids(status.noReturnLeads)
        out.optionalString(status.milestones)
        out.optionalString(status.lastProgress)
        out.optionalInt(status.lastActivityAt)
        out.int(Int64(status.conflicts.count))
        for fork in status.conflicts { out.uuids(fork) }
        out.uuids(status.disregarded)
        return out.bytes
    }

    /// The status, or nil if the bytes are not one (the cache row is then derived again).
    static func decode(_ data: Data) -> DemandStatus? {
        data.withUnsafeBytes { buffer -> DemandStatus? in
            var input = Reader(bytes: buffer)
            return try? input.status()
        }
    }

    struct Writer {
        var bytes: [UInt8] = []

        mutating func int(_ value: Int64) {
            withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
        }
        mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }
        mutating func day(_ value: Day) { int(Int64(value.ordinal)) }
        mutating func uuid(_ value: UUID) { withUnsafeBytes(of: value.uuid) { bytes.append(contentsOf: $0) } }
        mutating func uuids(_ values: [UUID]) {
            int(Int64(values.count))
            for value in values { uuid(value) }
        }
        mutating func string(_ value: String) {
            int(Int64(value.utf8.count))
            bytes.append(contentsOf: value.utf8)
        }
        mutating func optionalInt(_ value: Int64?) {
            bool(value != nil)
            if let value { int(value) }
        }
        mutating func optionalDay(_ value: Day?) {
            bool(value != nil)
            if let value { day(value) }
        }
        mutating func optionalUUID(_ value: UUID?) {
            bool(value != nil)
            if let value { uuid(value) }
        }
        mutating func optionalString(_ value: String?) {
            bool(value != nil)
            if let value { string(value) }
        }
        mutating func optionalBool(_ value: Bool?) {
            bool(value != nil)
            if let value { bool(value) }
        }
    }

    struct Malformed: Error {}

    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        mutating func take(_ count: Int) throws(Malformed) -> UnsafeRawBufferPointer {
            guard count >= 0, count <= bytes.count - offset else { throw Malformed() }
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        }
        mutating func int() throws(Malformed) -> Int64 { Int64(bigEndian: try take(8).loadUnaligned(as: Int64.self)) }
        mutating func count() throws(Malformed) -> Int {
            let value = try int()
            guard (0...1_000_000).contains(value) else { throw Malformed() }
            return Int(value)
        }
        mutating func bool() throws(Malformed) -> Bool {
            switch try take(1)[0] {
            case 0: false
            case 1: true
            default: throw Malformed()
            }
        }
        mutating func day() throws(Malformed) -> Day { Day(ordinal: Int(try int())) }
        mutating func uuid() throws(Malformed) -> UUID { UUID(uuid: try take(16).loadUnaligned(as: uuid_t.self)) }
        mutating func uuids() throws(Malformed) -> [UUID] {
            var values: [UUID] = []
            for _ in 0..<(try count()) { values.append(try uuid()) }
            return values
        }
        mutating func string() throws(Malformed) -> String { String(decoding: try take(try count()), as: UTF8.self) }
        mutating func optional<T>(_ read: (inout Reader) throws(Malformed) -> T) throws(Malformed) -> T? {
            try bool() ? try read(&self) : nil
        }

        mutating func status() throws(Malformed) -> DemandStatus {
            var status = DemandStatus()
            guard let state = DemandState(rawValue: try string()) else { throw Malformed() }
            status.state = state
            status.tip = try optional { r throws(Malformed) in try r.uuid() }
            status.submittedAt = try optional { r throws(Malformed) in try r.int() }
            for _ in 0..<(try count()) {
                let lead = try uuid()
                let co = try uuids()
                let assignedAt = try int()
                let signDeadline = try day()
                let contactDeadline = try int()
                let signedAt = try optional { r throws(Malformed) in try r.int() }
                let isReassignment = try bool()
                let returned = try bool()
                status.assignments.append(
                    Assignment(
                        lead: lead,
                        co: co,
                        assignedAt: assignedAt,
                        signDeadline: signDeadline,
                        contactDeadline: contactDeadline,
                        signedAt: signedAt,
                        isReassignment: isReassignment,
                        returned: returned
                    )
                )
            }
            status.firstContactAt = try optional { r throws(Malformed) in try r.int() }
            status.handlingStart = try optional { r throws(Malformed) in try r.day() }
            status.deadline = try optional { r throws(Malformed) in try r.day() }
            status.extendedTo = try optional { r throws(Malformed) in try r.day() }
            status.deadlineIsProvisional = try bool()
            status.pendingExtension = try optional { r throws(Malformed) in try r.day() }
            status.repliedAt = try optional { r throws(Malformed) in try r.int() }
            status.deadlineAtReply = try optional { r throws(Malformed) in try r.day() }
            status.outcome = try optional { r throws(Malformed) in try r.string() }
            status.reply = try optional { r throws(Malformed) in try r.string() }
            status.closedAt = try optional { r throws(Malformed) in try r.int() }
            status.followUpAt = try optional { r throws(Malformed) in try r.int() }
            status.resolved = try optional { r throws(Malformed) in try r.bool() }
            status.satisfaction = try optional { r throws(Malformed) in try r.string() }
            for _ in 0..<(try count()) {
                let at = try int()
                let reopened = try bool()
                let resolved = try optional { r throws(Malformed) in try r.bool() }
                let satisfaction = try optional { r throws(Malformed) in try r.string() }
                status.followUps.append(
                    FollowUp(at: at, reopened: reopened, resolved: resolved, satisfaction: satisfaction)
                )
            }
            status.returns = try count()
            status.returningDepartments = try uuids()
            status.reopenings = try count()
            status.noReturnLeads = try uuids()
            status.milestones = try optional { r throws(Malformed) in try r.string() }
            status.lastProgress = try optional { r throws(Malformed) in try r.string() }
            status.lastActivityAt = try optional { r throws(Malformed) in try r.int() }
            for _ in 0..<(try count()) { status.conflicts.append(try uuids()) }
            status.disregarded = try uuids()
            guard offset == bytes.count else { throw Malformed() }
            return status
        }
    }
}

extension LedgerStore {
    /// Derives the status of every demand with live events matching `filter` (SQL after the
    /// `WHERE deleted = 0` of `demand_events`), in one pass in demand order.
    func deriveStatuses(
        calendar: WorkCalendar,
        profile: DeadlineProfile,
        actors: WorkflowActors,
        where filter: String = ""
    ) throws -> [UUID: DemandStatus] {
        var statuses: [UUID: DemandStatus] = [:]
        let rows = try Row.fetchCursor(
            db,
            sql:
                "SELECT \(DemandEventRecord.selection) FROM demand_events WHERE deleted = 0 \(filter) ORDER BY demand_id"
        )
        var events: [WorkflowEvent] = []
        func flush() {
            guard let demand = events.first?.demand else { return }
            statuses[demand] = Workflow.derive(events, calendar: calendar, profile: profile, actors: actors)
            events.removeAll(keepingCapacity: true)
        }
        while let row = try rows.next() {
            guard let event = DemandEventRecord.event(row) else { continue }
            if let current = events.first?.demand, current != event.demand { flush() }
            events.append(event)
        }
        flush()
        return statuses
    }
}
