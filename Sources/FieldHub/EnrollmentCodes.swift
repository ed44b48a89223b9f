import FieldCrypto
import FieldLedger
import FieldStore
import Foundation
import GRDB

/// One-time enrollment codes, kept on the hub only, in a table of the hub's own (the engine does
/// not replicate it) that the hub's migration creates.
///
/// Only a hash of each code is stored. A code enrolls one device key with the role and person the
/// operator chose, once, before it expires. Refusals are the hub's own: an unknown code is
/// `enrollment_code_invalid`, a used or expired one `enrollment_code_spent`, and a code whose
/// person can no longer be enrolled (a cadre retired since) `enrollment_code_invalid`, with the
/// ledger's reason.
public struct EnrollmentCodes: Sendable {
    public let ledger: Ledger

    public init(ledger: Ledger) {
        self.ledger = ledger
    }

    static let alphabet = Array("ABCDEFGHJKMNPQRSTVWXYZ23456789")

    /// The hub's own tables, apart from the replica's schema, in order. Their names begin with `_`
    /// (the engine replicates every other table); `_hub_migrations` records which ran. The first
    /// keeps the table an earlier hub created on first use, so an upgraded hub keeps its codes.
    static let migrations: [(name: String, sql: String)] = [
        (
            "1-enrollment-codes",
            """
            CREATE TABLE IF NOT EXISTS _hub_enrollment_codes(
                hash BLOB PRIMARY KEY, role TEXT NOT NULL, cadre_id BLOB, department_id BLOB, label TEXT,
                created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER, used_by TEXT
            )
            """
        )
    ]

    /// Brings the hub's tables up to date, each migration once, in one transaction (idempotent).
    public func migrate() throws { try Self.migrate(ledger, Self.migrations) }

    /// Applies the `migrations` of the hub's tables not applied yet, recording each in
    /// `_hub_migrations` (the console's tables use it too, with migrations of their own).
    package static func migrate(_ ledger: Ledger, _ migrations: [(name: String, sql: String)]) throws {
        try ledger.replica.database.write { db in
            try db.execute(
                sql: "CREATE TABLE IF NOT EXISTS _hub_migrations(name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)"
            )
            let applied = Set(try String.fetchAll(db, sql: "SELECT name FROM _hub_migrations"))
            for migration in migrations where !applied.contains(migration.name) {
                try db.execute(sql: migration.sql)
                try db.execute(
                    sql: "INSERT INTO _hub_migrations(name, applied_at) VALUES (?, ?)",
                    arguments: [migration.name, Int64(Date().timeIntervalSince1970)]
                )
            }
        }
    }

    static func hash(_ code: String) -> Data {
        let normalized = code.uppercased().filter { $0 != "-" && !$0.isWhitespace }
        return Data(BLAKE2b.hash256(Array("fieldlog enrollment code".utf8) + Array(normalized.utf8)))
    }

    /// Creates a one-time code for a device of `role`, valid for `validFor` seconds. Returns it
    /// (shown once). Only the operator's replica (the county root key) makes codes.
    public func create(
        role: Role,
        cadre: String? = nil,
        department: String? = nil,
        label: String? = nil,
        validFor: Int64 = 24 * 3600,
        now: Int64
    ) throws -> String {
        let (code, record) = try make(
            role: role,
            cadre: cadre,
            department: department,
            label: label,
            validFor: validFor,
            now: now
        )
        try keep(record)
        return code
    }

