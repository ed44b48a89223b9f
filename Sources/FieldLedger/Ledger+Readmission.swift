import FieldCrypto
import FieldStore
import Foundation

extension RegistryIDs {
    /// The readmissions row of a device's feed in a scope at the place decided.
    public static func readmission(_ key: PublicKey, scope: String, sequence: UInt64) -> UUID {
        derived("readmission", key.bytes + Array(scope.utf8) + [0] + BigEndian.bytes(sequence))
    }
}

extension Ledger {
    /// An operator's decision on a forked feed, as the registry holds it, and where the feed stands
    /// on this replica (docs/merge.md, "Readmission of a forked feed").
    public struct Readmission: Sendable, Encodable, Equatable {
        /// Where the decided feed stands here.
        public enum Standing: String, Sendable, Encodable {
            /// The chosen branch counts: the feed is valid up to `head`.
            case readmitted
            /// No branch: the feed stays excluded from the place decided.
            case excluded
            /// The chosen commit is not held here yet: excluded from the place until it arrives.
            case awaiting
            /// The feed forked again after the place decided (or waits for a missing commit there).
            case stoppedLater
            /// The feed forked before the place decided: this decision does not apply.
            case moot
            /// This replica holds no fork of that feed.
            case notHeld
        }

        public var publicKey: String
        public var device: String?
        public var scope: String
        public var enterprise: String?
        public var sequence: UInt64
        /// The commit readmitted (64 hex digits), or nil: no branch.
        public var chosen: String?
        public var decidedAt: String?
        public var decidedBy: String?
        public var note: String?
        public var standing: Standing
        /// The feed's last valid sequence here, and where it is excluded from (nil: nowhere).
        public var head: UInt64?
        public var excludedFrom: UInt64?
        /// Where the feed first forked, when this replica holds the evidence.
        public var forkedAt: UInt64?

        /// The standing in the county's words.
        public var standingText: String {
            switch standing {
            case .readmitted: "已恢复：所选分支有效，至第 \(head ?? 0) 条"
            case .excluded: "不恢复：自第 \(sequence) 条起排除"
            case .awaiting: "待收到所选提交：自第 \(sequence) 条起暂时排除"
            case .stoppedLater: "所选分支在第 \(excludedFrom ?? 0) 条处再次分叉或缺失，自该处起排除"
            case .moot: "不适用：该数据流在更早的第 \(forkedAt ?? 0) 条处已分叉，请在该处重新决定"
            case .notHeld: "本机未见此分叉"
            }
        }
    }

    /// Decides which branch of a forked feed counts, as a registry commit signed by the root key:
    /// the commit numbered where the feed forked whose chain is readmitted, or none (the feed
    /// stays excluded, and the decision is on record). Deciding again at the same place replaces
    /// the decision.
    /// - Parameters:
    ///   - scope: the feed's scope (`ent:<uuid>`), or the enterprise by name, USCC or id.
    ///   - branch: the chosen commit's id or a unique prefix of at least 8 hex digits, or `none`.
    ///   - decidedBy: who decides (a console account; the CLI says 命令行).
    @discardableResult
    public func readmit(
        publicKey: PublicKey,
        scope: String,
        branch: String,
        decidedBy: String,
        note: String? = nil
    ) throws -> Readmission {
        try requireRoot("readmit a forked feed")
        let feedScope = scope.hasPrefix("ent:") ? scope : RegistryIDs.scope(of: try enterprise(named: scope))
        guard
            let evidence = try replica.forkEvidence().first(where: {
                $0.author == publicKey.hex && $0.scope == feedScope
            })
        else {
            throw LedgerError(
                .notFound,
                "no fork of the feed of device \(publicKey.fingerprint) in \(scopeLabel(feedScope)) is held here; sync the hub with the laptops first"
            )
        }
        let chosen = try Self.chosenCommit(branch, among: evidence)
        let row = RegistryIDs.readmission(publicKey, scope: feedScope, sequence: evidence.sequence)
        let values: [String: Value] = [
            "public_key": .text(publicKey.hex),
            "feed_scope": .text(feedScope),
            "fork_seq": .integer(Int64(evidence.sequence)),
            "chosen": chosen.map { .text($0.hex) } ?? .null,
            "decided_at": .text(now()),
            "decided_by": .text(decidedBy),
            "note": note.map { .text($0) } ?? .null,
        ]
        let existing = try replica.readRegistry { registry in
            try registry.rowExists("readmissions", row: row)
                ? try registry.value("readmissions", row: row, column: "chosen") : nil
        }
        if let existing, existing == (chosen.map { Value.text($0.hex) } ?? .null) {
            throw LedgerError(
                .invalidField,
                "this branch is already the decision for the feed of \(publicKey.fingerprint) at seq \(evidence.sequence); nothing was changed"
            )
        }
        try writeRegistry { batch in
            if existing != nil {
                batch.update("readmissions", row: row, values)
            } else {
                _ = batch.insert("readmissions", id: row, values)
            }
        }
        guard let decided = try readmissions().first(where: { $0.publicKey == publicKey.hex && $0.scope == feedScope })
        else { throw LedgerError(.notFound, "the decision was written but cannot be read back; run fieldlog check") }
        return decided
    }

