import FieldCrypto
import FieldExport
import FieldHub
import FieldLedger
import FieldStore
import Foundation
import GRDB
import Synchronization

/// A console account as it is stored.
public struct ConsoleAccount: Sendable, Equatable {
    public var name: String
    /// `DashboardRole.rawValue`.
    public var role: String
    /// bcrypt.
    public var passwordHash: String
    /// The text whose UTF-8 bytes are the TOTP key, when the account has one.
    public var totpSecret: String?
    /// The last TOTP step a login used: a code is good once.
    public var totpLastStep: Int64?
    /// Seconds since 1970.
    public var createdAt: Int64
    public var disabledAt: Int64?

    public init(
        name: String,
        role: String,
        passwordHash: String,
        totpSecret: String?,
        totpLastStep: Int64? = nil,
        createdAt: Int64,
        disabledAt: Int64? = nil
    ) {
        self.name = name
        self.role = role
        self.passwordHash = passwordHash
        self.totpSecret = totpSecret
        self.totpLastStep = totpLastStep
        self.createdAt = createdAt
        self.disabledAt = disabledAt
    }
}

/// A console session as it is stored: the BLAKE2b of its cookie, never the cookie.
public struct ConsoleSessionRecord: Sendable, Equatable {
    public var hash: [UInt8]
    public var user: String
    public var csrf: String
    /// Seconds since 1970.
    public var createdAt: Int64
    public var lastSeen: Int64

    public init(hash: [UInt8], user: String, csrf: String, createdAt: Int64, lastSeen: Int64) {
        self.hash = hash
        self.user = user
        self.csrf = csrf
        self.createdAt = createdAt
        self.lastSeen = lastSeen
    }
}

/// A line to write to the audit trail (操作日志); `at` in seconds since 1970 (stored in
/// milliseconds).
public struct ConsoleAuditLine: Sendable, Equatable {
    public var at: Int64
    public var user: String?
    public var action: String
    public var outcome: String
    public var detail: String
    public var address: String

    public init(at: Int64, user: String?, action: String, outcome: String, detail: String = "", address: String = "") {
        self.at = at
        self.user = user
        self.action = action
        self.outcome = outcome
        self.detail = detail
        self.address = address
    }
}

/// Where the console keeps its accounts, sessions and audit trail: the hub's own SQLite tables
/// (`SQLiteConsoleStore`), or PostgreSQL when several hub processes serve the console
/// (`hub serve --store … --dashboard`), so that a session opened at one process is good at every
/// other, a logout or a disabled account ends it everywhere, and a one-time code is good once
/// across them all.
///
/// Every method is synchronous and is called on the console's database threads, never on an event
/// loop. A store that cannot be reached throws: the request is then refused, never answered from
/// what a process remembers.
public protocol ConsoleStore: Sendable {
    /// Creates or upgrades the tables.
    func migrate() throws
    /// Adds an account and writes `audit`, together.
    /// - Returns: false, with nothing stored, when the name is taken.
    func addAccount(_ account: ConsoleAccount, audit: ConsoleAuditLine) throws -> Bool
    /// Disables an enabled account, ends its sessions and writes `audit`, together.
    /// - Returns: false, with nothing stored, when there is no enabled account of that name.
    func disableAccount(_ name: String, at: Int64, audit: ConsoleAuditLine) throws -> Bool
    /// Every account, by name.
    func accounts() throws -> [ConsoleAccount]
    func account(named name: String) throws -> ConsoleAccount?
    /// Failed logins (not counting those refused for the limit itself) since `since` milliseconds,
    /// for the name or from the address.
    func failedLogins(name: String, address: String, since: Int64) throws -> Int
    /// Opens a session and writes `audit`; deletes the sessions idle since before `idleBefore` or
    /// opened before `openedBefore`. With `totpStep`, the account's last step is moved to it in the
    /// same transaction, only if it is below it: two logins with one code, even at two processes at
    /// once, never both succeed.
    /// - Returns: false, with nothing stored, when the step was used already.
    func openSession(
        _ session: ConsoleSessionRecord,
        totpStep: Int64?,
        idleBefore: Int64,
        openedBefore: Int64,
        audit: ConsoleAuditLine
    ) throws -> Bool
    /// The session of a cookie's hash, with its account.
    func session(hash: [UInt8]) throws -> (session: ConsoleSessionRecord, account: ConsoleAccount)?
    func touchSession(hash: [UInt8], at: Int64) throws
    /// Deletes a session. - Returns: its account's name, if it was there.
    func endSession(hash: [UInt8]) throws -> String?
    func audit(_ line: ConsoleAuditLine) throws
    /// The audit trail, newest first: `limit` lines from `offset`, and how many match in all.
    func auditTrail(
        action: String?,
        user: String?,
        limit: Int,
        offset: Int
    ) throws -> (total: Int, entries: [AuditEntry])
}

