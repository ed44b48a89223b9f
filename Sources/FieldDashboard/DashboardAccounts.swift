import FieldCrypto
import FieldHub
import FieldLedger
import FieldStore
import Foundation
import GRDB
import HummingbirdBcrypt
import HummingbirdOTP

/// Who may use the console: an operator runs the registry and the devices, a supervisor reads and
/// exports the whole county.
public enum DashboardRole: String, Sendable, CaseIterable {
    case `operator`
    case supervisor

    public var chinese: String {
        switch self {
        case .operator: "运维人员"
        case .supervisor: "督查人员"
        }
    }
}

/// A console account as the pages see it.
public struct DashboardUser: Sendable, Equatable {
    public var name: String
    public var role: DashboardRole
    public var hasTOTP: Bool
    public var disabled: Bool
}

/// Why a login was refused, in the words shown on the login page.
public enum LoginRefusal: Error, Equatable, Sendable {
    /// A wrong name or password (which of the two is not said).
    case wrongPassword
    /// A missing, wrong or already used one-time code.
    case wrongCode
    /// Too many failed logins for this name or from this address lately.
    case tooManyAttempts(minutes: Int)
    case disabled

    public var chinese: String {
        switch self {
        case .wrongPassword: "用户名或密码不对。"
        case .wrongCode: "动态验证码不对或已用过。"
        case .tooManyAttempts(let minutes): "登录失败次数过多，请 \(minutes) 分钟后再试。"
        case .disabled: "该账号已停用，请联系运维人员。"
        }
    }

    /// The audit trail's word for it.
    var outcome: String {
        switch self {
        case .wrongPassword: "wrong_password"
        case .wrongCode: "wrong_totp"
        case .tooManyAttempts: "rate_limited"
        case .disabled: "disabled"
        }
    }
}

/// One line of the audit trail (操作日志).
public struct AuditEntry: Sendable, Equatable {
    public var seq: Int64
    /// Milliseconds since 1970.
    public var at: Int64
    public var user: String?
    public var action: String
    public var outcome: String
    public var detail: String
    public var address: String
}

