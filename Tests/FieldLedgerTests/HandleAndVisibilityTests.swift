import FieldCrypto
import FieldStore
import Foundation
import GRDB
import Testing

@testable import FieldLedger

/// Issue 13: visits and conflicts are named by short, unique, stable handles, not UUIDs; and a
/// department's device shows the demands assigned to it, not every record of the enterprise.
@Suite struct HandleAndVisibilityTests {
    /// A handle is the id's last 8 hex digits, longer only for the records that share them: two
    /// colliding visits lengthen their own handles and leave every other one as it was (the event
    /// handles of issue 13 lengthened all of them at once).
    @Test func aCollisionLengthensOnlyTheHandlesThatCollide() throws {
        let a = try #require(UUID(uuidString: "01890a5d-ac96-774b-bcce-b30209abcdef"))
        let b = try #require(UUID(uuidString: "01890a5d-ac96-774b-bcce-b30309abcdef"))
        let c = try #require(UUID(uuidString: "01890a5d-ac96-774b-bcce-b30200001234"))
        let before = Ledger.handles([c], minimum: Ledger.recordHandleLength)
        #expect(before[c] == "00001234")
        let after = Ledger.handles([a, b, c], minimum: Ledger.recordHandleLength)
        #expect(after[c] == "00001234", "a visit's handle does not change when others collide")
        #expect(after[a] == "209abcdef" && after[b] == "309abcdef")
        // No handle is the ending of another, so each names one record.
        for (id, handle) in after {
            #expect(try Ledger.record(named: handle, among: [a, b, c], minimum: 8, what: "visit", shownBy: "x") == id)
        }
        let ambiguous = #expect(throws: LedgerError.self) {
            try Ledger.record(named: "9abcdef0", among: [a, b, c], minimum: 8, what: "visit", shownBy: "x")
        }
        #expect(ambiguous?.code == .notFound)
        let shared = #expect(throws: LedgerError.self) {
            try Ledger.record(named: "09abcdef", among: [a, b, c], minimum: 8, what: "visit", shownBy: "x")
        }
        #expect(shared?.code == .ambiguous)
        #expect(shared?.message.contains(a.lowercased) == true && shared?.message.contains(b.lowercased) == true)
    }

    /// `visit list` and `demand add --visit` use the handle; a visit to another enterprise is
    /// refused as a demand's visit; `history` takes the handle.
    @Test func visitsAreNamedByTheirHandles() throws {
        let county = try WorkflowCounty(at: "2025-09-24 09:00")
        try county.operatorLedger.importRegistry(
            .enterprises,
            csv: "企业名称,统一社会信用代码,所属镇街/园区\n高唐机械有限公司,91110108551385082Q,人和街道\n",
            name: "more.csv"
        )
        try county.operatorLedger.link([.init(cadre: "王强", enterprise: "高唐机械有限公司", role: .lead)])
        let visit = try county.cadre.addVisit(VisitInput(enterprise: "高唐纺织有限公司", topics: "用工"))
        let other = try county.cadre.addVisit(VisitInput(enterprise: "高唐机械有限公司"))
        let listed = try county.cadre.visits()
        let handle = try #require(listed.first { $0.id == visit.lowercased }?.handle)
        #expect(handle.count == 8 && visit.lowercased.replacingOccurrences(of: "-", with: "").hasSuffix(handle))
        #expect(try county.cadre.visit(named: handle) == visit)
        #expect(try county.cadre.visit(named: handle.uppercased()) == visit)
        #expect(try county.cadre.visit(named: visit.uuidString) == visit)
        let (demand, _) = try county.cadre.addDemand(
            DemandInput(
                enterprise: "高唐纺织有限公司",
                title: "招工",
                content: "缺挡车工",
                category: "用工",
                visit: try county.cadre.visit(named: handle)
            )
        )
        let stored = try county.cadre.replica.database.read { db in
            try Data.fetchOne(db, sql: "SELECT visit_id FROM demands WHERE id = ?", arguments: [Data(demand.bytes16)])
        }
        #expect(stored == Data(visit.bytes16))
        let wrong = #expect(throws: LedgerError.self) {
            try county.cadre.addDemand(DemandInput(enterprise: "高唐纺织有限公司", title: "x", content: "y", visit: other))
        }
        #expect(wrong?.message.contains("another enterprise") == true)
        #expect(try county.cadre.demands().count == 1, "nothing stored")
        #expect(try county.cadre.history(of: handle).table == "visits")
        #expect(try county.cadre.recordName(table: "visits", row: visit) == handle)
        #expect(try county.cadre.recordLabel(table: "visits", row: visit).hasPrefix("走访记录 \(handle) (高唐纺织有限公司"))
    }

    /// A department's device shows the demands assigned to it (as lead or co-department, now or
    /// earlier) and the visits they came from; not the cadre's draft in the same enterprise, nor
    /// another department's demand. Its steps are still judged by the workflow.
    @Test func aDepartmentSeesTheDemandsAssignedToIt() throws {
        let county = try WorkflowCounty(at: "2025-09-24 09:00")
        let visit = try county.cadre.addVisit(VisitInput(enterprise: "高唐纺织有限公司"))
        let assigned = try county.cadre.addDemand(
            DemandInput(
                enterprise: "高唐纺织有限公司",
                title: "道路积水",
                content: "厂门前积水",
                category: "基础设施",
                visit: visit
            )
        ).number
        let draft = try county.newDemand(title: "草稿中的诉求")
        let elsewhere = try county.newDemand(title: "审批事项")
        _ = try county.cadre.act(.submit, on: assigned, ActionInput())
        _ = try county.coordinator.act(
            .assign,
            on: assigned,
            county.input {
                $0.lead = "县市场监管局"
                $0.co = ["县住房城乡建设局"]
            }
        )
        _ = try county.cadre.act(.submit, on: elsewhere, ActionInput())
        _ = try county.coordinator.act(.assign, on: elsewhere, county.input { $0.lead = "县行政审批局" })

        #expect(try county.market.demands().map(\.number) == [assigned])
        #expect(try county.housing.demands().map(\.number) == [assigned], "a co-department sees it too")
        #expect(try county.approval.demands().map(\.number) == [elsewhere])
        #expect(try county.coordinator.demands().count == 3)
        #expect(try county.cadre.demands().count == 3)
        let hidden = #expect(throws: LedgerError.self) { try county.market.demandDetail(draft) }
        #expect(hidden?.message.contains("not assigned to 县市场监管局") == true)
        #expect(throws: LedgerError.self) { try county.market.events(ofDemand: elsewhere) }
        #expect(throws: LedgerError.self) { try county.market.history(of: draft) }
        #expect(try county.market.demandDetail(assigned).number == assigned)
        #expect(try county.market.visits().map(\.id) == [visit.lowercased])
        #expect(try county.approval.visits().isEmpty)
        let ledger = try county.market.workLedger(today: Day("2025-09-25")!)
        #expect(ledger.rows.count == 1)

        // Returned and reassigned: the department it was taken from still sees what it did.
        _ = try county.market.act(
            .return,
            on: assigned,
            county.input {
                $0.comment = "属审批事项"
                $0.suggest = "县行政审批局"
            }
        )
        _ = try county.coordinator.act(.reassign, on: assigned, county.input { $0.lead = "县行政审批局" })
        #expect(try county.market.demands().map(\.number) == [assigned])
        #expect(Set(try county.approval.demands().map(\.number)) == [assigned, elsewhere])
        // A step on a demand it may not see is refused by the workflow, as before.
        #expect(throws: LedgerError.self) { try county.market.act(.sign, on: elsewhere, ActionInput()) }
    }
}
