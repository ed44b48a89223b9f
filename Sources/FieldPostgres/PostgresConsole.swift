import FieldCrypto
import FieldDashboard
import FieldExport
import FieldHub
import FieldLedger
import Foundation
import NIOCore
import PostgresNIO

/// The console's state on the shared store, for several hub processes serving it
/// (`hub serve --store … --dashboard`; docs/scale-out.md): a browser's requests may reach any of
/// them, so a session opened at one is good at all, a logout or a disabled account ends it at all,
/// a one-time code is good once across them, and an export started at one is downloaded from
/// another.
///
/// The tables (migration `2-console` of `PostgresSharedLog`):
/// - `fieldlog_console_users`, `fieldlog_console_sessions` (the BLAKE2b of each cookie, never the
///   cookie) and `fieldlog_console_audit`, as the single hub's `_hub_users`, `_hub_sessions` and
///   `_hub_audit`;
/// - `fieldlog_console_exports`, one row per export, and `fieldlog_console_export_parts`, its file
///   and signature in parts of `partBytes` (each read by a query of its own: PostgresNIO 1.33.2
///   stops the process if the server closes a connection while a long answer streams, see
///   `PostgresSharedLog.readBytes`);
/// - `fieldlog_console_uploads`, registry files previewed and waiting for their confirmation.
///
/// The console calls it synchronously on its database threads; each call waits for PostgreSQL
/// there (`waitFor`), bounded by the store's timeout, and throws `SharedLogError.unavailable` when
/// the store cannot be reached.
public final class PostgresConsole: ConsoleStore, ConsoleJobs {
    let log: PostgresSharedLog
    /// A running export that has reported nothing for this long is shown as failed: the process
    /// writing it stopped.
    public static let staleAfter: Int64 = 600
    static let partBytes = 32 << 10

    public init(log: PostgresSharedLog) {
        self.log = log
    }

    static let migration = [
        """
        CREATE TABLE fieldlog_console_users(
            name text PRIMARY KEY, role text NOT NULL, password_hash text NOT NULL, totp_secret text,
            totp_last_step bigint, created_at bigint NOT NULL, disabled_at bigint
        )
        """,
        """
        CREATE TABLE fieldlog_console_sessions(
            id_hash bytea PRIMARY KEY, user_name text NOT NULL REFERENCES fieldlog_console_users(name),
            csrf text NOT NULL, created_at bigint NOT NULL, last_seen bigint NOT NULL
        )
        """,
        """
        CREATE TABLE fieldlog_console_audit(
            seq bigserial PRIMARY KEY, at bigint NOT NULL, user_name text, action text NOT NULL,
            outcome text NOT NULL, detail text NOT NULL DEFAULT '', address text NOT NULL DEFAULT ''
        )
        """,
        "CREATE INDEX fieldlog_console_audit_by_action ON fieldlog_console_audit(action, at)",
        """
        CREATE TABLE fieldlog_console_exports(
            id text PRIMARY KEY, owner text NOT NULL, name text NOT NULL, format text NOT NULL,
            started_at bigint NOT NULL, updated_at bigint NOT NULL, running boolean NOT NULL DEFAULT true,
            rows bigint NOT NULL DEFAULT 0, size bigint NOT NULL DEFAULT 0, signature_size bigint NOT NULL DEFAULT 0,
            hash text NOT NULL DEFAULT '', signed_at text NOT NULL DEFAULT '', failure text
        )
        """,
        """
        CREATE TABLE fieldlog_console_export_parts(
            id text NOT NULL REFERENCES fieldlog_console_exports(id) ON DELETE CASCADE,
            signature boolean NOT NULL, part integer NOT NULL, bytes bytea NOT NULL,
            PRIMARY KEY(id, signature, part)
        )
        """,
        """
        CREATE TABLE fieldlog_console_uploads(
            token text PRIMARY KEY, owner text NOT NULL, kind text NOT NULL, name text NOT NULL,
            rows_json text NOT NULL, kept_at bigint NOT NULL
        )
        """,
    ]

