import FieldCrypto
import Foundation
import GRDB
import Testing

@testable import FieldStore

/// Replicas making random concurrent writes and exchanging commits in random order, with
/// duplicates, partial batches and relays, end with the same visible data and conflicts.
@Suite struct ConvergenceTests {
    static let scopes = ["s1", "s2", "s3"]

    struct Run {
        var rng: SplitMix
        var replicas: [TestReplica]
        let seed: UInt64
        /// Every commit made, by id: exchanges send these (verified once) rather than re-verifying
        /// every signature at every exchange; signature checks have their own tests.
        var known: [CommitID: SignedCommit] = [:]
        var writes = 0
        var exchanges = 0

        init(seed: UInt64, replicaCount: Int) throws {
            self.seed = seed
            rng = SplitMix(seed: seed)
            let root = try SigningKey(seed: [UInt8](repeating: 0xA5, count: 32))
            let clock = ManualClock()
            replicas = try (0..<replicaCount).map { _ in try TestReplica.make(root: root, clock: clock) }
        }

        mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }

        mutating func randomValue() -> Value {
            switch rng.next() % 5 {
            case 0: .null
            case 1: .integer(Int64(rng.next() % 7))
            case 2: .text(pick(["诉求", "用地", "融资", "a", "b"]))
            case 3: .real(Double(rng.next() % 5) / 2)
            default: .text("v\(rng.next() % 4)")
            }
        }

        /// One random local write on a random replica.
        mutating func operate() throws {
            let replica = pick(replicas)
            if let id = try write(on: replica) {
                writes += 1
                known[id] = try replica.replica.database.read { db in
                    let row = try Row.fetchOne(
                        db,
                        sql: "SELECT body, signature FROM _commits WHERE id = ?",
                        arguments: [Data(id.bytes)]
                    )!
                    return try SignedCommit(
                        trustedBody: [UInt8](row["body"] as Data),
                        id: id,
                        signature: [UInt8](row["signature"] as Data)
                    )
                }
            }
        }

        func commits(of replica: TestReplica) throws -> [SignedCommit] {
            try replica.replica.database.read { db in
                try Data.fetchAll(db, sql: "SELECT id FROM _commits ORDER BY received, id").map {
                    known[try CommitID(bytes: [UInt8]($0))]!
                }
            }
        }

