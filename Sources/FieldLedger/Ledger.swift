import FieldCrypto
import FieldStore
import Foundation

/// The county ledger on one replica: registry, visits, demands and their events.
///
/// Writes are signed with this device's key and go through the replica engine; reads are plain
/// SQL over the visible tables (rows with `deleted = 0`).
public final class Ledger: Sendable {
    public let replica: Replica
    /// This device's public key (its identity as an author).
    public let publicKey: PublicKey
    let signer: SigningKey?
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
        try ledger.installLocalIndexes()
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
        let (matches, candidates) = try read { try $0.matches(of: lookup, trimmed) }
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
    public func department(named name: String) throws -> UUID { try find(.departments, name) }
    /// The cadre with this name, mobile or id.
    public func cadre(named name: String) throws -> UUID { try find(.cadres, name) }
    /// The enterprise with this name, 简称, USCC (any case) or id.
    public func enterprise(named name: String) throws -> UUID { try find(.enterprises, name) }

    /// A text cell of a live row.
    func text(_ table: String, _ id: UUID, _ column: String) throws -> String? {
        try read { try $0.text(table, id, column) }
    }

    /// The display name of an author key: the cadre's or department's name and the device code.
    public func authorName(_ key: PublicKey) throws -> String {
        if key == replica.root { return "县级运维 (root)" }
        guard let device = try read({ try $0.device(key) }) else { return "unknown device \(key.fingerprint)" }
        return "\(device.holder ?? device.roleText ?? "?") (\(device.code ?? "?"))"
    }

    /// This device's registry entry, if it is enrolled.
    public func enrolledRole() throws -> Role? {
        if isRoot { return .operator }
        guard let device = try read({ try $0.device(publicKey) }), device.isLive else { return nil }
        return device.role
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
