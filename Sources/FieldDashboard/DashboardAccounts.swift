import FieldCrypto
import FieldHub
import FieldLedger
import FieldStore
import Foundation
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

    public init(
        seq: Int64,
        at: Int64,
        user: String?,
        action: String,
        outcome: String,
        detail: String,
        address: String
    ) {
        self.seq = seq
        self.at = at
        self.user = user
        self.action = action
        self.outcome = outcome
        self.detail = detail
        self.address = address
    }
}

/// The console's accounts, sessions and audit trail: the rules, over a `ConsoleStore` (the hub's
/// own SQLite tables, or PostgreSQL for several hub processes).
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
    public let store: any ConsoleStore
    public var bcryptCost: UInt8 = 12
    public var idleTimeout: Int64 = 30 * 60
    public var maxLifetime: Int64 = 12 * 3600
    public var maxFailures = 5
    public var failureWindow: Int64 = 15 * 60
    /// Seconds since 1970 (tests move it).
    public var clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }

    /// The accounts of a single hub, in its replica's database.
    public init(ledger: Ledger) {
        store = SQLiteConsoleStore(ledger: ledger)
    }

    public init(store: any ConsoleStore) {
        self.store = store
    }

    /// Creates or upgrades the tables of the store.
    public func migrate() throws { try store.migrate() }

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
        let added = try store.addAccount(
            ConsoleAccount(name: name, role: role.rawValue, passwordHash: hash, totpSecret: secret, createdAt: now),
            audit: ConsoleAuditLine(
                at: now,
                user: nil,
                action: "user_add",
                outcome: "ok",
                detail: "\(name) \(role.rawValue)"
            )
        )
        guard added else { throw LedgerError(.duplicateName, "user \(name) exists already") }
        return secret.map { TOTP(secret: $0).createAuthenticatorURL(label: name, issuer: "fieldlog") }
    }

    /// Disables an account and ends its sessions.
    public func disableUser(_ name: String) throws {
        try migrate()
        let now = clock()
        let disabled = try store.disableAccount(
            name,
            at: now,
            audit: ConsoleAuditLine(at: now, user: nil, action: "user_disable", outcome: "ok", detail: name)
        )
        guard disabled else { throw LedgerError(.notFound, "no enabled user \(name)") }
    }

    public func users() throws -> [DashboardUser] {
        try migrate()
        return try store.accounts().compactMap { account in
            guard let role = DashboardRole(rawValue: account.role) else { return nil }
            return DashboardUser(
                name: account.name,
                role: role,
                hasTOTP: account.totpSecret != nil,
                disabled: account.disabledAt != nil
            )
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
        let failures = try store.failedLogins(name: name, address: address, since: (now - failureWindow) * 1000)
        let account = try store.account(named: name)
        func refuse(_ refusal: LoginRefusal) throws -> Never {
            // What was typed as a name, cut to an account name's length.
            let typed = String(name.prefix(64))
            try store.audit(
                ConsoleAuditLine(at: now, user: typed, action: "login", outcome: refusal.outcome, address: address)
            )
            throw refusal
        }
        if failures >= maxFailures { try refuse(.tooManyAttempts(minutes: Int((failureWindow + 59) / 60))) }
        guard let account, let role = DashboardRole(rawValue: account.role) else {
            _ = Bcrypt.verify(password, hash: Self.decoy)
            try refuse(.wrongPassword)
        }
        guard Bcrypt.verify(password, hash: account.passwordHash) else { try refuse(.wrongPassword) }
        if account.disabledAt != nil { try refuse(.disabled) }
        var step: Int64?
        if let secret = account.totpSecret {
            guard let code, let matched = Self.totpStep(code, secret: secret, now: now),
                matched > (account.totpLastStep ?? -1)
            else { try refuse(.wrongCode) }
            step = matched
        }
        let cookie = Hex.encode(secureRandomBytes(32))
        let csrf = Hex.encode(secureRandomBytes(32))
        let opened = try store.openSession(
            ConsoleSessionRecord(hash: Self.hash(cookie), user: name, csrf: csrf, createdAt: now, lastSeen: now),
            totpStep: step,
            idleBefore: now - idleTimeout,
            openedBefore: now - maxLifetime,
            audit: ConsoleAuditLine(at: now, user: name, action: "login", outcome: "ok", address: address)
        )
        // Another login used the same code meanwhile (perhaps at another hub process).
        guard opened else { try refuse(.wrongCode) }
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

    static func hash(_ cookie: String) -> [UInt8] {
        BLAKE2b.hash256(Array("fieldlog dashboard session".utf8) + Array(cookie.utf8))
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
        guard let (session, account) = try store.session(hash: key) else { return nil }
        guard now - session.lastSeen <= idleTimeout, now - session.createdAt <= maxLifetime,
            account.disabledAt == nil, let role = DashboardRole(rawValue: account.role)
        else {
            _ = try store.endSession(hash: key)
            return nil
        }
        // Activity is written at most once a minute, not on every page.
        if now - session.lastSeen >= 60 { try store.touchSession(hash: key, at: now) }
        return Session(
            user: DashboardUser(name: account.name, role: role, hasTOTP: account.totpSecret != nil, disabled: false),
            csrf: session.csrf
        )
    }

    /// Ends the session a cookie names.
    public func logout(_ cookie: String, address: String) throws {
        let now = clock()
        if let user = try store.endSession(hash: Self.hash(cookie)) {
            try store.audit(ConsoleAuditLine(at: now, user: user, action: "logout", outcome: "ok", address: address))
        }
    }

    // MARK: Audit

    /// Writes a line of the audit trail.
    public func audit(user: String?, action: String, outcome: String, detail: String = "", address: String = "") throws
    {
        try store.audit(
            ConsoleAuditLine(
                at: clock(),
                user: user,
                action: action,
                outcome: outcome,
                detail: detail,
                address: address
            )
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
        try store.auditTrail(action: action, user: user, limit: limit, offset: offset)
    }
}
