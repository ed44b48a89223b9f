import FieldCrypto
import FieldStore
import Foundation

/// A department (单位).
public struct DepartmentInput: Sendable {
    public var name: String
    public var kind: String?
    public var head: String?
    public var liaison: String?
    public var phone: String?

    public init(name: String, kind: String? = nil, head: String? = nil, liaison: String? = nil, phone: String? = nil) {
        self.name = name
        self.kind = kind
        self.head = head
        self.liaison = liaison
        self.phone = phone
    }
}

/// A cadre (干部).
public struct CadreInput: Sendable {
    public var name: String
    public var title: String?
    public var department: String
    public var rank: String?
    public var mobile: String?

    public init(name: String, title: String? = nil, department: String, rank: String? = nil, mobile: String? = nil) {
        self.name = name
        self.title = title
        self.department = department
        self.rank = rank
        self.mobile = mobile
    }
}

/// An enterprise (企业).
public struct EnterpriseInput: Sendable {
    public var name: String
    public var uscc: String?
    public var usccMissingReason: String?
    public var township: String?
    public var industry: String?
    public var size: String?
    public var isKey: Bool
    public var contactName: String?
    public var contactPhone: String?
    /// 简称: what people call it; it is looked up like the name.
    public var shortName: String?

    public init(
        name: String,
        uscc: String?,
        usccMissingReason: String? = nil,
        township: String? = nil,
        industry: String? = nil,
        size: String? = nil,
        isKey: Bool = false,
        contactName: String? = nil,
        contactPhone: String? = nil,
        shortName: String? = nil
    ) {
        self.shortName = shortName
        self.name = name
        self.uscc = uscc
        self.usccMissingReason = usccMissingReason
        self.township = township
        self.industry = industry
        self.size = size
        self.isKey = isKey
        self.contactName = contactName
        self.contactPhone = contactPhone
    }
}

/// A linkage's role: lead (主包) or assisting (协包).
public enum LinkageRole: String, Sendable, CaseIterable {
    case lead
    case assisting

    /// Parses `lead`, `assisting`, 主包 or 协包.
    public init?(text: String) {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "lead", "主包", "": self = .lead
        case "assisting", "assist", "协包": self = .assisting
        default: return nil
        }
    }

    public var displayName: String { self == .lead ? "主包" : "协包" }
}

extension Ledger {
    /// Registry commits are split so that none exceeds the engine's change limit.
    static let rowsPerRegistryCommit = 400

    func writeRegistry(_ build: (inout WriteBatch) throws -> Void) throws {
        try requireRoot("change the registry")
        try replica.write(scope: Commit.registryScope, as: try key, build)
    }

