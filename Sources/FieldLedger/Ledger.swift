import FieldCrypto
import FieldStore
import Foundation
import GRDB

/// The county ledger on one replica: registry, visits, demands and their events.
///
/// Writes are signed with this device's key and go through the replica engine; reads are plain
/// SQL over the visible tables (rows with `deleted = 0`).
public final class Ledger: Sendable {
    public let replica: Replica
    /// This device's public key (its identity as an author).
    public let publicKey: PublicKey
    private let signer: SigningKey?

    /// Opens the ledger replica at `path` (nil: in memory), creating it with `root` if new.
    /// Without a signing key the ledger can be read but not written.
    public static func open(
        path: String?, root: PublicKey?, key: SigningKey, options: ReplicaOptions = ReplicaOptions()
    ) throws -> Ledger {
        try open(path: path, root: root, publicKey: key.publicKey, signer: key, options: options)
    }

    /// Opens the ledger for this device, with or without its signing key.
    public static func open(
        path: String?, root: PublicKey?, publicKey: PublicKey, signer: SigningKey?, options: ReplicaOptions = ReplicaOptions()
    ) throws -> Ledger {
        var options = options
        options.localAuthor = publicKey
        let replica = try Replica.open(
            path: path, root: root, schema: LedgerSchema.current, policy: LedgerPolicy(), options: options
        )
        let ledger = Ledger(replica: replica, publicKey: publicKey, signer: signer)
        try ledger.installStatusCache()
        return ledger
    }

    init(replica: Replica, publicKey: PublicKey, signer: SigningKey?) {
        self.replica = replica
        self.publicKey = publicKey
        self.signer = signer
    }

    /// The signing key, for writes.
    var key: SigningKey {
        get throws(LedgerError) {
            guard let signer else { throw LedgerError(.notPermitted, "this command needs the device key (it was opened read-only)") }
            return signer
        }
    }

    /// True when this device holds the county root key (the operator replica).
    public var isRoot: Bool { publicKey == replica.root }

    func requireRoot(_ action: String) throws(LedgerError) {
        guard isRoot else {
            throw LedgerError(.notPermitted, "only the county operator (root key) can \(action); ask the hub operator")
        }
    }

    /// Today's date (UTC+8, the county's day) as YYYY-MM-DD.
    public func today() -> String {
        Ledger.date(milliseconds: replica.options.wallClock())
    }

    /// The current time as ISO 8601 UTC.
    func now() -> String {
        Timestamp(milliseconds: replica.options.wallClock(), counter: 0).iso8601
    }

    static func date(milliseconds: UInt64) -> String {
        String(Timestamp(milliseconds: milliseconds + 8 * 3600 * 1000, counter: 0).iso8601.prefix(10))
    }

    // MARK: Lookups

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try replica.database.read(body)
    }

    /// Finds one live row of `table` by id (full or unique prefix) or by `column` value.
    func find(_ table: String, _ text: String, by columns: [String], what: String) throws -> UUID {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let id = UUID(uuidString: trimmed) { return id }
        let matches = try read { db -> [Data] in
            let byColumn = columns.map { "\"\($0)\" = ?" }.joined(separator: " OR ")
            var rows = try Data.fetchAll(
                db, sql: "SELECT id FROM \"\(table)\" WHERE deleted = 0 AND (\(byColumn))",
                arguments: StatementArguments(Array(repeating: trimmed, count: columns.count))
            )
            if rows.isEmpty, trimmed.count >= 6, trimmed.allSatisfy(\.isHexDigit) {
                let hex = trimmed.lowercased()
                rows = try Data.fetchAll(db, sql: "SELECT id FROM \"\(table)\" WHERE deleted = 0").filter {
                    Hex.encode($0).hasPrefix(hex) || UUID(bytes16: [UInt8]($0)).lowercased.replacingOccurrences(of: "-", with: "").hasPrefix(hex)
                }
            }
            return rows
        }
        guard !matches.isEmpty else { throw LedgerError(.notFound, "no \(what) named \(trimmed)") }
        guard matches.count == 1 else {
            throw LedgerError(.ambiguous, "\(matches.count) \(what)s match \(trimmed); use the id instead")
        }
        return UUID(bytes16: [UInt8](matches[0]))
    }

    /// The department with this name or id.
    public func department(named name: String) throws -> UUID { try find("departments", name, by: ["name"], what: "department") }
    /// The cadre with this name or id.
    public func cadre(named name: String) throws -> UUID { try find("cadres", name, by: ["name", "mobile"], what: "cadre") }
    /// The enterprise with this name, USCC or id.
    public func enterprise(named name: String) throws -> UUID {
        try find("enterprises", name, by: ["name", "uscc"], what: "enterprise")
    }

    /// A text cell of a live row.
    func text(_ table: String, _ id: UUID, _ column: String) throws -> String? {
        try read { db in
            try String.fetchOne(
                db, sql: "SELECT \"\(column)\" FROM \"\(table)\" WHERE id = ? AND deleted = 0", arguments: [Data(id.bytes16)]
            )
        }
    }

    /// The display name of an author key: the cadre's or department's name and the device code.
    public func authorName(_ key: PublicKey) throws -> String {
        if key == replica.root { return "县级运维 (root)" }
        return try read { db in
            guard let device = try Row.fetchOne(
                db,
                sql: """
                    SELECT d.code, d.role, d.label, c.name AS cadre, p.name AS department FROM devices d
                    LEFT JOIN cadres c ON c.id = d.cadre_id LEFT JOIN departments p ON p.id = d.department_id
                    WHERE d.id = ?
                    """,
                arguments: [Data(RegistryIDs.device(key).bytes16)]
            ) else { return "unknown device \(key.fingerprint)" }
            let name: String = device["cadre"] ?? device["department"] ?? device["label"] ?? (device["role"] ?? "?")
            return "\(name) (\(device["code"] ?? "?"))"
        }
    }

    /// This device's registry entry, if it is enrolled.
    public func enrolledRole() throws -> Role? {
        if isRoot { return .operator }
        return try read { db in
            try String.fetchOne(
                db, sql: "SELECT role FROM devices WHERE id = ? AND deleted = 0 AND COALESCE(revoked, 0) = 0",
                arguments: [Data(RegistryIDs.device(publicKey).bytes16)]
            ).flatMap(Role.init(rawValue:))
        }
    }
}

extension Value {
    /// A text value, or null for nil or empty text.
    static func optionalText(_ text: String?) -> Value {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return .null }
        return .text(text.trimmingCharacters(in: .whitespaces))
    }

    /// A UUID as a 16-byte blob.
    static func id(_ id: UUID?) -> Value {
        guard let id else { return .null }
        return .blob(id.bytes16)
    }
}
