import FieldCrypto
import FieldStore
import Foundation
import Synchronization
import Testing

@testable import FieldLedger

/// A settable clock shared by the replicas of a test (Unix milliseconds).
final class TestClock: Sendable {
    let value: Mutex<UInt64>

    init(_ local: String, profile: DeadlineProfile = .shandong2115) {
        let parts = local.split(separator: " ")
        let clock = parts[1].split(separator: ":").map { Int($0)! }
        value = Mutex(UInt64(profile.instant(Day(parts[0])!, minute: clock[0] * 60 + clock[1])))
    }

    /// Every reading is a millisecond after the last, so that events taken "at the same time" in a
    /// test still have distinct, ordered times.
    var now: UInt64 {
        value.withLock {
            $0 += 1
            return $0
        }
    }

    /// Moves to a county-local time ("2025-09-26 09:00").
    func set(_ local: String, profile: DeadlineProfile = .shandong2115) {
        let parts = local.split(separator: " ")
        let clock = parts[1].split(separator: ":").map { Int($0)! }
        value.withLock { $0 = UInt64(profile.instant(Day(parts[0])!, minute: clock[0] * 60 + clock[1])) }
    }

    func advance(minutes: Int) { value.withLock { $0 += UInt64(minutes) * 60_000 } }
}

/// A county where every actor's device writes into one shared replica (the workflow is judged the
/// same way on any replica), with a clock the test moves.
struct WorkflowCounty {
    let root: SigningKey
    let clock: TestClock
    let replica: Replica
    let operatorLedger: Ledger
    let coordinator: Ledger
    let cadre: Ledger
    /// Devices of 县市场监管局, 县行政审批局 and 县住房城乡建设局.
    let market: Ledger
    let approval: Ledger
    let housing: Ledger
    let supervisor: Ledger

    /// - Parameters:
    ///   - path: the shared replica's file (in memory when nil).
    ///   - root: the county's root key (a new one when nil).
    init(at time: String = "2025-09-24 09:00", path: String? = nil, root: SigningKey? = nil) throws {
        self.root = root ?? SigningKey.generate()
        clock = TestClock(time)
        var options = ReplicaOptions()
        let clock = self.clock
        options.wallClock = { clock.now }
        operatorLedger = try Ledger.open(path: path, root: self.root.publicKey, key: self.root, options: options)
        replica = operatorLedger.replica
        try operatorLedger.importRegistry(
            .departments,
            csv: "单位名称,类型\n县市场监管局,县直部门\n县行政审批局,县直部门\n县住房城乡建设局,县直部门\n县工业和信息化局,县直部门\n",
            name: "departments.csv"
        )
        try operatorLedger.importRegistry(.cadres, csv: "姓名,职务,单位\n王强,副县长,县工业和信息化局\n", name: "cadres.csv")
        try operatorLedger.importRegistry(
            .enterprises,
            csv: "企业名称,统一社会信用代码,所属镇街/园区,联系人,联系电话\n高唐纺织有限公司,91371082775260043P,鱼邱湖街道,赵敏,13800000001\n",
            name: "enterprises.csv"
        )
        try operatorLedger.importRegistry(.linkages, csv: "包联领导,企业名称,包联角色\n王强,高唐纺织有限公司,主包\n", name: "linkages.csv")
        let (registry, shared) = (operatorLedger, replica)
        func device(_ role: Role, cadre: String? = nil, department: String? = nil) throws -> Ledger {
            let key = SigningKey.generate()
            _ = try registry.enroll(publicKey: key.publicKey, role: role, cadre: cadre, department: department)
            return Ledger(replica: shared, publicKey: key.publicKey, signer: key)
        }
        coordinator = try device(.coordinator)
        self.cadre = try device(.cadre, cadre: "王强")
        market = try device(.department, department: "县市场监管局")
        approval = try device(.department, department: "县行政审批局")
        housing = try device(.department, department: "县住房城乡建设局")
        supervisor = try device(.supervisor)
    }

    func newDemand(title: String = "厂区道路积水") throws -> String {
        try cadre.addDemand(
            DemandInput(enterprise: "高唐纺织有限公司", title: title, content: "雨季厂区门前道路积水严重，影响货车进出", category: "基础设施")
        ).number
    }

    func input(_ build: (inout ActionInput) -> Void) -> ActionInput {
        var input = ActionInput()
        build(&input)
        return input
    }

    func department(_ name: String) throws -> UUID { try operatorLedger.department(named: name) }
}

/// A hub and two coordinators' replicas (x and y) that exchange everything by file-like records.
struct TwoCoordinators {
    let root = SigningKey.generate()
    let keyX = SigningKey.generate()
    let keyY = SigningKey.generate()
    let hub: Ledger
    let x: Ledger
    let y: Ledger

