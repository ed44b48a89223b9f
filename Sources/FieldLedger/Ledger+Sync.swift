import FieldCrypto
import FieldStore
import Foundation

/// What this device knows of its last successful sync with the hub: when, with which address,
/// how far its own feeds had reached (every commit of its own up to there was offered to the hub),
/// and the records of its own commits the hub refused, with the hub's reason.
public struct SyncRecord: Codable, Sendable, Equatable {
    /// The hub's address.
    public var target: String
    /// When the sync ended, ISO 8601 UTC.
    public var at: String
    /// This device's own feeds at that moment: scope → highest sequence.
    public var sent: [String: UInt64]
    /// Records (demands, visits, registry rows) written by own commits the hub refused → its reason.
    public var refused: [String: String]
}

/// How this device stands against the hub: the last sync, and what was written since.
public struct SyncStanding: Sendable {
    /// This replica holds the county root key: it is the hub's own, and syncs with no hub.
    public var isHub = false
    public var last: SyncRecord?
    /// Own commits written after the last sync (all of them before the first).
    public var waiting: Int
    /// The records those commits wrote (a demand for its events too).
    public var unsynced: Set<UUID>
    /// The records of own commits the hub refused at the last sync.
    public var refused: [UUID: String]
}

extension Ledger {
    static let lastSyncKey = "sync.last"

    /// The last successful sync with the hub, if any.
    public func lastSync() throws -> SyncRecord? {
        guard let text = try replica.metaValue(Self.lastSyncKey) else { return nil }
        return try? JSONDecoder().decode(SyncRecord.self, from: Data(text.utf8))
    }

    /// Notes a successful sync with the hub at `target`: its time, how far this device's own feeds
    /// reached, and the records of the own commits it refused (from the sync's `refusedThere`).
    public func noteSynced(target: String, refused: [ImportReport.Refusal]) throws {
        let own = publicKey.hex
        let previous = try lastSync()
        let refusedIDs = Dictionary(
            refused.filter { $0.author == own }.map { ($0.commit, $0.reason) },
            uniquingKeysWith: { first, _ in first }
        )
        var rows: [String: String] = [:]
        if !refusedIDs.isEmpty {
            for commit in try ownCommits(after: previous?.sent ?? [:]) {
                guard let reason = refusedIDs[commit.id.hex] else { continue }
                for row in Self.records(written: commit.commit) { rows[row.lowercased] = reason }
            }
        }
        let record = SyncRecord(
            target: target,
            at: ISOTime.format(Int64(Date().timeIntervalSince1970 * 1000)),
            sent: try ownHeads(),
            refused: rows
        )
        let text = String(decoding: try JSONEncoder().encode(record), as: UTF8.self)
        try replica.setMetaValue(Self.lastSyncKey, text)
    }

    /// What this device wrote since its last sync with the hub, and what the hub refused then.
    public func syncStanding() throws -> SyncStanding {
        if isRoot { return SyncStanding(isHub: true, last: nil, waiting: 0, unsynced: [], refused: [:]) }
        let last = try lastSync()
        let sent = last?.sent ?? [:]
        let heads = try ownHeads()
        let waiting = heads.reduce(0) { total, head in total + Int(head.value - min(head.value, sent[head.key] ?? 0)) }
        var unsynced: Set<UUID> = []
        if waiting > 0 {
            for commit in try ownCommits(after: sent) { unsynced.formUnion(Self.records(written: commit.commit)) }
        }
        var refused: [UUID: String] = [:]
        for (row, reason) in last?.refused ?? [:] {
            if let id = UUID(uuidString: row) { refused[id] = reason }
        }
        return SyncStanding(last: last, waiting: waiting, unsynced: unsynced, refused: refused)
    }

    /// This device's own feeds: scope → highest sequence held.
    func ownHeads() throws -> [String: UInt64] { try replica.heads(of: publicKey) }

    /// The records of `table` with an open cell conflict.
    public func conflictedRecords(in table: String) throws -> Set<UUID> { try replica.conflictedRows(in: table) }

    /// How many commits are held, waiting for something (`commitCounts().pending`, read faster).
    public func heldCommitCount() throws -> Int { try replica.heldCount() }

    /// How many cells hold an open conflict (all tables).
    public func openConflictCount() throws -> Int { try replica.conflictCount() }

    /// This device's own commits after `sent` (scope → sequence), read from the signed log.
    func ownCommits(after sent: [String: UInt64]) throws -> [SignedCommit] {
        let own = publicKey.hex
        let feeds = try ownHeads().keys.map { FeedHead(author: own, scope: $0, head: sent[$0] ?? 0) }
        guard !feeds.isEmpty else { return [] }
        return try replica.records(after: feeds, maxCommits: .max, maxBytes: .max).records.map {
            try WireRecord.decode($0)
        }
    }

    /// The records a commit writes: each changed row, and for an event the demand it belongs to.
    static func records(written commit: Commit) -> Set<UUID> {
        var rows: Set<UUID> = []
        for change in commit.changes {
            rows.insert(change.row)
            if change.column == "demand_id" || change.column == "visit_id", case .blob(let bytes) = change.value,
                bytes.count == 16
            {
                rows.insert(UUID(bytes16: bytes))
            }
        }
        return rows
    }
}

extension Ledger {
    /// What a bundle for another device carries, as a laptop serving that device would: the scopes
    /// both it and this device may read (so nothing beyond this device's own scopes, held from an
    /// `--all` bundle, is passed on). The recipient is named as `enrolledDevice(named:)` takes it.
    public func bundleScopes(for recipient: String) throws -> (key: PublicKey, scopes: Set<String>) {
        let key = try enrolledDevice(named: recipient)
        return (key, try readableScopes(of: key).intersection(readableScopes(of: publicKey)))
    }

    /// The signing key this ledger writes with, for a sync's signed requests (nil when read-only).
    public var signingKey: SigningKey? { signer }
}