/// An export of the console as its page shows it.
public struct ExportJob: Sendable, Equatable {
    public var owner: String
    public var name: String
    public var format: ExportFormat
    public var running = true
    public var rows = 0
    public var size = 0
    public var signatureSize = 0
    public var hash = ""
    public var signedAt = ""
    public var failure: String?

    public init(owner: String, name: String, format: ExportFormat) {
        self.owner = owner
        self.name = name
        self.format = format
    }
}

/// Where a finished export's file (or its signature) is read from.
public enum ExportContent: Sendable {
    /// A file of the process's export folder, streamed from disk.
    case file(String)
    /// The bytes, read from the shared store.
    case bytes([UInt8])
}

/// A registry file uploaded and previewed, waiting for its confirmation.
public struct PendingUpload: Sendable, Equatable {
    public var owner: String
    public var kind: Ledger.RegistryFile
    public var name: String
    public var rows: [[String]]

    public init(owner: String, kind: Ledger.RegistryFile, name: String, rows: [[String]]) {
        self.owner = owner
        self.kind = kind
        self.name = name
        self.rows = rows
    }
}

/// The console's work between two requests: exports being written and then downloaded, registry
/// files previewed and then confirmed. With several hub processes the second request may reach
/// another process than the first, so on a shared store these live in PostgreSQL; a single hub
/// keeps them in memory and its export folder (`LocalConsoleJobs`).
///
/// Synchronous, called on the console's database threads.
public protocol ConsoleJobs: Sendable {
    /// Starts an export of `owner`'s; older finished ones beyond `kept` are forgotten.
    func startExport(id: String, owner: String, name: String, format: ExportFormat, at: Int64) throws
    func exportProgress(id: String, rows: Int, at: Int64) throws
    func failExport(id: String, message: String, at: Int64) throws
    /// Stores the file and its signature, then marks the job done: a download never finds half a file.
    func finishExport(
        id: String,
        file: [UInt8],
        signature: [UInt8],
        signed: ExportSignature,
        rows: Int,
        at: Int64
    ) throws
    /// The export `id`, if `owner` made it.
    func exportJob(id: String, owner: String, now: Int64) throws -> ExportJob?
    /// A finished export's file or signature.
    func exportContent(id: String, signature: Bool) throws -> ExportContent?
    /// Keeps an upload until it is confirmed. - Returns: its token.
    func keepUpload(_ upload: PendingUpload, at: Int64) throws -> String
    /// The upload `token` names, if `owner` made it; taken, so that it is committed once.
    func takeUpload(token: String, owner: String) throws -> PendingUpload?
}

/// Exports kept, beside any still being written, and uploads waiting.
public enum ConsoleLimits {
    public static let exportsKept = 50
    public static let uploadsKept = 20
}

// MARK: - A single hub: SQLite and memory

/// The console's accounts, sessions and audit trail in tables of the hub's own replica database
/// (created by the hub's migrations, `EnrollmentCodes.migrate`), never replicated.
public struct SQLiteConsoleStore: ConsoleStore {
    public let ledger: Ledger

    public init(ledger: Ledger) {
        self.ledger = ledger
    }

    var database: any DatabaseWriter { ledger.replica.database }

    /// The console's tables, each created once, recorded in the hub's `_hub_migrations` beside the
    /// hub's own (`EnrollmentCodes.migrations`).
    static let migrations: [(name: String, sql: String)] = [
        // The console's accounts (`fieldlog hub user add`), its sessions (only a hash of each
        // cookie) and its audit trail of logins and operator actions (docs/dashboard.md).
        (
            "dashboard-1-accounts",
            """
            CREATE TABLE _hub_users(
                name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, totp_secret TEXT,
                totp_last_step INTEGER, created_at INTEGER NOT NULL, disabled_at INTEGER
            );
            CREATE TABLE _hub_sessions(
                id_hash BLOB PRIMARY KEY, user_name TEXT NOT NULL, csrf TEXT NOT NULL,
                created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL
            );
            CREATE TABLE _hub_audit(
                seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, user_name TEXT, action TEXT NOT NULL,
                outcome TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT ''
            );
            CREATE INDEX _hub_audit_by_action ON _hub_audit(action, at);
            """
        )
    ]

    public func migrate() throws { try EnrollmentCodes.migrate(ledger, Self.migrations) }

    static let accountColumns = "name, role, password_hash, totp_secret, totp_last_step, created_at, disabled_at"

    static func account(_ row: Row, from start: Int = 0) -> ConsoleAccount {
        ConsoleAccount(
            name: row[start],
            role: row[start + 1],
            passwordHash: row[start + 2],
            totpSecret: row[start + 3],
            totpLastStep: row[start + 4],
            createdAt: row[start + 5],
            disabledAt: row[start + 6]
        )
    }

