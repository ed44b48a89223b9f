import FieldCrypto
import FieldStore
import Foundation
import GRDB
import Testing

@testable import FieldLedger

/// A county's ledger replica written by the storage-1 code (`_commits` and `_versions`), checked in
/// under `Tests/Fixtures/storage-1/` beside the engine's own fixture, with what that code read
/// from it: demands through the workflow (with the status cache), a conflict between two devices
/// of one cadre, a visit held for its clock, and a revoked device whose later commit is excluded. `write(to:)` wrote it at the
/// commit that added this file; later code would write its own layout, so it is never rewritten.
enum LedgerFixture {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/storage-1")
    static let database = folder.appendingPathComponent("ledger.sqlite")
    static let factsFile = folder.appendingPathComponent("ledger-facts.json")
    static let root = try! SigningKey(seed: [UInt8](repeating: 0x11, count: 32))
    static let laptopKey = try! SigningKey(seed: [UInt8](repeating: 0x12, count: 32))
    static let aheadKey = try! SigningKey(seed: [UInt8](repeating: 0x13, count: 32))

    struct Facts: Codable, Equatable {
        var clock: UInt64
        var digests: [String: String]
        var commits: [Int]
        var records: [String: Int]
        var demands: [String]
        var conflicts: [String]
        var history: [String]

        static func read(_ ledger: Ledger, clock: UInt64) throws -> Facts {
            let counts = try ledger.commitCounts()
            let demands = try ledger.demands()
            let first = demands.first?.number ?? ""
            return Facts(
                clock: clock,
                digests: try ledger.scopeDigests(),
                commits: [counts.applied, counts.pending, counts.excluded],
                records: try ledger.counts(),
                demands: demands.map { "\($0.number) \($0.state ?? "-") \($0.title)" },
                conflicts: try ledger.openConflicts().map { "\($0.table) \($0.column) \($0.heads.count)" },
                history: try ledger.history(of: first).lines.map {
                    "\($0.commit) \($0.sequence) \($0.field)=\($0.value) \($0.status)"
                }
            )
        }
    }

    static func write(to path: String) throws -> Facts {
        let county = try WorkflowCounty(at: "2025-09-24 09:00", path: path, root: root)
        let first = try county.newDemand()
        _ = try county.cadre.act(.submit, on: first, ActionInput())
        county.clock.set("2025-09-24 10:00")
        _ = try county.coordinator.act(.assign, on: first, county.input { $0.lead = "县市场监管局" })
        county.clock.set("2025-09-24 15:00")
        _ = try county.market.act(.sign, on: first, county.input { $0.contacted = "2025-09-24 16:00" })
        let second = try county.newDemand(title: "用工招聘难")
        _ = try county.cadre.act(.submit, on: second, ActionInput())
        // A second laptop of the same cadre edits the first demand's title apart from the first.
        _ = try county.operatorLedger.enroll(publicKey: laptopKey.publicKey, role: .cadre, cadre: "王强")
        var options = ReplicaOptions()
        let clock = county.clock
        options.wallClock = { clock.now }
        let laptop = try Ledger.open(path: nil, root: root.publicKey, key: laptopKey, options: options)
        try TwoCoordinators.exchange(county.operatorLedger, laptop)
        county.clock.set("2025-09-25 09:00")
        try laptop.editDemand(first, fields: ["title": "厂区道路积水（东门）"])
        try county.cadre.editDemand(first, fields: ["title": "厂门道路积水"])
        try TwoCoordinators.exchange(laptop, county.operatorLedger)
        // A third device with its clock two hours ahead: its visit is held for the clock.
        _ = try county.operatorLedger.enroll(publicKey: aheadKey.publicKey, role: .cadre, cadre: "王强")
        var aheadOptions = ReplicaOptions()
        aheadOptions.wallClock = { clock.now + 7_200_000 }
        let ahead = try Ledger.open(path: nil, root: root.publicKey, key: aheadKey, options: aheadOptions)
        try TwoCoordinators.exchange(county.operatorLedger, ahead)
        try ahead.addVisit(VisitInput(enterprise: "高唐纺织有限公司", topics: "用工"))
        try TwoCoordinators.exchange(ahead, county.operatorLedger)
        // The laptop is revoked; what it writes afterwards is excluded where it arrives.
        try county.operatorLedger.revoke(publicKey: laptopKey.publicKey)
        try laptop.editDemand(second, fields: ["title": "撤销后写的"])
        try TwoCoordinators.exchange(laptop, county.operatorLedger)
        try county.operatorLedger.replica.database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        return try Facts.read(county.operatorLedger, clock: county.clock.now)
    }

    static func copy() throws -> String {
        let folder = NSTemporaryDirectory() + "fieldlog-ledger-fixture-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: database.path, toPath: folder + "/ledger.sqlite")
        return folder + "/ledger.sqlite"
    }

    static func facts() throws -> Facts {
        try JSONDecoder().decode(Facts.self, from: Data(contentsOf: factsFile))
    }

    static func open(_ path: String, clock: UInt64) throws -> Ledger {
        var options = ReplicaOptions()
        options.wallClock = { clock }
        return try Ledger.open(path: path, root: nil, key: root, options: options)
    }
}

@Suite struct LedgerFixtureTests {
    /// `FIELDLOG_WRITE_STORAGE_FIXTURE=1 swift test --filter LedgerFixtureTests` wrote the files.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FIELDLOG_WRITE_STORAGE_FIXTURE"] == "1"))
    func writeTheFixture() throws {
        let folder = NSTemporaryDirectory() + "fieldlog-ledger-fixture-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let facts = try LedgerFixture.write(to: folder + "/ledger.sqlite")
        try FileManager.default.createDirectory(at: LedgerFixture.folder, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: LedgerFixture.database)
        let queue = try DatabaseQueue(path: folder + "/ledger.sqlite")
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "VACUUM INTO ?", arguments: [LedgerFixture.database.path])
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(facts).write(to: LedgerFixture.factsFile)
    }

    /// The checked-in ledger replica reads as the code that wrote it read it, passes the check,
    /// and takes the next step of the workflow.
    @Test func theStorage1LedgerReadsAsItWasWritten() throws {
        let expected = try LedgerFixture.facts()
        #expect(expected.commits.allSatisfy { $0 > 0 })
        #expect(expected.conflicts.count == 1)
        let path = try LedgerFixture.copy()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let ledger = try LedgerFixture.open(path, clock: expected.clock)
        #expect(try LedgerFixture.Facts.read(ledger, clock: expected.clock) == expected)
        #expect(try ledger.check().isClean)
        let number = try #require(try ledger.demands().first?.number)
        try ledger.editDemand(number, fields: ["title": "厂区道路积水（定稿）"])
        #expect(try ledger.openConflicts().isEmpty)
    }
}
