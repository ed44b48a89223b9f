import FieldStore
import GRDB

/// Indexes of this replica's own on replicated tables: never replicated, no part of any digest or
/// export, created on open when missing (a replica of an older build gains them).
enum LocalIndexes {
    static let all: [(name: String, sql: String)] = [
        // A demand's events: the status cache derives a demand from them, and 诉求详情 lists them.
        ("_demand_events_demand", "CREATE INDEX IF NOT EXISTS _demand_events_demand ON demand_events(demand_id)"),
        // A cadre's linkages: every signed request a cadre's device sends the hub reads the
        // scopes it may read (`readableScopes`), which was a scan of every linkage.
        ("_linkages_cadre", "CREATE INDEX IF NOT EXISTS _linkages_cadre ON linkages(cadre_id)"),
    ]

    /// The enterprises a cadre's device is linked to, active (its device's id the argument): read
    /// through `_linkages_cadre`.
    static let cadreEnterprises = """
        SELECT l.enterprise_id FROM linkages l JOIN devices d ON d.cadre_id = l.cadre_id
        WHERE d.id = ? AND l.active = 1 AND l.deleted = 0
        """
}

extension Ledger {
    /// Creates the local indexes this replica lacks.
    func installLocalIndexes() throws {
        let present = try replica.database.read { db in
            Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index'"))
        }
        let missing = LocalIndexes.all.filter { !present.contains($0.name) }
        guard !missing.isEmpty else { return }
        try replica.database.write { db in
            for index in missing { try db.execute(sql: index.sql) }
        }
    }
}
