import FieldCrypto
import FieldStore
import Foundation
import GRDB

extension LedgerStore {
    static let demandSelect = """
        SELECT d.id, d.number, e.name AS enterprise, e.uscc, e.township, c.name AS cadre, d.type, d.category, d.title,
               d.content, d.state, d.urgency, d.registered_at, d.channel, d.expected, d.remarks
        FROM demands d
        LEFT JOIN enterprises e ON e.id = d.enterprise_id
        LEFT JOIN cadres c ON c.id = d.cadre_id
        """

    static func demandSummary(_ row: Row) -> DemandSummary {
        DemandSummary(
            id: UUID(bytes16: [UInt8](row["id"] as Data)).lowercased,
            number: row["number"] ?? "",
            enterprise: row["enterprise"] ?? "?",
            uscc: row["uscc"],
            township: row["township"],
            cadre: row["cadre"],
            type: row["type"],
            category: row["category"],
            title: row["title"] ?? "",
            content: row["content"],
            state: row["state"],
            urgency: row["urgency"],
            registeredAt: row["registered_at"],
            channel: row["channel"],
            expected: row["expected"],
            remarks: row["remarks"]
        )
    }

    /// Live demands of an enterprise, a category, and with `text` in the title or content (each
    /// when given), by number.
    func demandSummaries(enterprise: UUID?, category: String?, text: String?) throws -> [DemandSummary] {
        var conditions = ["d.deleted = 0"]
        var arguments: [any DatabaseValueConvertible] = []
        if let enterprise {
            conditions.append("d.enterprise_id = ?")
            arguments.append(Data(enterprise.bytes16))
        }
        if let category {
            conditions.append("d.category = ?")
            arguments.append(category)
        }
        if let text {
            conditions.append("(d.title LIKE ? OR d.content LIKE ?)")
            arguments.append("%\(text)%")
            arguments.append("%\(text)%")
        }
        let sql = Self.demandSelect + " WHERE " + conditions.joined(separator: " AND ") + " ORDER BY d.number, d.id"
        return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(Self.demandSummary)
    }

    /// One demand, live or not.
    func demandSummary(_ id: UUID) throws -> DemandSummary? {
        try Row.fetchOne(db, sql: Self.demandSelect + " WHERE d.id = ?", arguments: [Data(id.bytes16)]).map(
            Self.demandSummary
        )
    }

    /// A demand's live events (workflow steps, its creation and edits), in time order, with
    /// handles left for the caller.
    func eventLog(of demand: UUID) throws -> [(id: UUID, event: DemandEvent)] {
        try Row.fetchAll(
            db,
            sql: "SELECT * FROM demand_events WHERE demand_id = ? AND deleted = 0 ORDER BY at, id",
            arguments: [Data(demand.bytes16)]
        ).map { row in
            let id = UUID(blob: row["id"] as Data) ?? UUID()
            return (
                id,
                DemandEvent(
                    id: id.lowercased,
                    handle: id.lowercased,
                    at: row["at"] ?? "",
                    actor: row["actor_name"] ?? "?",
                    role: row["role"],
                    action: row["action"] ?? "?",
                    from: row["from_state"],
                    to: row["to_state"],
                    comment: row["comment"]
                )
            )
        }
    }

    /// Live visits (of one enterprise when given), by date, with handles left for the caller.
    func visitSummaries(enterprise: UUID?) throws -> [(id: UUID, visit: VisitSummary)] {
        var sql = """
            SELECT v.id, v.visit_date, e.name AS enterprise, c.name AS cadre, v.mode, v.service_day, v.topics
            FROM visits v LEFT JOIN enterprises e ON e.id = v.enterprise_id LEFT JOIN cadres c ON c.id = v.cadre_id
            WHERE v.deleted = 0
            """
        var arguments: [any DatabaseValueConvertible] = []
        if let enterprise {
            sql += " AND v.enterprise_id = ?"
            arguments.append(Data(enterprise.bytes16))
        }
        sql += " ORDER BY v.visit_date, v.id"
        return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
            let id = UUID(bytes16: [UInt8](row["id"] as Data))
            return (
                id,
                VisitSummary(
                    id: id.lowercased,
                    handle: id.lowercased,
                    date: row["visit_date"] ?? "",
                    enterprise: row["enterprise"] ?? "?",
                    cadre: row["cadre"],
                    mode: row["mode"],
                    isServiceDay: (row["service_day"] as Int?) == 1,
                    topics: row["topics"]
                )
            )
        }
    }

    /// The live rows of a registry table for a listing, each as its non-null cells by column
    /// (`id` as a UUID); nil for a table that is not listed.
    func registryRows(_ kind: String) throws -> [[String: Value]]? {
        let sql: String
        switch kind {
        case "departments":
            sql =
                "SELECT id, name, kind, head, liaison, phone, retired_on FROM departments WHERE deleted = 0 ORDER BY name"
        case "cadres":
            sql = """
                SELECT c.id, c.name, c.title, p.name AS department, c.rank, c.mobile, c.retired_on FROM cadres c
                LEFT JOIN departments p ON p.id = c.department_id WHERE c.deleted = 0 ORDER BY c.name
                """
        case "enterprises":
            sql = """
                SELECT id, name, short_name, uscc, uscc_missing_reason, township, industry, size, is_key, contact_name, contact_phone, retired_on
                FROM enterprises WHERE deleted = 0 ORDER BY name
                """
        case "linkages":
            sql = """
                SELECT l.id, c.name AS cadre, e.name AS enterprise, l.role, l.start_date, l.end_date, l.active FROM linkages l
                LEFT JOIN cadres c ON c.id = l.cadre_id LEFT JOIN enterprises e ON e.id = l.enterprise_id
                WHERE l.deleted = 0 ORDER BY e.name, l.active DESC, c.name
                """
        case "devices":
            sql = """
                SELECT d.code, d.role, COALESCE(c.name, p.name, d.label) AS holder, d.public_key, d.enrolled_at,
                       COALESCE(d.revoked, 0) AS revoked FROM devices d
                LEFT JOIN cadres c ON c.id = d.cadre_id LEFT JOIN departments p ON p.id = d.department_id
                WHERE d.deleted = 0 ORDER BY d.code
                """
        default:
            return nil
        }
        return try Row.fetchAll(db, sql: sql).map { row in
            var out: [String: Value] = [:]
            for column in row.columnNames {
                let value = Value(databaseValue: row[column] as DatabaseValue)
                guard value != .null else { continue }
                out[column] = value
            }
            return out
        }
    }
}

