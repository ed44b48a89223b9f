import FieldLedger
import FieldStore
import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// A hub process's replica following the shared log (`hub serve --store`): it reads the log's
/// entries in position order, verifies each commit again and integrates them into the process's
/// own SQLite replica, which then serves pulls, digests and pages as any hub replica does. The
/// engine is the only merge: the log is a list of signed commits, nothing more.
///
/// The position reached is kept in the replica (`_hub_log_position`), so a restarted process goes
/// on where it stopped. Integrating an entry twice is harmless (a duplicate is skipped), so the
/// position is written after the commits, in a transaction of its own.
///
/// It follows in the background (every `interval`, and at once when asked), and on demand: a push
/// waits here until the replica holds the push's checkpoint, a request presenting a checkpoint
/// likewise, within `inlineLimit` entries.
package actor LogFollower {
    let log: any SharedLog
    let ledger: Ledger
    let threads: HubThreads
    let metrics: HubMetrics
    let logger: Logger
    /// Entries read and integrated per step.
    let batch: Int
    /// How long the background loop waits between looks at the log's end.
    let interval: Duration

    /// The last position integrated.
    package private(set) var position: Int64 = -1
    /// The log's end, as last read.
    package private(set) var end: Int64 = 0
    /// Why the last look at the log failed, until one succeeds.
    package private(set) var failure: String?
    private var stepping: Task<Void, any Error>?

    static let migrations: [(name: String, sql: String)] = [
        (
            "2-log-position",
            "CREATE TABLE IF NOT EXISTS _hub_log_position(one INTEGER PRIMARY KEY CHECK (one = 1), position INTEGER NOT NULL)"
        )
    ]

    package init(
        log: any SharedLog,
        ledger: Ledger,
        threads: HubThreads,
        metrics: HubMetrics,
        logger: Logger,
        batch: Int = 2000,
        interval: Duration = .milliseconds(200)
    ) {
        self.log = log
        self.ledger = ledger
        self.threads = threads
        self.metrics = metrics
        self.logger = logger
        self.batch = batch
        self.interval = interval
    }

    /// Entries behind the log's end, as last read.
    package var lag: Int64 { max(0, end - max(position, 0)) }

    /// The position stored in the replica (0 for a replica that never followed a log).
    package static func storedPosition(_ ledger: Ledger) throws -> Int64 {
        try EnrollmentCodes.migrate(ledger, migrations)
        return try ledger.replica.database.read { db in
            try Int64.fetchOne(db, sql: "SELECT position FROM _hub_log_position WHERE one = 1") ?? 0
        }
    }

    private func loadPosition() async throws {
        guard position < 0 else { return }
        let ledger = ledger
        position = try await threads.perform(.write) { try Self.storedPosition(ledger) }
    }

    /// Follows until the replica holds `target`, or the log's end if it ends before.
    /// - Parameter limit: gives up (`SharedLogError.unavailable`) after integrating this many entries.
    package func reach(_ target: Int64, limit: Int64 = .max) async throws {
        try await loadPosition()
        var integrated: Int64 = 0
        while position < target {
            guard integrated < limit else {
                throw SharedLogError(.unavailable, "this process is \(target - position) entries behind the log")
            }
            let before = position
            try await sharedStep()
            if position == before { return }  // the log ends before the target
            integrated += position - before
        }
    }

    /// One step, shared by every caller: one arriving while a step runs waits for that step rather
    /// than starting another. Whoever sees the step end clears it. (A waiter that only looped back
    /// once awaited the same finished step again and again without suspending, holding the actor,
    /// so that the step's starter could never run to clear it: the process stopped answering with
    /// a core busy, found by the scale-out benchmark.)
    private func sharedStep() async throws {
        let task: Task<Void, any Error>
        if let running = stepping {
            task = running
        } else {
            task = Task { try await self.step() }
            stepping = task
        }
        defer { if stepping == task { stepping = nil } }
        try await task.value
    }

    /// Reads the log's end and follows to it.
    package func refresh() async throws {
        do {
            try await loadPosition()
            end = try await log.end()
            guard end >= position else {
                // The log was restored to an earlier point: positions past its end will be given
                // to other commits, which this replica would never read.
                throw SharedLogError(
                    .unavailable,
                    "the shared log ends at position \(end), before this replica's position \(position) (was the database restored from a backup?); start this process on a new folder holding only its key file"
                )
            }
            try await reach(end)
            failure = nil
        } catch {
            failure = "\(error)"
            metrics.recordLog(position: max(position, 0), lag: lag)
            throw error
        }
    }

    /// One step: the next entries, verified and integrated, then the position.
    private func step() async throws {
        let records = try await log.entries(after: position, limit: batch)
        guard let last = records.last else {
            end = max(end, position)
            return
        }
        let (ledger, logger) = (ledger, logger)
        try await threads.perform(.write) {
            var commits: [SignedCommit] = []
            commits.reserveCapacity(records.count)
            for entry in records {
                do {
                    commits.append(try WireRecord.decode(entry.record))
                } catch {
                    // Only a write to the database by something other than a hub process puts
                    // such an entry there; following goes on without it.
                    logger.error(
                        "an entry of the shared log is not a signed commit; it is skipped",
                        metadata: ["position": "\(entry.position)", "reason": "\(error)"]
                    )
                }
            }
            _ = try ledger.syncEngine.integrate(commits, keepsRefused: false)
            try ledger.replica.database.write { db in
                try db.execute(
                    sql:
                        "INSERT INTO _hub_log_position(one, position) VALUES (1, ?) ON CONFLICT(one) DO UPDATE SET position = excluded.position",
                    arguments: [last.position]
                )
            }
        }
        position = last.position
        end = max(end, position)
        metrics.recordLog(position: position, lag: lag)
    }

    /// Follows in the background until the application shuts down.
    package func follow() async {
        while !Task.isCancelled {
            do {
                try await refresh()
            } catch {
                logger.warning(
                    "cannot follow the shared log; retrying",
                    metadata: ["reason": "\(error)"]
                )
            }
            try? await Task.sleep(for: interval)
        }
    }
}

/// The follower as a service of the hub's application: it follows until graceful shutdown.
package struct LogFollowerService: Service {
    let follower: LogFollower

    package func run() async throws {
        await cancelWhenGracefulShutdown { await follower.follow() }
    }
}
