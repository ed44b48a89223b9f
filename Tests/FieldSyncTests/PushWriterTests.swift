import FieldCrypto
import FieldStore
import Foundation
import GRDB
import Synchronization
import Testing

@testable import FieldHub
@testable import FieldLedger

/// The hub's one writer of pushes: pushes that arrive while it writes go in its next group.
@Suite struct PushWriterTests {
    /// A valid USCC for a test enterprise.
    static func uscc(_ index: Int) -> String {
        let body = "9137152600000" + String(format: "%04d", index)
        return body + String(USCC.checkCharacter(body.map { USCC.alphabet.firstIndex(of: $0)! }))
    }

    @Test func pushesThatWaitAreWrittenTogetherEachWithItsOwnReport() async throws {
        let root = SigningKey.generate()
        let folder = NSTemporaryDirectory() + "fieldlog-pushwriter-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let hub = try Ledger.open(path: folder + "/hub.sqlite", root: root.publicKey, key: root)
        try hub.addDepartments([DepartmentInput(name: "县工业和信息化局")])
        let count = 10
        var laptops: [Ledger] = []
        for index in 0..<count {
            try hub.addCadres([CadreInput(name: "干部\(index)", department: "县工业和信息化局")])
            try hub.addEnterprises([EnterpriseInput(name: "企业\(index)", uscc: Self.uscc(index))])
            try hub.link([.init(cadre: "干部\(index)", enterprise: "企业\(index)", role: .lead)])
            let key = SigningKey.generate()
            try hub.enroll(publicKey: key.publicKey, role: .cadre, cadre: "干部\(index)")
            laptops.append(try Ledger.open(path: nil, root: root.publicKey, key: key))
        }
        var registry: [[UInt8]] = []
        try hub.replica.exportRecords(scopes: [Commit.registryScope]) { registry.append($0) }
        var pushes: [[SignedCommit]] = []
        for (index, laptop) in laptops.enumerated() {
            _ = try laptop.replica.importRecords(registry)
            for _ in 0..<(index % 3 + 1) { try laptop.addVisit(VisitInput(enterprise: "企业\(index)", topics: "用工")) }
            var records: [[UInt8]] = []
            try laptop.replica.exportRecords { records.append($0) }
            pushes.append(
                try records.map { try WireRecord.decode($0) }.filter { $0.commit.scope != Commit.registryScope }
            )
        }
        let arrived = Atomic(0)
        let (allWaiting, signal) = AsyncStream<Void>.makeStream()
        let metrics = HubMetrics()
        let writer = PushWriter(
            replica: hub.replica,
            keepsRefused: false,
            threads: .shared,
            metrics: metrics,
            onWaiting: { _ in
                if arrived.add(1, ordering: .sequentiallyConsistent).newValue == count { signal.yield() }
            }
        )
        // Hold SQLite's writer until every push waits, so that they cannot be written one by one.
        let (held, release) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        Thread {
            try? hub.replica.database.write { _ in
                held.signal()
                release.wait()
            }
        }.start()
        held.wait()
        let reports = try await withThrowingTaskGroup(of: (Int, ImportReport).self) { group in
            for (index, push) in pushes.enumerated() {
                group.addTask { (index, try await writer.push(push)) }
            }
            for await _ in allWaiting { break }
            release.signal()
            var reports: [Int: ImportReport] = [:]
            for try await (index, report) in group { reports[index] = report }
            return reports
        }
        for (index, push) in pushes.enumerated() {
            #expect(reports[index]?.applied == push.count, "push \(index)")
            #expect(reports[index]?.refused.isEmpty == true, "push \(index)")
        }
        #expect(try hub.visits().count == pushes.reduce(0) { $0 + $1.count })
        let text = String(decoding: metrics.render(), as: UTF8.self)
        let groups = text.split(separator: "\n").first { $0.hasPrefix("fieldlog_hub_push_groups_total ") }
        let taken = text.split(separator: "\n").first { $0.hasPrefix("fieldlog_hub_pushes_grouped_total ") }
        #expect(taken?.split(separator: " ").last == "\(count)")
        // The first push may have been taken alone before the others arrived; never more groups.
        let groupCount = Int(groups?.split(separator: " ").last ?? "") ?? 0
        #expect((1...2).contains(groupCount), "\(groups ?? "no groups")")
        // Each group's time is in the writer's histogram: as many observations as groups, and
        // more than nothing in all.
        let timed = text.split(separator: "\n").first {
            $0.hasPrefix("fieldlog_hub_push_group_duration_seconds_count ")
        }
        #expect(timed?.split(separator: " ").last == "\(groupCount)", "\(timed ?? "no histogram")")
        let busy = text.split(separator: "\n").first { $0.hasPrefix("fieldlog_hub_push_group_duration_seconds_sum ") }
        #expect((Double(busy?.split(separator: " ").last ?? "") ?? 0) > 0, "\(busy ?? "no sum")")
        #expect(try hub.replica.check().isClean)
    }
}