    /// Runs a query's work on the store, from the console's thread.
    @discardableResult
    private func run<T: Sendable>(
        _ what: String,
        _ work: @escaping @Sendable (PostgresClient, Logger) async throws -> T
    ) throws -> T {
        let log = log
        return try waitFor { try await log.guarded(what) { try await work(log.client, log.logger) } }
    }

    /// Nothing: the console's tables are a migration of the shared log's, made by
    /// `PostgresSharedLog.migrate()`, which whoever opens the store calls first (and which must not
    /// wait here, perhaps on Swift's cooperative pool).
    public func migrate() {}

    // MARK: - Accounts and sessions

    private typealias AccountRow = (String, String, String, String?, Int64?, Int64, Int64?)

    private static func account(_ row: AccountRow) -> ConsoleAccount {
        ConsoleAccount(
            name: row.0,
            role: row.1,
            passwordHash: row.2,
            totpSecret: row.3,
            totpLastStep: row.4,
            createdAt: row.5,
            disabledAt: row.6
        )
    }

    private static func audit(
        _ line: ConsoleAuditLine,
        _ connection: PostgresConnection,
        _ logger: Logger
    )
        async throws
    {
        try await connection.query(
            """
            INSERT INTO fieldlog_console_audit(at, user_name, action, outcome, detail, address)
            VALUES (\(line.at * 1000), \(line.user), \(line.action), \(line.outcome), \(line.detail), \(line.address))
            """,
            logger: logger
        )
    }

    public func addAccount(_ account: ConsoleAccount, audit: ConsoleAuditLine) throws -> Bool {
        try run("adding a console account") { client, logger in
            try await client.withTransaction(logger: logger) { connection in
                let rows = try await connection.query(
                    """
                    INSERT INTO fieldlog_console_users(name, role, password_hash, totp_secret, totp_last_step, created_at, disabled_at)
                    VALUES (\(account.name), \(account.role), \(account.passwordHash), \(account.totpSecret),
                        \(account.totpLastStep), \(account.createdAt), \(account.disabledAt))
                    ON CONFLICT (name) DO NOTHING RETURNING 1
                    """,
                    logger: logger
                ).collect()
                guard rows.count == 1 else { return false }
                try await Self.audit(audit, connection, logger)
                return true
            }
        }
    }

    public func disableAccount(_ name: String, at: Int64, audit: ConsoleAuditLine) throws -> Bool {
        try run("disabling a console account") { client, logger in
            try await client.withTransaction(logger: logger) { connection in
                let rows = try await connection.query(
                    """
                    UPDATE fieldlog_console_users SET disabled_at = \(at) WHERE name = \(name) AND disabled_at IS NULL
                    RETURNING 1
                    """,
                    logger: logger
                ).collect()
                guard rows.count == 1 else { return false }
                try await connection.query(
                    "DELETE FROM fieldlog_console_sessions WHERE user_name = \(name)",
                    logger: logger
                )
                try await Self.audit(audit, connection, logger)
                return true
            }
        }
    }

    public func accounts() throws -> [ConsoleAccount] {
        try run("reading the console accounts") { client, logger in
            var accounts: [ConsoleAccount] = []
            for try await row in try await client.query(
                """
                SELECT name, role, password_hash, totp_secret, totp_last_step, created_at, disabled_at
                FROM fieldlog_console_users ORDER BY name
                """,
                logger: logger
            ).decode(AccountRow.self) {
                accounts.append(Self.account(row))
            }
            return accounts
        }
    }

    public func account(named name: String) throws -> ConsoleAccount? {
        try run("reading a console account") { client, logger in
            var found: ConsoleAccount?
            for try await row in try await client.query(
                """
                SELECT name, role, password_hash, totp_secret, totp_last_step, created_at, disabled_at
                FROM fieldlog_console_users WHERE name = \(name)
                """,
                logger: logger
            ).decode(AccountRow.self) {
                found = Self.account(row)
            }
            return found
        }
    }