/// The console's accounts, sessions and audit trail, in tables of the hub's own (created by the
/// hub's migrations, `EnrollmentCodes.migrate`), never replicated.
///
/// - Passwords are stored as bcrypt hashes; a TOTP secret, when the account has one, as the text
///   whose UTF-8 bytes are the HMAC key (RFC 6238, 30-second steps, 6 digits, SHA-1), and the
///   last step used, so that a code is good once.
/// - A session is stored as the BLAKE2b of its cookie, so that reading the database gives no
///   cookie that works. It ends at logout, after `idleTimeout` seconds without a request, and
///   `maxLifetime` seconds after login whatever happens.
/// - Failed logins are counted from the audit trail: `maxFailures` for one name, or from one
///   address, within `failureWindow` seconds refuse the next login until the window has passed.
public struct DashboardAccounts: Sendable {
    public let ledger: Ledger
    public var bcryptCost: UInt8 = 12
    public var idleTimeout: Int64 = 30 * 60
    public var maxLifetime: Int64 = 12 * 3600
    public var maxFailures = 5
    public var failureWindow: Int64 = 15 * 60
    /// Seconds since 1970 (tests move it).
    public var clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }

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

    func migrate() throws { try EnrollmentCodes.migrate(ledger, Self.migrations) }

    // MARK: Accounts

    /// Names are 1 to 64 characters, without control characters or spaces at either end.
    static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name == name.trimmingCharacters(in: .whitespaces)
            && !name.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// Adds an account. With `totp`, returns the secret's `otpauth://` URL for an authenticator app
    /// (shown once).
    @discardableResult
    public func addUser(name: String, role: DashboardRole, password: String, totp: Bool) throws -> String? {
        guard Self.validName(name) else {
            throw LedgerError(
                .invalidField,
                "a user name has 1 to 64 characters, no control characters, no spaces at either end"
            )
        }
        guard password.count >= 10, password.utf8.count <= 72 else {
            throw LedgerError(
                .invalidField,
                "a password has at least 10 characters and at most 72 bytes (bcrypt's limit)"
            )
        }
        try migrate()
        let secret = totp ? Self.totpSecret() : nil
        let hash = Bcrypt.hash(password, cost: bcryptCost)
        let now = clock()
        try database.write { db in
            guard
                try !Bool.fetchOne(
                    db,
                    sql: "SELECT EXISTS (SELECT 1 FROM _hub_users WHERE name = ?)",
                    arguments: [name]
                )!
            else { throw LedgerError(.duplicateName, "user \(name) exists already") }
            try db.execute(
                sql:
                    "INSERT INTO _hub_users(name, role, password_hash, totp_secret, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [name, role.rawValue, hash, secret, now]
            )
            try Self.audit(
                db,
                at: now,
                user: nil,
                action: "user_add",
                outcome: "ok",
                detail: "\(name) \(role.rawValue)"
            )
        }
        return secret.map { TOTP(secret: $0).createAuthenticatorURL(label: name, issuer: "fieldlog") }
    }

    /// Disables an account and ends its sessions.
    public func disableUser(_ name: String) throws {
        try migrate()
        let now = clock()
        try database.write { db in
            try db.execute(
                sql: "UPDATE _hub_users SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL",
                arguments: [now, name]
            )
            guard db.changesCount == 1 else { throw LedgerError(.notFound, "no enabled user \(name)") }
            try db.execute(sql: "DELETE FROM _hub_sessions WHERE user_name = ?", arguments: [name])
            try Self.audit(db, at: now, user: nil, action: "user_disable", outcome: "ok", detail: name)
        }
    }

    public func users() throws -> [DashboardUser] {
        try migrate()
        return try database.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT name, role, totp_secret IS NOT NULL, disabled_at IS NOT NULL FROM _hub_users ORDER BY name"
            )
            .compactMap { row in
                guard let role = DashboardRole(rawValue: row[1]) else { return nil }
                return DashboardUser(name: row[0], role: role, hasTOTP: row[2], disabled: row[3])
            }
        }
    }

    /// 32 letters and digits of base 32 from the system's generator: the TOTP key is their UTF-8.
    static func totpSecret() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        return String(secureRandomBytes(32).map { alphabet[Int($0) % 32] })
    }

    /// A hash to verify against for a name that has no account, so that a wrong name takes as long
    /// as a wrong password.
    static let decoy = Bcrypt.hash("fieldlog decoy password", cost: 12)

    // MARK: Login

    /// Checks a login and opens a session: its cookie value, its user. Every attempt is written to
    /// the audit trail.
    public func login(
        name: String,
        password: String,
        code: String?,
        address: String
    ) throws -> (
        cookie: String, user: DashboardUser
    ) {
        let now = clock()
        let since = (now - failureWindow) * 1000
        let (failures, row) = try database.read { db in
            let failures = try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM _hub_audit
                    WHERE action = 'login' AND at >= ? AND outcome <> 'ok' AND outcome <> 'rate_limited'
                      AND (user_name = ? OR address = ?)
                    """,
                arguments: [since, name, address]
            )!
            let row = try Row.fetchOne(
                db,
                sql:
                    "SELECT role, password_hash, totp_secret, totp_last_step, disabled_at FROM _hub_users WHERE name = ?",
                arguments: [name]
            )
            return (failures, row)
        }
        func refuse(_ refusal: LoginRefusal) throws -> Never {
            try database.write { db in
                // What was typed as a name, cut to an account name's length.
                let typed = String(name.prefix(64))
                try Self.audit(db, at: now, user: typed, action: "login", outcome: refusal.outcome, address: address)
            }
            throw refusal
        }
        if failures >= maxFailures { try refuse(.tooManyAttempts(minutes: Int((failureWindow + 59) / 60))) }
        guard let row, let role = DashboardRole(rawValue: row["role"]) else {
            _ = Bcrypt.verify(password, hash: Self.decoy)
            try refuse(.wrongPassword)
        }
        guard Bcrypt.verify(password, hash: row["password_hash"]) else { try refuse(.wrongPassword) }
        if (row["disabled_at"] as Int64?) != nil { try refuse(.disabled) }
        var step: Int64?
        if let secret = row["totp_secret"] as String? {
            guard let code, let matched = Self.totpStep(code, secret: secret, now: now),
                matched > (row["totp_last_step"] as Int64? ?? -1)
            else { try refuse(.wrongCode) }
            step = matched
        }
        let cookie = Hex.encode(secureRandomBytes(32))
        let csrf = Hex.encode(secureRandomBytes(32))
        try database.write { db in
            if let step {
                try db.execute(sql: "UPDATE _hub_users SET totp_last_step = ? WHERE name = ?", arguments: [step, name])
            }
            try db.execute(
                sql:
                    "INSERT INTO _hub_sessions(id_hash, user_name, csrf, created_at, last_seen) VALUES (?, ?, ?, ?, ?)",
                arguments: [Self.hash(cookie), name, csrf, now, now]
            )
            try db.execute(
                sql: "DELETE FROM _hub_sessions WHERE last_seen < ? OR created_at < ?",
                arguments: [now - idleTimeout, now - maxLifetime]
            )
            try Self.audit(db, at: now, user: name, action: "login", outcome: "ok", address: address)
        }
        return (cookie, DashboardUser(name: name, role: role, hasTOTP: step != nil, disabled: false))
    }

    /// The step of the TOTP `code` within one step of now, if it matches.
    static func totpStep(_ code: String, secret: String, now: Int64) -> Int64? {
        let digits = code.filter { !$0.isWhitespace }
        guard digits.count == 6, let value = Int(digits) else { return nil }
        let totp = TOTP(secret: secret)
        for offset in [0, -1, 1] as [Int64] {
            let step = now / 30 + offset
            if totp.compute(date: Date(timeIntervalSince1970: TimeInterval(step * 30))) == value { return step }
        }
        return nil
    }

    static func hash(_ cookie: String) -> Data {
        Data(BLAKE2b.hash256(Array("fieldlog dashboard session".utf8) + Array(cookie.utf8)))
    }

    // MARK: Sessions

    /// A live session as a request finds it.
    public struct Session: Sendable, Equatable {
        public var user: DashboardUser
        public var csrf: String
    }

    /// The session a cookie names, if it is live; a request counts as activity. Ended sessions are
    /// deleted as they are found.
    public func session(_ cookie: String) throws -> Session? {
        guard cookie.utf8.count == 64 else { return nil }
        let now = clock()
        let key = Self.hash(cookie)
        let row = try database.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT s.csrf, s.created_at, s.last_seen, u.name, u.role, u.totp_secret IS NOT NULL AS totp,
                           u.disabled_at
                    FROM _hub_sessions s JOIN _hub_users u ON u.name = s.user_name WHERE s.id_hash = ?
                    """,
                arguments: [key]
            )
        }
        guard let row else { return nil }
        let lastSeen: Int64 = row["last_seen"]
        let created: Int64 = row["created_at"]
        guard now - lastSeen <= idleTimeout, now - created <= maxLifetime, (row["disabled_at"] as Int64?) == nil,
            let role = DashboardRole(rawValue: row["role"])
        else {
            try database.write { db in
                try db.execute(sql: "DELETE FROM _hub_sessions WHERE id_hash = ?", arguments: [key])
            }
            return nil
        }
        // Activity is written at most once a minute, not on every page.
        if now - lastSeen >= 60 {
            try database.write { db in
                try db.execute(sql: "UPDATE _hub_sessions SET last_seen = ? WHERE id_hash = ?", arguments: [now, key])
            }
        }
        return Session(
            user: DashboardUser(name: row["name"], role: role, hasTOTP: row["totp"], disabled: false),
            csrf: row["csrf"]
        )
    }

    /// Ends the session a cookie names.
    public func logout(_ cookie: String, address: String) throws {
        let now = clock()
        try database.write { db in
            let user = try String.fetchOne(
                db,
                sql: "SELECT user_name FROM _hub_sessions WHERE id_hash = ?",
                arguments: [Self.hash(cookie)]
            )
            try db.execute(sql: "DELETE FROM _hub_sessions WHERE id_hash = ?", arguments: [Self.hash(cookie)])
            if let user { try Self.audit(db, at: now, user: user, action: "logout", outcome: "ok", address: address) }
        }
    }

    // MARK: Audit

    /// Writes a line of the audit trail.
    public func audit(user: String?, action: String, outcome: String, detail: String = "", address: String = "") throws
    {
        let now = clock()
        try database.write { db in
            try Self.audit(db, at: now, user: user, action: action, outcome: outcome, detail: detail, address: address)
        }
    }

    static func audit(
        _ db: Database,
        at seconds: Int64,
        user: String?,
        action: String,
        outcome: String,
        detail: String = "",
        address: String = ""
    ) throws {
        try db.execute(
            sql: "INSERT INTO _hub_audit(at, user_name, action, outcome, detail, address) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [seconds * 1000, user, action, outcome, detail, address]
        )
    }

    /// The audit trail, newest first: `limit` lines from `offset`, and how many match in all.
    public func auditTrail(
        action: String? = nil,
        user: String? = nil,
        limit: Int,
        offset: Int
    ) throws -> (
        total: Int, entries: [AuditEntry]
    ) {
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
