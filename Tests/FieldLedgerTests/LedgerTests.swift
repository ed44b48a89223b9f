import FieldCrypto
import FieldStore
import Foundation
import GRDB
import Testing

@testable import FieldLedger

@Suite struct USCCTests {
    @Test(arguments: ["91110108551385082Q", "91110000600037341L", "91371082775260043P", " 9137 1082775260043p "])
    func validCodes(code: String) throws {
        #expect(USCC.isValid(code))
    }

    @Test func invalidCodesSayWhy() {
        let wrongCheck = #expect(throws: LedgerError.self) { try USCC.validate("91350100M000100Y4Z") }
        #expect(wrongCheck?.message.contains("should be 3") == true)
        let letterO = #expect(throws: LedgerError.self) { try USCC.validate("91110108551385O82Q") }
        #expect(letterO?.message.contains("not allowed") == true)
        #expect(throws: LedgerError.self) { try USCC.validate("9111010855138508") }
        #expect(throws: LedgerError.self) { try USCC.validate("01110108551385082Q") }
    }

    @Test func checkCharacterMatchesTheExamples() throws {
        let code = Array("91350100M000100Y4")
        let values = code.map { USCC.alphabet.firstIndex(of: $0)! }
        #expect(USCC.checkCharacter(values) == "3")
    }
}

@Suite struct SchemaTests {
    /// The binary carries schema/*.sql; tools/embed-schema.sh regenerates the copy.
    @Test func embeddedSchemaMatchesTheFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let folder = root.appendingPathComponent("schema")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }
            .sorted()
        #expect(files.count == LedgerSchema.embedded.count, "run tools/embed-schema.sh")
        for (file, migration) in zip(files, LedgerSchema.embedded) {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            let normalize = { (s: String) in
                s.split(separator: "\n", omittingEmptySubsequences: false).map {
                    $0.trimmingCharacters(in: .whitespaces)
                }.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(
                normalize(text) == normalize(migration.sql),
                "\(file) differs from the embedded copy: run tools/embed-schema.sh"
            )
        }
        let calendars = try FileManager.default.contentsOfDirectory(
            atPath: folder.appendingPathComponent("calendar").path
        )
        .filter { $0.hasSuffix(".csv") }.sorted()
        #expect(calendars.count == LedgerSchema.shippedCalendars.count, "run tools/embed-schema.sh")
        for (file, embedded) in zip(calendars, LedgerSchema.shippedCalendars) {
            let text = try String(contentsOf: folder.appendingPathComponent("calendar/" + file), encoding: .utf8)
            #expect(
                text.trimmingCharacters(in: .whitespacesAndNewlines) == embedded,
                "\(file) differs from the embedded copy: run tools/embed-schema.sh"
            )
        }
    }
}

/// A county with an operator replica and cadre replicas, all in memory.
struct County {
    let root = SigningKey.generate()
    let operatorLedger: Ledger

    init() throws {
        operatorLedger = try Ledger.open(path: nil, root: root.publicKey, key: root)
        try operatorLedger.importRegistry(
            .departments,
            csv: "单位名称,类型\n县行政审批局,县直部门\n县市场监管局,县直部门\n",
            name: "departments.csv"
        )
        try operatorLedger.importRegistry(.cadres, csv: "姓名,职务,单位\n王强,副县长,县行政审批局\n李娜,局长,县市场监管局\n", name: "cadres.csv")
        try operatorLedger.importRegistry(
            .enterprises,
            csv:
                "\u{FEFF}企业名称,统一社会信用代码,所属镇街/园区,联系人,联系电话\n高唐纺织有限公司,91371082775260043P,鱼邱湖街道,赵敏,13800000001\n\"鲁西化工, 高唐分公司\",91110108551385082Q,开发区,钱伟,13800000002\n",
            name: "enterprises.csv"
        )
        try operatorLedger.importRegistry(
            .linkages,
            csv: "包联领导,企业名称,包联角色\n王强,高唐纺织有限公司,主包\n李娜,91110108551385082Q,主包\n",
            name: "linkages.csv"
        )
    }

