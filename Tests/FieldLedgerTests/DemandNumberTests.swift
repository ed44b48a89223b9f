import FieldCrypto
import FieldStore
import Foundation
import Synchronization
import Testing

@testable import FieldLedger

/// Demand numbers are said aloud and written down: one replica never hands out one twice.
@Suite struct DemandNumberTests {
    /// Six `demand add` at once on one laptop (six processes there; here six connections to the
    /// same file) handed out GT-2026-D001-0003 twice and -0004 three times: the last number was read
    /// before the write transaction. Now each number is taken inside it, in turn.
    @Test func concurrentAddsOnOneReplicaNeverRepeatANumber() throws {
        let county = try County()
        let key = SigningKey.generate()
        _ = try county.operatorLedger.enroll(publicKey: key.publicKey, role: .cadre, cadre: "王强")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fieldlog-numbers-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("replica.sqlite").path
        let laptop = try Ledger.open(path: path, root: county.root.publicKey, key: key)
        try county.exchange(from: county.operatorLedger, to: laptop)
        _ = try laptop.addDemand(DemandInput(enterprise: "高唐纺织有限公司", title: "first", content: "c"))
        let writers = 6
        let ledgers = try (0..<writers).map { _ in try Ledger.open(path: path, root: county.root.publicKey, key: key) }
        let numbers = Mutex<[String]>([])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: writers * 3) { index in
            do {
                let made = try ledgers[index % writers].addDemand(
                    DemandInput(enterprise: "高唐纺织有限公司", title: "t\(index)", content: "c")
                )
                numbers.withLock { $0.append(made.number) }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let handed = numbers.withLock { $0 }
        #expect(Set(handed).count == handed.count, "no number twice: \(handed.sorted())")
        let stored = try laptop.demands().map(\.number).sorted()
        #expect(stored.count == writers * 3 + 1)
        #expect(Set(stored).count == stored.count)
        let prefix = String(stored[0].dropLast(4))
        #expect(
            stored == (1...(writers * 3 + 1)).map { prefix + String(format: "%04d", $0) },
            "the count stays exact: \(stored)"
        )
    }
}
