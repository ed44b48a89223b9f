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
    /// The county's deadline profile: its local time zone gives "today" and every local time.
    public let profile: DeadlineProfile

    /// Opens the ledger replica at `path` (nil: in memory), creating it with `root` if new.
    /// Without a signing key the ledger can be read but not written.
    public static func open(
        path: String?,
        root: PublicKey?,
        key: SigningKey,
        options: ReplicaOptions = ReplicaOptions(),
        profile: DeadlineProfile = .shandong2115
    ) throws -> Ledger {
        try open(path: path, root: root, publicKey: key.publicKey, signer: key, options: options, profile: profile)
    }

    /// Opens the ledger for this device, with or without its signing key.
    public static func open(
        path: String?,
        root: PublicKey?,
        publicKey: PublicKey,
        signer: SigningKey?,
        options: ReplicaOptions = ReplicaOptions(),
        profile: DeadlineProfile = .shandong2115
    ) throws -> Ledger {
        var options = options
        options.localAuthor = publicKey
        let replica = try Replica.open(
            path: path,
            root: root,
            schema: LedgerSchema.current,
            policy: LedgerPolicy(),
            options: options
        )
        let ledger = Ledger(replica: replica, publicKey: publicKey, signer: signer, profile: profile)
        try ledger.installStatusCache()
        return ledger
    }

    init(replica: Replica, publicKey: PublicKey, signer: SigningKey?, profile: DeadlineProfile = .shandong2115) {
        self.replica = replica
        self.publicKey = publicKey
        self.signer = signer
        self.profile = profile
    }

    /// The signing key, for writes.
    var key: SigningKey {
        get throws(LedgerError) {
            guard let signer else {
                throw LedgerError(.notPermitted, "this command needs the device key (it was opened read-only)")
            }
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

    /// Today's date in the county (the profile's time zone) as YYYY-MM-DD: the one "today" of
    /// the ledger (`localToday(profile:)` gives it as a `Day`, for another profile if asked).
    public func today() -> String {
        localToday(profile: profile).description
    }

    /// The current time as ISO 8601 UTC.
    func now() -> String {
        Timestamp(milliseconds: replica.options.wallClock(), counter: 0).iso8601
    }

    // MARK: Lookups

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try replica.database.read(body)
    }

    /// How a registry table is looked up and named to a person.
    struct Lookup {
        var table: String
        var what: String
        /// Columns matched exactly (a USCC after normalizing: spaces out, letters upper case).
        var columns: [String]
        /// Columns a unique partial match may use (a name, a 简称).
        var partial: [String]
        /// A row as a person reads it in a suggestion or a choice, from `SELECT id, <describe>`.
        var describe: String
    }

    static let departmentLookup = Lookup(
        table: "departments",
        what: "department",
        columns: ["name"],
        partial: ["name"],
        describe: "name"
    )
    static let cadreLookup = Lookup(
        table: "cadres",
        what: "cadre",
        columns: ["name", "mobile"],
        partial: ["name"],
        describe: "name || COALESCE('（' || (SELECT p.name FROM departments p WHERE p.id = department_id) || '）', '')"
    )
    static let enterpriseLookup = Lookup(
        table: "enterprises",
        what: "enterprise",
        columns: ["name", "short_name", "uscc"],
        partial: ["name", "short_name"],
        describe: "name || COALESCE('（' || uscc || '）', '')"
    )

    /// Finds one live row of `table` by id (full or unique prefix) or by `column` value.
    func find(_ table: String, _ text: String, by columns: [String], what: String) throws -> UUID {
        try find(Lookup(table: table, what: what, columns: columns, partial: [], describe: columns.first ?? "id"), text)
    }

    /// Finds one live row: by id (full, or a prefix of at least 6 hex digits), by an exact value of
    /// one of the lookup's columns (a USCC in any case and spacing), else by a unique partial match
    /// of a name or 简称 ("高唐纺织" for 山东高唐纺织有限公司). A miss suggests the nearest names; a
    /// text that fits several rows lists them, to be named by USCC or id.
    func find(_ lookup: Lookup, _ text: String) throws -> UUID {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw LedgerError(.missingField, "name the \(lookup.what)") }
        if let id = UUID(uuidString: trimmed) { return id }
        let table = lookup.table
        let (matches, candidates) = try read { db -> ([Data], [(id: Data, label: String, names: [String])]) in
            let normalized = USCC.normalize(trimmed)
            let byColumn = lookup.columns.map { "\"\($0)\" = ?" }.joined(separator: " OR ")
            let values = lookup.columns.map { $0 == "uscc" ? normalized : trimmed }
            var rows = try Data.fetchAll(
                db,
                sql: "SELECT id FROM \"\(table)\" WHERE deleted = 0 AND (\(byColumn))",
                arguments: StatementArguments(values)
            )
            if rows.isEmpty, trimmed.count >= 6, trimmed.allSatisfy(\.isHexDigit) {
                let hex = trimmed.lowercased()
                rows = try Data.fetchAll(db, sql: "SELECT id FROM \"\(table)\" WHERE deleted = 0").filter {
                    Hex.encode($0).hasPrefix(hex)
                        || UUID(bytes16: [UInt8]($0)).lowercased.replacingOccurrences(of: "-", with: "").hasPrefix(hex)
                }
            }
            // Every row is read only when the exact lookups found none, or several (to list them).
            guard rows.count != 1 else { return (rows, []) }
            let names = lookup.partial.map { "COALESCE(\"\($0)\", '')" }.joined(separator: ", ")
            let all = try Row.fetchAll(
                db,
                sql:
                    "SELECT id, \(lookup.describe) AS label\(names.isEmpty ? "" : ", " + names) FROM \"\(table)\" WHERE deleted = 0"
            ).map { row in
                (
                    id: row["id"] as Data, label: row["label"] as String? ?? "",
                    names: (0..<lookup.partial.count).map { row[2 + $0] as String }
                )
            }
            if rows.isEmpty, trimmed.count >= 2 {
                rows = all.filter { candidate in candidate.names.contains { !$0.isEmpty && $0.contains(trimmed) } }.map(
                    \.id
                )
            }
            return (rows, all)
        }
        let label = { (id: Data) in candidates.first { $0.id == id }?.label ?? UUID(bytes16: [UInt8](id)).lowercased }
        guard !matches.isEmpty else {
            let near = Self.nearest(trimmed, in: candidates.map { ($0.label, $0.names) }, count: 3)
            let hint = near.isEmpty ? "" : "; did you mean \(near.joined(separator: ", "))?"
            throw LedgerError(
                .notFound,
                "no \(lookup.what) is named \(trimmed)\(hint) (`fieldlog registry list \(table)` lists them all)"
            )
        }
        guard matches.count == 1 else {
            let choices = matches.prefix(8).map {
                "\(label($0)) [id \(UUID(bytes16: [UInt8]($0)).lowercased.prefix(8))]"
            }.joined(separator: ", ")
            let byCode = lookup.table == "enterprises" ? ", its 统一社会信用代码" : ""
            throw LedgerError(
                .ambiguous,
                "\(matches.count) \(lookup.what)s fit \(trimmed): \(choices); name one by its full name\(byCode) or its id"
            )
        }
        return UUID(bytes16: [UInt8](matches[0]))
    }

    /// The labels of the candidates whose names are nearest `text`: those sharing the most
    /// characters with it, in proportion, for at least half of it; best first.
    static func nearest(_ text: String, in candidates: [(label: String, names: [String])], count: Int) -> [String] {
        let wanted = Set(text)
        let scored = candidates.compactMap { candidate -> (String, Double)? in
            let best =
                candidate.names.map { Double(Set($0).intersection(wanted).count) / Double(max(wanted.count, 1)) }.max()
                ?? 0
            return best >= 0.5 ? (candidate.label, best) : nil
        }
        return scored.sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.prefix(count).map(\.0)
    }

    /// The department with this name or id.
    public func department(named name: String) throws -> UUID { try find(Self.departmentLookup, name) }
    /// The cadre with this name, mobile or id.
    public func cadre(named name: String) throws -> UUID { try find(Self.cadreLookup, name) }
    /// The enterprise with this name, 简称, USCC (any case) or id.
    public func enterprise(named name: String) throws -> UUID { try find(Self.enterpriseLookup, name) }

    /// A text cell of a live row.
    func text(_ table: String, _ id: UUID, _ column: String) throws -> String? {
        try read { db in
            try String.fetchOne(
                db,
                sql: "SELECT \"\(column)\" FROM \"\(table)\" WHERE id = ? AND deleted = 0",
                arguments: [Data(id.bytes16)]
            )
        }
    }

    /// The display name of an author key: the cadre's or department's name and the device code.
    public func authorName(_ key: PublicKey) throws -> String {
        if key == replica.root { return "县级运维 (root)" }
        return try read { db in
            guard
                let device = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT d.code, d.role, d.label, c.name AS cadre, p.name AS department FROM devices d
                        LEFT JOIN cadres c ON c.id = d.cadre_id LEFT JOIN departments p ON p.id = d.department_id
                        WHERE d.id = ?
                        """,
                    arguments: [Data(RegistryIDs.device(key).bytes16)]
                )
            else { return "unknown device \(key.fingerprint)" }
            let name: String = device["cadre"] ?? device["department"] ?? device["label"] ?? (device["role"] ?? "?")
            return "\(name) (\(device["code"] ?? "?"))"
        }
    }

    /// This device's registry entry, if it is enrolled.
    public func enrolledRole() throws -> Role? {
        if isRoot { return .operator }
        return try read { db in
            try String.fetchOne(
                db,
                sql: "SELECT role FROM devices WHERE id = ? AND deleted = 0 AND COALESCE(revoked, 0) = 0",
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
