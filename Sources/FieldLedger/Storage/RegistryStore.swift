import FieldCrypto
import FieldStore
import Foundation
import GRDB

extension LedgerStore {
    /// The registry's row of a device key (revoked or deleted ones too), with its holder's names.
    func device(_ key: PublicKey) throws -> DeviceRecord? {
        try DeviceRecord.fetchOne(
            db,
            sql: DeviceRecord.withHolder + " WHERE d.id = ?",
            arguments: [Data(RegistryIDs.device(key).bytes16)]
        )
    }

    /// Every device row in the registry, with its holder's names, by device code.
    func liveDevices() throws -> [DeviceRecord] {
        try DeviceRecord.fetchAll(db, sql: DeviceRecord.withHolder + " WHERE d.deleted = 0 ORDER BY d.code")
    }

    /// The public keys of a cadre's live devices.
    func deviceKeys(ofCadre cadre: UUID) throws -> [String] {
        try String.fetchAll(
            db,
            sql: "SELECT public_key FROM devices WHERE cadre_id = ? AND deleted = 0",
            arguments: [Data(cadre.bytes16)]
        )
    }

    /// How many devices the registry has ever held (for the next device code).
    func deviceCount() throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM devices") ?? 0
    }

    /// Whether the linkage row `id` is live and active.
    func isActiveLinkage(_ id: UUID) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: "SELECT active = 1 FROM linkages WHERE id = ? AND deleted = 0",
            arguments: [Data(id.bytes16)]
        ) ?? false
    }

    /// Every live, active linkage.
    func activeLinkages() throws -> [LinkageRecord] {
        try LinkageRecord.fetchAll(
            db,
            sql: "SELECT cadre_id, enterprise_id, role, active FROM linkages WHERE deleted = 0 AND active = 1"
        )
    }

    /// The cells of a row of `table`, live or not, by column; nil when there is no such row.
    func cells(_ table: String, _ id: UUID) throws -> [String: Value]? {
        try Row.fetchOne(db, sql: "SELECT * FROM \"\(table)\" WHERE id = ?", arguments: [Data(id.bytes16)]).map {
            row in
            var cells: [String: Value] = [:]
            // Columns beginning with `_` are the engine's (the row's merge state), not cells.
            for column in row.columnNames where !column.hasPrefix("_") {
                cells[column] = Value(databaseValue: row[column] as DatabaseValue)
            }
            return cells
        }
    }

    /// A visit's enterprise name and date (for naming it), live or not.
    func visitAbout(_ id: UUID) throws -> (enterprise: String?, date: String?)? {
        try Row.fetchOne(
            db,
            sql:
                "SELECT e.name AS enterprise, v.visit_date FROM visits v LEFT JOIN enterprises e ON e.id = v.enterprise_id WHERE v.id = ?",
            arguments: [Data(id.bytes16)]
        ).map { (enterprise: $0["enterprise"], date: $0["visit_date"]) }
    }

    /// The enterprise of a live visit.
    func enterprise(ofVisit id: UUID) throws -> UUID? {
        try Data.fetchOne(
            db,
            sql: "SELECT enterprise_id FROM visits WHERE id = ? AND deleted = 0",
            arguments: [Data(id.bytes16)]
        ).map { UUID(bytes16: [UInt8]($0)) }
    }

    /// The enterprise and stored state of a live demand.
    func demandRow(_ id: UUID) throws -> (enterprise: UUID, state: String?)? {
        try Row.fetchOne(
            db,
            sql: "SELECT enterprise_id, state FROM demands WHERE id = ? AND deleted = 0",
            arguments: [Data(id.bytes16)]
        ).map { (enterprise: UUID(bytes16: [UInt8]($0["enterprise_id"] as Data)), state: $0["state"]) }
    }

    /// The demand an event row belongs to, live or not.
    func demand(ofEvent id: UUID) throws -> UUID? {
        try Data.fetchOne(db, sql: "SELECT demand_id FROM demand_events WHERE id = ?", arguments: [Data(id.bytes16)])
            .flatMap(UUID.init(blob:))
    }

    /// The visit each live demand raised in one came from, by demand.
    func demandVisits() throws -> [(demand: UUID, visit: UUID)] {
        var out: [(demand: UUID, visit: UUID)] = []
        let rows = try Row.fetchCursor(
            db,
            sql: "SELECT id, visit_id FROM demands WHERE visit_id IS NOT NULL AND deleted = 0"
        )
        while let row = try rows.next() {
            guard let demand = (row[0] as Data?).flatMap(UUID.init(blob:)),
                let visit = (row[1] as Data?).flatMap(UUID.init(blob:))
            else { continue }
            out.append((demand, visit))
        }
        return out
    }

    /// The highest sequence among demand numbers with this prefix (`GT-2026-D001-`), compared as
    /// numbers, so that 10000 follows 9999.
    func lastDemandNumber(prefix: String) throws -> Int {
        try Int.fetchOne(
            db,
            sql: "SELECT MAX(CAST(substr(number, ?) AS INTEGER)) FROM demands WHERE substr(number, 1, ?) = ?",
            arguments: [prefix.count + 1, prefix.count, prefix]
        ) ?? 0
    }

    /// The standing of a device key in the registry; the root key is the operator.
    func standing(of key: PublicKey, root: PublicKey) throws -> DeviceStanding {
        if key == root { return .enrolled(.operator) }
        guard
            let row = try Row.fetchOne(
                db,
                sql: "SELECT role, COALESCE(revoked, 0) AS revoked FROM devices WHERE id = ? AND deleted = 0",
                arguments: [Data(RegistryIDs.device(key).bytes16)]
            )
        else { return .unknown }
        if row["revoked"] as Int == 1 { return .revoked }
        guard let role = Role(rawValue: row["role"] ?? "") else { return .unknown }
        return .enrolled(role)
    }

    /// The scopes a device of this standing may read (see `Ledger.readableScopes(of:)`).
    func readableScopes(of key: PublicKey, standing: DeviceStanding) throws -> Set<String> {
        guard case .enrolled(let role) = standing else { return [] }
        var scopes: Set<String> = [Commit.registryScope]
        let device = Data(RegistryIDs.device(key).bytes16)
        let enterprises: [Data]
        switch role {
        case .coordinator, .supervisor, .operator, .federation:
            enterprises = try Data.fetchAll(db, sql: "SELECT id FROM enterprises WHERE deleted = 0")
        case .cadre:
            enterprises = try Data.fetchAll(db, sql: LocalIndexes.cadreEnterprises, arguments: [device])
        case .hub:
            // A hub process's key signs answers; as a device it reads the registry alone.
            return scopes
        case .department:
            guard
                let department = try Data.fetchOne(
                    db,
                    sql: "SELECT department_id FROM devices WHERE id = ?",
                    arguments: [device]
                )
            else {
                return scopes
            }
            let hex = UUID(bytes16: [UInt8](department)).lowercased
            // Assigned to it as lead or co-department, now or before (an assign or reassign event
            // names it), or by the columns of a demand row written that way.
            enterprises = try Data.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT d.enterprise_id FROM demand_events e JOIN demands d ON d.id = e.demand_id
                    WHERE e.deleted = 0 AND d.deleted = 0 AND e.action IN ('assign', 'reassign') AND e.data LIKE ?
                    UNION
                    SELECT DISTINCT enterprise_id FROM demands WHERE deleted = 0 AND (lead_department_id = ? OR co_department_ids LIKE ?)
                    """,
                arguments: ["%\(hex)%", department, "%\(hex)%"]
            )
        }
        for enterprise in enterprises where enterprise.count == 16 {
            scopes.insert(RegistryIDs.scope(of: UUID(bytes16: [UInt8](enterprise))))
        }
        return scopes
    }
}