    init() throws {
        let clock = TestClock("2025-09-24 09:00")
        var options = ReplicaOptions()
        options.wallClock = { clock.now }
        hub = try Ledger.open(path: nil, root: root.publicKey, key: root, options: options)
        try hub.importRegistry(.departments, csv: "单位名称\n县市场监管局\n县行政审批局\n", name: "d.csv")
        try hub.importRegistry(.enterprises, csv: "企业名称,统一社会信用代码\n高唐纺织有限公司,91371082775260043P\n", name: "e.csv")
        _ = try hub.enroll(publicKey: keyX.publicKey, role: .coordinator)
        _ = try hub.enroll(publicKey: keyY.publicKey, role: .coordinator)
        x = try Ledger.open(path: nil, root: root.publicKey, key: keyX, options: options)
        y = try Ledger.open(path: nil, root: root.publicKey, key: keyY, options: options)
        try Self.exchange(hub, x)
        try Self.exchange(hub, y)
    }

    /// An assign action naming `lead`.
    static func lead(_ name: String) -> ActionInput {
        var input = ActionInput()
        input.lead = name
        return input
    }

    static func exchange(_ from: Ledger, _ to: Ledger) throws {
        var records: [[UInt8]] = []
        try from.replica.exportRecords { records.append($0) }
        _ = try to.replica.importRecords(records)
    }
}

