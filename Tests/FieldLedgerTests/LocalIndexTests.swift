import FieldCrypto
import FieldStore
import Foundation
import GRDB
import Testing

@testable import FieldLedger

/// Indexes a replica keeps for itself on replicated tables: created on open, replicated never.
@Suite struct LocalIndexTests {
    /// Every signed request a cadre's device sends the hub reads the scopes that device may read.
    /// That read was a scan of every linkage of the county; it goes through `_linkages_cadre`, and a
    /// replica opened without the index (an older build's) gains it.
    @Test func aCadresEnterprisesAreFoundThroughTheLinkageIndex() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("local-index-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("replica.sqlite").path
        let root = SigningKey.generate()
        let cadreDevice = SigningKey.generate()
        do {
            let ledger = try Ledger.open(path: path, root: root.publicKey, key: root)
            try ledger.importRegistry(.departments, csv: "单位名称,类型\n县行政审批局,县直部门\n", name: "d.csv")
            try ledger.importRegistry(.cadres, csv: "姓名,职务,单位\n王强,副县长,县行政审批局\n", name: "c.csv")
            try ledger.importRegistry(
                .enterprises,
                csv: "企业名称,统一社会信用代码,所属镇街/园区,联系人,联系电话\n高唐纺织有限公司,91371082775260043P,鱼邱湖街道,赵敏,13800000001\n",
                name: "e.csv"
            )
            try ledger.importRegistry(.linkages, csv: "包联领导,企业名称,包联角色\n王强,高唐纺织有限公司,主包\n", name: "l.csv")
            try ledger.enroll(publicKey: cadreDevice.publicKey, role: .cadre, cadre: "王强")
            try ledger.replica.database.write { db in try db.execute(sql: "DROP INDEX _linkages_cadre") }
        }
        let ledger = try Ledger.open(path: path, root: root.publicKey, key: root)
        // The plan from a connection opened after the index was made (an EXPLAIN is planned with
        // the schema its connection last read; a real statement is planned again on a change).
        var configuration = Configuration()
        configuration.readonly = true
        let plan = try DatabaseQueue(path: path, configuration: configuration).read { db in
            try Row.fetchAll(
                db,
                sql: "EXPLAIN QUERY PLAN " + LocalIndexes.cadreEnterprises,
                arguments: [Data(RegistryIDs.device(cadreDevice.publicKey).bytes16)]
            ).map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("_linkages_cadre") }, "\(plan)")
        #expect(!plan.contains { $0.hasPrefix("SCAN l") }, "\(plan)")
        let textile = try ledger.enterprise(named: "高唐纺织有限公司")
        #expect(
            try ledger.readableScopes(of: cadreDevice.publicKey) == [
                Commit.registryScope, RegistryIDs.scope(of: textile),
            ]
        )
    }
}