    /// Adds departments (names unique among live departments); one registry commit.
    @discardableResult
    public func addDepartments(_ inputs: [DepartmentInput], allowDuplicateNames: Bool = false) throws -> [UUID] {
        try requireRoot("add departments")
        var names = Set(
            try read { try $0.liveValues("departments", "name") }
        )
        for input in inputs {
            let name = input.name.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw LedgerError(.missingField, "a department needs a name") }
            guard names.insert(name).inserted || allowDuplicateNames else {
                throw LedgerError(
                    .duplicateName,
                    "department \(name) already exists; correct that one instead, or insist (\(field: .allowDuplicateNames))"
                )
            }
        }
        var ids: [UUID] = []
        for chunk in inputs.chunked(Self.rowsPerRegistryCommit) {
            try writeRegistry { batch in
                for input in chunk {
                    ids.append(
                        batch.insert(
                            "departments",
                            [
                                "name": .text(input.name.trimmingCharacters(in: .whitespaces)),
                                "kind": .optionalText(input.kind),
                                "head": .optionalText(input.head), "liaison": .optionalText(input.liaison),
                                "phone": .optionalText(input.phone),
                            ]
                        )
                    )
                }
            }
        }
        return ids
    }

    /// Adds cadres; each names an existing department.
    @discardableResult
    public func addCadres(_ inputs: [CadreInput], allowDuplicateNames: Bool = false) throws -> [UUID] {
        try requireRoot("add cadres")
        var names = Set(try read { try $0.liveValues("cadres", "name") })
        var rows: [(CadreInput, UUID)] = []
        for input in inputs {
            let name = input.name.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw LedgerError(.missingField, "a cadre needs a name") }
            guard names.insert(name).inserted || allowDuplicateNames else {
                throw LedgerError(
                    .duplicateName,
                    "a cadre is already named \(name); correct that one instead, or insist (\(field: .allowDuplicateNames); then name each by mobile or id)"
                )
            }
            let department = try department(named: input.department)
            try requireInService(.department, department, for: "new cadre")
            rows.append((input, department))
        }
        var ids: [UUID] = []
        for chunk in rows.chunked(Self.rowsPerRegistryCommit) {
            try writeRegistry { batch in
                for (input, department) in chunk {
                    ids.append(
                        batch.insert(
                            "cadres",
                            [
                                "name": .text(input.name.trimmingCharacters(in: .whitespaces)),
                                "title": .optionalText(input.title),
                                "department_id": .id(department), "rank": .optionalText(input.rank),
                                "mobile": .optionalText(input.mobile),
                            ]
                        )
                    )
                }
            }
        }
        return ids
    }

    /// Adds enterprises: each USCC is validated (GB 32100) and unique, or missing with a reason.
    @discardableResult
    public func addEnterprises(_ inputs: [EnterpriseInput], allowDuplicateNames: Bool = false) throws -> [UUID] {
        try requireRoot("add enterprises")
        var codes = Set(
            try read { try $0.liveValues("enterprises", "uscc") }
        )
        var names = Set(
            try read { try $0.liveValues("enterprises", "name") }
        )
        var normalized: [(EnterpriseInput, String?)] = []
        for input in inputs {
            let name = input.name.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw LedgerError(.missingField, "an enterprise needs a name") }
            // A second enterprise of one name once went in silently, and then `--enterprise` with that
            // name failed for everyone.
            guard names.insert(name).inserted || allowDuplicateNames else {
                throw LedgerError(
                    .duplicateName,
                    "an enterprise is already named \(name); correct that one instead, or insist (\(field: .allowDuplicateNames); then name each by 统一社会信用代码)"
                )
            }
            let raw = input.uscc?.trimmingCharacters(in: .whitespaces) ?? ""
            if raw.isEmpty {
                guard let reason = input.usccMissingReason, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw LedgerError(
                        .missingField,
                        "enterprise \(name) has no 统一社会信用代码; give the code, or a reason it is missing (e.g. 项目未注册)"
                    )
                }
                normalized.append((input, nil))
                continue
            }
            let code = try USCC.validate(raw)
            guard codes.insert(code).inserted else {
                throw LedgerError(
                    .duplicateUSCC,
                    "统一社会信用代码 \(code) (\(name)) is already registered to another enterprise"
                )
            }
            normalized.append((input, code))
        }
        var ids: [UUID] = []
        for chunk in normalized.chunked(Self.rowsPerRegistryCommit) {
            try writeRegistry { batch in
                for (input, code) in chunk {
                    ids.append(
                        batch.insert(
                            "enterprises",
                            [
                                "name": .text(input.name.trimmingCharacters(in: .whitespaces)),
                                "uscc": .optionalText(code),
                                "uscc_missing_reason": .optionalText(code == nil ? input.usccMissingReason : nil),
                                "township": .optionalText(input.township), "industry": .optionalText(input.industry),
                                "size": .optionalText(input.size), "is_key": .integer(input.isKey ? 1 : 0),
                                "contact_name": .optionalText(input.contactName),
                                "contact_phone": .optionalText(input.contactPhone),
                                "short_name": .optionalText(input.shortName),
                            ]
                        )
                    )
                }
            }
        }
        return ids
    }

    /// One linkage to make.
    public struct LinkInput: Sendable {
        public var cadre: String
        public var enterprise: String
        public var role: LinkageRole
        public var start: String?

        public init(cadre: String, enterprise: String, role: LinkageRole, start: String? = nil) {
            self.cadre = cadre
            self.enterprise = enterprise
            self.role = role
            self.start = start
        }
    }

    /// Links cadres to enterprises. An enterprise has at most one active lead cadre: linking a new
    /// lead fails unless `replaceLead` is set, which ends the old lead's linkage in the same commit.
    public func link(_ inputs: [LinkInput], replaceLead: Bool = false) throws {
        try requireRoot("link cadres to enterprises")
        var rows: [(cadre: UUID, enterprise: UUID, role: LinkageRole, start: String, replaced: UUID?)] = []
        var leads: [UUID: UUID] = [:]
        for linkage in try read({ try $0.activeLinkages() }) where linkage.role == "lead" {
            leads[linkage.enterprise] = linkage.cadre
        }
        for input in inputs {
            let cadre = try cadre(named: input.cadre)
            let enterprise = try enterprise(named: input.enterprise)
            try requireInService(.cadre, cadre, for: "new linkage")
            try requireInService(.enterprise, enterprise, for: "new linkage")
            var replaced: UUID?
            if input.role == .lead, let current = leads[enterprise], current != cadre {
                guard replaceLead else {
                    let name = try text("cadres", current, "name") ?? current.lowercased
                    throw LedgerError(
                        .leadAlreadyLinked,
                        "enterprise \(input.enterprise) already has lead cadre \(name); unlink them first, or replace them (\(field: .replaceLead))"
                    )
                }
                replaced = current
            }
            if input.role == .lead { leads[enterprise] = cadre }
            rows.append((cadre, enterprise, input.role, input.start ?? today(), replaced))
        }
        for chunk in rows.chunked(Self.rowsPerRegistryCommit) {
            try writeRegistry { batch in
                for row in chunk {
                    if let old = row.replaced {
                        batch.update(
                            "linkages",
                            row: RegistryIDs.linkage(cadre: old, enterprise: row.enterprise),
                            [
                                "active": .integer(0), "end_date": .text(row.start),
                                "closed_feeds": .text(try closedFeeds(cadre: old, enterprise: row.enterprise)),
                            ]
                        )
                    }
                    batch.update(
                        "linkages",
                        row: RegistryIDs.linkage(cadre: row.cadre, enterprise: row.enterprise),
                        [
                            "deleted": .integer(0), "cadre_id": .id(row.cadre), "enterprise_id": .id(row.enterprise),
                            "role": .text(row.role.rawValue), "start_date": .text(row.start), "end_date": .null,
                            "active": .integer(1),
                            "closed_feeds": .null,
                        ]
                    )
                }
            }
        }
    }

    /// The feeds a cadre's devices hold in an enterprise's scope, closed at the heads held here:
    /// a JSON object from device key to last accepted sequence (0 where none is held).
    func closedFeeds(cadre: UUID, enterprise: UUID) throws -> String {
        let keys = try read { try $0.deviceKeys(ofCadre: cadre) }
        let scope = RegistryIDs.scope(of: enterprise)
        let heads = Dictionary(
            try replica.feeds().filter { $0.scope == scope }.map { ($0.author, $0.head) },
            uniquingKeysWith: max
        )
        var closed: [String: UInt64] = [:]
        for key in keys { closed[key] = heads[key] ?? 0 }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(closed), as: UTF8.self)
    }

    /// Ends a linkage (history is kept: the row stays with `active = 0` and an end date) and closes
    /// the cadre's devices' feeds in the enterprise's scope at the heads held here, so that nothing
    /// they write there later is accepted, whatever older registry state it cites. Linking the
    /// same pair again reopens them.
    public func unlink(cadre: String, enterprise: String, end: String? = nil) throws {
        try requireRoot("unlink cadres")
        let cadreID = try self.cadre(named: cadre)
        let enterpriseID = try self.enterprise(named: enterprise)
        let row = RegistryIDs.linkage(cadre: cadreID, enterprise: enterpriseID)
        guard
            try read({ try $0.isActiveLinkage(row) })
        else {
            throw LedgerError(.notFound, "\(cadre) is not linked to \(enterprise)")
        }
        let closed = try closedFeeds(cadre: cadreID, enterprise: enterpriseID)
        try writeRegistry {
            $0.update(
                "linkages",
                row: row,
                ["active": .integer(0), "end_date": .text(end ?? today()), "closed_feeds": .text(closed)]
            )
        }
    }

    /// Enrolls a device: its public key, role, and the cadre or department it acts for. Returns the device code.
    @discardableResult
    public func enroll(
        publicKey: PublicKey,
        role: Role,
        cadre: String? = nil,
        department: String? = nil,
        label: String? = nil
    ) throws -> String {
        try requireRoot("enroll devices")
        guard publicKey != replica.root else {
            throw LedgerError(.invalidField, "the root key is not enrolled as a device")
        }
        var cadreID: UUID?
        var departmentID: UUID?
        switch role {
        case .cadre:
            guard let cadre else { throw LedgerError(.missingField, "a cadre device needs \(field: .cadre)") }
            cadreID = try self.cadre(named: cadre)
        case .department:
            guard let department else {
                throw LedgerError(.missingField, "a department device needs \(field: .department)")
            }
            departmentID = try self.department(named: department)
        default:
            if let cadre { cadreID = try self.cadre(named: cadre) }
            if let department { departmentID = try self.department(named: department) }
        }
        if let cadreID { try requireInService(.cadre, cadreID, for: "new device") }
        if let departmentID { try requireInService(.department, departmentID, for: "new device") }
        let row = RegistryIDs.device(publicKey)
        let existing = try text("devices", row, "code")
        let code =
            try existing
            ?? String(format: "D%03d", try read { try $0.deviceCount() } + 1)
        try writeRegistry { batch in
            batch.update(
                "devices",
                row: row,
                [
                    "deleted": .integer(0), "public_key": .text(publicKey.hex), "code": .text(code),
                    "role": .text(role.rawValue),
                    "cadre_id": .id(cadreID), "department_id": .id(departmentID), "label": .optionalText(label),
                    "enrolled_at": .text(now()), "revoked": .integer(0), "revoked_feeds": .null,
                ]
            )
        }
        return code
    }

    /// Revokes a device positionally: for each of its feeds held here, the last sequence accepted
    /// is the head held now; nothing later from it is accepted anywhere, whoever relays it.
    /// - Returns: the feeds and their last accepted sequence numbers.
    @discardableResult
    public func revoke(publicKey: PublicKey) throws -> [String: UInt64] {
        try requireRoot("revoke devices")
        let row = RegistryIDs.device(publicKey)
        guard try text("devices", row, "public_key") != nil else {
            throw LedgerError(.notFound, "no enrolled device has the key \(publicKey.fingerprint)")
        }
        var heads: [String: UInt64] = [:]
        for feed in try replica.feeds() where feed.author == publicKey.hex { heads[feed.scope] = feed.head }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(heads), as: UTF8.self)
        try writeRegistry { $0.update("devices", row: row, ["revoked": .integer(1), "revoked_feeds": .text(json)]) }
        return heads
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
