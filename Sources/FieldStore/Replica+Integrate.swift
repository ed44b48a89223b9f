import FieldCrypto
import Foundation
import GRDB

extension Replica {
    /// Takes verified commits (from a bundle or a peer) in one transaction, in feed order.
    ///
    /// Duplicates are skipped, commits whose place in their feed is wrong are refused, forks are
    /// kept as evidence and exclude their feed; everything else is applied, or held until it can be.
    /// - Parameter keepsRefused: false on the hub: commits the policy refuses are not stored.
    public func integrate(_ commits: [SignedCommit], keepsRefused: Bool = true) throws -> ImportReport {
        let ordered = commits.sorted { a, b in
            if a.commit.author != b.commit.author { return a.commit.author < b.commit.author }
            if a.commit.scope != b.commit.scope { return Array(a.commit.scope.utf8).lexicographicallyPrecedes(Array(b.commit.scope.utf8)) }
            if a.commit.sequence != b.commit.sequence { return a.commit.sequence < b.commit.sequence }
            return a.id < b.id
        }
        return try database.write { db in
            try Self.asEngine(db) {
                var integrator = Integrator(replica: self, db: db, keepsRefused: keepsRefused)
                for commit in ordered { try integrator.receive(commit) }
                try integrator.settle()
                try integrator.finish()
                return integrator.report
            }
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
    public func importRecords(
        _ records: some Sequence<[UInt8]>, keepsRefused: Bool = true, progress: ((Int) -> Void)? = nil
    ) throws -> ImportReport {
        var report = ImportReport()
        var batch: [SignedCommit] = []
        var seen = 0
        func flush() throws {
            guard !batch.isEmpty else { return }
            report.merge(try integrate(batch, keepsRefused: keepsRefused))
            batch.removeAll(keepingCapacity: true)
            progress?(seen)
        }
        for record in records {
            seen += 1
            do {
                batch.append(try WireRecord.decode(record))
            } catch {
                report.refused.append(
                    ImportReport.Refusal(
                        commit: "", author: "", scope: "", sequence: 0, code: error.code, reason: error.message, isStored: false
                    )
                )
            }
            if batch.count >= options.batchSize { try flush() }
        }
        try flush()
        if batch.isEmpty && report.applied == 0 && seen == 0 { report.held = try heldCount() }
        return report
    }

    func heldCount() throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM _commits WHERE status = 1") ?? 0 }
    }
}

/// One commit in wire form: 4-byte big-endian body length, body, 64-byte signature.
public enum WireRecord {
    /// Splits and verifies one record.
    public static func decode(_ record: [UInt8]) throws(StoreError) -> SignedCommit {
        guard record.count >= 4 + 64 else { throw StoreError(.malformedCommit, "a commit record of \(record.count) bytes is too short") }
        let length = Int(record[0]) << 24 | Int(record[1]) << 16 | Int(record[2]) << 8 | Int(record[3])
        guard record.count == 4 + length + 64 else {
            throw StoreError(.malformedCommit, "a commit record's length field (\(length)) does not match its size (\(record.count))")
        }
        return try SignedCommit(body: Array(record[4..<4 + length]), signature: Array(record[(4 + length)...]))
    }
}
