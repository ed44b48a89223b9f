import FieldCrypto
import Foundation
import GRDB
import Logging

extension Replica {
    /// Takes verified commits (from a bundle or a peer) in one transaction, in feed order.
    ///
    /// Duplicates are skipped, commits whose place in their feed is wrong are refused, forks are
    /// kept as evidence and exclude their feed; everything else is applied, or held until it can be.
    /// - Parameter keepsRefused: false on the hub: commits the policy refuses are not stored.
    public func integrate(_ commits: [SignedCommit], keepsRefused: Bool = true) throws -> ImportReport {
        try database.write { db in try integrate(commits, keepsRefused: keepsRefused, db) }
    }

    /// Group commit: takes several pushes in one write transaction, each in a savepoint of its own
    /// and in the order given, so each push's report is what it would be on its own in that order,
    /// while the group pays for one transaction (one WAL commit) instead of one per push.
    ///
    /// A push whose integration throws is rolled back alone (its savepoint) and gets its error; the
    /// others stand. If the transaction itself fails, every push is retried alone, in order, so an
    /// error stays with its push. Nothing is answered before the transaction is durable.
    /// - Returns: one result per push, in the order given.
    public func integrateGroup(
        _ pushes: [[SignedCommit]],
        keepsRefused: Bool = true
    ) -> [Result<ImportReport, any Error>] {
        guard pushes.count > 1 else {
            return pushes.map { push in Result { try integrate(push, keepsRefused: keepsRefused) } }
        }
        do {
            return try database.write { db in
                var results: [Result<ImportReport, any Error>] = []
                for push in pushes {
                    var report = ImportReport()
                    do {
                        try db.inSavepoint {
                            report = try integrate(push, keepsRefused: keepsRefused, db)
                            return .commit
                        }
                        results.append(.success(report))
                    } catch {
                        results.append(.failure(error))
                    }
                }
                return results
            }
        } catch {
            options.logger.warning(
                "a group of pushes failed to commit; each is retried alone",
                metadata: ["pushes": "\(pushes.count)"]
            )
            return pushes.map { push in Result { try integrate(push, keepsRefused: keepsRefused) } }
        }
    }

    /// `integrate(_:keepsRefused:)` inside the caller's write transaction.
    func integrate(_ commits: [SignedCommit], keepsRefused: Bool, _ db: Database) throws -> ImportReport {
        let ordered = commits.sorted { a, b in
            if a.commit.author != b.commit.author { return a.commit.author < b.commit.author }
            if a.commit.scope != b.commit.scope {
                return Array(a.commit.scope.utf8).lexicographicallyPrecedes(Array(b.commit.scope.utf8))
            }
            if a.commit.sequence != b.commit.sequence { return a.commit.sequence < b.commit.sequence }
            return a.id < b.id
        }
        // The registry first, settled before anything else is received: every other commit's
        // author is judged by the registry held (`ReplicaPolicy.isKnownAuthor`), and a batch may
        // carry the registry commit that enrolls it.
        let registry = ordered.filter { $0.commit.scope == Commit.registryScope }
        let others = ordered.filter { $0.commit.scope != Commit.registryScope }
        return try Self.asEngine(db) {
            var integrator = Integrator(replica: self, db: db, keepsRefused: keepsRefused)
            for commit in registry { try integrator.receive(commit) }
            if !registry.isEmpty && !others.isEmpty { try integrator.settle() }
            for commit in others { try integrator.receive(commit) }
            try integrator.settle()
            try integrator.finish()
            return integrator.report
        }
    }

    /// Retries held commits (the clock may have caught up, or the schema been upgraded).
    @discardableResult
    public func settlePending() throws -> ImportReport {
        try database.write { db in
            try Self.asEngine(db) {
                var integrator = Integrator(replica: self, db: db)
                try integrator.settle()
                try integrator.finish()
                return integrator.report
            }
        }
    }

    /// Decodes and verifies wire records, then integrates them in batches of `options.batchSize`
    /// (one transaction each). Records that do not decode or verify are refused and reported.
    ///
    /// The signatures of the next batch are checked on the other cores while this one is written,
    /// so the writer does not wait for them; the results keep the records' order, so what is
    /// refused and what is taken does not depend on timing.
    public func importRecords(
        _ records: some Sequence<[UInt8]>,
        keepsRefused: Bool = true,
        progress: ((Int) -> Void)? = nil
    ) throws -> ImportReport {
        var report = ImportReport()
        var iterator = records.makeIterator()
        var seen = 0
        func nextBatch() -> [[UInt8]] {
            var batch: [[UInt8]] = []
            while batch.count < options.batchSize, let record = iterator.next() { batch.append(record) }
            seen += batch.count
            return batch
        }
        var verifying = DecodingBatch(nextBatch())
        while !verifying.isEmpty {
            let following = nextBatch()
            let decoded = verifying.results()
            verifying = DecodingBatch(following)
            var batch: [SignedCommit] = []
            batch.reserveCapacity(decoded.count)
            for result in decoded {
                switch result {
                case .success(let commit): batch.append(commit)
                case .failure(let error):
                    report.refused.append(
                        ImportReport.Refusal(
                            commit: "",
                            author: "",
                            scope: "",
                            sequence: 0,
                            code: error.code,
                            reason: error.message,
                            isStored: false
                        )
                    )
                }
            }
            if !batch.isEmpty { report.merge(try integrate(batch, keepsRefused: keepsRefused)) }
            progress?(seen - following.count)
        }
        if report.applied == 0 && seen == 0 { report.held = try heldCount() }
        return report
    }