extension LedgerStore {
    /// One page of live demands matching `query`, by number, and how many match in all: filtered,
    /// counted and paged in SQL over the demands and the status cache's filter columns (the cache
    /// must be complete: `Ledger.statusCacheIsComplete`). `department`: only demands ever assigned
    /// to it (a department's device); `today` and `utcOffsetMinutes` judge overdue and dates.
    func demandPage(
        _ query: DemandQuery,
        department: UUID?,
        today: Day,
        utcOffsetMinutes: Int,
        limit: Int,
        offset: Int,
        cardHorizon: Day? = nil
    ) throws -> (total: Int, rows: [DemandSummary], overdue: Int, carded: Int) {
        let (from, arguments) = demandFilter(
            query,
            department: department,
            today: today,
            utcOffsetMinutes: utcOffsetMinutes
        )
        // With a card horizon, the same pass counts the overdue and the carded (工作台's figures).
        let counts = try Row.fetchOne(
            db,
            sql:
                "SELECT COUNT(*), SUM((s.due IS NOT NULL AND s.due < ?) OR s.late = 1), SUM(s.due IS NOT NULL AND s.due <= ?)"
                + from,
            arguments: StatementArguments(
                [today.description, (cardHorizon ?? today).description] as [any DatabaseValueConvertible] + arguments
            )
        )
        let total: Int = counts?[0] ?? 0
        let overdue: Int = counts?[1] ?? 0
        let carded: Int = cardHorizon == nil ? 0 : (counts?[2] ?? 0)
        let select = """
            SELECT d.id, d.number, e.name AS enterprise, e.uscc, e.township, c.name AS cadre, d.type, d.category,
                   d.title, d.content, COALESCE(s.state, 'DRAFT') AS state, d.urgency, d.registered_at, d.channel,
                   d.expected, d.remarks
            """
        guard limit > 0 else { return (total, [], overdue, carded) }
        let order = Self.demandOrder(query)
        let rows = try Row.fetchAll(
            db,
            sql: select + from + order + " LIMIT ? OFFSET ?",
            arguments: StatementArguments(
                arguments + (query.mostUrgentFirst ? [today.description] : []) + [min(limit, Int(Int32.max)), offset]
            )
        ).map(Self.demandSummary)
        return (total, rows, overdue, carded)
    }

