import FieldCrypto
import Foundation
import GRDB
import Testing

@testable import FieldStore

/// `Replica.check`: clean on sound replicas, and it names what was changed behind the engine's back.
@Suite struct CheckTests {
    let root = SigningKey.generate()

    /// Two replicas with a conflict, a deleted row and a resolved cell.
    func county() throws -> (TestReplica, [UUID]) {
        let a = try TestReplica.make(root: root)
        let b = try TestReplica.make(root: root)
        var ids: [UUID] = []
        try a.replica.write(scope: "s1", as: a.key) {
            ids.append($0.insert("notes", ["title": .text("一"), "n": .integer(1)]))
            ids.append($0.insert("notes", ["title": .text("二"), "n": .real(3.0)]))
        }
        _ = try b.replica.integrate(try a.signedCommits())
        try a.replica.write(scope: "s1", as: a.key) { $0.set("notes", row: ids[0], "title", .text("甲")) }
        try b.replica.write(scope: "s1", as: b.key) { $0.set("notes", row: ids[0], "title", .text("乙")) }
        try b.replica.write(scope: "s1", as: b.key) { $0.delete("notes", row: ids[1]) }
        _ = try a.replica.integrate(try b.signedCommits())
        return (a, ids)
    }

    @Test func aSoundReplicaIsClean() throws {
        let (a, _) = try county()
        let report = try a.replica.check()
        #expect(report.isClean, "\(report.differences)")
        #expect(report.commits == 4)
        #expect(report.rows == 2)
        #expect(try a.replica.conflictCount() == 1)
    }

    @Test(arguments: [1, 2]) func theCheckedInStorage1ReplicaIsClean(storage: Int) throws {
        let path = try StorageFixture.copy(storage: storage)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let expected = try StorageFixture.facts(storage: storage)
        let opened = try TestReplica.make(
            root: StorageFixture.root,
            clock: ManualClock(expected.clock),
            policy: GrantPolicy(),
            path: path
        )
        let report = try opened.replica.check()
        #expect(report.isClean, "\(report.differences)")
        #expect(report.commits == expected.counts.reduce(0, +))
    }

    /// Each change made behind the engine's back is found, and named first.
    @Test(arguments: ["cell", "scope", "row", "extra row", "conflict", "body"])
    func aChangeBehindTheEnginesBackIsNamed(sabotage: String) throws {
        let (a, ids) = try county()
        let row = Data(ids[0].bytes16)
        try a.replica.database.write { db in
            try Replica.asEngine(db) {
                switch sabotage {
                case "cell":
                    try db.execute(sql: "UPDATE notes SET n = 2 WHERE id = ?", arguments: [row])
                case "scope":
                    try db.execute(sql: "UPDATE notes SET scope = 's9' WHERE id = ?", arguments: [row])
                case "row":
                    try db.execute(sql: "DELETE FROM notes WHERE id = ?", arguments: [row])
                case "extra row":
                    try db.execute(
                        sql: "INSERT INTO notes(id, scope, title) VALUES (?, 's1', '凭空')",
                        arguments: [Data(UUID().bytes16)]
                    )
                case "conflict":
                    try db.execute(sql: "DELETE FROM _conflicts")
                default:
                    // A stored body no longer matching its id and signature.
                    try db.execute(
                        sql: "UPDATE _log SET body = body || x'00' WHERE k = (SELECT MIN(k) FROM _log)"
                    )
                }
            }
        }
        let report = try a.replica.check()
        #expect(!report.isClean)
        let first = report.differences.first ?? ""
        switch sabotage {
        case "cell": #expect(first.contains("notes \(ids[0].lowercased) n: shows 2"), "\(first)")
        case "scope": #expect(first.contains("shown in scope s9"), "\(first)")
        case "row": #expect(first.contains("the table has no such row"), "\(first)")
        case "extra row": #expect(first.contains("a visible row no applied commit wrote"), "\(first)")
        case "conflict": #expect(first.contains("open by the log, not stored"), "\(first)")
        default: #expect(first.contains("do not decode or verify"), "\(first)")
        }
    }

    /// The affinity of a column is not a difference: a REAL 3.0 in an INTEGER column reads as 3.
    @Test func aValueStoredUnderItsColumnsAffinityIsNotADifference() throws {
        let (a, ids) = try county()
        try a.replica.write(scope: "s1", as: a.key) { $0.set("notes", row: ids[0], "n", .real(4.0)) }
        let shown = try a.note(ids[0])?["n"] as DatabaseValue?
        #expect(shown == 4.databaseValue)
        #expect(try a.replica.check().isClean)
    }
}