    public func addAccount(_ account: ConsoleAccount, audit: ConsoleAuditLine) throws -> Bool {
        try database.write { db in
            guard
                try !Bool.fetchOne(
                    db,
                    sql: "SELECT EXISTS (SELECT 1 FROM _hub_users WHERE name = ?)",
                    arguments: [account.name]
                )!
            else { return false }
            try db.execute(
                sql: "INSERT INTO _hub_users(\(Self.accountColumns)) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    account.name, account.role, account.passwordHash, account.totpSecret, account.totpLastStep,
                    account.createdAt, account.disabledAt,
                ]
            )
            try Self.audit(db, audit)
            return true
        }
    }

    public func disableAccount(_ name: String, at: Int64, audit: ConsoleAuditLine) throws -> Bool {
        try database.write { db in
            try db.execute(
                sql: "UPDATE _hub_users SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL",
                arguments: [at, name]
            )
            guard db.changesCount == 1 else { return false }
            try db.execute(sql: "DELETE FROM _hub_sessions WHERE user_name = ?", arguments: [name])
            try Self.audit(db, audit)
            return true
        }
    }

    public func accounts() throws -> [ConsoleAccount] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.accountColumns) FROM _hub_users ORDER BY name").map {
                Self.account($0)
            }
        }
    }

    public func account(named name: String) throws -> ConsoleAccount? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.accountColumns) FROM _hub_users WHERE name = ?", arguments: [name])
                .map { Self.account($0) }
        }
    }

    public func failedLogins(name: String, address: String, since: Int64) throws -> Int {
        try database.read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM _hub_audit
                    WHERE action = 'login' AND at >= ? AND outcome <> 'ok' AND outcome <> 'rate_limited'
                      AND (user_name = ? OR address = ?)
                    """,
                arguments: [since, name, address]
            )!
        }
    }

    public func openSession(
        _ session: ConsoleSessionRecord,
        totpStep: Int64?,
        idleBefore: Int64,
        openedBefore: Int64,
        audit: ConsoleAuditLine
    ) throws -> Bool {
        try database.write { db in
            if let totpStep {
                try db.execute(
                    sql: """
                        UPDATE _hub_users SET totp_last_step = ?
                        WHERE name = ? AND (totp_last_step IS NULL OR totp_last_step < ?)
                        """,
                    arguments: [totpStep, session.user, totpStep]
                )
                guard db.changesCount == 1 else { return false }
            }
            try db.execute(
                sql:
                    "INSERT INTO _hub_sessions(id_hash, user_name, csrf, created_at, last_seen) VALUES (?, ?, ?, ?, ?)",
                arguments: [Data(session.hash), session.user, session.csrf, session.createdAt, session.lastSeen]
            )
            try db.execute(
                sql: "DELETE FROM _hub_sessions WHERE last_seen < ? OR created_at < ?",
                arguments: [idleBefore, openedBefore]
            )
            try Self.audit(db, audit)
            return true
        }
    }

    public func session(hash: [UInt8]) throws -> (session: ConsoleSessionRecord, account: ConsoleAccount)? {
        try database.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT s.csrf, s.created_at, s.last_seen, u.name, u.role, u.password_hash, u.totp_secret,
                           u.totp_last_step, u.created_at, u.disabled_at
                    FROM _hub_sessions s JOIN _hub_users u ON u.name = s.user_name WHERE s.id_hash = ?
                    """,
                arguments: [Data(hash)]
            ).map { row in
                let account = Self.account(row, from: 3)
                return (
                    ConsoleSessionRecord(
                        hash: hash,
                        user: account.name,
                        csrf: row[0],
                        createdAt: row[1],
                        lastSeen: row[2]
                    ),
                    account
                )
            }
        }
    }

    public func touchSession(hash: [UInt8], at: Int64) throws {
        try database.write { db in
            try db.execute(
                sql: "UPDATE _hub_sessions SET last_seen = ? WHERE id_hash = ?",
                arguments: [at, Data(hash)]
            )
        }
    }

    public func endSession(hash: [UInt8]) throws -> String? {
        try database.write { db in
            let user = try String.fetchOne(
                db,
                sql: "SELECT user_name FROM _hub_sessions WHERE id_hash = ?",
                arguments: [Data(hash)]
            )
            try db.execute(sql: "DELETE FROM _hub_sessions WHERE id_hash = ?", arguments: [Data(hash)])
            return user
        }
    }

    public func audit(_ line: ConsoleAuditLine) throws {
        try database.write { db in try Self.audit(db, line) }
    }

    static func audit(_ db: Database, _ line: ConsoleAuditLine) throws {
        try db.execute(
            sql: "INSERT INTO _hub_audit(at, user_name, action, outcome, detail, address) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [line.at * 1000, line.user, line.action, line.outcome, line.detail, line.address]
        )
    }

    public func auditTrail(
        action: String?,
        user: String?,
        limit: Int,
        offset: Int
    ) throws -> (total: Int, entries: [AuditEntry]) {
        var conditions: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        if let action {
            conditions.append("action = ?")
            arguments.append(action)
        }
        if let user {
            conditions.append("user_name = ?")
            arguments.append(user)
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        return try database.read { db in
            let total = try Int.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM _hub_audit" + filter,
                arguments: StatementArguments(arguments)
            )!
            let entries = try Row.fetchAll(
                db,
                sql: "SELECT seq, at, user_name, action, outcome, detail, address FROM _hub_audit" + filter
                    + " ORDER BY seq DESC LIMIT ? OFFSET ?",
                arguments: StatementArguments(arguments + [limit, offset])
            ).map { row in
                AuditEntry(
                    seq: row[0],
                    at: row[1],
                    user: row[2],
                    action: row[3],
                    outcome: row[4],
                    detail: row[5],
                    address: row[6]
                )
            }
            return (total, entries)
        }
    }
}

