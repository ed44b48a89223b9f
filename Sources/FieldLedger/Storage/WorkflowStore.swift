import FieldCrypto
import FieldStore
import Foundation
import GRDB

extension LedgerStore {
    /// The loaded calendar years of the registry, in year order.
    func calendarRows() throws -> [(year: Int, days: String)] {
        try CalendarRecord.fetchAll(
            db,
            sql: "SELECT year, days FROM calendars WHERE deleted = 0 AND year IS NOT NULL ORDER BY year"
        ).map { (year: $0.year, days: $0.days) }
    }

    /// The workflow events of a demand, as stored, in time order.
    func events(of demand: UUID) throws -> [WorkflowEvent] {
        try Row.fetchAll(
            db,
            sql:
                "SELECT \(DemandEventRecord.selection) FROM demand_events WHERE demand_id = ? AND deleted = 0 ORDER BY at, id",
            arguments: [Data(demand.bytes16)]
        ).compactMap(DemandEventRecord.event)
    }

    /// Every device's registry role and department, and the root key (see `WorkflowActors`).
    func workflowActors(root: PublicKey) throws -> WorkflowActors {
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

    /// Every live department's name, by id.
    func departmentNames() throws -> [UUID: String] {
        var names: [UUID: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, name FROM departments WHERE deleted = 0") {
            guard let id = (row[0] as Data?).flatMap(UUID.init(blob:)), let name = row[1] as String? else {
                continue
            }
            names[id] = name
        }
        return names
    }

    /// The enterprise a live demand belongs to.
    func enterprise(ofDemand id: UUID) throws -> UUID? {
        try Data.fetchOne(
            db,
            sql: "SELECT enterprise_id FROM demands WHERE id = ? AND deleted = 0",
            arguments: [Data(id.bytes16)]
        ).map { UUID(bytes16: [UInt8]($0)) }
    }
}
