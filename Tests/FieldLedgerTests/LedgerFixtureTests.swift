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

    /// The fixture written by the code of storage `storage` (`Fixtures/storage-N`, same scenario).
    static func folder(storage: Int) -> URL {
        folder.deletingLastPathComponent().appendingPathComponent("storage-\(storage)")
    }

    static func copy(storage: Int = 1) throws -> String {
        let folder = NSTemporaryDirectory() + "fieldlog-ledger-fixture-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: Self.folder(storage: storage).appendingPathComponent("ledger.sqlite").path,
            toPath: folder + "/ledger.sqlite"
        )
        return folder + "/ledger.sqlite"
    }

    static func facts(storage: Int = 1) throws -> Facts {
        try JSONDecoder().decode(
            Facts.self,
            from: Data(contentsOf: folder(storage: storage).appendingPathComponent("ledger-facts.json"))
        )
    }

    static func open(_ path: String, clock: UInt64) throws -> Ledger {
        var options = ReplicaOptions()
        options.wallClock = { clock }
        return try Ledger.open(path: path, root: nil, key: root, options: options)
    }
}

@Suite struct LedgerFixtureTests {
    /// `FIELDLOG_WRITE_STORAGE_FIXTURE=N swift test --filter LedgerFixtureTests`, run by a build of
    /// storage N before the layout changes, wrote `Fixtures/storage-N` with that build's code.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FIELDLOG_WRITE_STORAGE_FIXTURE"] != nil))
    func writeTheFixture() throws {
        let storage = Int(ProcessInfo.processInfo.environment["FIELDLOG_WRITE_STORAGE_FIXTURE"] ?? "") ?? 0
        let target = LedgerFixture.folder(storage: storage).appendingPathComponent("ledger.sqlite")
        let folder = NSTemporaryDirectory() + "fieldlog-ledger-fixture-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let facts = try LedgerFixture.write(to: folder + "/ledger.sqlite")
        try FileManager.default.createDirectory(
            at: target.deletingLastPathComponent(),
            withIntermediateDirectories: true
        )
        try? FileManager.default.removeItem(at: target)
        let queue = try DatabaseQueue(path: folder + "/ledger.sqlite")
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "VACUUM INTO ?", arguments: [target.path])
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(facts).write(
            to: target.deletingLastPathComponent().appendingPathComponent("ledger-facts.json")
        )
    }

    /// The checked-in ledger replica reads as the code that wrote it read it, passes the check,
    /// and takes the next step of the workflow.
    @Test func theStorage1LedgerReadsAsItWasWritten() throws {
        try readsAsItWasWritten(storage: 1)
    }

    /// The same county written by the storage-2 code (upgrade 2 → 3).
    @Test func theStorage2LedgerReadsAsItWasWritten() throws {
        try readsAsItWasWritten(storage: 2)
    }

    /// The same county written by the storage-3 code (upgrade 3 → 4).
    @Test func theStorage3LedgerReadsAsItWasWritten() throws {
        try readsAsItWasWritten(storage: 3)
    }

    func readsAsItWasWritten(storage: Int) throws {
        let expected = try LedgerFixture.facts(storage: storage)
        #expect(expected.commits.allSatisfy { $0 > 0 })
        #expect(expected.conflicts.count == 1)
        let path = try LedgerFixture.copy(storage: storage)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let ledger = try LedgerFixture.open(path, clock: expected.clock)
        #expect(try LedgerFixture.Facts.read(ledger, clock: expected.clock) == expected)
        #expect(try ledger.check().isClean)
        let number = try #require(try ledger.demands().first?.number)
        try ledger.editDemand(number, fields: ["title": "厂区道路积水（定稿）"])
        #expect(try ledger.openConflicts().isEmpty)
    }
}
