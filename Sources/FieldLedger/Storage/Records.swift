import FieldStore
import Foundation
import GRDB

/// A row of `devices`, with its holder's name when read with `DeviceRecord.withHolder`.
struct DeviceRecord: FetchableRecord, Sendable {
    enum Columns {
        static let id = Column("id")
        static let publicKey = Column("public_key")
        static let code = Column("code")
        static let role = Column("role")
        static let cadre = Column("cadre_id")
        static let department = Column("department_id")
        static let label = Column("label")
        static let revoked = Column("revoked")
        static let deleted = Column("deleted")
        /// Read with `withHolder`: the names of the cadre and department the device belongs to.
        static let cadreName = Column("cadre_name")
        static let departmentName = Column("department_name")
    }

    var id: UUID?
    var publicKey: String?
    var code: String?
    var roleText: String?
    var cadre: UUID?
    var department: UUID?
    var label: String?
    var revoked: Bool
    var deleted: Bool
    var cadreName: String?
    var departmentName: String?

    init(row: Row) {
        id = (row[Columns.id] as Data?).flatMap(UUID.init(blob:))
        publicKey = row[Columns.publicKey]
        code = row[Columns.code]
        roleText = row[Columns.role]
        cadre = (row[Columns.cadre] as Data?).flatMap(UUID.init(blob:))
        department = (row[Columns.department] as Data?).flatMap(UUID.init(blob:))
        label = row[Columns.label]
        revoked = (row[Columns.revoked] as Int?) == 1
        deleted = (row[Columns.deleted] as Int?) == 1
        cadreName = row.hasColumn("cadre_name") ? row[Columns.cadreName] : nil
        departmentName = row.hasColumn("department_name") ? row[Columns.departmentName] : nil
    }

    /// Every column of `devices d`, with the holder's names from `cadres c` and `departments p`.
    static let withHolder = """
        SELECT d.*, c.name AS cadre_name, p.name AS department_name FROM devices d
        LEFT JOIN cadres c ON c.id = d.cadre_id LEFT JOIN departments p ON p.id = d.department_id
        """

    var role: Role? { roleText.flatMap(Role.init(rawValue:)) }
    /// Who holds it, as the registry names them: the cadre, else the department, else its label.
    var holder: String? { cadreName ?? departmentName ?? label }
    /// In the registry and not revoked.
    var isLive: Bool { !deleted && !revoked }
}

/// A row of `demand_events`, read into a `WorkflowEvent`.
///
/// The reports read tens of thousands of events, so a row is read by position: `selection` lists
/// the columns in the order `event(_:)` reads them, here and nowhere else.
enum DemandEventRecord {
    enum Columns {
        static let id = Column("id")
        static let demand = Column("demand_id")
        static let parent = Column("parent_id")
        static let at = Column("at")
        static let actorKey = Column("actor_key")
        static let actorName = Column("actor_name")
        static let role = Column("role")
        static let action = Column("action")
        static let from = Column("from_state")
        static let to = Column("to_state")
        static let comment = Column("comment")
        static let data = Column("data")
        static let deleted = Column("deleted")
    }

    /// The columns `event(_:)` reads, in its order.
    static let columns: [Column] = [
        Columns.id, Columns.demand, Columns.parent, Columns.at, Columns.actorKey, Columns.actorName, Columns.role,
        Columns.action, Columns.from, Columns.to, Columns.comment, Columns.data,
    ]
    static let selection = columns.map(\.name).joined(separator: ", ")

    /// An event from a row of `selection`; nil for a row without a valid id, demand or time.
    static func event(_ row: Row) -> WorkflowEvent? {
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
}

/// A row of `calendars`: one loaded year of working days.
struct CalendarRecord: FetchableRecord, Sendable {
    enum Columns {
        static let year = Column("year")
        static let days = Column("days")
    }

    var year: Int
    var days: String

    init(row: Row) {
        year = row[Columns.year]
        days = row[Columns.days] ?? ""
    }
}

/// A row of `linkages`: a cadre linked to an enterprise, as lead (主包) or assisting (协包).
struct LinkageRecord: FetchableRecord, Sendable {
    enum Columns {
        static let cadre = Column("cadre_id")
        static let enterprise = Column("enterprise_id")
        static let role = Column("role")
        static let active = Column("active")
    }

    var cadre: UUID
    var enterprise: UUID
    var role: String
    var active: Bool

    init(row: Row) {
        cadre = UUID(bytes16: [UInt8](row[Columns.cadre] as Data))
        enterprise = UUID(bytes16: [UInt8](row[Columns.enterprise] as Data))
        role = row[Columns.role] ?? ""
        active = (row[Columns.active] as Int?) == 1
    }
}