@Suite struct WorkflowTests {
    @Test func aDemandsWholeLife() throws {
        let county = try WorkflowCounty(at: "2025-09-24 09:00")
        let number = try county.newDemand()
        var status = try county.cadre.act(.submit, on: number, ActionInput())
        #expect(status.state == .pendingIntake)

        county.clock.set("2025-09-24 10:00")
        status = try county.coordinator.act(
            .assign,
            on: number,
            county.input {
                $0.lead = "县市场监管局"
                $0.co = ["县住房城乡建设局"]
            }
        )
        #expect(status.state == .pendingSign)
        #expect(status.lead == (try county.department("县市场监管局")))
        #expect(status.coDepartments == [try county.department("县住房城乡建设局")])
        #expect(status.assignments[0].signDeadline.description == "2025-09-25")
        #expect(ISOTime.local(status.assignments[0].contactDeadline, profile: .shandong2115) == "2025-09-24 12:00")

        // The lead says it is not theirs.
        county.clock.set("2025-09-24 15:00")
        status = try county.market.act(
            .return,
            on: number,
            county.input {
                $0.comment = "属审批事项"
                $0.suggest = "县行政审批局"
            }
        )
        #expect(status.state == .returnRequested)
        #expect(status.returns == 1)

        county.clock.set("2025-09-25 09:00")
        status = try county.coordinator.act(.reassign, on: number, county.input { $0.lead = "县行政审批局" })
        #expect(status.state == .pendingSign)
        #expect(status.assignments.count == 2)

        // Signed on Friday 2025-09-26: +15 working days is 2025-10-23 (DOMAIN.md's first example).
        county.clock.set("2025-09-26 09:00")
        status = try county.approval.act(.sign, on: number, county.input { $0.contacted = "2025-09-26 10:00" })
        #expect(status.state == .inProgress)
        #expect(status.deadline?.description == "2025-10-23")
        #expect(ISOTime.local(status.firstContactAt!, profile: .shandong2115) == "2025-09-26 10:00")

        // The lead asks for an extension in time; the coordinator approves it.
        county.clock.set("2025-10-20 09:00")
        status = try county.approval.act(
            .extend,
            on: number,
            county.input {
                $0.until = "2025-10-30"
                $0.comment = "需现场勘验"
            }
        )
        #expect(status.pendingExtension?.description == "2025-10-30")
        #expect(status.deadline?.description == "2025-10-23", "an extension asked for is not yet the deadline")
        status = try county.coordinator.act(.extend, on: number, county.input { $0.comment = "同意延期" })
        #expect(status.deadline?.description == "2025-10-30")
        #expect(status.extendedTo?.description == "2025-10-30")

        county.clock.set("2025-10-28 16:00")
        status = try county.approval.act(
            .reply,
            on: number,
            county.input {
                $0.outcome = "已协调排水"
                $0.reply = "已完成排水管网疏通"
            }
        )
        #expect(status.state == .replied)
        status = try county.coordinator.act(.rejectReply, on: number, county.input { $0.comment = "答复未说明长效措施" })
        #expect(status.state == .inProgress)
        status = try county.approval.act(
            .reply,
            on: number,
            county.input {
                $0.outcome = "已解决"
                $0.reply = "疏通并新建排水沟"
            }
        )
        status = try county.coordinator.act(.acceptReply, on: number, ActionInput())
        #expect(status.state == .pendingFollowUp)

        // The enterprise is not satisfied: reopened (重办), with a new 15-day clock.
        county.clock.set("2025-10-31 09:00")
        status = try county.cadre.act(
            .reopen,
            on: number,
            county.input {
                $0.comment = "雨后仍有积水"
                $0.satisfaction = "不满意"
            }
        )
        #expect(status.state == .inProgress)
        #expect(status.reopenings == 1)
        #expect(status.deadline?.description == "2025-11-21")
        #expect(status.repliedAt == nil)

        county.clock.set("2025-11-10 09:00")
        _ = try county.approval.act(
            .reply,
            on: number,
            county.input {
                $0.outcome = "已解决"
                $0.reply = "加装排水泵"
            }
        )
        _ = try county.coordinator.act(.acceptReply, on: number, ActionInput())
        status = try county.cadre.act(
            .followUp,
            on: number,
            county.input {
                $0.resolved = true
                $0.satisfaction = "满意"
            }
        )
        #expect(status.state == .closed)
        #expect(status.resolved == true)
        #expect(status.satisfaction == "满意")
        status = try county.coordinator.act(.archive, on: number, ActionInput())
        #expect(status.state == .archived)

        // Every action is an event with its actor, role, from and to; the log is the evidence.
        let events = try county.operatorLedger.events(ofDemand: number)
        #expect(
            events.map(\.action) == [
                "create", "submit", "assign", "return", "reassign", "sign", "extend", "extend", "reply", "reject-reply",
                "reply", "accept-reply",
                "reopen", "reply", "accept-reply", "follow-up", "archive",
            ]
        )
        #expect(
            events[3].role == "department" && events[3].from == "PENDING_SIGN" && events[3].to == "RETURN_REQUESTED"
        )
        #expect(events[3].comment == "属审批事项")
    }

    @Test func aCoordinatorAnswersDirectlyOrRefuses() throws {
        let county = try WorkflowCounty()
        let answered = try county.newDemand(title: "政策咨询")
        _ = try county.cadre.act(.submit, on: answered, ActionInput())
        var status = try county.coordinator.act(.reply, on: answered, county.input { $0.reply = "该政策适用于规上企业" })
        #expect(status.state == .pendingFollowUp)
        #expect(status.deadline == nil)
        let refused = try county.newDemand(title: "重复诉求")
        _ = try county.cadre.act(.submit, on: refused, ActionInput())
        let missing = #expect(throws: LedgerError.self) {
            try county.coordinator.act(.reject, on: refused, ActionInput())
        }
        #expect(missing?.code == .missingField)
        status = try county.coordinator.act(.reject, on: refused, county.input { $0.comment = "与 GT-2025 重复" })
        #expect(status.state == .notAccepted)
        let final = #expect(throws: LedgerError.self) {
            try county.coordinator.act(.assign, on: refused, county.input { $0.lead = "县市场监管局" })
        }
        #expect(final?.message.contains("none (a final state)") == true)
    }

    /// Drives a fresh demand to `state` by a known path; returns its number.
    func demand(in state: DemandState, _ county: WorkflowCounty) throws -> String {
        let number = try county.newDemand()
        let c = county
        let path: [(Ledger, DemandAction, ActionInput)]
        let submit = (c.cadre, DemandAction.submit, ActionInput())
        let assign = (c.coordinator, DemandAction.assign, c.input { $0.lead = "县市场监管局" })
        let sign = (c.market, DemandAction.sign, ActionInput())
        let reply = (
            c.market, DemandAction.reply,
            c.input {
                $0.outcome = "已办"
                $0.reply = "已答复"
            }
        )
        let accept = (c.coordinator, DemandAction.acceptReply, ActionInput())
        let close = (
            c.cadre, DemandAction.followUp,
            c.input {
                $0.resolved = true
                $0.satisfaction = "满意"
            }
        )
        switch state {
        case .draft: path = []
        case .pendingIntake: path = [submit]
        case .notAccepted: path = [submit, (c.coordinator, .reject, c.input { $0.comment = "重复" })]
        case .pendingSign: path = [submit, assign]
        case .inProgress: path = [submit, assign, sign]
        case .returnRequested:
            path = [
                submit, assign,
                (
                    c.market, .return,
                    c.input {
                        $0.comment = "非本单位"
                        $0.suggest = "县行政审批局"
                    }
                ),
            ]
        case .replied: path = [submit, assign, sign, reply]
        case .pendingFollowUp: path = [submit, assign, sign, reply, accept]
        case .closed: path = [submit, assign, sign, reply, accept, close]
        case .longTerm:
            path = [
                submit, assign, sign,
                (
                    c.coordinator, .longTerm,
                    c.input {
                        $0.comment = "分期实施"
                        $0.milestones = "2025-12-31 完成设计"
                    }
                ),
            ]
        case .archived: path = [submit, assign, sign, reply, accept, close, (c.coordinator, .archive, ActionInput())]
        }
        for (ledger, action, input) in path { _ = try ledger.act(action, on: number, input) }
        #expect(try county.operatorLedger.status(of: number).state == state)
        return number
    }

    /// Full data for any action, so that only the state machine and the role decide.
    func fullInput(_ county: WorkflowCounty) -> ActionInput {
        county.input {
            $0.comment = "理由"
            $0.lead = "县市场监管局"
            $0.suggest = "县行政审批局"
            $0.until = "2025-10-31"
            $0.outcome = "已办"
            $0.reply = "已答复"
            $0.resolved = true
            $0.satisfaction = "满意"
            $0.milestones = "2025-12-31 完成"
        }
    }

    /// The state machine's table, written out again from DOMAIN.md (docs/workflow.md), so that a
    /// change to the table in the code is a change to this test too.
    @Test func theTableIsTheOneOfTheDomain() {
        let expected: Set = [
            "submit DRAFT→PENDING_INTAKE by cadre/coordinator",
            "reject PENDING_INTAKE→NOT_ACCEPTED by coordinator",
            "assign PENDING_INTAKE→PENDING_SIGN by coordinator",
            "reply PENDING_INTAKE→PENDING_FOLLOWUP by coordinator",
            "sign PENDING_SIGN→IN_PROGRESS by department",
            "return PENDING_SIGN→RETURN_REQUESTED by department",
            "return IN_PROGRESS→RETURN_REQUESTED by department",
            "reassign RETURN_REQUESTED→PENDING_SIGN by coordinator",
            "extend IN_PROGRESS→IN_PROGRESS by coordinator/department",
            "reply IN_PROGRESS→REPLIED by department",
            "reject-reply REPLIED→IN_PROGRESS by coordinator",
            "accept-reply REPLIED→PENDING_FOLLOWUP by coordinator",
            "follow-up PENDING_FOLLOWUP→CLOSED by cadre/coordinator",
            "reopen PENDING_FOLLOWUP→IN_PROGRESS by cadre/coordinator",
            "long-term IN_PROGRESS→LONG_TERM by coordinator",
            "long-term REPLIED→LONG_TERM by coordinator",
            "reply LONG_TERM→PENDING_FOLLOWUP by department",
            "archive CLOSED→ARCHIVED by coordinator",
        ]
        let table = Workflow.transitions.map {
            "\($0.action.rawValue) \($0.from.rawValue)→\($0.to.rawValue) by \($0.actors.map(\.rawValue).sorted().joined(separator: "/"))"
        }
        #expect(Set(table) == expected)
        #expect(table.count == expected.count)
    }

    /// Every (state, action, role): allowed exactly when the state machine lists it, and refused
    /// otherwise with an error naming the allowed moves.
    @Test(arguments: DemandState.allCases)
    func everyTransitionByEveryRole(state: DemandState) throws {
        let county = try WorkflowCounty(at: "2025-09-24 09:00")
        let actors: [(Actor, Ledger)] = [
            (.cadre, county.cadre), (.coordinator, county.coordinator), (.department, county.market),
        ]
        let refusedProbe = try demand(in: state, county)
        for action in DemandAction.allCases where action != .settle {
            for (actor, ledger) in actors {
                let allowed = Workflow.transitions.contains {
                    $0.from == state && $0.action == action && $0.actors.contains(actor)
                }
                if allowed {
                    let number = try demand(in: state, county)
                    let status = try ledger.act(action, on: number, fullInput(county))
                    let expected = Workflow.transitions.first { $0.from == state && $0.action == action }!.to
                    #expect(status.state == expected, "\(state) \(action) by \(actor)")
                } else {
                    let error = #expect(throws: LedgerError.self, "\(state) \(action) by \(actor)") {
                        try ledger.act(action, on: refusedProbe, fullInput(county))
                    }
                    #expect(
                        error?.code == .transitionRefused,
                        "\(state) \(action) by \(actor): \(error?.message ?? "")"
                    )
                    #expect(
                        error?.message.contains("allowed") == true || error?.message.contains("that is for") == true
                    )
                    #expect(try county.operatorLedger.status(of: refusedProbe).state == state, "nothing changed")
                }
            }
        }
        // A supervisor moves nothing.
        let error = #expect(throws: LedgerError.self) {
            try county.supervisor.act(.submit, on: refusedProbe, fullInput(county))
        }
        #expect(error?.code == .transitionRefused)
    }

    @Test func onlyTheLeadActsAndAKeptLeadMayNotReturnAgain() throws {
        let county = try WorkflowCounty()
        let number = try demand(in: .pendingSign, county)
        let notLead = #expect(throws: LedgerError.self) { try county.approval.act(.sign, on: number, ActionInput()) }
        #expect(notLead?.message.contains("only the lead department") == true)
        _ = try county.market.act(
            .return,
            on: number,
            county.input {
                $0.comment = "非本单位"
                $0.suggest = "县行政审批局"
            }
        )
        _ = try county.coordinator.act(
            .reassign,
            on: number,
            county.input {
                $0.lead = "县市场监管局"
                $0.comment = "属本单位职责"
            }
        )
        let again = #expect(throws: LedgerError.self) {
            try county.market.act(
                .return,
                on: number,
                county.input {
                    $0.comment = "仍非本单位"
                    $0.suggest = "县行政审批局"
                }
            )
        }
        #expect(again?.message.contains("may not return") == true)
        let status = try county.market.act(.sign, on: number, ActionInput())
        #expect(status.noReturnLeads == [try county.department("县市场监管局")])
    }

    @Test func extensionsAreAskedInTimeAndCapped() throws {
        let county = try WorkflowCounty(at: "2025-09-26 09:00")
        let number = try demand(in: .inProgress, county)
        #expect(try county.operatorLedger.status(of: number).deadline?.description == "2025-10-23")
        let capped = #expect(throws: LedgerError.self) {
            try county.market.act(
                .extend,
                on: number,
                county.input {
                    $0.until = "2025-12-31"
                    $0.comment = "复杂"
                }
            )
        }
        #expect(capped?.message.contains("at most 30 working days") == true)
        county.clock.set("2025-10-23 09:00")
        let late = #expect(throws: LedgerError.self) {
            try county.market.act(
                .extend,
                on: number,
                county.input {
                    $0.days = 5
                    $0.comment = "复杂"
                }
            )
        }
        #expect(late?.message.contains("too late") == true)
        // The coordinator may still extend on their own authority.
        let status = try county.coordinator.act(
            .extend,
            on: number,
            county.input {
                $0.days = 5
                $0.comment = "特批"
            }
        )
        #expect(status.deadline?.description == "2025-10-30")
    }

    /// A demand event written straight into the replica, past `act`'s checks, as a modified client
    /// could: the action, the state it claims to lead to, and the role it claims.
    func forge(
        _ ledger: Ledger,
        _ action: String,
        on number: String,
        to: DemandState,
        role: String,
        data: [String: String] = [:],
        county: WorkflowCounty
    ) throws {
        let id = try ledger.demand(named: number)
        let status = try ledger.status(of: number)
        let json = String(
            decoding: try JSONSerialization.data(withJSONObject: data, options: [.sortedKeys]),
            as: UTF8.self
        )
        try ledger.writeRecord(enterprise: try ledger.enterprise(named: "高唐纺织有限公司")) { batch in
            batch.insert(
                "demand_events",
                [
                    "demand_id": .id(id), "parent_id": .id(status.tip!),
                    "at": .text(ISOTime.format(Int64(county.clock.now))),
                    "actor_key": .text(ledger.publicKey.hex), "actor_name": .text("x"), "role": .text(role),
                    "action": .text(action),
                    "from_state": .text(status.state.rawValue), "to_state": .text(to.rawValue), "data": .text(json),
                ]
            )
        }
    }

    /// Each step counts only if the registry role of the key that signed it may take it: another
    /// role's step, a department acting on a demand it does not lead, a claimed state the step does
    /// not lead to, or a claimed role, are kept in the log and disregarded on every replica. Before,
    /// the status followed whatever state an event claimed (found in the issue 6 security review).
    @Test func stepsOutsideTheActorsRoleAreDisregarded() throws {
        let county = try WorkflowCounty(at: "2025-09-26 09:00")
        let number = try demand(in: .inProgress, county)
        let before = try county.operatorLedger.status(of: number)
        // A department closes the demand as if the enterprise were satisfied (the cadre's step).
        try forge(
            county.market,
            "follow-up",
            on: number,
            to: .closed,
            role: "cadre",
            data: ["resolved": "yes", "satisfaction": "满意"],
            county: county
        )
        // Another department, not the lead, replies.
        try forge(
            county.approval,
            "reply",
            on: number,
            to: .replied,
            role: "department",
            data: ["outcome": "已办结", "reply": "x"],
            county: county
        )
        // The lead asks for an extension, claiming a state that step does not reach.
        try forge(
            county.market,
            "extend",
            on: number,
            to: .closed,
            role: "department",
            data: ["until": "2025-11-30"],
            county: county
        )
        var status = try county.operatorLedger.status(of: number)
        #expect(status.state == .inProgress)
        #expect(status.satisfaction == nil && status.repliedAt == nil && status.closedAt == nil)
        #expect(status.deadline == before.deadline)
        #expect(status.disregarded.count == 3)
        #expect(status.tip == before.tip, "the next honest step follows the last admitted one")
        // The lead asks for an extension claiming the coordinator's role: it stays a request.
        try forge(
            county.market,
            "extend",
            on: number,
            to: .inProgress,
            role: "coordinator",
            data: ["until": "2025-11-07"],
            county: county
        )
        status = try county.operatorLedger.status(of: number)
        #expect(status.pendingExtension?.description == "2025-11-07")
        #expect(status.deadline == before.deadline, "not approved")
        // The honest workflow goes on from there, and the cache answers as a fresh derivation.
        status = try county.market.act(
            .reply,
            on: number,
            county.input {
                $0.outcome = "已办结"
                $0.reply = "已疏通排水"
            }
        )
        #expect(status.state == .replied)
        #expect(try county.operatorLedger.allStatuses()[try county.operatorLedger.demand(named: number)] == status)
    }

    /// A demand event must name as its actor the key that signed it: one naming the coordinator's
    /// key, signed by a department, is refused by the policy and stored nowhere.
    @Test func anEventNamingAnotherActorIsRefused() throws {
        let county = try WorkflowCounty(at: "2025-09-26 09:00")
        let number = try demand(in: .pendingSign, county)
        let id = try county.market.demand(named: number)
        let tip = try county.market.status(of: number).tip!
        let eventsBefore = try county.operatorLedger.workflowEvents(of: id).count
        let commitsBefore = try county.replica.commitCounts()
        let refused = #expect(throws: (any Error).self) {
            try county.market.writeRecord(enterprise: try county.market.enterprise(named: "高唐纺织有限公司")) { batch in
                batch.insert(
                    "demand_events",
                    [
                        "demand_id": .id(id), "parent_id": .id(tip),
                        "at": .text(ISOTime.format(Int64(county.clock.now))),
                        "actor_key": .text(county.coordinator.publicKey.hex), "actor_name": .text("县营商办"),
                        "role": .text("coordinator"),
                        "action": .text("reject"), "from_state": .text("PENDING_SIGN"),
                        "to_state": .text("NOT_ACCEPTED"),
                    ]
                )
            }
        }
        #expect("\(refused!)".contains("names another actor"))
        #expect(try county.operatorLedger.status(of: number).state == .pendingSign)
        #expect(try county.operatorLedger.workflowEvents(of: id).count == eventsBefore, "nothing stored")
        #expect(try county.replica.commitCounts() == commitsBefore)
    }

    @Test func anUnsignedAssignmentStillRunsTheClock() throws {
        let county = try WorkflowCounty(at: "2025-09-25 09:00")
        let number = try demand(in: .pendingSign, county)
        var status = try county.operatorLedger.status(of: number)
        #expect(status.assignments[0].signDeadline.description == "2025-09-26")
        // Projected from the sign deadline while unsigned …
        #expect(status.deadline?.description == "2025-10-23")
        // … and signing late does not move it.
        county.clock.set("2025-09-30 09:00")
        status = try county.market.act(.sign, on: number, ActionInput())
        #expect(status.handlingStart?.description == "2025-09-26")
        #expect(status.deadline?.description == "2025-10-23")
    }
}

