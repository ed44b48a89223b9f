import Foundation
import GRDB
import Testing

/// `fieldlog check`, the operator's fsck, through the built binary.
@Suite struct CheckCLITests {
    @Test func checkPassesOnASoundReplicaAndNamesTheFirstDifference() async throws {
        let county = try await CLITests.County()
        try await county.a.ok([
            "visit", "add", "--enterprise", "山东高唐纺织有限公司", "--service-day", "--topics", "用工",
        ])
        let demand = try await county.a.ok([
            "demand", "add", "--enterprise", "山东高唐纺织有限公司", "--title", "招工难", "--content", "急需挡车工",
            "--category", "用工", "--json",
        ])
        let number = (demand.json as? [String: String])?["number"] ?? ""
        try await county.exchange(county.a, county.b)
        try await county.a.ok(["demand", "edit", number, "--title", "招工难（50名）"])
        try await county.b.ok(["demand", "edit", number, "--title", "用工缺口"])
        try await county.exchange(county.b, county.a)
        let clean = try await county.a.ok(["check"])
        #expect(clean.stdout.contains("检查通过"), "\(clean.stdout)")
        let report = try await county.a.ok(["check", "--json"]).json as? [String: Any]
        #expect(report?["differenceCount"] as? Int == 0)
        #expect((report?["commits"] as? Int ?? 0) > 5)
        #expect((report?["rows"] as? Int ?? 0) > 5)
        // The operator's replica holds the whole registry: clean too.
        #expect(try await county.op.ok(["check"]).stdout.contains("检查通过"))

        // Drop the open conflict behind the engine's back: the check fails and names it.
        let queue = try DatabaseQueue(path: county.a.home + "/replica.sqlite")
        try await queue.write { db in try db.execute(sql: "DELETE FROM _conflicts") }
        try queue.close()
        let broken = try await county.a.run(["check"])
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("检查发现问题：1 处"), "\(broken.stdout)")
        #expect(broken.stderr.contains("open by the log, not stored"), "\(broken.stderr)")
        #expect(broken.stderr.contains("rebuild the replica"), "\(broken.stderr)")
        let json = try await county.a.run(["check", "--json"])
        #expect(json.status == 1)
        #expect((json.json as? [String: Any])?["differenceCount"] as? Int == 1)
    }
}
