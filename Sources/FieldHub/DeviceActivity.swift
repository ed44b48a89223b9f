import FieldCrypto
import FieldLedger
import FieldStore
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// What the hub saw of each device it knows (enrolled or revoked, never a key it does not know, so
/// a stranger cannot grow it): its requests, its last sync, the commits it pushed and was served,
/// its refusals by reason, and how far its clock was from the hub's.
///
/// Counted in memory as requests are answered, and added to the hub's tables `_hub_device_activity`
/// and `_hub_device_refusals` every few seconds and when the hub stops (`DeviceActivityService`),
/// so that the console's 设备与同步 page reads them; a crash loses at most those seconds.
package final class DeviceActivity: Sendable {
    /// What changed for one device since the last flush.
    package struct Delta: Sendable, Equatable {
        package var requests = 0
        package var lastRequest: Int64 = 0
        package var lastSync: Int64?
        package var pushed = 0
        package var served = 0
        package var refused: [String: Int] = [:]
        /// The request's signature `created` minus the hub's clock, in seconds, last seen.
        package var skew: Int64?

        package init() {}
    }

    let pending = Mutex<[Data: Delta]>([:])
    /// Whether this process created the tables already (once, at the first flush with something in it).
    private let migrated = Mutex(false)

    package init() {}

    /// Notes an answered request of a device the hub knows.
    package func record(
        device: PublicKey,
        outcome: String,
        sync: Bool,
        pushed: Int,
        served: Int,
        skew: Int64?,
        at now: Int64
    ) {
        pending.withLock { pending in
            var delta = pending[Data(device.bytes)] ?? Delta()
            delta.requests += 1
            delta.lastRequest = max(delta.lastRequest, now)
            if outcome == "ok" {
                if sync { delta.lastSync = max(delta.lastSync ?? 0, now) }
            } else {
                delta.refused[outcome, default: 0] += 1
            }
            delta.pushed += pushed
            delta.served += served
            if let skew { delta.skew = skew }
            pending[Data(device.bytes)] = delta
        }
    }

    /// The hub's tables of it, created once (recorded in `_hub_migrations`).
    package static let migrations: [(name: String, sql: String)] = [
        (
            "activity-1-devices",
            """
            CREATE TABLE _hub_device_activity(
                public_key BLOB PRIMARY KEY, requests INTEGER NOT NULL, last_request INTEGER NOT NULL,
                last_sync INTEGER, pushed INTEGER NOT NULL, served INTEGER NOT NULL, skew INTEGER
            ) WITHOUT ROWID;
            CREATE TABLE _hub_device_refusals(
                public_key BLOB NOT NULL, code TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY(public_key, code)
            ) WITHOUT ROWID;
            """
        )
    ]

    /// Adds what was counted since the last flush to the hub's tables, in one transaction.
    package func flush(to ledger: Ledger) throws {
        let deltas = pending.withLock { pending in
            defer { pending = [:] }
            return pending
        }
        guard !deltas.isEmpty else { return }
        do {
            if !migrated.withLock({ $0 }) {
                try EnrollmentCodes.migrate(ledger, Self.migrations)
                migrated.withLock { $0 = true }
            }
            try ledger.replica.database.write { db in
                for (key, delta) in deltas {
                    try db.execute(
                        sql: """
                            INSERT INTO _hub_device_activity(public_key, requests, last_request, last_sync, pushed, served, skew)
                            VALUES (?, ?, ?, ?, ?, ?, ?)
                            ON CONFLICT(public_key) DO UPDATE SET
                                requests = requests + excluded.requests,
                                last_request = MAX(last_request, excluded.last_request),
                                last_sync = COALESCE(MAX(last_sync, excluded.last_sync), last_sync, excluded.last_sync),
                                pushed = pushed + excluded.pushed, served = served + excluded.served,
                                skew = COALESCE(excluded.skew, skew)
                            """,
                        arguments: [
                            key, delta.requests, delta.lastRequest, delta.lastSync, delta.pushed, delta.served,
                            delta.skew,
                        ]
                    )
                    for (code, count) in delta.refused {
                        try db.execute(
                            sql: """
                                INSERT INTO _hub_device_refusals(public_key, code, count) VALUES (?, ?, ?)
                                ON CONFLICT(public_key, code) DO UPDATE SET count = count + excluded.count
                                """,
                            arguments: [key, code, count]
                        )
                    }
                }
            }
        } catch {
            // Kept for the next flush rather than lost.
            pending.withLock { pending in
                for (key, delta) in deltas { pending[key] = Self.merge(delta, pending[key]) }
            }
            throw error
        }
    }

    static func merge(_ a: Delta, _ b: Delta?) -> Delta {
        guard let b else { return a }
        var out = a
        out.requests += b.requests
        out.lastRequest = max(a.lastRequest, b.lastRequest)
        out.lastSync = [a.lastSync, b.lastSync].compactMap { $0 }.max()
        out.pushed += b.pushed
        out.served += b.served
        out.refused.merge(b.refused, uniquingKeysWith: +)
        out.skew = b.skew ?? a.skew
        return out
    }

    /// What the hub's tables hold of each device, by public key (hex).
    package static func stored(in ledger: Ledger) throws -> [String: Delta] {
        try ledger.replica.database.read { db in
            var out: [String: Delta] = [:]
            // Before the hub's first flush there is nothing to read (and a read creates nothing).
            guard try db.tableExists("_hub_device_activity") else { return out }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM _hub_device_activity") {
                var delta = Delta()
                delta.requests = row["requests"]
                delta.lastRequest = row["last_request"]
                delta.lastSync = row["last_sync"]
                delta.pushed = row["pushed"]
                delta.served = row["served"]
                delta.skew = row["skew"]
                out[Hex.encode([UInt8](row["public_key"] as Data))] = delta
            }
            for row in try Row.fetchAll(db, sql: "SELECT public_key, code, count FROM _hub_device_refusals") {
                out[Hex.encode([UInt8](row[0] as Data)), default: Delta()].refused[row[1]] = row[2]
            }
            return out
        }
    }
}