@Suite struct WorkflowConflictTests {
    /// Two coordinators, offline on two replicas, assign the same demand to different departments.
    /// After they exchange, both replicas show the same state and the same workflow conflict; no
    /// other action is taken until a coordinator settles it, and the settlement converges too.
    @Test func concurrentContradictoryTransitionsAreKeptShownAndSettled() throws {
        let pair = try TwoCoordinators()
        let (hub, x, y, keyX) = (pair.hub, pair.x, pair.y, pair.keyX)
        let exchange = TwoCoordinators.exchange
        let number = try x.addDemand(
            DemandInput(enterprise: "高唐纺织有限公司", title: "用地指标", content: "扩建项目缺用地指标", category: "用地")
        ).number
        _ = try x.act(.submit, on: number, ActionInput())
        try exchange(x, y)

        let (toMarket, toApproval) = (TwoCoordinators.lead("县市场监管局"), TwoCoordinators.lead("县行政审批局"))
        _ = try x.act(.assign, on: number, toMarket)
        _ = try y.act(.assign, on: number, toApproval)
        try exchange(x, y)
        try exchange(y, x)

        let (statusX, statusY) = (try x.status(of: number), try y.status(of: number))
        #expect(statusX == statusY)
        #expect(statusX.state == .pendingSign)
        #expect(statusX.conflicts.count == 1)
        #expect(statusX.conflicts[0].count == 2)
        #expect(
            try x.workflowEvents(of: x.demand(named: number)).filter { $0.action == "assign" }.count == 2,
            "both actions are kept"
        )
        let blocked = #expect(throws: LedgerError.self) { try y.act(.reject, on: number, ActionInput(comment: "x")) }
        #expect(blocked?.code == .workflowConflict)