    public func failedLogins(name: String, address: String, since: Int64) throws -> Int {
        try run("counting failed logins") { client, logger in
            var count: Int64 = 0
            for try await value in try await client.query(
                """
                SELECT count(*) FROM fieldlog_console_audit
                WHERE action = 'login' AND at >= \(since) AND outcome <> 'ok' AND outcome <> 'rate_limited'
                  AND (user_name = \(name) OR address = \(address))
                """,
                logger: logger
            ).decode(Int64.self) {
                count = value
            }
            return Int(count)
        }
    }

    public func openSession(
        _ session: ConsoleSessionRecord,
        totpStep: Int64?,
        idleBefore: Int64,
        openedBefore: Int64,
        audit: ConsoleAuditLine
    ) throws -> Bool {
        try run("opening a console session") { client, logger in
            try await client.withTransaction(logger: logger) { connection in
                if let totpStep {
                    // One conditional update: of two logins with one code, at two processes at
                    // once, the second finds the step taken.
                    let rows = try await connection.query(
                        """
                        UPDATE fieldlog_console_users SET totp_last_step = \(totpStep)
                        WHERE name = \(session.user) AND (totp_last_step IS NULL OR totp_last_step < \(totpStep))
                        RETURNING 1
                        """,
                        logger: logger
                    ).collect()
                    guard rows.count == 1 else { return false }
                }
                try await connection.query(
                    """
                    INSERT INTO fieldlog_console_sessions(id_hash, user_name, csrf, created_at, last_seen)
                    VALUES (\(ByteBuffer(bytes: session.hash)), \(session.user), \(session.csrf),
                        \(session.createdAt), \(session.lastSeen))
                    """,
                    logger: logger
                )
                try await connection.query(
                    """
                    DELETE FROM fieldlog_console_sessions
                    WHERE last_seen < \(idleBefore) OR created_at < \(openedBefore)
                    """,
                    logger: logger
                )
                try await Self.audit(audit, connection, logger)
                return true
            }
        }
    }

    public func session(hash: [UInt8]) throws -> (session: ConsoleSessionRecord, account: ConsoleAccount)? {
        try run("reading a console session") { client, logger in
            var found: (session: ConsoleSessionRecord, account: ConsoleAccount)?
            for try await (csrf, created, lastSeen, name, role, password, secret, step, accountCreated, disabled)
                in try await client.query(
                    """
                    SELECT s.csrf, s.created_at, s.last_seen, u.name, u.role, u.password_hash, u.totp_secret,
                           u.totp_last_step, u.created_at, u.disabled_at
                    FROM fieldlog_console_sessions s JOIN fieldlog_console_users u ON u.name = s.user_name
                    WHERE s.id_hash = \(ByteBuffer(bytes: hash))
                    """,
                    logger: logger
                ).decode((String, Int64, Int64, String, String, String, String?, Int64?, Int64, Int64?).self)
            {
                let account = Self.account((name, role, password, secret, step, accountCreated, disabled))
                found = (
                    ConsoleSessionRecord(hash: hash, user: name, csrf: csrf, createdAt: created, lastSeen: lastSeen),
                    account
                )
            }
            return found
        }
    }

    public func touchSession(hash: [UInt8], at: Int64) throws {
        try run("noting a console session's activity") { client, logger in
            try await client.query(
                "UPDATE fieldlog_console_sessions SET last_seen = \(at) WHERE id_hash = \(ByteBuffer(bytes: hash))",
                logger: logger
            )
        }
    }

    public func endSession(hash: [UInt8]) throws -> String? {
        try run("ending a console session") { client, logger in
            var user: String?
            for try await name in try await client.query(
                "DELETE FROM fieldlog_console_sessions WHERE id_hash = \(ByteBuffer(bytes: hash)) RETURNING user_name",
                logger: logger
            ).decode(String.self) {
                user = name
            }
            return user
        }
    }

    public func audit(_ line: ConsoleAuditLine) throws {
        try run("writing the audit trail") { client, logger in
            try await client.withConnection { connection in try await Self.audit(line, connection, logger) }
        }
    }

