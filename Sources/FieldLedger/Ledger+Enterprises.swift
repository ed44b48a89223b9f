import FieldStore
import Foundation

/// An enterprise as a cadre's 工作台 and 企业详情 show it.
public struct EnterpriseOverview: Sendable {
    public var id: UUID
    public var name: String
    /// 主包 or 协包 for the cadre of this device; nil for other roles.
    public var role: LinkageRole?
    /// The day of the last visit this device holds, and the days since (county time).
    public var lastVisit: String?
    public var daysSinceVisit: Int?
    /// Unresolved demands of the enterprise this device shows.
    public var openDemands: Int
}

extension Ledger {
    /// The enterprises of this device's cadre (lead or assisting, active), each with its last visit
    /// and its open demands; empty for a device of another role.
    public func myEnterprises(profile: DeadlineProfile = .shandong2115) throws -> [EnterpriseOverview] {
        guard try enrolledRole() == .cadre, let cadre = try deviceCadre() else { return [] }
        let linkages = try read { store in try store.activeLinkages().filter { $0.cadre == cadre } }
        let today = localToday(profile: profile)
        let lastVisits = Dictionary(try visits().map { ($0.enterprise, $0.date) }, uniquingKeysWith: max)
        let open = Dictionary(
            grouping: try demands().filter { (DemandState(rawValue: $0.state ?? "") ?? .draft).isUnresolved },
            by: \.enterprise
        ).mapValues(\.count)
        return try linkages.compactMap { linkage in
            guard let name = try enterpriseName(linkage.enterprise) else { return nil }
            let last = lastVisits[name]
            return EnterpriseOverview(
                id: linkage.enterprise,
                name: name,
                role: LinkageRole(rawValue: linkage.role),
                lastVisit: last,
                daysSinceVisit: last.flatMap(Day.init).map { today.ordinal - $0.ordinal },
                openDemands: open[name] ?? 0
            )
        }.sorted { ($0.role == .lead ? 0 : 1, $0.name) < ($1.role == .lead ? 0 : 1, $1.name) }
    }

    /// An enterprise's registry facts as a person reads them (label, value), and its linked cadres
    /// with their roles, by name.
    public func enterpriseFacts(_ id: UUID) throws -> (facts: [(String, String)], cadres: [(String, String)])? {
        guard let row = try registryListing("enterprises").first(where: { $0["id"] == id.lowercased }) else {
            return nil
        }
        let facts = Self.registryColumns("enterprises").compactMap { column -> (String, String)? in
            guard let value = row[column.key], !value.isEmpty else { return nil }
            return (column.label, Self.registryDisplay("enterprises", column.key, value))
        }
        let cadres = try read { store in
            try store.activeLinkages().filter { $0.enterprise == id }.compactMap { linkage -> (String, String)? in
                guard let name = try store.text("cadres", linkage.cadre, "name") else { return nil }
                return (name, LinkageRole(rawValue: linkage.role)?.displayName ?? linkage.role)
            }
        }
        return (facts, cadres.sorted { $0.0 < $1.0 })
    }
}