        // Y's coordinator keeps X's assignment (whichever branch it is) and says why.
        let assignX = try x.workflowEvents(of: x.demand(named: number)).first {
            $0.action == "assign" && $0.actorKey == keyX.publicKey.hex
        }!
        var settle = ActionInput(comment: "以市场监管局为牵头单位")
        settle.keep = assignX.id.lowercased
        let settled = try y.act(.settle, on: number, settle)
        #expect(!settled.hasConflict)
        #expect(settled.lead == (try hub.department(named: "县市场监管局")))
        try exchange(y, x)
        #expect(try x.status(of: number) == settled)
        // Work goes on from the settled line: the state machine, not the conflict, answers now.
        let next = #expect(throws: LedgerError.self) { try x.act(.reject, on: number, ActionInput(comment: "x")) }
        #expect(next?.code == .transitionRefused)
    }
}

/// A settle keeps the branch the coordinator names, and no other: it names one event by its full id
/// or by a handle unique within the demand, and anything that fits two events, or none, is refused.
@Suite struct SettleHandleTests {
    /// Two coordinators assign one demand to two departments, and exchange.
    static func conflicted() throws -> (pair: TwoCoordinators, number: String) {
        let pair = try TwoCoordinators()
        let number = try pair.x.addDemand(
            DemandInput(enterprise: "高唐纺织有限公司", title: "用地指标", content: "缺用地指标", category: "用地")
        ).number
        _ = try pair.x.act(.submit, on: number, ActionInput())
        try TwoCoordinators.exchange(pair.x, pair.y)
        _ = try pair.x.act(.assign, on: number, TwoCoordinators.lead("县市场监管局"))
        _ = try pair.y.act(.assign, on: number, TwoCoordinators.lead("县行政审批局"))
        try TwoCoordinators.exchange(pair.x, pair.y)
        try TwoCoordinators.exchange(pair.y, pair.x)
        return (pair, number)
    }

