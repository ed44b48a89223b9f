import FieldCrypto
import FieldStore
import Foundation
import GRDB

/// Where a device stands in the registry this replica holds.
public enum DeviceStanding: Sendable, Equatable {
    case unknown
    case revoked
    case enrolled(Role)
}

extension Ledger {
    /// The standing of a device key in the current registry. The root key is the operator.
    public func standing(of key: PublicKey) throws -> DeviceStanding {
        if key == replica.root { return .enrolled(.operator) }
        return try read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT role, COALESCE(revoked, 0) AS revoked FROM devices WHERE id = ? AND deleted = 0",
                arguments: [Data(RegistryIDs.device(key).bytes16)]
            ) else { return .unknown }
            if row["revoked"] as Int == 1 { return .revoked }
            guard let role = Role(rawValue: row["role"] ?? "") else { return .unknown }
            return .enrolled(role)
        }
    }

    /// The scopes a device may read: the registry, and the enterprises its user may see — a
    /// cadre's linked enterprises (lead or assisting, active), a department's enterprises with a
    /// demand assigned to it (lead or co-department), everything for coordinators, supervisors
    /// and operators. Empty for an unknown or revoked device.
    public func readableScopes(of key: PublicKey) throws -> Set<String> {
        guard case .enrolled(let role) = try standing(of: key) else { return [] }
        var scopes: Set<String> = [Commit.registryScope]
        let device = Data(RegistryIDs.device(key).bytes16)
        let enterprises: [Data] = try read { db in
            switch role {
            case .coordinator, .supervisor, .operator:
                return try Data.fetchAll(db, sql: "SELECT id FROM enterprises WHERE deleted = 0")
            case .cadre:
                return try Data.fetchAll(
                    db,
                    sql: """
                        SELECT l.enterprise_id FROM linkages l JOIN devices d ON d.cadre_id = l.cadre_id
                        WHERE d.id = ? AND l.active = 1 AND l.deleted = 0
                        """,
                    arguments: [device]
                )
            case .department:
                guard let department = try Data.fetchOne(db, sql: "SELECT department_id FROM devices WHERE id = ?", arguments: [device]) else {
                    return []
                }
                let hex = UUID(bytes16: [UInt8](department)).lowercased
                // Assigned to it as lead or co-department, now or before (an assign or reassign event
                // names it), or by the columns of a demand row written that way.
                return try Data.fetchAll(
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
        }
        for enterprise in enterprises where enterprise.count == 16 {
            scopes.insert(RegistryIDs.scope(of: UUID(bytes16: [UInt8](enterprise))))
        }
        return scopes
    }
}