    /// The `FROM … WHERE …` of the demands `query` matches (see `demandPage`), and its arguments.
    func demandFilter(
        _ query: DemandQuery,
        department: UUID?,
        today: Day,
        utcOffsetMinutes: Int
    ) -> (from: String, arguments: [any DatabaseValueConvertible]) {
        var conditions = ["d.deleted = 0"]
        var arguments: [any DatabaseValueConvertible] = []
        if let department {
            conditions.append("s.assigned LIKE ?")
            arguments.append("%," + Hex.encode(department.bytes16) + ",%")
        }
        if let state = query.state {
            conditions.append("COALESCE(s.state, 'DRAFT') = ?")
            arguments.append(state.rawValue)
        }
        if let lead = query.lead {
            conditions.append("s.lead = ?")
            arguments.append(Data(lead.bytes16))
        }
        if let enterprise = query.enterprise {
            conditions.append("d.enterprise_id = ?")
            arguments.append(Data(enterprise.bytes16))
        }
        if let category = query.category {
            conditions.append("d.category = ?")
            arguments.append(category)
        }
        if let township = query.township {
            conditions.append("e.township = ?")
            arguments.append(township)
        }
        if let text = query.text {
            conditions.append("(d.title LIKE ? OR d.content LIKE ? OR d.number LIKE ?)")
            arguments += ["%\(text)%", "%\(text)%", "%\(text)%"]
        }
        if query.overdueOnly {
            conditions.append("((s.due IS NOT NULL AND s.due < ?) OR s.late = 1)")
            arguments.append(today.description)
        }
        let localDate = "date(d.registered_at, '\(utcOffsetMinutes) minutes')"
        if let from = query.from {
            conditions.append("\(localDate) >= ?")
            arguments.append(from.description)
        }
        if let to = query.to {
            conditions.append("\(localDate) <= ?")
            arguments.append(to.description)
        }
        if query.unresolvedOnly {
            let states = DemandState.allCases.filter(\.isUnresolved).map { "'\($0.rawValue)'" }
            conditions.append("COALESCE(s.state, 'DRAFT') IN (\(states.joined(separator: ",")))")
        }
        if let dueBy = query.dueBy {
            conditions.append("s.due IS NOT NULL AND s.due <= ?")
            arguments.append(dueBy.description)
        }
        if let cadre = query.cadre {
            conditions.append(
                """
                (d.cadre_id = ? OR EXISTS (SELECT 1 FROM linkages l WHERE l.enterprise_id = d.enterprise_id
                    AND l.cadre_id = ? AND l.active = 1 AND l.role = 'lead' AND l.deleted = 0))
                """
            )
            arguments += [Data(cadre.bytes16), Data(cadre.bytes16)]
        }
        for (ids, negated) in [(query.only, false), (query.excluding, true)] {
            guard let ids else { continue }
            let list = ids.map { "x'" + Hex.encode($0.bytes16) + "'" }.joined(separator: ",")
            conditions.append("d.id \(negated ? "NOT IN" : "IN") (\(list))")
        }
        let from = """
             FROM demands d
             LEFT JOIN _status_cache s ON s.demand_id = d.id
             LEFT JOIN enterprises e ON e.id = d.enterprise_id
             LEFT JOIN cadres c ON c.id = d.cadre_id
             WHERE \(conditions.joined(separator: " AND "))
            """
        return (from, arguments)
    }

    /// The ids of every live demand `query` matches, in its order (as `demandPage` pages them).
    func demandIDs(_ query: DemandQuery, today: Day, utcOffsetMinutes: Int) throws -> [UUID] {
        let (from, arguments) = demandFilter(query, department: nil, today: today, utcOffsetMinutes: utcOffsetMinutes)
        let cursor = try Data.fetchCursor(
            db,
            sql: "SELECT d.id" + from + Self.demandOrder(query),
            arguments: StatementArguments(arguments + (query.mostUrgentFirst ? [today.description] : []))
        )
        var ids: [UUID] = []
        while let blob = try cursor.next() { if let id = UUID(blob: blob) { ids.append(id) } }
        return ids
    }

    /// The `ORDER BY` of `query` (the urgent order takes today's date as its argument).
    static func demandOrder(_ query: DemandQuery) -> String {
        query.mostUrgentFirst
            ? " ORDER BY CASE WHEN (s.due IS NOT NULL AND s.due < ?) OR s.late = 1 THEN 0 ELSE 1 END, COALESCE(s.due, '9999-12-31'), d.number, d.id"
            : " ORDER BY \(query.sort.orderKey)\(query.descending ? " DESC" : ""), d.number, d.id"
    }

    /// The names of the live rows of a registry table (`departments`, `cadres`, `enterprises`), sorted.
    func liveNames(in table: String) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT name FROM \(table) WHERE deleted = 0 AND name IS NOT NULL ORDER BY name")
    }

    /// The townships and parks of the live enterprises.
    func townships() throws -> [String] {
        try String.fetchAll(
            db,
            sql:
                "SELECT DISTINCT township FROM enterprises WHERE deleted = 0 AND township IS NOT NULL AND township <> '' ORDER BY township"
        )
    }

    /// The cached statuses of `ids` (those that decode).
    func cachedStatuses(of ids: [UUID]) throws -> [UUID: DemandStatus] {
        var out: [UUID: DemandStatus] = [:]
        let statement = try db.cachedStatement(sql: "SELECT status FROM _status_cache WHERE demand_id = ?")
        for id in ids {
            if let blob = try Data.fetchOne(statement, arguments: [Data(id.bytes16)]),
                let status = StatusCodec.decode(blob)
            {
                out[id] = status
            }
        }
        return out
    }
}

extension LedgerSort {
    /// The SQL of its key over `demands d`, `_status_cache s`, `enterprises e` (QueryStore).
    var orderKey: String {
        switch self {
        case .number: return "d.number"
        case .registered: return "d.registered_at"
        case .due: return "COALESCE(s.due, '9999-12-31')"
        case .state:
            let cases = DemandState.allCases.enumerated().map { "WHEN '\($0.element.rawValue)' THEN \($0.offset)" }
            return "CASE COALESCE(s.state, 'DRAFT') \(cases.joined(separator: " ")) END"
        case .township: return "COALESCE(e.township, '')"
        case .enterprise: return "COALESCE(e.name, '')"
        case .category: return "COALESCE(d.category, '')"
        }
    }
}