    /// How many commits are held (a count of the pending index only).
    public func heldCount() throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM _log WHERE status = 1") ?? 0 }
    }
}

extension WireRecord {
    /// Decodes and verifies records on every core; the results are in the records' order.
    public static func decodeConcurrently(_ records: [[UInt8]]) -> [Result<SignedCommit, StoreError>] {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, records.count / 64))
        guard workers > 1 else {
            return records.map { record in Result { () throws(StoreError) in try decode(record) } }
        }
        let results = ResultSlots(count: records.count)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var index = worker
            while index < records.count {
                let record = records[index]
                results.set(index, Result { () throws(StoreError) in try decode(record) })
                index += workers
            }
        }
        return results.values
    }
}

/// One batch of wire records being decoded and verified in the background
/// (`WireRecord.decodeConcurrently`), from its creation until `results()` waits for it.
private struct DecodingBatch {
    private let slots: DecodedSlot?
    let isEmpty: Bool

    init(_ records: [[UInt8]]) {
        isEmpty = records.isEmpty
        guard !records.isEmpty else {
            slots = nil
            return
        }
        let slot = DecodedSlot()
        slots = slot
        DispatchQueue.global(qos: .userInitiated).async {
            slot.fill(WireRecord.decodeConcurrently(records))
        }
    }

    func results() -> [Result<SignedCommit, StoreError>] { slots?.wait() ?? [] }
}

/// A result handed from the decoding thread to the writer, once.
private final class DecodedSlot: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var value: [Result<SignedCommit, StoreError>] = []

    func fill(_ results: [Result<SignedCommit, StoreError>]) {
        value = results
        done.signal()
    }

    func wait() -> [Result<SignedCommit, StoreError>] {
        done.wait()
        return value
    }
}

/// Result slots written by several threads, each slot by exactly one, through a raw buffer (no
/// Swift access to shared state while they run); read after they all finish.
private final class ResultSlots: @unchecked Sendable {
    private let buffer: UnsafeMutablePointer<Result<SignedCommit, StoreError>?>
    private let count: Int

    init(count: Int) {
        self.count = count
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: nil, count: count)
    }

    deinit {
        buffer.deinitialize(count: count)
        buffer.deallocate()
    }

    func set(_ index: Int, _ value: Result<SignedCommit, StoreError>) { buffer[index] = value }

    var values: [Result<SignedCommit, StoreError>] { (0..<count).map { buffer[$0]! } }
}

extension Replica {
    /// What this replica holds of each of `commits`, as an import report: a commit applied counts as
    /// applied, one held as held, one kept as evidence (a fork, a revoked device's) as refused with
    /// its stored reason; commits it does not hold are integrated now (`keepsRefused` false), so
    /// their refusals come with the engine's reasons. Nothing is `skipped`.
    ///
    /// The answer depends only on the replica's state, not on which call stored what: a hub process
    /// on a shared log answers a push with it once its replica has followed the log past the push,
    /// so the same push sent to two processes gets the same answer.
    public func standing(of commits: [SignedCommit]) throws -> ImportReport {
        try database.write { db in
            var report = ImportReport()
            var absent: [SignedCommit] = []
            var feeds: [Integrator.FeedKey: Int64?] = [:]
            for signed in commits {
                let commit = signed.commit
                let feedKey = Integrator.FeedKey(author: commit.author, scope: commit.scope)
                let feed: Int64?
                if let known = feeds[feedKey] {
                    feed = known
                } else {
                    feed = try Int64.fetchOne(
                        db.cachedStatement(sql: "SELECT feed FROM _feeds WHERE scope = ? AND author = ?"),
                        arguments: [commit.scope, Data(commit.author.bytes)]
                    )
                    feeds[feedKey] = feed
                }
                let idData = Data(signed.id.bytes)
                var row: Row?
                if let feed {
                    row = try Row.fetchOne(
                        db.cachedStatement(sql: "SELECT status, reason, reason_code FROM _log WHERE k = ? AND id = ?"),
                        arguments: [LogKey.make(feed, commit.sequence), idData]
                    )
                    if row == nil {
                        row = try Row.fetchOne(
                            db.cachedStatement(
                                sql:
                                    "SELECT 2 AS status, reason, reason_code FROM _forks WHERE feed = ? AND seq = ? AND id = ?"
                            ),
                            arguments: [feed, Int64(commit.sequence), idData]
                        )
                    }
                }
                guard let row else {
                    absent.append(signed)
                    continue
                }
                switch CommitStatus(rawValue: row["status"]) {
                case .applied: report.applied += 1
                case .pending: report.held += 1
                case .excluded, nil:
                    report.refused.append(
                        ImportReport.Refusal(
                            commit: signed.id.hex,
                            author: commit.author.hex,
                            scope: commit.scope,
                            sequence: commit.sequence,
                            code: (row["reason_code"] as String?).flatMap(StoreError.Code.init(rawValue:)) ?? .fork,
                            reason: row["reason"] ?? "kept as evidence, not applied",
                            isStored: true
                        )
                    )
                }
            }
            if !absent.isEmpty {
                let judged = try integrate(absent, keepsRefused: false, db)
                report.applied += judged.applied
                report.held += judged.held
                report.refused += judged.refused
            }
            return report
        }
    }
}