    /// The commit a branch names among those held at the fork: `none`/`无`, a full id, or a unique
    /// prefix of at least 8 hex digits.
    static func chosenCommit(_ branch: String, among evidence: ForkEvidence) throws -> CommitID? {
        let text = branch.trimmingCharacters(in: .whitespaces).lowercased()
        if ["none", "无", "不恢复"].contains(text) { return nil }
        let held = evidence.commits.map(\.id)
        let list = held.map { String($0.prefix(12)) }.joined(separator: ", ")
        guard text.count >= 8, text.allSatisfy(\.isHexDigit) else {
            throw LedgerError(
                .invalidField,
                "name the branch by the id of its commit at seq \(evidence.sequence) (at least 8 hex digits: \(list)), or none"
            )
        }
        let matches = held.filter { $0.hasPrefix(text) }
        guard matches.count == 1 else {
            throw LedgerError(
                matches.isEmpty ? .notFound : .ambiguous,
                matches.isEmpty
                    ? "\(text) is not one of the commits held at seq \(evidence.sequence) of that feed: \(list)"
                    : "\(text) fits several commits at seq \(evidence.sequence); give more digits"
            )
        }
        return try CommitID(hex: matches[0])
    }

    /// Every forked feed held here with its evidence, and the ones a readmission made whole again.
    public func forks() throws -> [ForkEvidence] { try replica.forkEvidence() }

    /// Every readmission of the registry held here, with where its feed stands, by device and scope.
    public func readmissions() throws -> [Readmission] {
        let evidence = Dictionary(
            try replica.forkEvidence().map { ("\($0.author) \($0.scope)", $0) },
            uniquingKeysWith: { first, _ in first }
        )
        let rows: [Readmission] = try replica.readRegistry { registry in
            try registry.rows("readmissions").compactMap { row in
                func text(_ column: String) throws -> String? {
                    try registry.value("readmissions", row: row, column: column).text
                }
                guard let key = try text("public_key"), let scope = try text("feed_scope"),
                    case .integer(let sequence) = try registry.value("readmissions", row: row, column: "fork_seq")
                else { return nil }
                let device = try? PublicKey(hex: key)
                return Readmission(
                    publicKey: key,
                    device: try device.flatMap {
                        try registry.value("devices", row: RegistryIDs.device($0), column: "code").text
                    },
                    scope: scope,
                    enterprise: nil,
                    sequence: UInt64(sequence),
                    chosen: try text("chosen"),
                    decidedAt: try text("decided_at"),
                    decidedBy: try text("decided_by"),
                    note: try text("note"),
                    standing: .notHeld
                )
            }
        }
        return rows.map { decision in
            var decision = decision
            decision.enterprise = scopeLabel(decision.scope)
            guard let held = evidence["\(decision.publicKey) \(decision.scope)"] else { return decision }
            decision.head = held.head
            decision.excludedFrom = held.excludedFrom
            decision.forkedAt = held.sequence
            if held.sequence < decision.sequence {
                decision.standing = .moot
            } else if held.excludedFrom == nil {
                decision.standing = .readmitted
            } else if decision.chosen == nil {
                decision.standing = held.excludedFrom == decision.sequence ? .excluded : .moot
            } else if held.excludedFrom == decision.sequence {
                decision.standing = .awaiting
            } else {
                decision.standing = .stoppedLater
            }
            return decision
        }.sorted {
            ($0.device ?? $0.publicKey, $0.scope, $0.sequence) < ($1.device ?? $1.publicKey, $1.scope, $1.sequence)
        }
    }
}
