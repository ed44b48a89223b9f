import FieldCrypto
import Foundation
import GRDB
import Synchronization

/// What an operator chose at one place of a forked feed: one commit numbered there, or none.
enum FeedChoice: Hashable, Codable {
    case branch(CommitID)
    case nothing
}

extension CommitID: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try CommitID(hex: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// A feed under an operator's decision, read by the rule of docs/merge.md ("Readmission").
///
/// Everything here depends only on the commits held and the latest registry held: a feed named by
/// a decision is read again whenever a commit is kept aside in it or the decisions change, and
/// what it comes to is the same whatever order the commits and the decisions arrived in.
extension Integrator {
    /// The decisions of the latest registry held, by feed and sequence (the registry's own feed is
    /// never under one: a fork of it is the root key used twice, which nothing here can undo).
    mutating func decisions() throws -> [FeedKey: [UInt64: FeedChoice]] {
        if let decisionCache { return decisionCache }
        let generation = try registryGeneration()
        if let cached = replica.registryCache.withLock({ $0.generation == generation ? $0.readmissions : nil }) {
            decisionCache = cached
            return cached
        }
        let list = try replica.policy.readmissions(registry: try replica.currentRegistry(db))
        var map: [FeedKey: [UInt64: FeedChoice]] = [:]
        for decision in list where decision.scope != Commit.registryScope && decision.sequence >= 1 {
            let key = FeedKey(author: decision.author, scope: decision.scope)
            let choice = decision.chosen.map(FeedChoice.branch) ?? .nothing
            // Two decisions at one place (a policy should give one): nothing wins, then the smaller id.
            if let other = map[key]?[decision.sequence], Self.precedes(other, choice) { continue }
            map[key, default: [:]][decision.sequence] = choice
        }
        decisionCache = map
        replica.registryCache.withLock { cache in
            cache.reset(to: generation)
            cache.readmissions = map
        }
        return map
    }

    private static func precedes(_ a: FeedChoice, _ b: FeedChoice) -> Bool {
        switch (a, b) {
        case (.nothing, _): return true
        case (.branch, .nothing): return false
        case (.branch(let x), .branch(let y)): return x <= y
        }
    }

    /// The decisions the feeds were last read by, kept in `_meta` (`readmissions`).
    private static func storedDecisions(_ db: Database) throws -> [FeedKey: [UInt64: FeedChoice]] {
        guard let text = try Replica.meta(db, "readmissions") else { return [:] }
        let entries = try JSONDecoder().decode([StoredDecision].self, from: Data(text.utf8))
        var map: [FeedKey: [UInt64: FeedChoice]] = [:]
        for entry in entries {
            let key = FeedKey(author: try PublicKey(hex: entry.author), scope: entry.scope)
            map[key, default: [:]] = map[key] ?? [:]
            guard entry.sequence > 0 else { continue }
            map[key]![entry.sequence] = entry.chosen.map(FeedChoice.branch) ?? .nothing
        }
        return map
    }

    /// The local numbers of the feeds read by the rule (`ruled()`), for reads outside integration.
    static func ruledFeeds(_ db: Database) throws -> Set<Int64> {
        var numbers: Set<Int64> = []
        for key in try storedDecisions(db).keys {
            if let feed = try FeedRecord.find(db, author: key.author, scope: key.scope) { numbers.insert(feed.number) }
        }
        return numbers
    }

    /// The feeds read by the rule, with their decisions: every feed a decision of the registry held
    /// names, and every feed one ever named here (with none now, it is read by the rule without
    /// decisions, which is the plain rule of forks). Kept in `_meta` (`readmissions`) by
    /// `refreshDecisions`, read once per transaction.
    mutating func ruled() throws -> [FeedKey: [UInt64: FeedChoice]] {
        if let ruledCache { return ruledCache }
        let map = try Self.storedDecisions(db)
        ruledCache = map
        return map
    }

    private struct StoredDecision: Codable, Comparable {
        var author: String
        var scope: String
        var sequence: UInt64
        var chosen: CommitID?

        static func < (a: StoredDecision, b: StoredDecision) -> Bool {
            (a.author, a.scope, a.sequence) < (b.author, b.scope, b.sequence)
        }
    }

    /// After a registry change: reads again every feed whose decisions changed since the feeds were
    /// last read, and keeps the new decisions in `_meta`.
    /// - Returns: whether a feed was read again.
    mutating func refreshDecisions() throws -> Bool {
        decisionCache = nil
        let stored = try ruled()
        var current = try decisions()
        for key in stored.keys where current[key] == nil { current[key] = [:] }
        guard current != stored else { return false }
        let entries = current.flatMap { key, places in
            places.isEmpty
                ? [StoredDecision(author: key.author.hex, scope: key.scope, sequence: 0, chosen: nil)]
                : places.map { sequence, choice in
                    StoredDecision(
                        author: key.author.hex,
                        scope: key.scope,
                        sequence: sequence,
                        chosen: { if case .branch(let id) = choice { id } else { nil } }()
                    )
                }
        }.sorted()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try Replica.setMeta(db, "readmissions", String(decoding: try encoder.encode(entries), as: UTF8.self))
        ruledCache = current
        let changed = Set(current.keys).filter { current[$0] != stored[$0] }
        for key in changed.sorted(by: { ($0.author, $0.scope) < ($1.author, $1.scope) }) {
            try resolve(key, current[key] ?? [:])
        }
        return !changed.isEmpty
    }

    /// Reads again the feeds a received commit was kept aside in.
    mutating func resolveMarkedFeeds() throws {
        let marked = feedsToResolve.sorted { ($0.author, $0.scope) < ($1.author, $1.scope) }
        feedsToResolve.removeAll()
        let current = try ruled()
        for key in marked { try resolve(key, current[key] ?? [:]) }
        receivedAside.removeAll()
    }

    /// One commit held in a feed, in `_log` or in `_forks`.
    private struct Held {
        var sequence: UInt64
        var signed: SignedCommit
        var inLog: Bool
        var status: CommitStatus
        var reasonCode: String?
        var hlc: Int64
        var schemaVersion: Int64
        var registrySequence: Int64
        var received: Int64
    }

    /// Where the rule leaves a feed: its valid chain, and where and why it stops, if it does.
    private struct Reading {
        var chain: [UInt64: CommitID] = [:]
        var end: UInt64 = 0
        var stop: (sequence: UInt64, reason: StoreError)?
        /// The first place an operator decided at, if the walk reached one.
        var decidedAt: UInt64?
    }

    /// Where a feed whose chain did not stop waits, if it does: commits past the chain's end that
    /// may belong to it once a missing commit arrives (past a gap, or, before any decided place,
    /// any commit next to the end, which would make a fork with the next one). Commits that follow
    /// one the rule left out are the other branch, and wait for nothing.
    private func waiting(_ held: [UInt64: [Held]], _ reading: Reading) -> (sequence: UInt64, reason: StoreError)? {
        let next = reading.end + 1
        let beyond = held.filter { $0.key > reading.end }
        guard reading.stop == nil, !beyond.isEmpty else { return nil }
        let reason = StoreError(
            .fork,
            "waits for commit \(next) of its feed, which the operator's readmission reads again: kept aside until it arrives"
        )
        guard reading.decidedAt != nil else { return (next, reason) }
        var left = Set(held.filter { $0.key <= reading.end }.values.joined().map(\.signed.id)).subtracting(
            reading.chain.values
        )
        left.formUnion((held[next] ?? []).map(\.signed.id))
        for sequence in beyond.keys.sorted() where sequence > next {
            for commit in held[sequence]! {
                guard left.contains(commit.signed.commit.previous) else { return (next, reason) }
                left.insert(commit.signed.id)
            }
        }
        return nil
    }

    /// The rule of docs/merge.md ("Readmission"), from sequence 1: a place with one commit that
    /// follows the chain takes it; a place with a decision takes the chosen commit if it is held and
    /// follows the chain, and stops otherwise (none, or not held yet); before any decision, two
    /// commits at one place are a fork and stop the chain; after one, only the commits that follow
    /// the chosen chain count (the other branch is evidence), and two of those are a new fork.
    private func read(
        _ held: [UInt64: [Held]],
        _ decisions: [UInt64: FeedChoice],
        _ key: FeedKey
    ) -> Reading {
        var reading = Reading()
        var previous = CommitID.zero
        var sequence: UInt64 = 1
        let feed = "the feed of \(key.author.fingerprint) in \(key.scope)"
        while let here = held[sequence], !here.isEmpty {
            let following = here.filter { sequence == 1 || $0.signed.commit.previous == previous }
            var taken: SignedCommit?
            if let choice = decisions[sequence] {
                if reading.decidedAt == nil { reading.decidedAt = sequence }
                switch choice {
                case .nothing:
                    reading.stop = (
                        sequence,
                        StoreError(
                            .fork,
                            "the operator readmitted no branch of \(feed) at seq \(sequence): it is excluded from there on, kept as evidence"
                        )
                    )
                case .branch(let id):
                    if let chosen = following.first(where: { $0.signed.id == id }) {
                        taken = chosen.signed
                    } else {
                        reading.stop = (
                            sequence,
                            StoreError(
                                .fork,
                                "the operator readmitted commit \(id.short) at seq \(sequence) of \(feed); it is not held here yet, so the feed is excluded from there until it arrives"
                            )
                        )
                    }
                }
            } else if following.count > 1 || (reading.decidedAt == nil && here.count > 1) {
                reading.stop = (
                    sequence,
                    StoreError(
                        .fork,
                        "fork: two different commits are numbered \(sequence) in \(feed); both kept as evidence, the feed is excluded from there on"
                    )
                )
            } else {
                taken = following.first?.signed
            }
            guard let taken else { break }
            reading.chain[sequence] = taken.id
            reading.end = sequence
            previous = taken.id
            sequence += 1
        }
        return reading
    }

    /// Reads a feed by the rule and stores what it comes to: the valid chain in `_log` (commits the
    /// rule takes back into it wait, and are judged like any other), every other commit of the feed
    /// in `_forks`, excluded, and the feed's head and fork point.
    private mutating func resolve(_ key: FeedKey, _ decisions: [UInt64: FeedChoice]) throws {
        guard let feed = try FeedRecord.find(db, author: key.author, scope: key.scope) else { return }
        var held: [UInt64: [Held]] = [:]
        let logged = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT k, id, hlc, schema_version, registry_seq, status, reason_code, received, body, signature
                    FROM _log WHERE k BETWEEN ? AND ? ORDER BY k
                    """
            ),
            arguments: [LogKey.first(feed.number), LogKey.last(feed.number)]
        )
        for row in logged {
            let sequence = LogKey.sequence(row["k"])
            held[sequence, default: []].append(try Self.held(row, sequence: sequence, inLog: true, decoded))
        }
        let aside = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT seq, id, hlc, schema_version, registry_seq, 2 AS status, reason_code, received, body, signature
                    FROM _forks WHERE feed = ? ORDER BY seq, id
                    """
            ),
            arguments: [feed.number]
        )
        for row in aside {
            let sequence = UInt64(row["seq"] as Int64)
            held[sequence, default: []].append(try Self.held(row, sequence: sequence, inLog: false, decoded))
        }
        var reading = read(held, decisions, key)
        if let waits = waiting(held, reading) { reading.stop = waits }
        for sequence in held.keys.sorted() {
            let here = held[sequence]!
            let chosen = reading.chain[sequence]
            let reason: StoreError
            if let stop = reading.stop, sequence >= stop.sequence {
                reason = stop.reason
            } else {
                reason = StoreError(
                    .fork,
                    "not on the branch of the feed of \(key.author.fingerprint) in \(key.scope) that the operator readmitted at seq \(reading.decidedAt ?? sequence); kept as evidence"
                )
            }
            for commit in here.sorted(by: { $0.signed.id < $1.signed.id }) where commit.signed.id != chosen {
                if commit.inLog { try moveAside(commit, feed: feed.number, because: reason) }
                if receivedAside.contains(commit.signed.id) { refuse(commit.signed, reason, stored: true) }
            }
            guard let chosen, let commit = here.first(where: { $0.signed.id == chosen }) else { continue }
            if !commit.inLog {
                try takeIntoLog(commit, feed: feed.number)
            } else if commit.status == .excluded && commit.reasonCode == StoreError.Code.fork.rawValue {
                try db.cachedStatement(sql: "UPDATE _log SET status = 1, reason = NULL, reason_code = NULL WHERE k = ?")
                    .execute(arguments: [LogKey.make(feed.number, sequence)])
                feedsNotWaiting.remove(feed.number)
            }
        }
        try db.cachedStatement(sql: "UPDATE _feeds SET head_seq = ?, fork_seq = ? WHERE feed = ?").execute(
            arguments: [Int64(reading.end), reading.stop.map { Int64($0.sequence) }, feed.number]
        )
        feeds[key] = FeedRecord(
            number: feed.number,
            head: reading.end,
            forkSeq: reading.stop.map { Int64($0.sequence) },
            headInLog: false
        )
        storedHeads[feed.number] = nil
        raisedHeads.remove(key)
        headsToLog.remove(key)
    }

    private static func held(
        _ row: Row,
        sequence: UInt64,
        inLog: Bool,
        _ decoded: [CommitID: SignedCommit]
    ) throws -> Held {
        let id = try CommitID(bytes: [UInt8](row["id"] as Data))
        let signed =
            try decoded[id]
            ?? SignedCommit(
                trustedBody: [UInt8](row["body"] as Data),
                id: id,
                signature: [UInt8](row["signature"] as Data)
            )
        return Held(
            sequence: sequence,
            signed: signed,
            inLog: inLog,
            status: CommitStatus(rawValue: row["status"]) ?? .excluded,
            reasonCode: row["reason_code"],
            hlc: row["hlc"],
            schemaVersion: row["schema_version"],
            registrySequence: row["registry_seq"],
            received: row["received"]
        )
    }

    /// Moves a commit the rule leaves out from its place in `_log` to `_forks`, taking its changes
    /// back if it was applied.
    private mutating func moveAside(_ commit: Held, feed: Int64, because reason: StoreError) throws {
        let k = LogKey.make(feed, commit.sequence)
        try db.cachedStatement(sql: "DELETE FROM _log WHERE k = ?").execute(arguments: [k])
        try insertIntoForks(commit, feed: feed, reason: reason)
        commitCache.forget(k)
        if commit.status == .applied {
            try unapply(commit.signed)
            report.excludedLater += 1
        }
    }

    private func insertIntoForks(_ commit: Held, feed: Int64, reason: StoreError) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO _forks(feed, seq, id, hlc, schema_version, registry_seq, body, signature, reason,
                                   reason_code, received)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            feed, Int64(commit.sequence), Data(commit.signed.id.bytes), commit.hlc, commit.schemaVersion,
            commit.registrySequence, Data(commit.signed.body), Data(commit.signed.signature), reason.message,
            reason.code.rawValue, commit.received,
        ])
    }

    /// Takes the commit the rule chose at its place from `_forks` into `_log`, waiting to be judged.
    private mutating func takeIntoLog(_ commit: Held, feed: Int64) throws {
        let k = LogKey.make(feed, commit.sequence)
        try db.cachedStatement(sql: "DELETE FROM _forks WHERE feed = ? AND seq = ? AND id = ?").execute(
            arguments: [feed, Int64(commit.sequence), Data(commit.signed.id.bytes)]
        )
        try db.cachedStatement(
            sql: """
                INSERT INTO _log(k, id, hlc, schema_version, registry_seq, body, signature, status, reason, reason_code,
                                 received)
                VALUES (?, ?, ?, ?, ?, ?, ?, 1, NULL, NULL, ?)
                """
        ).execute(arguments: [
            k, Data(commit.signed.id.bytes), commit.hlc, commit.schemaVersion, commit.registrySequence,
            Data(commit.signed.body), Data(commit.signed.signature), commit.received,
        ])
        commitCache.forget(k)
        feedsNotWaiting.remove(feed)
        decoded[commit.signed.id] = commit.signed
    }
}