    /// A new cadre replica enrolled for `cadre`, holding the operator's commits.
    func cadreLedger(_ cadre: String) throws -> Ledger {
        let key = SigningKey.generate()
        try operatorLedger.enroll(publicKey: key.publicKey, role: .cadre, cadre: cadre)
        let ledger = try Ledger.open(path: nil, root: root.publicKey, key: key)
        try exchange(from: operatorLedger, to: ledger)
        return ledger
    }

    /// A new coordinator replica (县营商办), holding the operator's commits.
    func coordinatorLedger() throws -> Ledger {
        let key = SigningKey.generate()
        try operatorLedger.enroll(publicKey: key.publicKey, role: .coordinator, label: "县营商办")
        let ledger = try Ledger.open(path: nil, root: root.publicKey, key: key)
        try exchange(from: operatorLedger, to: ledger)
        return ledger
    }

    func exchange(from: Ledger, to: Ledger) throws {
        var records: [[UInt8]] = []
        try from.replica.exportRecords { records.append($0) }
        _ = try to.replica.importRecords(records)
    }
}

@Suite struct LedgerTests {
    @Test func registryImportsFromChineseCSV() throws {
        let county = try County()
        let counts = try county.operatorLedger.counts()
        #expect(counts["departments"] == 2)
        #expect(counts["cadres"] == 2)
        #expect(counts["enterprises"] == 2)
        #expect(counts["linkages"] == 2)
        #expect(
            try county.operatorLedger.enterprise(named: "鲁西化工, 高唐分公司")
                == county.operatorLedger.enterprise(named: "91110108551385082Q")
        )
    }

    @Test func badCSVIsRefusedWholeWithALineNumber() throws {
        let county = try County()
        let missing = #expect(throws: LedgerError.self) {
            try county.operatorLedger.importRegistry(
                .enterprises,
                csv: "名称,统一社会信用代码\nx,91110000600037341L\n",
                name: "e.csv"
            )
        }
        #expect(missing?.code == .csvMissingColumn)
        #expect(missing?.message.contains("企业名称") == true)
        let invalid = #expect(throws: LedgerError.self) {
            try county.operatorLedger.importRegistry(
                .enterprises,
                csv: "企业名称,统一社会信用代码\n好企业,91110000600037341L\n坏企业,91350100M000100Y4Z\n",
                name: "e.csv"
            )
        }
        #expect(invalid?.code == .invalidUSCC)
        #expect(invalid?.message.contains("line 3") == true)
        #expect(try county.operatorLedger.counts()["enterprises"] == 2, "nothing of a bad file is stored")
        // One code twice in a file is refused, naming both lines.
        let duplicate = #expect(throws: LedgerError.self) {
            try county.operatorLedger.importRegistry(
                .enterprises,
                csv: "企业名称,统一社会信用代码\n重复,91110000600037341L\n又一个,91110000600037341L\n",
                name: "e.csv"
            )
        }
        #expect(duplicate?.code == .duplicateUSCC)
        #expect(duplicate?.message.contains("line 3") == true && duplicate?.message.contains("line 2") == true)
        // A code the registry has names that enterprise: the line updates it (issue 13, a master
        // file imports again as an update keyed by USCC), and a dry run shows the rename first.
        let plan = try county.operatorLedger.importRegistry(
            .enterprises,
            csv: "企业名称,统一社会信用代码\n重复,91371082775260043P\n",
            name: "e.csv",
            dryRun: true
        )
        #expect(plan.first?.action == .update)
        #expect(plan.first?.changes.first?.new == "重复")
    }

    @Test func oneActiveLeadPerEnterprise() throws {
        let county = try County()
        let error = #expect(throws: LedgerError.self) {
            try county.operatorLedger.link([.init(cadre: "李娜", enterprise: "高唐纺织有限公司", role: .lead)])
        }
        #expect(error?.code == .leadAlreadyLinked)
        try county.operatorLedger.link([.init(cadre: "李娜", enterprise: "高唐纺织有限公司", role: .assisting)])
        try county.operatorLedger.link([.init(cadre: "李娜", enterprise: "高唐纺织有限公司", role: .lead)], replaceLead: true)
        let leads = try county.operatorLedger.replica.database.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM linkages WHERE active = 1 AND role = 'lead'")
        }
        #expect(leads == 2)
    }

    @Test func cadreWritesOnlyLinkedEnterprises() throws {
        let county = try County()
        let wang = try county.cadreLedger("王强")
        let visit = try wang.addVisit(VisitInput(enterprise: "高唐纺织有限公司", isServiceDay: true, topics: "用工"))
        #expect(try wang.visits().map(\.id) == [visit.lowercased])
        let refused = #expect(throws: LedgerError.self) {
            try wang.addVisit(VisitInput(enterprise: "鲁西化工, 高唐分公司"))
        }
        #expect(refused?.code == .notPermitted)
        #expect(try wang.visits().count == 1)
        // A cadre device cannot write the registry.
        #expect(throws: LedgerError.self) { try wang.addDepartments([DepartmentInput(name: "x")]) }
    }

    @Test func demandsAreNumberedPerDeviceAndEditedWithEvents() throws {
        let county = try County()
        let wang = try county.cadreLedger("王强")
        let first = try wang.addDemand(
            DemandInput(enterprise: "高唐纺织有限公司", title: "招工难", content: "急需熟练挡车工50名", category: "用工")
        )
        let second = try wang.addDemand(
            DemandInput(enterprise: "高唐纺织有限公司", title: "用电", content: "申请增容", category: "水电气热")
        )
        #expect(first.number.hasPrefix("GT-"))
        #expect(first.number.hasSuffix("-D001-0001"))
        #expect(second.number.hasSuffix("-D001-0002"))
        try wang.editDemand(first.number, fields: ["urgency": "紧急", "expected": "一个月内到岗"])
        let detail = try wang.demandDetail(first.number)
        #expect(detail.urgency == "紧急")
        #expect(try wang.events(ofDemand: first.number).map(\.action) == ["create", "edit"])
        #expect(throws: LedgerError.self) { try wang.editDemand(first.number, fields: ["category": "不存在"]) }
        #expect(throws: LedgerError.self) { try wang.editDemand(first.number, fields: ["state": "CLOSED"]) }
        let history = try wang.history(of: first.number)
        #expect(history.table == "demands")
        #expect(history.lines.contains { $0.field == "urgency" && $0.value == "紧急" && $0.author.contains("王强") })
    }

    @Test func concurrentEditsOfADemandConflictAndResolve() throws {
        let county = try County()
        let wang = try county.cadreLedger("王强")
        let coordinatorKey = SigningKey.generate()
        try county.operatorLedger.enroll(publicKey: coordinatorKey.publicKey, role: .coordinator, label: "县营商办")
        let coordinator = try Ledger.open(path: nil, root: county.root.publicKey, key: coordinatorKey)
        try county.exchange(from: county.operatorLedger, to: coordinator)
        let demand = try wang.addDemand(DemandInput(enterprise: "高唐纺织有限公司", title: "招工难", content: "急需挡车工"))
        try county.exchange(from: wang, to: coordinator)
        try wang.editDemand(demand.number, fields: ["title": "招工难（挡车工）"])
        try coordinator.editDemand(demand.number, fields: ["title": "用工需求"])
        try county.exchange(from: wang, to: coordinator)
        try county.exchange(from: coordinator, to: wang)
        let conflicts = try wang.replica.conflicts()
        #expect(conflicts.count == 1)
        #expect(conflicts.first?.column == "title")
        #expect(try wang.demandDetail(demand.number).title == coordinator.demandDetail(demand.number).title)
        #expect(try wang.events(ofDemand: demand.number).count == 3)
        try wang.resolveConflict(table: "demands", row: conflicts[0].row, column: "title", value: .text("招工难（挡车工50名）"))
        try county.exchange(from: wang, to: coordinator)
        #expect(try coordinator.replica.conflicts().isEmpty)
        #expect(try coordinator.demandDetail(demand.number).title == "招工难（挡车工50名）")
        let scope = RegistryIDs.scope(of: try wang.enterprise(named: "高唐纺织有限公司"))
        #expect(try wang.replica.digest(scope: scope) == coordinator.replica.digest(scope: scope))
    }

    @Test func unenrolledAndRevokedDevicesAreRefusedEverywhere() throws {
        let county = try County()
        let wang = try county.cadreLedger("王强")
        _ = try wang.addDemand(DemandInput(enterprise: "高唐纺织有限公司", title: "a", content: "b"))
        try county.exchange(from: wang, to: county.operatorLedger)
        #expect(try county.operatorLedger.demands().count == 1)
        // Revoked: the device's next commit is refused by the operator, even relayed by a peer.
        try county.operatorLedger.revoke(publicKey: wang.key.publicKey)
        _ = try wang.addDemand(DemandInput(enterprise: "高唐纺织有限公司", title: "after", content: "revocation"))
        let peer = try county.cadreLedger("李娜")
        try county.exchange(from: wang, to: peer)
        try county.exchange(from: peer, to: county.operatorLedger)
        #expect(try county.operatorLedger.demands().map(\.title) == ["a"])
        // An unknown device is refused with a reason, and nothing applied.
        let stranger = try Ledger.open(path: nil, root: county.root.publicKey, key: SigningKey.generate())
        try county.exchange(from: county.operatorLedger, to: stranger)
        let error = #expect(throws: LedgerError.self) {
            try stranger.addDemand(DemandInput(enterprise: "高唐纺织有限公司", title: "x", content: "y"))
        }
        #expect(error?.message.contains("not enrolled") == true)
    }

    @Test func unlinkingClosesTheCadresFeedsInThatEnterprise() throws {
        let county = try County()
        let wang = try county.cadreLedger("王强")
        try wang.addVisit(VisitInput(enterprise: "高唐纺织有限公司", topics: "before"))
        try county.exchange(from: wang, to: county.operatorLedger)
        try county.operatorLedger.unlink(cadre: "王强", enterprise: "高唐纺织有限公司")
        // The laptop has not heard of the unlinking: its write cites the old registry.
        try wang.addVisit(VisitInput(enterprise: "高唐纺织有限公司", topics: "after"))
        try county.exchange(from: wang, to: county.operatorLedger)
        #expect(try county.operatorLedger.visits().map(\.topics) == ["before"])
        // Once the laptop has the registry, it refuses the write itself.
        try county.exchange(from: county.operatorLedger, to: wang)
        #expect(try wang.visits().map(\.topics) == ["before"])
        #expect(throws: LedgerError.self) { try wang.addVisit(VisitInput(enterprise: "高唐纺织有限公司")) }
        // Linking again reopens the feed.
        try county.operatorLedger.link([.init(cadre: "王强", enterprise: "高唐纺织有限公司", role: .assisting)])
        try county.exchange(from: county.operatorLedger, to: wang)
        try wang.addVisit(VisitInput(enterprise: "高唐纺织有限公司", topics: "again"))
        try county.exchange(from: wang, to: county.operatorLedger)
        #expect(try county.operatorLedger.visits().count == 3)
        let scope = RegistryIDs.scope(of: try wang.enterprise(named: "高唐纺织有限公司"))
        #expect(try wang.replica.digest(scope: scope) == county.operatorLedger.replica.digest(scope: scope))
        // A replica that sees the registry first and the visits after ends in the same state.
        let late = try Ledger.open(path: nil, root: county.root.publicKey, key: SigningKey.generate())
        var registry: [[UInt8]] = []
        try county.operatorLedger.replica.exportRecords(scopes: [Commit.registryScope]) { registry.append($0) }
        _ = try late.replica.importRecords(registry)
        try county.exchange(from: wang, to: late)
        #expect(try late.replica.digest(scope: scope) == county.operatorLedger.replica.digest(scope: scope))
    }

    @Test func rolesLimitTheTablesADeviceWrites() throws {
        let county = try County()
        let key = SigningKey.generate()
        try county.operatorLedger.enroll(publicKey: key.publicKey, role: .department, department: "县市场监管局")
        let department = try Ledger.open(path: nil, root: county.root.publicKey, key: key)
        try county.exchange(from: county.operatorLedger, to: department)
        let error = #expect(throws: LedgerError.self) { try department.addVisit(VisitInput(enterprise: "高唐纺织有限公司")) }
        #expect(error?.message.contains("may not write visits") == true)
        #expect(try department.visits().isEmpty)
    }

    @Test func visitAndDemandFieldsAreValidated() throws {
        let county = try County()
        let wang = try county.cadreLedger("王强")
        #expect(throws: LedgerError.self) { try wang.addVisit(VisitInput(enterprise: "高唐纺织有限公司", mode: "飞鸽")) }
        #expect(throws: LedgerError.self) { try wang.addVisit(VisitInput(enterprise: "高唐纺织有限公司", date: "2026-13-01")) }
        #expect(throws: LedgerError.self) {
            try wang.addDemand(DemandInput(enterprise: "高唐纺织有限公司", title: "", content: "x"))
        }
        #expect(throws: LedgerError.self) {
            try wang.addDemand(DemandInput(enterprise: "不存在的企业", title: "t", content: "x"))
        }
        #expect(try wang.demands().isEmpty)
        #expect(try wang.visits().isEmpty)
    }
}