/// A single hub's exports and uploads: in memory, each export's file and signature in the export
/// folder. A restart forgets them, as it forgets nothing else that matters: an export is made again.
public final class LocalConsoleJobs: ConsoleJobs {
    let folder: String
    /// The jobs by id, and their ids oldest first.
    private let state = Mutex<(jobs: [String: ExportJob], order: [String])>(([:], []))
    private let uploads = Mutex<[(token: String, upload: PendingUpload)]>([])

    public init(folder: String) {
        self.folder = folder
    }

    public func startExport(id: String, owner: String, name: String, format: ExportFormat, at: Int64) throws {
        let dropped: [String] = state.withLock { state in
            state.jobs[id] = ExportJob(owner: owner, name: name, format: format)
            state.order.append(id)
            guard state.order.count > ConsoleLimits.exportsKept else { return [] }
            // The oldest beyond the limit, but any still being written.
            let old = state.order.prefix(state.order.count - ConsoleLimits.exportsKept).filter {
                state.jobs[$0]?.running == false
            }
            for key in old { state.jobs[key] = nil }
            state.order.removeAll { state.jobs[$0] == nil }
            return old
        }
        for old in dropped {
            try? FileManager.default.removeItem(atPath: path(old, signature: false))
            try? FileManager.default.removeItem(atPath: path(old, signature: true))
        }
    }

    public func exportProgress(id: String, rows: Int, at: Int64) { state.withLock { $0.jobs[id]?.rows = rows } }

    public func failExport(id: String, message: String, at: Int64) {
        state.withLock {
            $0.jobs[id]?.running = false
            $0.jobs[id]?.failure = message
        }
    }

    func path(_ id: String, signature: Bool) -> String { folder + "/" + id + (signature ? ".sig" : ".file") }

    public func finishExport(
        id: String,
        file: [UInt8],
        signature: [UInt8],
        signed: ExportSignature,
        rows: Int,
        at: Int64
    ) throws {
        try Data(file).write(to: URL(fileURLWithPath: path(id, signature: false)), options: .atomic)
        try Data(signature).write(to: URL(fileURLWithPath: path(id, signature: true)), options: .atomic)
        state.withLock {
            $0.jobs[id]?.rows = rows
            $0.jobs[id]?.size = file.count
            $0.jobs[id]?.signatureSize = signature.count
            $0.jobs[id]?.hash = signed.blake2b256
            $0.jobs[id]?.signedAt = signed.signedAt
            $0.jobs[id]?.running = false
        }
    }

    public func exportJob(id: String, owner: String, now: Int64) -> ExportJob? {
        state.withLock { $0.jobs[id] }.flatMap { $0.owner == owner ? $0 : nil }
    }

    public func exportContent(id: String, signature: Bool) -> ExportContent? {
        state.withLock { $0.jobs[id] }.map { _ in .file(path(id, signature: signature)) }
    }

    public func keepUpload(_ upload: PendingUpload, at: Int64) -> String {
        let token = Hex.encode(secureRandomBytes(16))
        uploads.withLock {
            $0.append((token, upload))
            if $0.count > ConsoleLimits.uploadsKept { $0.removeFirst($0.count - ConsoleLimits.uploadsKept) }
        }
        return token
    }

    public func takeUpload(token: String, owner: String) -> PendingUpload? {
        uploads.withLock { uploads in
            guard let index = uploads.firstIndex(where: { $0.token == token && $0.upload.owner == owner }) else {
                return nil
            }
            return uploads.remove(at: index).upload
        }
    }
}