    /// Stores a code `make` made in the hub's own database, where this hub redeems it.
    public func keep(_ record: SharedEnrollmentCode) throws {
        try migrate()
        try ledger.replica.database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO _hub_enrollment_codes(hash, role, cadre_id, department_id, label, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    Data(record.hash), record.role, record.cadreID.map { Data($0) },
                    record.departmentID.map { Data($0) }, record.label, record.createdAt, record.expiresAt,
                ]
            )
        }
    }

    /// A new code and the record a store keeps of it (its hash, never the code), checked against
    /// the registry: the cadre or department it names must exist. Only the root makes codes.
    public func make(
        role: Role,
        cadre: String? = nil,
        department: String? = nil,
        label: String? = nil,
        validFor: Int64 = 24 * 3600,
        now: Int64
    ) throws -> (code: String, record: SharedEnrollmentCode) {
        guard ledger.isRoot else {
            throw LedgerError(.notPermitted, "only the county operator (root key) can create enrollment codes")
        }
        guard role != .hub else {
            throw LedgerError(
                .notPermitted,
                "a hub process's key is listed by the operator (registry enroll --key … --role hub), not with a code"
            )
        }
        let cadreID = try cadre.map(ledger.cadre(named:))
        let departmentID = try department.map(ledger.department(named:))
        if role == .cadre && cadreID == nil {
            throw LedgerError(.missingField, "a cadre's code needs \(field: .cadre)")
        }
        if role == .department && departmentID == nil {
            throw LedgerError(.missingField, "a department's code needs \(field: .department)")
        }
        let random = secureRandomBytes(12)
        let letters = random.map { Self.alphabet[Int($0) % Self.alphabet.count] }
        let code = stride(from: 0, to: 12, by: 4).map { String(letters[$0..<$0 + 4]) }.joined(separator: "-")
        let record = SharedEnrollmentCode(
            hash: [UInt8](Self.hash(code)),
            role: role.rawValue,
            cadreID: cadreID.map { $0.bytes16 },
            departmentID: departmentID.map { $0.bytes16 },
            label: label,
            createdAt: now,
            expiresAt: now + validFor
        )
        return (code, record)
    }

    /// Whether a code would be redeemed now, read without writing anything: the hub asks before it
    /// remembers anything of a request signed by a key it does not know.
    public func check(_ code: String, now: Int64) throws(HubError) {
        let row: Row?
        do {
            row = try ledger.replica.database.read { db -> Row? in
                guard try db.tableExists("_hub_enrollment_codes") else { return nil }
                return try Row.fetchOne(
                    db,
                    sql: "SELECT used_at, expires_at FROM _hub_enrollment_codes WHERE hash = ?",
                    arguments: [Self.hash(code)]
                )
            }
        } catch {
            throw HubError(.enrollmentCodeInvalid, "the hub could not read its enrollment codes; ask the operator")
        }
        try Self.judge(row, now: now)
    }

    /// Refuses a code row that is missing, used or expired.
    @discardableResult
    static func judge(_ row: Row?, now: Int64) throws(HubError) -> Row {
        try judge(row.map { (usedAt: $0["used_at"] as Int64?, expiresAt: $0["expires_at"] as Int64) }, now: now)
        return row!
    }

    /// Refuses a code that is missing, used or expired (by its use and expiry).
    static func judge(_ code: (usedAt: Int64?, expiresAt: Int64)?, now: Int64) throws(HubError) {
        guard let code else {
            throw HubError(
                .enrollmentCodeInvalid,
                "this enrollment code is not known to the hub; check it, or ask the operator for a new one"
            )
        }
        if code.usedAt != nil {
            throw HubError(
                .enrollmentCodeSpent,
                "this enrollment code was already used; ask the operator for a new one"
            )
        }
        guard code.expiresAt >= now else {
            throw HubError(.enrollmentCodeSpent, "this enrollment code has expired; ask the operator for a new one")
        }
    }

    /// Redeems a code for `publicKey`: burns the code, then enrolls the device. Returns the device
    /// code. A crash between the two costs a code, never a second enrollment.
    public func redeem(_ code: String, publicKey: PublicKey, label: String?, now: Int64) throws -> String {
        let hash = Self.hash(code)
        try migrate()
        let row = try ledger.replica.database.write { db -> Row in
            let row = try Self.judge(
                try Row.fetchOne(db, sql: "SELECT * FROM _hub_enrollment_codes WHERE hash = ?", arguments: [hash]),
                now: now
            )
            try db.execute(
                sql: "UPDATE _hub_enrollment_codes SET used_at = ?, used_by = ? WHERE hash = ? AND used_at IS NULL",
                arguments: [now, publicKey.hex, hash]
            )
            guard db.changesCount == 1 else {
                throw HubError(.enrollmentCodeSpent, "this enrollment code was already used")
            }
            return row
        }
        return try enroll(
            publicKey: publicKey,
            role: row["role"],
            cadreID: (row["cadre_id"] as Data?).map { [UInt8]($0) },
            departmentID: (row["department_id"] as Data?).map { [UInt8]($0) },
            label: label ?? row["label"]
        )
    }

    /// Enrolls a device with what a spent code names: its role, and the cadre or department.
    func enroll(
        publicKey: PublicKey,
        role: String,
        cadreID: [UInt8]?,
        departmentID: [UInt8]?,
        label: String?
    ) throws -> String {
        guard let role = Role(rawValue: role) else {
            throw HubError(.enrollmentCodeInvalid, "the code names an unknown role; ask the operator for a new one")
        }
        let cadre = cadreID.map { UUID(bytes16: $0).uuidString }
        let department = departmentID.map { UUID(bytes16: $0).uuidString }
        do {
            return try ledger.enroll(
                publicKey: publicKey,
                role: role,
                cadre: cadre,
                department: department,
                label: label
            )
        } catch let error as LedgerError {
            throw HubError(.enrollmentCodeInvalid, error.message)
        }
    }
}
