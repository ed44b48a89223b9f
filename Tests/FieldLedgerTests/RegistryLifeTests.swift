import FieldCrypto
import FieldStore
import Foundation
import Testing

@testable import FieldLedger

/// The registry after its first import: it can be corrected, renamed and retired, re-imported as a
/// master file, and looked up the way people name things. Nothing is ever deleted.
@Suite struct RegistryLifeTests {
    static let enterprises = """
        企业名称,统一社会信用代码,所属镇街/园区,联系人,联系电话
        高唐纺织有限公司,91371082775260043P,鱼邱湖街道,赵敏,13800000001
        "鲁西化工, 高唐分公司",91110108551385082Q,开发区,钱伟,13800000002

        """

    /// Re-importing the same file used to fail ("already registered to another enterprise", no line
    /// number). Now it changes nothing; a changed phone is an update, shown first by a dry run that
    /// writes nothing; a new line is an addition; and the old value stays in the history.
    @Test func aMasterFileReimportsAsAnUpdate() throws {
        let county = try County()
        let ledger = county.operatorLedger
        let same = try ledger.importRegistry(
            .enterprises,
            csv: Self.enterprises,
            name: "enterprises.csv",
            dryRun: false
        )
        #expect(same.map(\.action) == [.unchanged, .unchanged])
        let changed =
            Self.enterprises.replacingOccurrences(of: "13800000001", with: "13900000009")
            + "山东新企业有限公司,91110000600037341L,清平镇,孙丽,13700000003\n"
        let heads = try ledger.replica.heads()
        let plan = try ledger.importRegistry(.enterprises, csv: changed, name: "enterprises.csv", dryRun: true)
        #expect(plan.map(\.action) == [.update, .unchanged, .add])
        #expect(
            plan[0].changes == [
                Ledger.FieldChange(field: "contact_phone", label: "联系电话", old: "13800000001", new: "13900000009")
            ]
        )
        #expect(plan[0].line == 2 && plan[2].line == 4)
        #expect(try ledger.replica.heads() == heads, "a dry run writes nothing")
        _ = try ledger.importRegistry(.enterprises, csv: changed, name: "enterprises.csv", dryRun: false)
        let textile = try ledger.enterprise(named: "高唐纺织有限公司")
        #expect(try ledger.text("enterprises", textile, "contact_phone") == "13900000009")
        #expect(try ledger.enterprise(named: "山东新企业有限公司") != textile)
        let history = try ledger.replica.history(table: "enterprises", row: textile).filter {
            $0.column == "contact_phone"
        }
        #expect(history.map(\.value) == [.text("13800000001"), .text("13900000009")])
        // A bad line names its line, and nothing of the file is written.
        let bad = changed + "坏企业,91350100M000100Y4Z,,,\n"
        let error = #expect(throws: LedgerError.self) {
            try ledger.importRegistry(.enterprises, csv: bad, name: "e.csv", dryRun: false)
        }
        #expect(error?.message.hasPrefix("e.csv line 5:") == true)
        // Departments, cadres and linkages re-import as well.
        #expect(
            try ledger.importRegistry(.departments, csv: "单位名称,类型\n县行政审批局,县直部门\n", name: "d.csv", dryRun: false).map(
                \.action
            ) == [.unchanged]
        )
        #expect(
            try ledger.importRegistry(.linkages, csv: "包联领导,企业名称,包联角色\n王强,高唐纺织有限公司,主包\n", name: "l.csv", dryRun: false)
                .map(\.action) == [.unchanged]
        )
    }

    /// A rename follows into every record (they name the row by id); the old name stays in the
    /// history. Fields are checked as at the first import.
    @Test func correctionsAndRenamesFollowIntoTheRecords() throws {
        let county = try County()
        let wang = try county.cadreLedger("王强")
        let number = try wang.addDemand(DemandInput(enterprise: "高唐纺织有限公司", title: "招工", content: "挡车工")).number
        try county.exchange(from: wang, to: county.operatorLedger)
        let ledger = county.operatorLedger
        let changes = try ledger.updateRegistry(.enterprise, "高唐纺织有限公司", set: ["name": "山东高唐纺织集团有限公司", "简称": "高唐纺织"])
        #expect(Set(changes.map(\.field)) == ["name", "short_name"])
        #expect(try ledger.demandDetail(number).enterprise == "山东高唐纺织集团有限公司")
        #expect(try ledger.enterprise(named: "高唐纺织") == ledger.enterprise(named: "山东高唐纺织集团有限公司"))
        #expect(try ledger.updateRegistry(.enterprise, "高唐纺织", set: ["简称": "高唐纺织"]).isEmpty, "nothing to change")
        #expect(throws: LedgerError.self) {
            try ledger.updateRegistry(.enterprise, "高唐纺织", set: ["统一社会信用代码": "91350100M000100Y4Z"])
        }
        #expect(throws: LedgerError.self) {
            try ledger.updateRegistry(.enterprise, "高唐纺织", set: ["统一社会信用代码": "91110108551385082Q"])
        }
        #expect(throws: LedgerError.self) { try ledger.updateRegistry(.enterprise, "高唐纺织", set: ["name": ""]) }
        #expect(throws: LedgerError.self) { try ledger.updateRegistry(.enterprise, "高唐纺织", set: ["颜色": "红"]) }
        try ledger.updateRegistry(.cadre, "王强", set: ["单位": "县市场监管局", "手机": "13600000000"])
        #expect(try ledger.registryListing("cadres").first { $0["name"] == "王强" }?["department"] == "县市场监管局")
        try ledger.updateRegistry(.department, "县行政审批局", set: ["name": "县行政审批服务局"])
        #expect(try ledger.department(named: "县行政审批服务局") == ledger.department(named: "县行政审批服务局"))
        #expect(throws: LedgerError.self) { try ledger.department(named: "县行政审批局x") }
    }

    /// A second enterprise of an existing name went in silently, after which `--enterprise` with that
    /// name failed for everyone, pointing at ids no command showed. Now it is refused unless the
    /// operator insists; then the name is ambiguous, the error lists the rows with their codes and
    /// ids, and `registry list --ids` shows them.
    @Test func aDuplicateNameIsRefusedUnlessInsistedOnAndThenNamedByCode() throws {
        let county = try County()
        let ledger = county.operatorLedger
        let twin = EnterpriseInput(name: "高唐纺织有限公司", uscc: "91110000600037341L")
        let refused = #expect(throws: LedgerError.self) { try ledger.addEnterprises([twin]) }
        #expect(refused?.code == .duplicateName)
        #expect(throws: LedgerError.self) {
            try ledger.importRegistry(
                .enterprises,
                csv: "企业名称,统一社会信用代码\n高唐纺织有限公司,91110000600037341L\n",
                name: "e.csv",
                dryRun: false
            )
        }
        try ledger.addEnterprises([twin], allowDuplicateNames: true)
        let ambiguous = #expect(throws: LedgerError.self) { try ledger.enterprise(named: "高唐纺织有限公司") }
        #expect(ambiguous?.code == .ambiguous)
        #expect(
            ambiguous?.message.contains("91110000600037341L") == true
                && ambiguous?.message.contains("91371082775260043P") == true
        )
        #expect(try ledger.enterprise(named: "91110000600037341l") != ledger.enterprise(named: "91371082775260043P"))
        let listed = try ledger.registryListing("enterprises").filter { $0["name"] == "高唐纺织有限公司" }
        #expect(listed.count == 2 && listed.allSatisfy { UUID(uuidString: $0["id"] ?? "") != nil })
        let id = try #require(listed.first?["id"])
        #expect(try ledger.enterprise(named: id).lowercased == id)
    }

    /// Names the way people say them: a USCC in lower case, a 简称 or a unique part of the name; a
    /// typo gets the nearest names; a part shared by several lists them.
    @Test func lookupsTakeWhatPeopleTypeAndSuggestOnAMiss() throws {
        let county = try County()
        let ledger = county.operatorLedger
        let textile = try ledger.enterprise(named: "高唐纺织有限公司")
        #expect(try ledger.enterprise(named: "91371082775260043p") == textile)
        #expect(try ledger.enterprise(named: " 9137 1082 7752 6004 3P ") == textile)
        #expect(try ledger.enterprise(named: "纺织") == textile)
        let typo = #expect(throws: LedgerError.self) { try ledger.enterprise(named: "高唐纺识有限公司") }
        #expect(typo?.code == .notFound)
        #expect(typo?.message.contains("did you mean 高唐纺织有限公司") == true, "\(typo?.message ?? "")")
        let shared = #expect(throws: LedgerError.self) { try ledger.enterprise(named: "高唐") }
        #expect(shared?.code == .ambiguous)
        // One character is no name: it is only suggested.
        let surname = #expect(throws: LedgerError.self) { try ledger.cadre(named: "李") }
        #expect(surname?.message.contains("did you mean 李娜（县市场监管局）") == true)
    }

    /// A retired enterprise keeps its records and open work, and takes nothing new; reinstated, it
    /// does again. A retired cadre takes no linkage; a retired unit no cadre.
    @Test func aRetiredRowStaysAndTakesNothingNew() throws {
        let county = try County()
        let wang = try county.cadreLedger("王强")
        let number = try wang.addDemand(DemandInput(enterprise: "高唐纺织有限公司", title: "招工", content: "挡车工")).number
        try county.exchange(from: wang, to: county.operatorLedger)
        try county.operatorLedger.retire(.enterprise, "高唐纺织有限公司", on: "2026-05-01")
        try county.exchange(from: county.operatorLedger, to: wang)
        let refused = #expect(throws: LedgerError.self) { try wang.addVisit(VisitInput(enterprise: "高唐纺织有限公司")) }
        #expect(refused?.message.contains("retired on 2026-05-01") == true)
        #expect(throws: LedgerError.self) {
            try wang.addDemand(DemandInput(enterprise: "高唐纺织有限公司", title: "t", content: "c"))
        }
        #expect(try wang.demandDetail(number).enterprise == "高唐纺织有限公司", "its records stay")
        try wang.editDemand(number, fields: ["content": "挡车工 50 名"])
        #expect(
            try county.operatorLedger.registryListing("enterprises").first { $0["name"] == "高唐纺织有限公司" }?["retired_on"]
                == "2026-05-01"
        )
        try county.operatorLedger.retire(.enterprise, "高唐纺织有限公司", reinstate: true)
        try county.exchange(from: county.operatorLedger, to: wang)
        _ = try wang.addVisit(VisitInput(enterprise: "高唐纺织有限公司"))
        try county.operatorLedger.retire(.cadre, "李娜")
        #expect(throws: LedgerError.self) {
            try county.operatorLedger.link([.init(cadre: "李娜", enterprise: "高唐纺织有限公司", role: .assisting)])
        }
        try county.operatorLedger.retire(.department, "县市场监管局")
        #expect(throws: LedgerError.self) {
            try county.operatorLedger.addCadres([CadreInput(name: "周平", department: "县市场监管局")])
        }
    }

    /// "Not linked" names the cadre and the enterprise, not a key fingerprint and a UUID.
    @Test func notLinkedNamesTheCadreAndTheEnterprise() throws {
        let county = try County()
        let wang = try county.cadreLedger("王强")
        let error = #expect(throws: LedgerError.self) { try wang.addVisit(VisitInput(enterprise: "鲁西化工, 高唐分公司")) }
        #expect(error?.message.hasPrefix("王强 is not linked to 鲁西化工, 高唐分公司") == true, "\(error?.message ?? "")")
    }
}