    /// The review's case: both actions taken within a minute share the first 8 hex digits of their
    /// ids (UUIDv7 time bits), and `--keep` with them took the first match silently, keeping the
    /// assignment the coordinator meant to overrule. Now that label is refused, nothing is settled,
    /// and the handle `demand show` prints keeps exactly the branch it names.
    @Test func aLabelSharedByTwoEventsIsRefusedAndAHandleKeepsItsBranch() throws {
        let (pair, number) = try Self.conflicted()
        let events = try pair.y.events(ofDemand: number)
        #expect(Set(events.map(\.handle)).count == events.count, "handles are unique within the demand")
        #expect(
            events.allSatisfy {
                $0.handle.count >= 6 && $0.id.replacingOccurrences(of: "-", with: "").hasSuffix($0.handle)
            }
        )
        let assigns = events.filter { $0.action == "assign" }
        #expect(assigns.count == 2)
        #expect(assigns[0].id.prefix(8) == assigns[1].id.prefix(8), "the old label fits both")
        var oldLabel = ActionInput(comment: "以此为准")
        oldLabel.keep = String(assigns[0].id.prefix(8))
        #expect(throws: LedgerError.self) { try pair.y.act(.settle, on: number, oldLabel) }
        #expect(try pair.y.status(of: number).hasConflict, "nothing was settled")
        let market = try pair.hub.department(named: "县市场监管局")
        let marketAssign = try #require(
            try pair.y.workflowEvents(of: pair.y.demand(named: number)).first {
                $0.action == "assign" && $0.actorKey == pair.keyX.publicKey.hex
            }
        )
        let handle = try #require(events.first { $0.id == marketAssign.id.lowercased }?.handle)
        var settle = ActionInput(comment: "以市场监管局为牵头单位")
        settle.keep = handle
        let settled = try pair.y.act(.settle, on: number, settle)
        #expect(!settled.hasConflict)
        #expect(settled.lead == market)
        // The handle names the kept event in the settle's record.
        let record = try #require(
            try pair.y.workflowEvents(of: pair.y.demand(named: number)).last { $0.action == "settle" }
        )
        #expect(record.data["keep"] == marketAssign.id.lowercased)
    }

    /// Handles grow until they tell the events of a demand apart; an ending shared by two is refused
    /// as ambiguous, naming the full ids; a full id, with or without dashes, always works.
    @Test func handlesAreUniqueAndAnAmbiguousEndingIsRefused() throws {
        let a = try #require(UUID(uuidString: "01890a5d-ac96-774b-bcce-b30209abcdef"))
        let b = try #require(UUID(uuidString: "01890a5d-ac96-774b-bcce-b30219abcdef"))
        let handles = Ledger.eventHandles([a, b])
        #expect(handles[a] == "09abcdef" && handles[b] == "19abcdef")
        let ambiguous = #expect(throws: LedgerError.self) {
            try Ledger.event(named: "9abcdef", among: [a, b], what: "event")
        }
        #expect(ambiguous?.code == .ambiguous)
        #expect(ambiguous?.message.contains(a.lowercased) == true)
        #expect(try Ledger.event(named: "09ABCDEF", among: [a, b], what: "event") == a)
        #expect(try Ledger.event(named: b.uuidString, among: [a, b], what: "event") == b)
        #expect(
            try Ledger.event(named: b.lowercased.replacingOccurrences(of: "-", with: ""), among: [a, b], what: "event")
                == b
        )
        #expect(throws: LedgerError.self) { try Ledger.event(named: "abc", among: [a, b], what: "event") }
        #expect(throws: LedgerError.self) { try Ledger.event(named: "01890a5d", among: [a, b], what: "event") }
    }

    /// A workflow conflict is listed wherever cell conflicts are: with the demand list's entry, in
    /// the list of conflicts (which `conflicts`, `status` and `sync` print), with the handles.
    @Test func workflowConflictsAreListedWhereverConflictsAre() throws {
        let (pair, number) = try Self.conflicted()
        let listed = try pair.y.workflowConflicts()
        #expect(listed.map(\.number) == [number])
        #expect(listed.first?.branches.map(\.action) == ["assign", "assign"])
        #expect(try pair.y.demands().first { $0.number == number }?.hasWorkflowConflict == true)
        var settle = ActionInput(comment: "以市场监管局为牵头单位")
        settle.keep = try #require(listed.first?.branches.first?.handle)
        _ = try pair.y.act(.settle, on: number, settle)
        #expect(try pair.y.workflowConflicts().isEmpty)
        #expect(try pair.y.demands().first { $0.number == number }?.hasWorkflowConflict == false)
    }
}

