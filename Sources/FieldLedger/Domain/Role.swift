/// What an enrolled device may do.
public enum Role: String, Sendable, Codable, CaseIterable {
    /// A leading cadre (包联领导): visits and demands of the enterprises linked to them.
    case cadre
    /// A lead or co-department user: the demands assigned to the department.
    case department
    /// The county coordinator (转办): takes in, assigns and settles demands everywhere.
    case coordinator
    /// A supervisor (督查): reads everything, records supervision events.
    case supervisor
    /// A hub operator: everything the coordinator may, plus running the hub.
    case `operator`
    /// A process of the county hub on a shared store (`hub serve --store`): its key signs that
    /// process's responses, and devices believe them because the registry lists it. It writes
    /// nothing and reads only the registry as a device; revoking it revokes that one host.
    case hub
    /// A city or province hub federating this county (`hub serve --federate`): it reads every
    /// enterprise, like a supervisor, to verify and follow the county from above, and writes
    /// nothing. The county's operator enrolls it, and revoking it stops its pulls.
    case federation

    /// The enterprise-scope tables this role may write.
    var writableTables: Set<String> {
        switch self {
        case .cadre: ["visits", "demands", "demand_events"]
        case .department: ["demands", "demand_events"]
        case .coordinator, .operator: ["visits", "demands", "demand_events"]
        case .supervisor: ["demand_events"]
        case .hub, .federation: []
        }
    }

    /// The name shown to users.
    public var displayName: String {
        switch self {
        case .cadre: "包联干部"
        case .department: "责任单位"
        case .coordinator: "转办协调"
        case .supervisor: "督查"
        case .operator: "运维"
        case .hub: "县枢纽进程"
        case .federation: "上级汇聚枢纽"
        }
    }
}
