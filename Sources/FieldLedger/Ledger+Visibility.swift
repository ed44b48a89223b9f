import FieldCrypto
import FieldStore
import Foundation

/// What a department's device shows.
///
/// Commits travel by enterprise scope (docs/sync-protocol.md), so a department's device holds every
/// record of an enterprise where one demand was assigned to it: the cadre's drafts, the visits,
/// other departments' demands. It shows only the demands assigned to its own department, as lead
/// or co-department, now or earlier (a department a demand was taken from still sees what it did),
/// and the visits they were raised in: a department learns of a demand when the coordinator
/// assigns it, not because it sits in the same enterprise. This is what the device lists, names
/// and exports; the commits themselves are on its disk, like any replica's (docs/threat-model.md).
/// Every other role shows all it holds.
extension Ledger {
    /// This device's department, when it is enrolled as a department's device.
    func ownDepartment() throws -> UUID? {
        guard !isRoot else { return nil }
        guard let device = try read({ try $0.device(publicKey) }), device.isLive, device.role == .department else {
            return nil
        }
        return device.department
    }

    /// Whether a demand with this status was ever assigned to `department`, as lead or co-department.
    static func isAssigned(_ status: DemandStatus, to department: UUID) -> Bool {
        status.assignments.contains { $0.lead == department || $0.co.contains(department) }
    }

    /// The demands this device shows, from every demand's status; nil when it shows all it holds.
    public func shownDemands(profile: DeadlineProfile = .shandong2115) throws -> Set<UUID>? {
        guard try ownDepartment() != nil else { return nil }
        return try shownDemands(among: try allStatuses(profile: profile))
    }

    /// The demands of `statuses` this device shows (for callers that read every status already).
    func shownDemands(among statuses: [UUID: DemandStatus]) throws -> Set<UUID>? {
        guard let department = try ownDepartment() else { return nil }
        return Set(statuses.filter { Self.isAssigned($0.value, to: department) }.keys)
    }

    /// Refuses a demand this device does not show (see above), naming the department.
    func requireShown(_ demand: UUID, named text: String) throws {
        guard let department = try ownDepartment() else { return }
        let status = Workflow.derive(
            try workflowEvents(of: demand),
            calendar: try calendar(),
            profile: .shandong2115,
            actors: try workflowActors()
        )
        guard Self.isAssigned(status, to: department) else {
            throw LedgerError(
                .notFound,
                "demand \(text) is not assigned to \(try departmentName(department)): a department sees the demands the coordinator assigns to it"
            )
        }
    }

    /// The demands this device shows and the visits they came from, read once for a listing;
    /// nil when it shows all it holds.
    public func shownRecords(profile: DeadlineProfile = .shandong2115) throws -> ShownRecords? {
        guard let demands = try shownDemands(profile: profile) else { return nil }
        return ShownRecords(demands: demands, visits: try visitsOf(demands))
    }

    /// Whether this device shows the row of `table` (a demand, a visit or an event of a demand).
    public func isShown(table: String, row: UUID, among shown: ShownRecords?) throws -> Bool {
        guard let shown else { return true }
        switch table {
        case "demands": return shown.demands.contains(row)
        case "demand_events":
            return try read({ try $0.demand(ofEvent: row) }).map(shown.demands.contains) ?? false
        case "visits": return shown.visits.contains(row)
        default: return true
        }
    }

    /// The visits the `shown` demands were raised in.
    func visitsOf(_ shown: Set<UUID>) throws -> Set<UUID> {
        Set(try read { try $0.demandVisits() }.filter { shown.contains($0.demand) }.map(\.visit))
    }
}

/// What a department's device shows (`Ledger.shownRecords`).
public struct ShownRecords: Sendable {
    public var demands: Set<UUID>
    public var visits: Set<UUID>
}
