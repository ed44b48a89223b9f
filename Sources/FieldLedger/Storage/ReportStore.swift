import FieldCrypto
import FieldStore
import Foundation
import GRDB

extension LedgerStore {
    /// Every live demand's facts for the ledger and reports, with its enterprise, the registering
    /// cadre and the enterprise's lead cadre; only the `shown` ones when a set is given.
    func demandFacts(
        statuses: [UUID: DemandStatus],
        shown: Set<UUID>?,
        profile: DeadlineProfile,
        only ids: [UUID]? = nil
    ) throws -> [DemandFacts] {
        // The active lead cadre of each enterprise (the first by name if the registry held two).
        var leads: [Data: String] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT l.enterprise_id, c.name FROM linkages l JOIN cadres c ON c.id = l.cadre_id
                WHERE l.active = 1 AND l.role = 'lead' AND l.deleted = 0 ORDER BY c.name DESC
                """
        ) {
            leads[row["enterprise_id"]] = row["name"]
        }
        // The enterprises and cadres once each (a county has tens of thousands of demands and
        // a few thousand enterprises), then the demands by cursor, read by position.
        var enterprises: [Data: (name: String?, uscc: String?, township: String?, contact: String?, phone: String?)] =
            [:]
        let enterpriseRows = try Row.fetchCursor(
            db,
            sql: "SELECT id, name, uscc, township, contact_name, contact_phone FROM enterprises"
        )
        while let row = try enterpriseRows.next() { enterprises[row[0]] = (row[1], row[2], row[3], row[4], row[5]) }
        var cadres: [Data: String] = [:]
        let cadreRows = try Row.fetchCursor(db, sql: "SELECT id, name FROM cadres")
        while let row = try cadreRows.next() { cadres[row[0]] = row[1] }
        var facts: [DemandFacts] = []
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT id, enterprise_id, cadre_id, number, registered_at, channel, type, category, title, content, remarks
                FROM demands WHERE deleted = 0\(ids.map { " AND id IN (" + $0.map { "x'" + Hex.encode($0.bytes16) + "'" }.joined(separator: ",") + ")" } ?? "")
                ORDER BY number, id
                """
        )
        while let row = try rows.next() {
            guard let id = (row[0] as Data?).flatMap(UUID.init(blob:)), shown.map({ $0.contains(id) }) ?? true
            else { continue }
            let enterpriseID = row[1] as Data?
            let enterprise = enterpriseID.flatMap { enterprises[$0] }
            facts.append(
                DemandFacts(
                    id: id,
                    number: row[3] ?? id.lowercased,
                    registered: (row[4] as String?).flatMap(ISOTime.parse).map(profile.localDay),
                    channel: row[5],
                    enterprise: enterprise?.name,
                    uscc: enterprise?.uscc,
                    township: enterprise?.township,
                    type: row[6],
                    category: row[7],
                    title: row[8],
                    content: row[9],
                    remarks: row[10],
                    registeringCadre: (row[2] as Data?).flatMap { cadres[$0] },
                    leadCadre: enterpriseID.flatMap { leads[$0] },
                    contactName: enterprise?.contact,
                    contactPhone: enterprise?.phone,
                    status: statuses[id] ?? DemandStatus()
                )
            )
        }
        return facts

    }

    /// For the 月调度 report: every live cadre by name, and per cadre id the enterprises linked to
    /// them, their visits in `month`, and the linked enterprises they visited in it.
    func cadreActivity(in month: Period) throws -> ([(Data, String)], [Data: Int], [Data: Int], [Data: Int]) {
        func counts(_ sql: String, _ arguments: StatementArguments = []) throws -> [Data: Int] {
            var counts: [Data: Int] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                if let id = row[0] as Data? { counts[id] = row[1] }
            }
            return counts
        }
        let window: StatementArguments = [month.from.description, month.to.description]
        return (
            try Row.fetchAll(db, sql: "SELECT id, name FROM cadres WHERE deleted = 0 ORDER BY name").map {
                ($0[0] as Data, ($0[1] as String?) ?? "?")
            },
            try counts(
                "SELECT cadre_id, COUNT(DISTINCT enterprise_id) FROM linkages WHERE active = 1 AND deleted = 0 GROUP BY cadre_id"
            ),
            try counts(
                "SELECT cadre_id, COUNT(*) FROM visits WHERE deleted = 0 AND visit_date BETWEEN ? AND ? GROUP BY cadre_id",
                window
            ),
            try counts(
                """
                SELECT v.cadre_id, COUNT(DISTINCT v.enterprise_id) FROM visits v
                JOIN linkages l ON l.enterprise_id = v.enterprise_id AND l.cadre_id = v.cadre_id AND l.active = 1 AND l.deleted = 0
                WHERE v.deleted = 0 AND v.visit_date BETWEEN ? AND ? GROUP BY v.cadre_id
                """,
                window
            )
        )

    }
}