    public func auditTrail(
        action: String?,
        user: String?,
        limit: Int,
        offset: Int
    ) throws -> (total: Int, entries: [AuditEntry]) {
        try run("reading the audit trail") { client, logger in
            // A null filter matches every line.
            let filter: PostgresQuery = """
                SELECT count(*) OVER (), seq, at, user_name, action, outcome, detail, address FROM fieldlog_console_audit
                WHERE (\(action)::text IS NULL OR action = \(action)) AND (\(user)::text IS NULL OR user_name = \(user))
                ORDER BY seq DESC LIMIT \(limit) OFFSET \(offset)
                """
            var total = 0
            var entries: [AuditEntry] = []
            for try await (count, seq, at, name, action, outcome, detail, address) in try await client.query(
                filter,
                logger: logger
            ).decode((Int64, Int64, Int64, String?, String, String, String, String).self) {
                total = Int(count)
                entries.append(
                    AuditEntry(
                        seq: seq,
                        at: at,
                        user: name,
                        action: action,
                        outcome: outcome,
                        detail: detail,
                        address: address
                    )
                )
            }
            if entries.isEmpty && offset > 0 {
                // Past the last page: the count alone.
                for try await count in try await client.query(
                    """
                    SELECT count(*) FROM fieldlog_console_audit
                    WHERE (\(action)::text IS NULL OR action = \(action)) AND (\(user)::text IS NULL OR user_name = \(user))
                    """,
                    logger: logger
                ).decode(Int64.self) {
                    total = Int(count)
                }
            }
            return (total, entries)
        }
    }

    // MARK: - Exports and uploads