        mutating func write(on replica: TestReplica) throws -> CommitID? {
            replica.clock.advance(by: rng.next() % 3)
            let count = try replica.replica.database.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM notes") ?? 0
            }
            let kind = count == 0 ? 0 : rng.next() % 10
            let offset = count == 0 ? 0 : Int(rng.next() % UInt64(count))
            let rows = try replica.replica.database.read { db in
                try Row.fetchAll(
                    db,
                    sql: "SELECT id, scope FROM notes ORDER BY id LIMIT 1 OFFSET ?",
                    arguments: [offset]
                )
            }
            switch kind {
            case 0, 1:
                let scope = pick(ConvergenceTests.scopes)
                let value = randomValue()
                return try replica.replica.write(scope: scope, as: replica.key) { $0.insert("notes", ["title": value]) }
            case 2:
                let row = pick(rows)
                let id = UUID(bytes16: [UInt8](row["id"] as Data))
                return try replica.replica.write(scope: row["scope"], as: replica.key) { $0.delete("notes", row: id) }
            case 3:
                let row = pick(rows)
                let id = UUID(bytes16: [UInt8](row["id"] as Data))
                return try replica.replica.write(scope: row["scope"], as: replica.key) { $0.restore("notes", row: id) }
            case 4:
                let conflicts = try replica.replica.conflicts()
                if let conflict = conflicts.first {
                    let keep = pick(conflict.heads).value
                    return try replica.replica.write(scope: conflict.scope, as: replica.key) {
                        $0.set(conflict.table, row: conflict.row, conflict.column, keep)
                    }
                }
                fallthrough
            default:
                let row = pick(rows)
                let id = UUID(bytes16: [UInt8](row["id"] as Data))
                let column = pick(["title", "body", "n"])
                let value = randomValue()
                return try replica.replica.write(scope: row["scope"], as: replica.key) {
                    $0.set("notes", row: id, column, value)
                }
            }
        }

        /// Sends a random slice of one replica's commits to another, shuffled, with duplicates; one
        /// exchange in ten goes through a real bundle file (written, checked, every signature verified).
        mutating func exchange() throws {
            let from = pick(replicas)
            let to = pick(replicas)
            exchanges += 1
            if exchanges % 10 == 0 {
                let path = temporaryPath("exchange.bundle")
                try CommitBundle.write(from: from.replica, to: path)
                let report = try to.replica.importRecords(try CommitBundle.open(path))
                precondition(
                    report.refused.allSatisfy { $0.code == .fork },
                    "seed \(seed): bundle import refused \(report.refused.prefix(2))"
                )
                try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
                return
            }
            var commits = try self.commits(of: from)
            commits.shuffle(using: &rng)
            let keep = Int(rng.next() % UInt64(commits.count + 1))
            var slice = Array(commits.prefix(keep))
            if let duplicate = slice.first, rng.next() % 2 == 0 { slice.append(duplicate) }
            _ = try to.replica.integrate(slice)
        }

        mutating func finish() throws {
            for _ in 0..<2 {
                for to in replicas {
                    for from in replicas.shuffled(using: &rng) where from.key.publicKey != to.key.publicKey {
                        _ = try to.replica.integrate(try commits(of: from))
                    }
                }
            }
        }

        func fingerprints() throws -> [String] {
            try replicas.map { replica in
                try Self.scopesHeld(replica).map { "\($0)=\(try replica.replica.digest(scope: $0))" }.joined(
                    separator: ";"
                )
            }
        }

        static func scopesHeld(_ replica: TestReplica) throws -> [String] { ConvergenceTests.scopes }
    }

    /// Seeds 1 to 20, or the range in FIELDLOG_CONVERGENCE_SEEDS ("21-500"), as tools/soak.sh sets it.
    static let seeds: [UInt64] = {
        let text = ProcessInfo.processInfo.environment["FIELDLOG_CONVERGENCE_SEEDS"] ?? ""
        let bounds = text.split(separator: "-").compactMap { UInt64($0) }
        if bounds.count == 2, bounds[0] <= bounds[1] { return Array(bounds[0]...bounds[1]) }
        return Array(1...20)
    }()

    @Test(arguments: seeds) func randomOperationsConverge(seed: UInt64) throws {
        var run = try Run(seed: seed, replicaCount: 5)
        for step in 0..<2000 {
            try run.operate()
            if step % 7 == 0 { try run.exchange() }
            if step == 1000 { try Self.expectStoredStateIsTheLogs(run, seed: seed) }
        }
        try run.finish()
        try Self.expectStoredStateIsTheLogs(run, seed: seed)
        let prints = try run.fingerprints()
        #expect(Set(prints).count == 1, "replicas diverged; replay with seed \(seed)")
        let counts = try run.replicas.map { try $0.replica.commitCounts().applied }
        #expect(Set(counts).count == 1, "seed \(seed): applied counts \(counts)")
        #expect(counts[0] == run.writes, "seed \(seed)")
        let conflicts = try run.replicas.map { try $0.replica.conflicts().map { "\($0.row)\($0.column)" } }
        #expect(Set(conflicts).count == 1, "seed \(seed)")
    }

    /// Every replica's stored state (merge state, visible rows, conflicts) equals a recompute
    /// from its log (`Replica.check`, as `fieldlog check` runs it).
    static func expectStoredStateIsTheLogs(_ run: Run, seed: UInt64) throws {
        for (index, replica) in run.replicas.enumerated() {
            let report = try replica.replica.check()
            #expect(
                report.isClean,
                "seed \(seed), replica \(index): \(report.differences.prefix(3)) \(report.integrity.prefix(3))"
            )
            #expect(report.commits > 0 && report.rows > 0, "seed \(seed)")
        }
    }

    /// The merge as a pure function: heads and winner do not depend on the order of versions.
    @Test(arguments: 0..<50) func mergeIsOrderIndependent(seed: UInt64) throws {
        var rng = SplitMix(seed: seed)
        let authors = (0..<3).map { _ in SigningKey.generate().publicKey }
        var versions: [CellVersion] = []
        for index in 0..<12 {
            let supersedes =
                versions.isEmpty
                ? [] : (0..<Int(rng.next() % 3)).map { _ in versions[Int(rng.next() % UInt64(versions.count))].commit }
            versions.append(
                CellVersion(
                    commit: CommitID(unchecked: BLAKE2b.hash256([UInt8(index), UInt8(seed)])),
                    timestamp: Timestamp(milliseconds: 1000 + rng.next() % 5, counter: 0),
                    author: authors[Int(rng.next() % 3)],
                    value: .integer(Int64(rng.next() % 4)),
                    supersedes: supersedes
                )
            )
        }
        let reference = Merge.resolve(versions)
        for _ in 0..<10 {
            let shuffled = versions.shuffled(using: &rng)
            let result = Merge.resolve(shuffled)
            #expect(result?.value == reference?.value, "seed \(seed)")
            #expect(result?.heads == reference?.heads, "seed \(seed)")
        }
        // Idempotent: duplicates change nothing.
        #expect(Merge.resolve(versions + versions)?.heads.count == reference?.heads.count)
    }
}
