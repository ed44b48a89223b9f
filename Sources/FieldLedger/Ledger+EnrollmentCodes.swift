import FieldCrypto
import FieldStore
import Foundation
import GRDB

/// One-time enrollment codes, kept on the hub only (a table the engine does not replicate).
///
/// Only a hash of each code is stored. A code enrolls one device key with the role and person the
/// operator chose, once, before it expires.
extension Ledger {
    static let codeAlphabet = Array("ABCDEFGHJKMNPQRSTVWXYZ23456789")

    func installCodeTable(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS _hub_enrollment_codes(
                    hash BLOB PRIMARY KEY, role TEXT NOT NULL, cadre_id BLOB, department_id BLOB, label TEXT,
                    created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER, used_by TEXT
                )
                """
        )
    }

    static func codeHash(_ code: String) -> Data {
        let normalized = code.uppercased().filter { $0 != "-" && !$0.isWhitespace }
        return Data(BLAKE2b.hash256(Array("fieldlog enrollment code".utf8) + Array(normalized.utf8)))
    }

    /// Creates a one-time code for a device of `role`, valid for `validFor` seconds. Returns it (shown once).
    public func createEnrollmentCode(
        role: Role,
        cadre: String? = nil,
        department: String? = nil,
        label: String? = nil,
        validFor: Int64 = 24 * 3600,
        now: Int64
    ) throws -> String {
        try requireRoot("create enrollment codes")
        var cadreID: UUID?
        var departmentID: UUID?
        if let cadre { cadreID = try self.cadre(named: cadre) }
        if let department { departmentID = try self.department(named: department) }
        if role == .cadre && cadreID == nil { throw LedgerError(.missingField, "a cadre's code needs --cadre NAME") }
        if role == .department && departmentID == nil {
            throw LedgerError(.missingField, "a department's code needs --department NAME")
        }
        let random = secureRandomBytes(12)
        let letters = random.map { Self.codeAlphabet[Int($0) % Self.codeAlphabet.count] }
        let code = stride(from: 0, to: 12, by: 4).map { String(letters[$0..<$0 + 4]) }.joined(separator: "-")
        try replica.database.write { db in
            try installCodeTable(db)
            try db.execute(
                sql: """
                    INSERT INTO _hub_enrollment_codes(hash, role, cadre_id, department_id, label, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    Self.codeHash(code), role.rawValue, cadreID.map { Data($0.bytes16) },
                    departmentID.map { Data($0.bytes16) }, label, now,
                    now + validFor,
                ]
            )
        }
        return code
    }

    /// Whether a code would be redeemed now, read without writing anything: the hub asks before it
    /// remembers anything of a request signed by a key it does not know.
    /// - Throws: `LedgerError` with `.notFound` (no such code), `.notPermitted` (used or expired).
    public func checkEnrollmentCode(_ code: String, now: Int64) throws {
        let row = try replica.database.read { db -> Row? in
            guard try db.tableExists("_hub_enrollment_codes") else { return nil }
            return try Row.fetchOne(
                db,
                sql: "SELECT used_at, expires_at FROM _hub_enrollment_codes WHERE hash = ?",
                arguments: [Self.codeHash(code)]
            )
        }
        try Self.judgeCode(row, now: now)
    }

    /// Refuses a code row that is missing, used or expired.
    @discardableResult
    static func judgeCode(_ row: Row?, now: Int64) throws(LedgerError) -> Row {
        guard let row else {
            throw LedgerError(
                .notFound,
                "this enrollment code is not known to the hub; check it, or ask the operator for a new one"
            )
        }
        if row["used_at"] as Int64? != nil {
            throw LedgerError(.notPermitted, "this enrollment code was already used; ask the operator for a new one")
        }
        guard (row["expires_at"] as Int64) >= now else {
            throw LedgerError(.notPermitted, "this enrollment code has expired; ask the operator for a new one")
        }
        return row
    }

    /// Redeems a code for `publicKey`: burns the code, then enrolls the device. Returns the device code.
    /// - Throws: `LedgerError` with `.notFound` (no such code), `.notPermitted` (used or expired).
    public func redeemEnrollmentCode(_ code: String, publicKey: PublicKey, label: String?, now: Int64) throws -> String
    {
        try requireRoot("enroll devices")
        let hash = Self.codeHash(code)
        let row = try replica.database.write { db -> Row in
            try installCodeTable(db)
            let row = try Self.judgeCode(
                try Row.fetchOne(db, sql: "SELECT * FROM _hub_enrollment_codes WHERE hash = ?", arguments: [hash]),
                now: now
            )
            // Burn it first: a crash after this point costs a code, never a second enrollment.
            try db.execute(
                sql: "UPDATE _hub_enrollment_codes SET used_at = ?, used_by = ? WHERE hash = ? AND used_at IS NULL",
                arguments: [now, publicKey.hex, hash]
            )
            guard db.changesCount == 1 else {
                throw LedgerError(.notPermitted, "this enrollment code was already used")
            }
            return row
        }
        guard let role = Role(rawValue: row["role"]) else {
            throw LedgerError(.invalidField, "the code names an unknown role")
        }
        let cadre = (row["cadre_id"] as Data?).map { UUID(bytes16: [UInt8]($0)).uuidString }
        let department = (row["department_id"] as Data?).map { UUID(bytes16: [UInt8]($0)).uuidString }
        return try enroll(
            publicKey: publicKey,
            role: role,
            cadre: cadre,
            department: department,
            label: label ?? row["label"]
        )
    }
}