    public func startExport(id: String, owner: String, name: String, format: ExportFormat, at: Int64) throws {
        try run("starting an export") { client, logger in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query(
                    """
                    INSERT INTO fieldlog_console_exports(id, owner, name, format, started_at, updated_at)
                    VALUES (\(id), \(owner), \(name), \(format.rawValue), \(at), \(at))
                    """,
                    logger: logger
                )
                // The oldest finished ones beyond the limit (their parts go with them).
                try await connection.query(
                    """
                    DELETE FROM fieldlog_console_exports WHERE NOT running AND id NOT IN (
                        SELECT id FROM fieldlog_console_exports ORDER BY started_at DESC, id
                        LIMIT \(ConsoleLimits.exportsKept))
                    """,
                    logger: logger
                )
            }
        }
    }

    public func exportProgress(id: String, rows: Int, at: Int64) throws {
        try run("noting an export's progress") { client, logger in
            try await client.query(
                "UPDATE fieldlog_console_exports SET rows = \(Int64(rows)), updated_at = \(at) WHERE id = \(id)",
                logger: logger
            )
        }
    }

    public func failExport(id: String, message: String, at: Int64) throws {
        try run("noting a failed export") { client, logger in
            try await client.query(
                """
                UPDATE fieldlog_console_exports SET running = false, failure = \(message), updated_at = \(at)
                WHERE id = \(id)
                """,
                logger: logger
            )
        }
    }

    public func finishExport(
        id: String,
        file: [UInt8],
        signature: [UInt8],
        signed: ExportSignature,
        rows: Int,
        at: Int64
    ) throws {
        try run("storing an export") { client, logger in
            try await client.withTransaction(logger: logger) { connection in
                for (isSignature, bytes) in [(false, file), (true, signature)] {
                    for (part, start) in stride(from: 0, to: bytes.count, by: Self.partBytes).enumerated() {
                        let slice = bytes[start..<min(start + Self.partBytes, bytes.count)]
                        try await connection.query(
                            """
                            INSERT INTO fieldlog_console_export_parts(id, signature, part, bytes)
                            VALUES (\(id), \(isSignature), \(Int32(part)), \(ByteBuffer(bytes: slice)))
                            """,
                            logger: logger
                        )
                    }
                }
                try await connection.query(
                    """
                    UPDATE fieldlog_console_exports SET running = false, rows = \(Int64(rows)),
                        size = \(Int64(file.count)), signature_size = \(Int64(signature.count)),
                        hash = \(signed.blake2b256), signed_at = \(signed.signedAt), updated_at = \(at)
                    WHERE id = \(id)
                    """,
                    logger: logger
                )
            }
        }
    }

    public func exportJob(id: String, owner: String, now: Int64) throws -> ExportJob? {
        try run("reading an export") { client, logger in
            var job: ExportJob?
            for try await (name, format, running, updated, rows, size, signatureSize, hash, signedAt, failure)
                in try await client.query(
                    """
                    SELECT name, format, running, updated_at, rows, size, signature_size, hash, signed_at, failure
                    FROM fieldlog_console_exports WHERE id = \(id) AND owner = \(owner)
                    """,
                    logger: logger
                ).decode((String, String, Bool, Int64, Int64, Int64, Int64, String, String, String?).self)
            {
                guard let format = ExportFormat(rawValue: format) else { continue }
                var found = ExportJob(owner: owner, name: name, format: format)
                found.running = running
                found.rows = Int(rows)
                found.size = Int(size)
                found.signatureSize = Int(signatureSize)
                found.hash = hash
                found.signedAt = signedAt
                found.failure = failure
                if running && now - updated > Self.staleAfter {
                    found.running = false
                    found.failure = "导出中断（写它的枢纽进程已停止），没有生成文件。请重新导出。"
                }
                job = found
            }
            return job
        }
    }

    public func exportContent(id: String, signature: Bool) throws -> ExportContent? {
        try run("reading an export's file") { client, logger in
            var count: Int64 = 0
            for try await value in try await client.query(
                "SELECT count(*) FROM fieldlog_console_export_parts WHERE id = \(id) AND signature = \(signature)",
                logger: logger
            ).decode(Int64.self) {
                count = value
            }
            var bytes: [UInt8] = []
            for part in 0..<Int32(count) {
                var found = false
                for try await buffer in try await client.query(
                    """
                    SELECT bytes FROM fieldlog_console_export_parts
                    WHERE id = \(id) AND signature = \(signature) AND part = \(part)
                    """,
                    logger: logger
                ).decode(ByteBuffer.self) {
                    bytes += buffer.readableBytesView
                    found = true
                }
                // Deleted meanwhile (50 newer exports started): not half a file.
                guard found else { return nil }
            }
            return count == 0 ? nil : .bytes(bytes)
        }
    }

    public func keepUpload(_ upload: PendingUpload, at: Int64) throws -> String {
        let token = Hex.encode(secureRandomBytes(16))
        let rows = String(decoding: try JSONEncoder().encode(upload.rows), as: UTF8.self)
        try run("keeping an upload") { client, logger in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query(
                    """
                    INSERT INTO fieldlog_console_uploads(token, owner, kind, name, rows_json, kept_at)
                    VALUES (\(token), \(upload.owner), \(upload.kind.rawValue), \(upload.name), \(rows), \(at))
                    """,
                    logger: logger
                )
                try await connection.query(
                    """
                    DELETE FROM fieldlog_console_uploads WHERE token NOT IN (
                        SELECT token FROM fieldlog_console_uploads ORDER BY kept_at DESC, token
                        LIMIT \(ConsoleLimits.uploadsKept))
                    """,
                    logger: logger
                )
            }
        }
        return token
    }

    public func takeUpload(token: String, owner: String) throws -> PendingUpload? {
        let found = try run("taking an upload") { client, logger in
            var found: (String, String, String)?
            for try await row in try await client.query(
                """
                DELETE FROM fieldlog_console_uploads WHERE token = \(token) AND owner = \(owner)
                RETURNING kind, name, rows_json
                """,
                logger: logger
            ).decode((String, String, String).self) {
                found = row
            }
            return found
        }
        guard let (kind, name, json) = found, let kind = Ledger.RegistryFile(rawValue: kind),
            let rows = try? JSONDecoder().decode([[String]].self, from: Data(json.utf8))
        else { return nil }
        return PendingUpload(owner: owner, kind: kind, name: name, rows: rows)
    }
}