@Suite struct OverlayTests {
    func overlay(_ county: WorkflowCounty, _ number: String, on day: String) throws -> Overlay {
        try county.operatorLedger.status(of: number).overlay(
            on: Day(day)!,
            calendar: try county.operatorLedger.calendar(),
            profile: .shandong2115
        )
    }

    @Test func cardsAndEscalationFollowTheDeadline() throws {
        let county = try WorkflowCounty(at: "2025-09-24 09:00")
        let number = try county.newDemand()
        _ = try county.cadre.act(.submit, on: number, ActionInput())
        _ = try county.coordinator.act(.assign, on: number, county.input { $0.lead = "县市场监管局" })
        let status = try county.market.act(.sign, on: number, ActionInput())
        #expect(status.deadline?.description == "2025-10-21")
        let cases: [(String, Bool, Int, Overlay.Card, Overlay.Escalation)] = [
            ("2025-10-17", false, 0, .none, .none),
            ("2025-10-20", false, 0, .yellow, .none),
            ("2025-10-21", false, 0, .yellow, .none),
            ("2025-10-22", true, 1, .red, .urge),
            ("2025-10-25", true, 3, .red, .urge),  // a Saturday: overdue by the working days 22, 23 and 24
            ("2025-10-30", true, 7, .red, .supervise),
            ("2025-11-12", true, 16, .red, .listed),
        ]
        for (day, overdue, days, card, escalation) in cases {
            let result = try overlay(county, number, on: day)
            #expect(result.isOverdue == overdue, "\(day)")
            #expect(result.overdueWorkdays == days, "\(day)")
            #expect(result.card == card, "\(day)")
            #expect(result.escalation == escalation, "\(day)")
        }
        #expect(try overlay(county, number, on: "2025-10-30").dragOnReasons == ["overdue 7 working days"])
        // Replied late: overdue stays on the record, the card goes.
        county.clock.set("2025-10-23 10:00")
        _ = try county.market.act(
            .reply,
            on: number,
            county.input {
                $0.outcome = "已办"
                $0.reply = "已答复"
            }
        )
        let replied = try overlay(county, number, on: "2025-11-12")
        #expect(
            replied.isOverdue && replied.overdueWorkdays == 2 && replied.card == .none && replied.escalation == .none
        )
    }

    @Test func buckPassingAndDragOnLists() throws {
        let county = try WorkflowCounty(at: "2025-09-24 09:00")
        let passed = try county.newDemand(title: "推来推去")
        _ = try county.cadre.act(.submit, on: passed, ActionInput())
        _ = try county.coordinator.act(.assign, on: passed, county.input { $0.lead = "县市场监管局" })
        _ = try county.market.act(
            .return,
            on: passed,
            county.input {
                $0.comment = "非本单位"
                $0.suggest = "县行政审批局"
            }
        )
        _ = try county.coordinator.act(.reassign, on: passed, county.input { $0.lead = "县行政审批局" })
        _ = try county.approval.act(
            .return,
            on: passed,
            county.input {
                $0.comment = "非本单位"
                $0.suggest = "县住房城乡建设局"
            }
        )
        _ = try county.coordinator.act(.reassign, on: passed, county.input { $0.lead = "县住房城乡建设局" })
        let overlay = try self.overlay(county, passed, on: "2025-09-25")
        #expect(overlay.buckPassingReasons == ["returned 2 times", "3 departments involved, none signed"])
        #expect(overlay.escalation == .supervise)
        _ = try county.housing.act(.sign, on: passed, ActionInput())
        #expect(try self.overlay(county, passed, on: "2025-09-25").buckPassingReasons == ["returned 2 times"])

        let reopened = try county.newDemand(title: "反复重办")
        _ = try county.cadre.act(.submit, on: reopened, ActionInput())
        _ = try county.coordinator.act(.assign, on: reopened, county.input { $0.lead = "县市场监管局" })
        _ = try county.market.act(.sign, on: reopened, ActionInput())
        for _ in 0..<2 {
            _ = try county.market.act(
                .reply,
                on: reopened,
                county.input {
                    $0.outcome = "已办"
                    $0.reply = "已答复"
                }
            )
            _ = try county.coordinator.act(.acceptReply, on: reopened, ActionInput())
            _ = try county.cadre.act(
                .reopen,
                on: reopened,
                county.input {
                    $0.comment = "未解决"
                    $0.satisfaction = "不满意"
                }
            )
        }
        let again = try self.overlay(county, reopened, on: "2025-09-26")
        #expect(again.dragOnReasons == ["reopened 2 times"])
        #expect(again.escalation == .supervise)
        let late = try self.overlay(county, reopened, on: "2025-12-31")
        #expect(late.dragOnReasons.first == "open more than 30 working days")
        #expect(late.escalation == .listed)
    }
}

@Suite struct FlatJSONTests {
    /// The fast reader agrees with JSONSerialization on what the workflow writes, and declines the rest.
    @Test(arguments: [
        ["lead": "0199793c-0288-7ff7-8ddd-2d526d9209d5", "co": "a,b"], ["reply": "组织\"专场\"招聘会\n两场 / 三场\\"], [:],
        ["milestones": "2025-12-31 完成设计; 2026-03-31 竣工", "comment": "\t制表"],
    ])
    func agreesWithJSONSerialization(object: [String: String]) throws {
        let text = String(
            decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
            as: UTF8.self
        )
        #expect(FlatJSON.parse(text) == object)
    }

    @Test func declinesWhatItDoesNotRead() {
        #expect(FlatJSON.parse(#"{"a": 1}"#) == nil)
        #expect(FlatJSON.parse(#"{"a": "\u00e9"}"#) == nil)
        #expect(FlatJSON.parse(#"{"a": "b"} x"#) == nil)
        #expect(FlatJSON.parse(#"["a"]"#) == nil)
        #expect(FlatJSON.parse(#"{"a": "b""#) == nil)
        #expect(FlatJSON.parse(#" { "a" : "b" , "c":"d" } "#) == ["a": "b", "c": "d"])
    }
}
