import FieldCrypto
import Foundation
import GRDB
import Logging
import Synchronization

/// A cell of a replicated table.
struct RowKey: Hashable {
    var table: String
    var row: Data
}

/// Takes commits into a replica inside one SQLite transaction: checks their place in their feed,
/// stores them, settles what can be applied, and recomputes the visible cells they touch.
///
/// The decisions follow `docs/merge.md`; every one depends only on the commits held, so that every
/// replica holding the same commits reaches the same state.
struct Integrator {
    let replica: Replica
    let db: Database
    let now: UInt64
    var report = ImportReport()
    /// Rows to project when the transaction's work is done: per row, what was applied to it and
    /// taken back (`finish`).
    var rows: [RowKey: RowWork] = [:]
    /// Commits decoded in this transaction, so settling does not decode them again.
    var decoded: [CommitID: SignedCommit] = [:]
    var registryChanged = false
    var revocationCache: [PublicKey: Revocation]?
    /// The operators' decisions on forked feeds, by feed (`decisions()`), and the feeds read by
    /// the rule with the decisions they were read by (`ruled()`).
    var decisionCache: [FeedKey: [UInt64: FeedChoice]]?
    var ruledCache: [FeedKey: [UInt64: FeedChoice]]?
    /// Feeds under a decision that a commit received here may change: `settle` reads each again
    /// by the rule (`resolveMarkedFeeds`).
    var feedsToResolve: Set<FeedKey> = []
    /// Commits received in this transaction into a feed under a decision, reported as refused if
    /// the rule leaves them out.
    var receivedAside: Set<CommitID> = []
    var registryHeadCache: UInt64?
    /// Authors the registry held here is known to have enrolled (an answer that cannot turn back).
    var knownAuthors: Set<PublicKey> = []
    var received = 0
    /// The clock integration keeps (`_meta.hlc`) as the remote commits applied here advance it,
    /// and as it was stored; `finish` writes it once.
    var observedClock: Timestamp?
    var storedClock: Timestamp?
    /// Commits of many changes decoded for the slow path, by log key (`Replica.CommitCache`).
    let commitCache = Replica.CommitCache()
    /// Feeds whose head this transaction raised, written once each by `finish`.
    var raisedHeads: Set<FeedKey> = []
    /// Feeds a local commit taken at once extended whose head `finish` marks as kept in the log.
    var headsToLog: Set<FeedKey> = []
    /// Feeds read in this transaction: their local numbers and fork points.
    var feeds: [FeedKey: FeedRecord] = [:]
    /// Feeds known to hold no commit waiting (`takeAtOnce` asked once); a commit stored pending in
    /// a feed, or put back to pending, takes its feed out.
    var feedsNotWaiting: Set<Int64> = []
    /// Per feed, the head commit this transaction stored (its sequence and id): an unforked feed
    /// holds nothing in the log past its head (`docs/storage.md`), so the next commit of the feed
    /// needs no read of the log to find its place (`receive`).
    var storedHeads: [Int64: (sequence: UInt64, id: Data)] = [:]
    /// The registry generation (`_meta`), read once and forgotten when this transaction bumps it.
    var generationCache: Int64?
    /// Rows a local write created with a new UUIDv7 (`WriteBatch.fresh`): nothing is stored for
    /// them yet, so their projection reads no state.
    var freshRows: Set<Data> = []

    struct FeedKey: Hashable {
        var author: PublicKey
        var scope: String
    }

    /// When false (the hub), a commit the policy refuses or a cut-off covers is not kept as
    /// evidence: it and the later pending commits of its feed are dropped and reported as refused.
    /// Fork evidence is always kept, since every replica needs it to exclude the same feed.
    var keepsRefused = true

    init(replica: Replica, db: Database, keepsRefused: Bool = true) {
        self.replica = replica
        self.db = db
        self.now = replica.options.wallClock()
        self.keepsRefused = keepsRefused
    }

    // MARK: Receiving

