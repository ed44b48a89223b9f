import FieldCrypto
import FieldHub
import Foundation
import NIOCore
import PostgresNIO

/// What every hub process saw of each device, added up in PostgreSQL (migration
/// `3-device-activity`): each process flushes its counts every few seconds, and the console's
/// 设备与同步 page reads the sums, so a device's last sync shows whichever process served it.
extension PostgresSharedLog: DeviceActivityStore {
    static let activityMigration = [
        """
        CREATE TABLE fieldlog_device_activity(
            public_key bytea PRIMARY KEY, requests bigint NOT NULL, last_request bigint NOT NULL,
            last_sync bigint, pushed bigint NOT NULL, served bigint NOT NULL, skew bigint
        )
        """,
        """
        CREATE TABLE fieldlog_device_refusals(
            public_key bytea NOT NULL, code text NOT NULL, count bigint NOT NULL, PRIMARY KEY(public_key, code)
        )
        """,
    ]

    /// Rows per query when the activity is read: each answer stays small (`readBytes`).
    static let activityPage = 200

    package func addActivity(_ deltas: [(key: [UInt8], delta: DeviceActivity.Delta)]) async throws {
        try await guarded("adding up the devices' activity") { [self] in
            try await client.withTransaction(logger: logger) { connection in
                // In key order, so that two processes flushing at once take the rows' locks in one order.
                for (key, delta) in deltas.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                    try await connection.query(
                        """
                        INSERT INTO fieldlog_device_activity(public_key, requests, last_request, last_sync, pushed, served, skew)
                        VALUES (\(Self.bytes(key)), \(Int64(delta.requests)), \(delta.lastRequest), \(delta.lastSync),
                            \(Int64(delta.pushed)), \(Int64(delta.served)), \(delta.skew))
                        ON CONFLICT (public_key) DO UPDATE SET
                            requests = fieldlog_device_activity.requests + EXCLUDED.requests,
                            last_request = GREATEST(fieldlog_device_activity.last_request, EXCLUDED.last_request),
                            last_sync = GREATEST(fieldlog_device_activity.last_sync, EXCLUDED.last_sync),
                            pushed = fieldlog_device_activity.pushed + EXCLUDED.pushed,
                            served = fieldlog_device_activity.served + EXCLUDED.served,
                            skew = COALESCE(EXCLUDED.skew, fieldlog_device_activity.skew)
                        """,
                        logger: logger
                    )
                    for (code, count) in delta.refused.sorted(by: { $0.key < $1.key }) {
                        try await connection.query(
                            """
                            INSERT INTO fieldlog_device_refusals(public_key, code, count)
                            VALUES (\(Self.bytes(key)), \(code), \(Int64(count)))
                            ON CONFLICT (public_key, code) DO UPDATE SET
                                count = fieldlog_device_refusals.count + EXCLUDED.count
                            """,
                            logger: logger
                        )
                    }
                }
            }
        }
    }

    package func storedActivity() throws -> [String: DeviceActivity.Delta] {
        try waitFor { [self] in
            try await guarded("reading the devices' activity") { [self] in
                var out: [String: DeviceActivity.Delta] = [:]
                var after: [UInt8] = []
                while true {
                    var rows = 0
                    for try await (key, requests, last, sync, pushed, served, skew) in try await client.query(
                        """
                        SELECT public_key, requests, last_request, last_sync, pushed, served, skew
                        FROM fieldlog_device_activity WHERE public_key > \(Self.bytes(after))
                        ORDER BY public_key LIMIT \(Self.activityPage)
                        """,
                        logger: logger
                    ).decode((ByteBuffer, Int64, Int64, Int64?, Int64, Int64, Int64?).self) {
                        var delta = DeviceActivity.Delta()
                        delta.requests = Int(requests)
                        delta.lastRequest = last
                        delta.lastSync = sync
                        delta.pushed = Int(pushed)
                        delta.served = Int(served)
                        delta.skew = skew
                        after = Array(key.readableBytesView)
                        out[Hex.encode(after)] = delta
                        rows += 1
                    }
                    if rows < Self.activityPage { break }
                }
                var (afterKey, afterCode): ([UInt8], String) = ([], "")
                while true {
                    var rows = 0
                    for try await (key, code, count) in try await client.query(
                        """
                        SELECT public_key, code, count FROM fieldlog_device_refusals
                        WHERE (public_key, code) > (\(Self.bytes(afterKey)), \(afterCode))
                        ORDER BY public_key, code LIMIT \(Self.activityPage)
                        """,
                        logger: logger
                    ).decode((ByteBuffer, String, Int64).self) {
                        (afterKey, afterCode) = (Array(key.readableBytesView), code)
                        out[Hex.encode(afterKey), default: DeviceActivity.Delta()].refused[code] = Int(count)
                        rows += 1
                    }
                    if rows < Self.activityPage { break }
                }
                return out
            }
        }
    }
}
