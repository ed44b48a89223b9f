import FieldCrypto
import Foundation
import GRDB
import Testing

@testable import FieldStore

/// `Replica.integrateGroup`, the hub's group commit: one transaction, each push answered as if alone.
@Suite struct GroupCommitTests {
    let root = SigningKey.generate()

    /// A policy that fails (an error, not a verdict) on a commit titled "boom".
    struct FailingPolicy: ReplicaPolicy {
        struct Failure: Error {}
        func authorize(_ commit: Commit, registry: RegistrySnapshot) throws -> PolicyVerdict {
            if commit.changes.contains(where: { $0.value == .text("boom") }) { throw Failure() }
            return .allow
        }
        func revocations(registry: RegistrySnapshot) throws -> [Revocation] { [] }
    }

    /// Pushes from four writers, one conflicting with another, a duplicate push, and a push with a
    /// gap: the group's reports equal those of the same pushes taken one by one, in order.
    @Test func aGroupAnswersEachPushAsItWouldAloneInOrder() throws {
        let writers = try (0..<4).map { _ in try TestReplica.make(root: root) }
        var shared = UUID()
        try writers[0].replica.write(scope: "s1", as: writers[0].key) {
            shared = $0.insert("notes", ["title": .text("原")])
        }
        for writer in writers.dropFirst() { _ = try writer.replica.integrate(try writers[0].signedCommits()) }
        var pushes: [[SignedCommit]] = [try writers[0].signedCommits()]
        for (index, writer) in writers.enumerated() {
            try writer.replica.write(scope: "s1", as: writer.key) {
                $0.set("notes", row: shared, "title", .text("改\(index)"))
            }
            for n in 0..<3 {
                try writer.replica.write(scope: "s\(index % 2 + 1)", as: writer.key) {
                    $0.insert("notes", ["n": .integer(Int64(n))])
                }
            }
            pushes.append(try writer.signedCommits().filter { $0.commit.author == writer.key.publicKey })
        }
        pushes.append(pushes[2])
        pushes.append([pushes[3][2]])  // a gap: its feed's first commits are in the push before
        pushes.insert([pushes[4][2]], at: 1)  // a gap, before its feed arrives
        let grouped = try TestReplica.make(root: root)
        let alone = try TestReplica.make(root: root)
        let results = grouped.replica.integrateGroup(pushes)
        let expected = try pushes.map { try alone.replica.integrate($0) }
        #expect(results.count == pushes.count)
        for (result, report) in zip(results, expected) {
            #expect(try result.get() == report)
        }
        #expect(expected.contains { !$0.refused.isEmpty })
        #expect(expected.contains { $0.skipped > 0 })
        for scope in ["s1", "s2"] {
            #expect(try grouped.replica.digest(scope: scope) == alone.replica.digest(scope: scope))
        }
        #expect(try grouped.replica.conflictCount() == 1)
        #expect(try grouped.replica.check().isClean)
    }

    /// A push whose integration fails gets its error, and nothing of it is stored; the pushes
    /// before and after it in the group are taken.
    @Test func anErrorStaysWithItsPush() throws {
        let writers = try (0..<3).map { _ in try TestReplica.make(root: root) }
        var pushes: [[SignedCommit]] = []
        for (index, writer) in writers.enumerated() {
            try writer.replica.write(scope: "s1", as: writer.key) {
                $0.insert("notes", ["title": .text(index == 1 ? "boom" : "好\(index)")])
            }
            pushes.append(try writer.signedCommits())
        }
        let hub = try TestReplica.make(root: root, policy: FailingPolicy())
        let results = hub.replica.integrateGroup(pushes)
        #expect((try? results[0].get())?.applied == 1)
        #expect(throws: FailingPolicy.Failure.self) { try results[1].get() }
        #expect((try? results[2].get())?.applied == 1)
        #expect(try hub.replica.commitCounts().applied == 2)
        #expect(try hub.replica.heads(of: writers[1].key.publicKey).isEmpty)
        #expect(try hub.replica.check().isClean)
    }
}