    /// Checks a verified commit's place in its feed and stores it (pending), or refuses it.
    /// - Returns: true when the commit was newly stored.
    @discardableResult
    mutating func receive(_ signed: SignedCommit) throws -> Bool {
        let commit = signed.commit
        let idData = Data(signed.id.bytes)
        guard commit.sequence <= LogKey.maxSequence else {
            refuse(
                signed,
                StoreError(
                    .gap,
                    "commit \(commit.sequence) of the feed of \(commit.author.fingerprint) in \(commit.scope) is numbered past the \(LogKey.maxSequence) commits a feed can hold; it is refused"
                ),
                stored: false
            )
            return false
        }
        let feed = try feed(commit.author, commit.scope)
        // The commit already held at this place of its feed, if any: the same one (a duplicate),
        // or another (a fork).
        var sameSeq: Data?
        // The commit before it in its feed, read with it (one range of the log).
        var previousHeld: Data?
        if let feed, feed.forkSeq == nil, commit.sequence > feed.head, let head = storedHeads[feed.number],
            head.sequence == feed.head
        {
            // An unforked feed holds nothing past its head, and this transaction stored the head:
            // nothing is at this place, and the commit before it is the head if it is next.
            if commit.sequence == feed.head + 1 { previousHeld = head.id }
        } else if let feed {
            let k = LogKey.make(feed.number, commit.sequence)
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT k, id FROM _log WHERE k BETWEEN ? AND ?"),
                arguments: [commit.sequence > 1 ? k - 1 : k, k]
            )
            for row in rows {
                if row[0] as Int64 == k { sameSeq = row[1] } else { previousHeld = row[1] }
            }
            var duplicate = sameSeq == idData
            // Another commit at this place, or none in a feed that holds evidence: this one may be
            // held already as evidence (a forked feed, or one an operator's decision read again).
            if !duplicate,
                try sameSeq != nil || feed.forkSeq != nil
                    || (commit.scope != Commit.registryScope
                        && ruled()[FeedKey(author: commit.author, scope: commit.scope)] != nil)
            {
                duplicate =
                    try Bool.fetchOne(
                        db.cachedStatement(
                            sql: "SELECT EXISTS(SELECT 1 FROM _forks WHERE feed = ? AND seq = ? AND id = ?)"
                        ),
                        arguments: [feed.number, Int64(commit.sequence), idData]
                    ) ?? false
            }
            if duplicate {
                report.skipped += 1
                return false
            }
        }
        if commit.scope == Commit.registryScope && commit.author != replica.root {
            refuse(
                signed,
                StoreError(
                    .notAuthorized,
                    "only the county root key writes the registry; \(commit.author.fingerprint) is not it"
                ),
                stored: false
            )
            return false
        }
        // Before anything is stored, fork evidence included: two commits numbered alike by a key
        // nobody enrolled are evidence of nothing (the fuzzer found them parked as a "fork").
        if let refusal = try strangerRefusal(commit) {
            refuse(signed, refusal, stored: false)
            return false
        }
        if commit.schemaVersion <= replica.schema.version {
            if let error = replica.validateChanges(commit.changes) {
                refuse(signed, error, stored: false)
                return false
            }
        }
        // A feed under an operator's decision (docs/merge.md, "Readmission"): a commit at a place
        // the operator decided, another commit at a place already held, one past the point its
        // feed stops, or any commit of a feed already waiting to be read again is kept aside, and
        // `settle` reads the feed again by the rule.
        let feedKey = FeedKey(author: commit.author, scope: commit.scope)
        if commit.scope != Commit.registryScope, let decided = try ruled()[feedKey],
            decided[commit.sequence] != nil || sameSeq != nil || feedsToResolve.contains(feedKey)
                || (feed?.forkSeq).map({ Int64(commit.sequence) >= $0 }) == true
        {
            try store(
                signed,
                status: .excluded,
                reason: StoreError(.fork, "kept aside while its feed is read by the operator's readmission"),
                asFork: sameSeq != nil
            )
            // The feed now holds a commit in `_log` past its head: no place past it is known empty.
            if let number = feeds[feedKey]?.number { storedHeads[number] = nil }
            feedsToResolve.insert(feedKey)
            receivedAside.insert(signed.id)
            return true
        }
        if let feed, let forkSeq = feed.forkSeq, Int64(commit.sequence) >= forkSeq {
            try store(
                signed,
                status: .excluded,
                reason: StoreError(.fork, "feed forked at seq \(forkSeq): kept as evidence"),
                asFork: sameSeq != nil
            )
            refuse(
                signed,
                StoreError(.fork, "the author's feed forked at seq \(forkSeq); this commit is kept as evidence only"),
                stored: true
            )
            return true
        }
        if let feed, sameSeq != nil {
            let error = StoreError(
                .fork,
                "fork: two different commits are numbered \(commit.sequence) in the feed of \(commit.author.fingerprint) in \(commit.scope); both kept as evidence, the feed is excluded from there on"
            )
            try store(signed, status: .excluded, reason: error, asFork: true)
            let forkSeq = min(feed.forkSeq ?? Int64(commit.sequence), Int64(commit.sequence))
            // A forked feed keeps its head in `head_seq` (its log may hold excluded commits past it).
            try db.cachedStatement(sql: "UPDATE _feeds SET fork_seq = ?, head_seq = ? WHERE feed = ?").execute(
                arguments: [forkSeq, Int64(feed.head), feed.number]
            )
            feeds[FeedKey(author: commit.author, scope: commit.scope)]?.forkSeq = forkSeq
            feeds[FeedKey(author: commit.author, scope: commit.scope)]?.headInLog = false
            try excludeFeed(feed.number, from: commit.sequence, because: error)
            refuse(signed, error, stored: true)
            replica.options.logger.warning(
                "fork detected",
                metadata: [
                    "author": "\(commit.author.fingerprint)", "scope": "\(commit.scope)", "seq": "\(commit.sequence)",
                ]
            )
            return true
        }
        if commit.sequence > 1 {
            guard let previous = previousHeld else {
                refuse(
                    signed,
                    StoreError(
                        .gap,
                        "commit \(commit.sequence) of the feed of \(commit.author.fingerprint) in \(commit.scope) cannot be taken: commit \(commit.sequence - 1) is missing; import the earlier commits first"
                    ),
                    stored: false
                )
                return false
            }
            guard previous == Data(commit.previous.bytes) else {
                refuse(
                    signed,
                    StoreError(
                        .brokenChain,
                        "commit \(commit.sequence) of the feed of \(commit.author.fingerprint) in \(commit.scope) does not follow commit \(commit.sequence - 1) held here (its predecessor hash differs)"
                    ),
                    stored: false
                )
                return false
            }
        }
        if try takeAtOnce(signed, local: false) { return true }
        try store(signed, status: .pending, reason: nil, raisesHead: true)
        decoded[signed.id] = signed
        return true
    }

    /// A local writer's own feed, read in one statement with its head commit's id and time and
    /// whether a commit of it waits; the feed and that answer are kept for this transaction.
    mutating func ownFeed(_ author: PublicKey, _ scope: String) throws -> LocalWriteMemo.OwnFeed? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT f.feed, \(FeedRecord.headSQL("f")), f.fork_seq, l.id, l.hlc,
                               EXISTS(SELECT 1 FROM _log w WHERE w.k BETWEEN f.feed << 32 AND (f.feed << 32) | 4294967295
                                      AND w.status = 1),
                               f.head_seq < 0
                        FROM _feeds f LEFT JOIN _log l ON l.k = (f.feed << 32) | \(FeedRecord.headSQL("f"))
                        WHERE f.scope = ? AND f.author = ?
                        """
                ),
                arguments: [scope, Data(author.bytes)]
            )
        else { return nil }
        let feed = FeedRecord(number: row[0], head: UInt64(row[1] as Int64), forkSeq: row[2], headInLog: row[6])
        feeds[FeedKey(author: author, scope: scope)] = feed
        if row[5] as Bool == false { feedsNotWaiting.insert(feed.number) }
        return LocalWriteMemo.OwnFeed(
            feed: feed,
            headID: try CommitID(bytes: [UInt8](row[3] as Data? ?? Data())),
            headTime: Timestamp(rawValue: UInt64(bitPattern: row[4] as Int64? ?? 0))
        )
    }

    /// Takes a local writer's own feed as the last local write left it, with nothing waiting in
    /// it (`LocalWriteMemo`), instead of reading it.
    mutating func adopt(_ feed: FeedRecord, of key: FeedKey) {
        feeds[key] = feed
        feedsNotWaiting.insert(feed.number)
    }

    mutating func feed(_ author: PublicKey, _ scope: String) throws -> FeedRecord? {
        let key = FeedKey(author: author, scope: scope)
        if let cached = feeds[key] { return cached }
        let found = try FeedRecord.find(db, author: author, scope: scope)
        feeds[key] = found
        return found
    }

    /// Stores a commit in the log at its feed and sequence (creating the feed, with the commit as
    /// its head), or in `_forks` when another commit holds that place.
    /// - Parameter raisesHead: raise the feed's head to the commit (a commit taken in its order;
    ///   evidence of a forked feed leaves the head where it was).
    /// - Returns: the commit's key in `_log` (nil for one stored in `_forks`).
    @discardableResult
    private mutating func store(
        _ signed: SignedCommit,
        status: CommitStatus,
        reason: StoreError?,
        asFork: Bool = false,
        raisesHead: Bool = false
    ) throws -> Int64? {
        let commit = signed.commit
        received += 1
        var number: Int64
        if let feed = try feed(commit.author, commit.scope) {
            number = feed.number
            if raisesHead && commit.sequence > feed.head {
                // Written once per feed when the transaction's work is done (`finish`).
                let key = FeedKey(author: commit.author, scope: commit.scope)
                feeds[key]?.head = commit.sequence
                raisedHeads.insert(key)
                storedHeads[number] = (commit.sequence, Data(signed.id.bytes))
            }
        } else {
            try db.cachedStatement(sql: "INSERT INTO _feeds(author, scope, head_seq) VALUES (?, ?, ?)").execute(
                arguments: [Data(commit.author.bytes), commit.scope, Int64(commit.sequence)]
            )
            number = db.lastInsertedRowID
            feeds[FeedKey(author: commit.author, scope: commit.scope)] = FeedRecord(
                number: number,
                head: commit.sequence,
                forkSeq: nil
            )
            if raisesHead { storedHeads[number] = (commit.sequence, Data(signed.id.bytes)) }
        }
        if asFork {
            try db.cachedStatement(
                sql: """
                    INSERT INTO _forks(feed, seq, id, hlc, schema_version, registry_seq, body, signature, reason,
                                       reason_code, received)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                number, Int64(commit.sequence), Data(signed.id.bytes), Int64(bitPattern: commit.timestamp.rawValue),
                Int64(commit.schemaVersion), Int64(commit.registrySequence), Data(signed.body), Data(signed.signature),
                reason?.message, reason?.code.rawValue, Int64(now),
            ])
            return nil
        }
        if status == .pending { feedsNotWaiting.remove(number) }
        let k = LogKey.make(number, commit.sequence)
        try db.cachedStatement(
            sql: """
                INSERT INTO _log(k, id, hlc, schema_version, registry_seq, body, signature, status, reason, reason_code,
                                 received)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            k, Data(signed.id.bytes), Int64(bitPattern: commit.timestamp.rawValue), Int64(commit.schemaVersion),
            Int64(commit.registrySequence), Data(signed.body), Data(signed.signature), status.rawValue,
            reason?.message, reason?.code.rawValue, Int64(now),
        ])
        return k
    }

    mutating func refuse(_ signed: SignedCommit, _ error: StoreError, stored: Bool) {
        let commit = signed.commit
        report.refused.append(
            ImportReport.Refusal(
                commit: signed.id.hex,
                author: commit.author.hex,
                scope: commit.scope,
                sequence: commit.sequence,
                code: error.code,
                reason: error.message,
                isStored: stored
            )
        )
    }

    // MARK: Settling

    /// Applies or excludes stored pending commits until nothing more can move.
    mutating func settle() throws {
        while true {
            var progress = false
            if !feedsToResolve.isEmpty {
                try resolveMarkedFeeds()
                progress = true
            }
            // The registry first: the standing of every other commit's author is read from it.
            let waiting = try Row.fetchAll(db.cachedStatement(sql: Self.feedsWaiting))
                .sorted {
                    ($0["scope"] as String == Commit.registryScope) && ($1["scope"] as String != Commit.registryScope)
                }
            for feed in waiting {
                if try settleFeed(feed["feed"]) { progress = true }
            }
            if registryChanged {
                registryChanged = false
                revocationCache = nil
                if try enforceRevocations() { progress = true }
                if try refreshDecisions() { progress = true }
            }
            if !progress { break }
        }
        report.held = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM _log WHERE status = 1")) ?? 0
    }

    /// The feeds with a commit that waits: read through `_log_pending` alone.
    static let feedsWaiting =
        "SELECT feed, scope FROM _feeds WHERE feed IN (SELECT DISTINCT k >> 32 FROM _log WHERE status = 1)"

    /// The commits of one feed that wait, in order: read through `_log_pending` alone.
    static let waitingInFeed =
        "SELECT k, id, body, signature, reason_code FROM _log WHERE k BETWEEN ? AND ? AND status = 1 ORDER BY k"

    private mutating func settleFeed(_ feed: Int64) throws -> Bool {
        let pending = try Row.fetchAll(
            db.cachedStatement(sql: Self.waitingInFeed),
            arguments: [LogKey.first(feed), LogKey.last(feed)]
        )
        var progress = false
        for row in pending {
            let k: Int64 = row["k"]
            if LogKey.sequence(k) > 1 {
                let previousStatus = try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT status FROM _log WHERE k = ?"),
                    arguments: [k - 1]
                )
                if previousStatus == CommitStatus.pending.rawValue { break }
            }
            let id = try CommitID(bytes: [UInt8](row["id"] as Data))
            let signed =
                try decoded[id]
                ?? SignedCommit(
                    trustedBody: [UInt8](row["body"] as Data),
                    id: id,
                    signature: [UInt8](row["signature"] as Data)
                )
            let oldCode: String? = row["reason_code"]
            switch try judge(signed.commit) {
            case .refuse(let refusal):
                try discard(signed, at: k, because: refusal)
                return true
            case .hold(let error):
                try hold(k, oldCode: oldCode, error)
                return progress
            case .exclude(let error):
                try exclude(signed, at: k, wasApplied: false, because: error)
            case .apply:
                try apply(signed, at: k)
            }
            progress = true
        }
        return progress
    }

    /// What the rule of docs/merge.md makes of a commit whose predecessor is not pending, in its
    /// order: refused at the door, excluded by a cut-off, held for the clock, the schema or the
    /// registry, excluded as invalid or by the policy, or applied.
    private enum Judgement {
        case refuse(StoreError)
        case hold(StoreError)
        case exclude(StoreError)
        case apply
    }

    /// - Parameter changesChecked: the caller has checked the changes (`Replica.validateChanges`)
    ///   against this build's schema in this transaction.
    private mutating func judge(_ commit: Commit, changesChecked: Bool = false) throws -> Judgement {
        let (author, scope, seq) = (commit.author, commit.scope, commit.sequence)
        if let refusal = try doorRefusal(commit) { return .refuse(refusal) }
        if let cutoff = try revocations()[author]?.cutoff(in: scope), seq > cutoff {
            return .exclude(
                StoreError(
                    .revoked,
                    "the device \(author.fingerprint) is cut off after seq \(cutoff) of its feed in \(scope) (revoked, or unlinked from it)"
                )
            )
        }
        if commit.timestamp.milliseconds > now + replica.options.maxFutureDrift {
            let ahead = (commit.timestamp.milliseconds - now) / 1000
            return .hold(
                StoreError(
                    .futureTimestamp,
                    "commit \(seq) of \(author.fingerprint) in \(scope) is stamped \(commit.timestamp.iso8601), \(ahead) s ahead of this computer's clock; it is held until the clock reaches it (check the clock of the device that wrote it)"
                )
            )
        }
        if commit.schemaVersion > replica.schema.version {
            return .hold(
                StoreError(
                    .newerSchema,
                    "commit \(seq) of \(author.fingerprint) in \(scope) uses schema \(commit.schemaVersion); this build knows \(replica.schema.version). It is kept and applied after an upgrade of fieldlog"
                )
            )
        }
        let registryHead = try registryHead()
        if scope != Commit.registryScope && commit.registrySequence > registryHead {
            return .hold(
                StoreError(
                    .notEnrolled,
                    "commit \(seq) of \(author.fingerprint) in \(scope) was written under registry commit \(commit.registrySequence); this replica has \(registryHead). It waits for the registry"
                )
            )
        }
        if !changesChecked, let error = replica.validateChanges(commit.changes) { return .exclude(error) }
        let snapshotSeq = scope == Commit.registryScope ? seq - 1 : commit.registrySequence
        switch try verdict(commit, snapshotSeq: snapshotSeq) {
        case .allow: return .apply
        case .deny(let error): return .exclude(error)
        }
    }

    /// Why a pending commit must be refused and not stored rather than judged or held: its author
    /// was never enrolled in the registry held here, or it is further ahead (of the clock, the
    /// schema, or the registry) than anything this replica holds commits for. Each answer can only
    /// turn from a refusal to a pass as the registry, the clock or the build move forward, and a
    /// refused commit leaves nothing behind, so the state still depends only on the commits held
    /// (see docs/merge.md).
    private mutating func doorRefusal(_ commit: Commit) throws -> StoreError? {
        let (author, scope, seq) = (commit.author, commit.scope, commit.sequence)
        guard scope != Commit.registryScope, author != replica.root else { return nil }
        if let refusal = try strangerRefusal(commit) { return refusal }
        let options = replica.options
        if commit.timestamp.milliseconds > now, commit.timestamp.milliseconds - now > options.maxHeldAhead {
            return StoreError(
                .futureTimestamp,
                "commit \(seq) of \(author.fingerprint) in \(scope) is stamped \(commit.timestamp.iso8601), more than \(options.maxHeldAhead / 86_400_000) days ahead of this computer's clock; it is refused (check the clock of the device that wrote it)"
            )
        }
        if commit.schemaVersion > replica.schema.version,
            commit.schemaVersion - replica.schema.version > options.maxSchemaAhead
        {
            return StoreError(
                .newerSchema,
                "commit \(seq) of \(author.fingerprint) in \(scope) claims schema \(commit.schemaVersion), more than \(options.maxSchemaAhead) versions past this build's \(replica.schema.version); it is refused"
            )
        }
        let head = try registryHead()
        if commit.registrySequence > head {
            if options.localAuthor == replica.root {
                return StoreError(
                    .notAuthorized,
                    "commit \(seq) of \(author.fingerprint) in \(scope) cites registry commit \(commit.registrySequence), but the county registry has \(head): it cannot have been written under it"
                )
            }
            if commit.registrySequence - head > options.maxRegistryAhead {
                return StoreError(
                    .notEnrolled,
                    "commit \(seq) of \(author.fingerprint) in \(scope) cites registry commit \(commit.registrySequence), more than \(options.maxRegistryAhead) past this replica's \(head); it is refused until the registry has caught up"
                )
            }
        }
        return nil
    }

    /// Why a commit is refused for its author alone: not a registry commit, not by the root, and by
    /// a device the registry held here never enrolled (`ReplicaPolicy.isKnownAuthor`).
    private mutating func strangerRefusal(_ commit: Commit) throws -> StoreError? {
        let author = commit.author
        guard commit.scope != Commit.registryScope, author != replica.root, !knownAuthors.contains(author) else {
            return nil
        }
        let registry = RegistrySnapshot(db: db, root: replica.root, sequence: try registryHead())
        guard try replica.policy.isKnownAuthor(author, registry: registry) else {
            return StoreError(
                .notEnrolled,
                "device \(author.fingerprint) is not enrolled in the registry held here (up to registry commit \(registry.sequence)), nor ever was: its commit \(commit.sequence) in \(commit.scope) is refused, and taken once the registry that enrolls it has arrived"
            )
        }
        knownAuthors.insert(author)
        return nil
    }

    mutating func registryGeneration() throws -> Int64 {
        if let generationCache { return generationCache }
        let generation = try Replica.registryGeneration(db)
        generationCache = generation
        return generation
    }

    mutating func registryHead() throws -> UInt64 {
        let head = try registryHeadCache ?? replica.cachedRegistryHead(db, generation: registryGeneration())
        registryHeadCache = head
        return head
    }

    private func hold(_ k: Int64, oldCode: String?, _ error: StoreError) throws {
        guard oldCode != error.code.rawValue else { return }
        try db.cachedStatement(sql: "UPDATE _log SET reason = ?, reason_code = ? WHERE k = ?").execute(arguments: [
            error.message, error.code.rawValue, k,
        ]
        )
    }

    /// A commit outside the registry, in its feed's order (this replica's own, or a received one
    /// whose place was checked): judged at once and stored applied, with none of the round trip
    /// through the waiting commits (stored pending, settled, marked applied). It is judged by the
    /// settle's own rule (`judge`), at the point the settle would reach it: nothing of its feed
    /// waits, so its predecessor is applied or excluded. When a commit of its feed waits, or the
    /// judgement is anything but apply, it returns false having stored nothing, and the caller
    /// takes it the general way, which gives the reasons.
    /// Both callers have checked the commit's changes already: `receive` at the door (a commit of a
    /// later schema is held by `judge` before the check would matter), a local write per change.
    /// - Parameter local: written by this replica (its time is already the local clock's).
    mutating func takeAtOnce(_ signed: SignedCommit, local: Bool) throws -> Bool {
        let commit = signed.commit
        guard commit.scope != Commit.registryScope else { return false }
        if let feed = try feed(commit.author, commit.scope), !feedsNotWaiting.contains(feed.number) {
            let waits = try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS(SELECT 1 FROM _log WHERE k BETWEEN ? AND ? AND status = 1)"),
                arguments: [LogKey.first(feed.number), LogKey.last(feed.number)]
            )
            guard waits == false else { return false }
            feedsNotWaiting.insert(feed.number)
        }
        guard case .apply = try judge(commit, changesChecked: true) else { return false }
        guard let k = try store(signed, status: .applied, reason: nil, raisesHead: true) else { return false }
        try apply(signed, at: k, storedApplied: true, local: local)
        if local {
            // A local commit taken at once leaves its feed's head in the log: `finish` writes
            // nothing to `_feeds` for it, or once marks the feed so (`FeedRecord.headInLog`).
            let key = FeedKey(author: commit.author, scope: commit.scope)
            raisedHeads.remove(key)
            if feeds[key]?.headInLog == false { headsToLog.insert(key) }
        }
        return true
    }

    private static func record(
        _ changes: ArraySlice<Change>,
        of signed: SignedCommit,
        at k: Int64,
        into work: inout RowWork
    ) {
        let commit = signed.commit
        for change in changes {
            work.columns.insert(change.column)
            work.applied.append(
                RowWork.Change(
                    k: k,
                    id: signed.id,
                    scope: commit.scope,
                    timestamp: commit.timestamp,
                    column: change.column,
                    value: change.value,
                    supersedes: change.supersedes
                )
            )
        }
    }

    private mutating func apply(
        _ signed: SignedCommit,
        at k: Int64,
        storedApplied: Bool = false,
        local: Bool = false
    ) throws {
        let commit = signed.commit
        // The changes of one row are next to each other in a commit (its canonical order): each
        // run of them is recorded with one lookup of the row's work.
        let changes = commit.changes
        var start = 0
        while start < changes.count {
            let first = changes[start]
            var end = start + 1
            while end < changes.count, changes[end].row == first.row, changes[end].table == first.table { end += 1 }
            Self.record(
                changes[start..<end],
                of: signed,
                at: k,
                into: &rows[RowKey(table: first.table, row: Data(first.row.bytes16)), default: RowWork()]
            )
            start = end
        }
        // The registry's cells keep a version per commit too: the policies read the registry as of
        // a sequence (`RegistrySnapshot`).
        if commit.scope == Commit.registryScope {
            let idData = Data(signed.id.bytes)
            let author = Data(commit.author.bytes)
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO _versions(tbl, row, col, commit_id, scope, author, seq, hlc, value, supersedes, valid)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
                    ON CONFLICT(tbl, row, col, commit_id) DO UPDATE SET valid = 1
                    """
            )
            for change in commit.changes {
                let supersedes = change.supersedes.isEmpty ? nil : Data(change.supersedes.flatMap(\.bytes))
                try statement.execute(arguments: [
                    change.table, Data(change.row.bytes16), change.column, idData, commit.scope, author,
                    Int64(commit.sequence), Int64(bitPattern: commit.timestamp.rawValue),
                    change.value.databaseValue, supersedes,
                ])
            }
        }
        if !storedApplied {
            try db.cachedStatement(sql: "UPDATE _log SET status = 0, reason = NULL, reason_code = NULL WHERE k = ?")
                .execute(arguments: [k])
        }
        // A local commit's time is already the local clock's; a remote one advances the clock
        // integration keeps, written once when the transaction's work is done (`finish`).
        if !local {
            let last = try observedClock ?? Replica.clock(db)
            observedClock = HybridClock.observe(last: last, remote: commit.timestamp)
            if storedClock == nil { storedClock = last }
        }
        if commit.scope == Commit.registryScope {
            registryChanged = true
            registryHeadCache = nil
            generationCache = nil
            try Replica.bumpRegistryGeneration(db)
        }
        report.applied += 1
    }

    private mutating func exclude(
        _ signed: SignedCommit,
        at k: Int64,
        wasApplied: Bool,
        because error: StoreError
    ) throws {
        if !wasApplied && !keepsRefused && error.code != .fork {
            try discard(signed, at: k, because: error)
            return
        }
        try db.cachedStatement(sql: "UPDATE _log SET status = 2, reason = ?, reason_code = ? WHERE k = ?").execute(
            arguments: [error.message, error.code.rawValue, k]
        )
        if wasApplied {
            try unapply(signed)
            report.excludedLater += 1
        }
        refuse(signed, error, stored: true)
    }

    /// Drops a refused commit and every later pending commit of its feed (they cannot follow it).
    private mutating func discard(_ signed: SignedCommit, at k: Int64, because error: StoreError) throws {
        let commit = signed.commit
        let feed = LogKey.feed(k)
        let later = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT id, body, signature FROM _log WHERE k > ? AND k <= ? AND status = 1"),
            arguments: [k, LogKey.last(feed)]
        )
        try db.cachedStatement(sql: "DELETE FROM _log WHERE k >= ? AND k <= ? AND status = 1")
            .execute(arguments: [k, LogKey.last(feed)])
        refuse(signed, error, stored: false)
        for row in later {
            let id = try CommitID(bytes: [UInt8](row["id"] as Data))
            let follower = try SignedCommit(
                trustedBody: [UInt8](row["body"] as Data),
                id: id,
                signature: [UInt8](row["signature"] as Data)
            )
            refuse(
                follower,
                StoreError(error.code, "follows refused commit \(commit.sequence) of its feed: \(error.message)"),
                stored: false
            )
        }
        let key = FeedKey(author: commit.author, scope: commit.scope)
        storedHeads[feed] = nil
        let head = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT MAX(k) FROM _log WHERE k BETWEEN ? AND ?"),
            arguments: [LogKey.first(feed), LogKey.last(feed)]
        )
        if let head {
            let sequence = LogKey.sequence(head)
            try db.cachedStatement(sql: "UPDATE _feeds SET head_seq = ? WHERE feed = ?").execute(
                arguments: [Int64(sequence), feed])
            feeds[key]?.head = sequence
            feeds[key]?.headInLog = false
        } else {
            try db.cachedStatement(sql: "DELETE FROM _feeds WHERE feed = ?").execute(arguments: [feed])
            feeds[key] = nil
        }
    }

    /// Takes an applied commit's changes back: the rows it wrote are recomputed from the commits
    /// still applied (`finish`). The rows are the ones its signed body changes: nothing indexes
    /// the log by row or by commit id (it cost every commit random-key index entries, for the rare
    /// exclusion).
    mutating func unapply(_ signed: SignedCommit) throws {
        for change in signed.commit.changes {
            let key = RowKey(table: change.table, row: Data(change.row.bytes16))
            rows[key, default: RowWork()].unapplied = true
            rows[key]!.columns.insert(change.column)
        }
        if signed.commit.scope == Commit.registryScope {
            let statement = try db.cachedStatement(
                sql: "UPDATE _versions SET valid = 0 WHERE tbl = ? AND row = ? AND col = ? AND commit_id = ?"
            )
            for change in signed.commit.changes {
                try statement.execute(arguments: [
                    change.table, Data(change.row.bytes16), change.column, Data(signed.id.bytes),
                ])
            }
        }
        if signed.commit.scope == Commit.registryScope {
            registryChanged = true
            registryHeadCache = nil
            generationCache = nil
            try Replica.bumpRegistryGeneration(db)
        }
    }

    /// Excludes every applied or pending commit of a feed from `sequence` on (after a fork).
    private mutating func excludeFeed(_ feed: Int64, from sequence: UInt64, because error: StoreError) throws {
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT k, id, status, body, signature FROM _log WHERE k >= ? AND k <= ? AND status IN (0, 1)"
            ),
            arguments: [LogKey.make(feed, sequence), LogKey.last(feed)]
        )
        for row in rows {
            let idData: Data = row["id"]
            try db.cachedStatement(sql: "UPDATE _log SET status = 2, reason = ?, reason_code = ? WHERE k = ?")
                .execute(arguments: [error.message, error.code.rawValue, row["k"] as Int64])
            if row["status"] as Int == CommitStatus.applied.rawValue {
                let id = try CommitID(bytes: [UInt8](idData))
                try unapply(
                    decoded[id]
                        ?? SignedCommit(
                            trustedBody: [UInt8](row["body"] as Data),
                            id: id,
                            signature: [UInt8](row["signature"] as Data)
                        )
                )
                report.excludedLater += 1
            }
        }
    }

    private mutating func revocations() throws -> [PublicKey: Revocation] {
        if let revocationCache { return revocationCache }
        let generation = try registryGeneration()
        if let cached = replica.registryCache.withLock({ $0.generation == generation ? $0.revocations : nil }) {
            revocationCache = cached
            return cached
        }
        let list = try replica.policy.revocations(registry: try replica.currentRegistry(db))
        let map = Dictionary(list.map { ($0.author, $0) }, uniquingKeysWith: { $0.combined(with: $1) })
        revocationCache = map
        replica.registryCache.withLock { cache in
            cache.reset(to: generation)
            cache.revocations = map
        }
        return map
    }

    /// The policy's verdict, reused for commits the policy says it depends on alike (same author,
    /// scope, registry sequence and `verdictKey`) within one registry generation.
    private mutating func verdict(_ commit: Commit, snapshotSeq: UInt64) throws -> PolicyVerdict {
        let snapshot = RegistrySnapshot(db: db, root: replica.root, sequence: snapshotSeq)
        guard let key = replica.policy.verdictKey(for: commit) else {
            return try replica.policy.authorize(commit, registry: snapshot)
        }
        let fullKey = RegistryCache.VerdictKey(
            author: commit.author,
            scope: commit.scope,
            registrySequence: snapshotSeq,
            policyKey: key
        )
        let generation = try registryGeneration()
        if let cached = replica.registryCache.withLock({ $0.generation == generation ? $0.verdicts[fullKey] : nil }) {
            return cached
        }
        let verdict = try replica.policy.authorize(commit, registry: snapshot)
        replica.registryCache.withLock { cache in
            cache.reset(to: generation)
            cache.verdicts[fullKey] = verdict
        }
        return verdict
    }

    /// Excludes applied commits that a cut-off now covers, and puts back to pending the commits a
    /// cut-off had excluded when it no longer covers them (a feed reopened by linking a cadre again),
    /// so that the outcome depends on the registry held, never on the order things arrived in.
    private mutating func enforceRevocations() throws -> Bool {
        var progress = false
        let cutOff = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT l.k, f.author, f.scope FROM _log l JOIN _feeds f ON f.feed = l.k >> 32
                    WHERE l.status = 2 AND l.reason_code = 'revoked'
                    """
            )
        )
        for row in cutOff {
            let author = try PublicKey(bytes: [UInt8](row["author"] as Data))
            let scope: String = row["scope"]
            let k: Int64 = row["k"]
            if let cutoff = try revocations()[author]?.cutoff(in: scope), LogKey.sequence(k) > cutoff {
                continue
            }
            try db.cachedStatement(sql: "UPDATE _log SET status = 1, reason = NULL, reason_code = NULL WHERE k = ?")
                .execute(arguments: [k])
            feedsNotWaiting.remove(LogKey.feed(k))
            progress = true
        }
        for (author, revocation) in try revocations() {
            var rows: [(scope: String, row: Row)] = []
            let authorFeeds = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT feed, scope FROM _feeds WHERE author = ? ORDER BY scope"),
                arguments: [Data(author.bytes)]
            )
            for feed in authorFeeds {
                let scope: String = feed["scope"]
                guard let cutoff = revocation.cutoff(in: scope) else { continue }
                let number: Int64 = feed["feed"]
                rows += try Row.fetchAll(
                    db.cachedStatement(
                        sql: "SELECT k, id, body, signature FROM _log WHERE k > ? AND k <= ? AND status = 0"
                    ),
                    arguments: [LogKey.make(number, min(cutoff, LogKey.maxSequence)), LogKey.last(number)]
                ).map { (scope, $0) }
            }
            for (scope, row) in rows {
                let k: Int64 = row["k"]
                guard let cutoff = revocation.cutoff(in: scope), LogKey.sequence(k) > cutoff else { continue }
                let id = try CommitID(bytes: [UInt8](row["id"] as Data))
                let signed = try SignedCommit(
                    trustedBody: [UInt8](row["body"] as Data),
                    id: id,
                    signature: [UInt8](row["signature"] as Data)
                )
                try exclude(
                    signed,
                    at: k,
                    wasApplied: true,
                    because: StoreError(
                        .revoked,
                        "the device \(author.fingerprint) is cut off after seq \(cutoff) of its feed in \(scope) (revoked, or unlinked from it)"
                    )
                )
                progress = true
            }
        }
        return progress
    }

    // MARK: Projection

    /// Writes the clock and each raised feed head once, and projects every row this transaction applied commits to or took
    /// commits back from (`Integrator+Projection.swift`).
    mutating func finish() throws {
        if let observedClock, observedClock != storedClock {
            try Replica.setClock(db, observedClock)
            storedClock = observedClock
        }
        for key in raisedHeads {
            guard let feed = feeds[key] else { continue }
            try db.cachedStatement(sql: "UPDATE _feeds SET head_seq = ? WHERE feed = ?").execute(arguments: [
                Int64(feed.head), feed.number,
            ])
            feeds[key]?.headInLog = false
        }
        raisedHeads.removeAll()
        for key in headsToLog where !(feeds[key]?.headInLog ?? true) && feeds[key]?.forkSeq == nil {
            try db.cachedStatement(sql: "UPDATE _feeds SET head_seq = ? WHERE feed = ?").execute(arguments: [
                FeedRecord.headInLog, feeds[key]!.number,
            ])
            feeds[key]?.headInLog = true
        }
        headsToLog.removeAll()
        for (key, work) in rows {
            try project(key, work)
            report.cellsRecomputed += work.columns.count
        }
        rows.removeAll()
    }
}