/// Where several hub processes add up what each saw of the devices (FieldPostgres), so that the
/// console's 设备与同步 page shows a device's last sync whichever process served it.
package protocol DeviceActivityStore: Sendable {
    /// Adds each device's counts to what is stored, in one transaction: counts are summed, the
    /// last request and last sync are the latest, the skew the one flushed last.
    func addActivity(_ deltas: [(key: [UInt8], delta: DeviceActivity.Delta)]) async throws
    /// What every process saw of each device, by public key (hex). Called on the console's
    /// database threads.
    func storedActivity() throws -> [String: DeviceActivity.Delta]
}

extension DeviceActivity {
    /// Adds what was counted since the last flush to the shared store; kept for the next flush if
    /// the store cannot be reached.
    package func flush(to store: any DeviceActivityStore) async throws {
        let deltas = pending.withLock { pending in
            defer { pending = [:] }
            return pending
        }
        guard !deltas.isEmpty else { return }
        do {
            try await store.addActivity(deltas.map { ([UInt8]($0.key), $0.value) })
        } catch {
            pending.withLock { pending in
                for (key, delta) in deltas { pending[key] = Self.merge(delta, pending[key]) }
            }
            throw error
        }
    }
}

/// Flushes the hub's device activity every `interval` and once more when the hub stops: to the
/// hub's own tables, or to the shared store of several hub processes.
struct DeviceActivityService: Service {
    let activity: DeviceActivity
    let ledger: Ledger
    var store: (any DeviceActivityStore)?
    let logger: Logger
    var interval: Duration = .seconds(5)

    func run() async throws {
        let (interval, service) = (interval, self)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                await service.flush()
            }
        }
        // The last counts, written even if this task is being cancelled: a task of its own, which
        // does not inherit the cancellation that would refuse a shared store's call at once.
        await Task { await service.flush() }.value
    }

    func flush() async {
        do {
            if let store { try await activity.flush(to: store) } else { try activity.flush(to: ledger) }
        } catch {
            logger.error("device activity not written", metadata: ["error": "\(type(of: error))"])
        }
    }
}