/// Text from people (and from peers) is data, never code: SQL, control characters (a NUL is
/// refused: SQLite would keep it, but it cannot be read back whole), bidirectional
/// overrides, astral characters and a 1 MB string are stored exactly and travel exactly to another
/// replica; a body past the 4 MiB commit limit is refused with a clear error and nothing stored.
@Suite struct HostileTextTests {
    static let hostile = [
        "'; DROP TABLE demands; --",
        "\" OR 1=1 --",
        "Robert'); DELETE FROM _commits; --",
        "\u{1B}[31m红\u{1B}[0m\u{7}\u{8}",
        "first\r\nsecond\rthird\n",
        "\u{202E}txt.exe\u{202C}",
        "𠀀𪚥🏭👩‍👩‍👧",
        "%s%n%x{0}\\u0000",
    ]

    @Test func hostileTextIsStoredExactlyAndTravelsExactly() throws {
        let county = try County()
        let wang = try county.cadreLedger("王强")
        let big = String(repeating: "高唐纺织企业诉求内容", count: 1_048_576 / 30) + "末"
        #expect(big.utf8.count > 1_000_000)
        var expected: [String: String] = [:]
        for (index, text) in (Self.hostile + [big]).enumerated() {
            let title = "标题\(index)"
            _ = try wang.addDemand(DemandInput(enterprise: "高唐纺织有限公司", title: title, content: text, expected: text))
            expected[title] = text
        }
        let other = try county.cadreLedger("王强")
        try county.exchange(from: wang, to: other)
        for ledger in [wang, other] {
            let demands = try ledger.demands()
            #expect(demands.count == expected.count)
            for demand in demands { #expect(demand.content == expected[demand.title], "\(demand.title)") }
            let integrity = try ledger.replica.database.read { db in
                try String.fetchAll(db, sql: "PRAGMA integrity_check")
            }
            #expect(integrity == ["ok"])
        }
        // A search with SQL wildcards and quotes is a search, not SQL.
        var filter = DemandFilter()
        filter.text = "'; DROP"
        #expect(try wang.demands(matching: filter).count == 1)
    }

    /// A NUL inside text would be stored but read back cut short, so it is refused, here and from peers.
    @Test func aNulCharacterIsRefusedWithAClearError() throws {
        let county = try County()
        let wang = try county.cadreLedger("王强")
        let error = #expect(throws: StoreError.self) {
            try wang.addDemand(DemandInput(enterprise: "高唐纺织有限公司", title: "零字符", content: "行\u{0}内"))
        }
        #expect(error?.code == .invalidValue)
        #expect(error?.message.contains("NUL") == true)
        #expect(try wang.demands().isEmpty)
    }

    @Test func aCommitPastTheSizeLimitIsRefusedAndNothingIsStored() throws {
        let county = try County()
        let wang = try county.cadreLedger("王强")
        let before = try wang.replica.commitCounts()
        let huge = String(repeating: "x", count: 5 << 20)
        let error = #expect(throws: (any Error).self) {
            try wang.addDemand(DemandInput(enterprise: "高唐纺织有限公司", title: "太长", content: huge))
        }
        #expect(
            "\(error.map { "\($0)" } ?? "")".contains("at most 4194304 bytes"),
            "the error names the limit: \(String(describing: error))"
        )
        #expect(try wang.demands().isEmpty)
        #expect(try wang.replica.commitCounts() == before)
    }
}
