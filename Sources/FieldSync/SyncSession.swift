import FieldStore

/// One sync, as a value (docs/sync-protocol.md, "Idea" and "Messages"): fed what happened, it says
/// what to do next. It does no I/O: `SyncClient` drives it over a transport and a replica, and
/// tests drive it with made-up answers.
///
/// The rounds: a summary (the peer says whether anything differs, and the digest of each scope
/// this device may read there); the heads of the differing scopes; pulls in bounded batches until
/// the peer has nothing more (the next batch asked for while this one is taken in, when its heads
/// can be predicted from the batch); pushes of what the peer lacks; and, where anything differed,
/// the state digests of those scopes, compared with this replica's.
public struct SyncSession: Sendable {
    /// What the driver does next.
    public enum Action: Sendable, Equatable {
        /// Send the request; report its answer with `.answered`.
        case send(SyncRequest)
        /// Remember that the peer lets this replica read `scopes`, and report this replica's heads
        /// in them with `.localHeads`.
        case readHeads(scopes: Set<String>)
        /// Report this replica's fork points in these scopes (`Replica.forkPoints`) with `.localForks`:
        /// asked only when the peer holds forks there.
        case readForks(scopes: Set<String>)
        /// Take the pulled records in, sending `prefetch` (if any) meanwhile; report what was taken,
        /// this replica's heads in `headsOf` after it, and the prefetched answer, with `.took`.
        case take(records: [[UInt8]], prefetch: SyncRequest?, headsOf: Set<String>)
        /// Read this replica's next commits after `after` (at most `maxCommits` and about
        /// `maxBytes`); report them with `.pushBatch`.
        case readPush(after: [FeedHead], maxCommits: Int, maxBytes: Int)
        /// Compute this replica's state digests of `scopes`; report them with `.localDigests`.
        case readDigests([String])
        /// The sync is over (the driver adds the open conflicts it leaves).
        case finish(SyncSummary)
    }

    /// What happened.
    public enum Event: Sendable {
        case answered(SyncResponse)
        case localHeads([FeedHead])
        case localForks([FeedHead])
        case took(ImportReport, heads: [FeedHead], prefetched: SyncResponse?)
        case pushBatch(records: [[UInt8]], more: Bool)
        case localDigests([String: String])
    }

    enum Phase: Sendable {
        case summary
        case readingHeads(serverDigests: [String: String])
        case heads(differing: [String], localHeads: [FeedHead])
        /// A pull was sent after `pull`.
        case pulling
        /// Records are being taken; the prefetch (if any) asked for the heads `predicted`.
        case taking(records: Int, more: Bool, predicted: [FeedHead], prefetch: SyncRequest?)
        case readingPush
        case pushing(more: Bool, records: [[UInt8]])
        case comparing
        case readingDigests(theirs: [String: String])
        case readingForks(theirs: [FeedHead], localHeads: [FeedHead])
        case rereadingHeads
        case done
    }

    public let batchCommits: Int
    public let batchBytes: Int
    public private(set) var summary = SyncSummary()
    var phase = Phase.summary
    var differing: [String] = []
    /// The scopes the peer said this replica may read (what the client remembers for the next sync).
    var readableScopes: Set<String> = []
    var scopes: Set<String> = []
    /// The peer's head of each feed (a feed leaves the pull once this replica holds it up to there).
    var targets: [FeedKey: UInt64] = [:]
    var pull: [FeedHead] = []
    var push: [FeedHead] = []
    /// Feeds whose commits here and at the peer do not chain (a commit refused as a broken chain,
    /// either way): the same key wrote two branches. Each is pushed whole once per sync, so that
    /// the peer holds both commits of the place where they part and finds the fork (docs/merge.md,
    /// rule 6), which no comparison of heads can show.
    var diverged: Set<FeedKey> = []
    var pushedWhole: Set<FeedKey> = []
    /// Feeds the peer found forked in this replica's push, by the first sequence it refused as a
    /// fork: their commits from there are pulled once, so that this replica holds the other
    /// branch too, finds the same fork, and shows what the peer shows.
    var forkedThere: [FeedKey: UInt64] = [:]
    var pulledForks = false
    /// Whether the heads of the scopes still differing at the end were asked for once more. That is
    /// done when what this sync took moved a head back (a readmission read from the registry it
    /// pulled makes a feed wait for the branch it chose): the commits to pull are known only then.
    var askedAgain = false
    /// The heads this replica announced, and whether a batch it took moved one of them back.
    var announced: [FeedKey: UInt64] = [:]
    var headMovedBack = false
    /// Progress to report, once, after a batch is taken or pushed.
    var pendingProgress: SyncProgress?

    public init(batchCommits: Int = SyncProtocol.maxBatchCommits, batchBytes: Int = SyncProtocol.maxBatchBytes) {
        self.batchCommits = batchCommits
        self.batchBytes = batchBytes
    }

    /// The first action: the summary, with the digest of this replica's heads in the scopes it
    /// last learned it may read.
    public mutating func start(digest: String) throws -> Action {
        try send(.summary(SummaryRequest(digest: digest)))
    }

    /// The progress made since the last call, if a batch was taken or pushed.
    public mutating func takeProgress() -> SyncProgress? {
        defer { pendingProgress = nil }
        return pendingProgress
    }

    /// The next action after `event`.
    /// - Throws: `SyncError` when the peer answers out of turn, or the pull makes no progress.
    public mutating func next(_ event: Event) throws -> Action {
        switch (phase, event) {
        case (.summary, .answered(let response)):
            try received(response)
            guard case .summary(let first) = response else { throw Self.wrongAnswer(to: "a summary") }
            if first.upToDate {
                summary.upToDate = true
                return finish()
            }
            let serverDigests = first.scopeDigests ?? [:]
            phase = .readingHeads(serverDigests: serverDigests)
            return .readHeads(scopes: Set(serverDigests.keys))
        case (.readingHeads(let serverDigests), .localHeads(let heads)):
            let readable = Set(serverDigests.keys)
            readableScopes = readable
            let localDigests = SyncPlanner.scopeDigests(heads, scopes: readable)
            differing = SyncPlanner.differingScopes(server: serverDigests, client: localDigests)
            scopes = Set(differing)
            let localHeads = heads.filter { scopes.contains($0.scope) }
            phase = .heads(differing: differing, localHeads: localHeads)
            return try send(.heads(HeadsRequest(scopes: differing, heads: localHeads)))
        case (.heads(_, let localHeads), .answered(let response)):
            try received(response)
            guard case .heads(let remote) = response else { throw Self.wrongAnswer(to: "heads") }
            let plan = SyncPlanner.plan(client: localHeads, server: remote.heads, scopes: scopes)
            announced = Dictionary(localHeads.map { ($0.feed, $0.head) }, uniquingKeysWith: max)
            targets = Dictionary(remote.heads.map { ($0.feed, $0.head) }, uniquingKeysWith: max)
            pull = plan.pull
            push = plan.push
            if let forks = remote.forks, !forks.isEmpty {
                phase = .readingForks(theirs: forks, localHeads: localHeads)
                return .readForks(scopes: scopes)
            }
            guard !pull.isEmpty else { return try startPushing() }
            phase = .pulling
            return try send(pullRequest(after: pull))
        case (.readingForks(let theirs, let localHeads), .localForks(let mine)):
            // A feed the peer excludes from a fork that this replica holds past that place without
            // the fork: pulled from just before it, so the other branch comes here too.
            let forkedHere = Dictionary(mine.map { ($0.feed, $0.head) }, uniquingKeysWith: min)
            let held = Dictionary(localHeads.map { ($0.feed, $0.head) }, uniquingKeysWith: max)
            for fork in theirs where fork.head > 0 && (held[fork.feed] ?? 0) >= fork.head {
                if let here = forkedHere[fork.feed], here <= fork.head { continue }
                pull.removeAll { $0.feed == fork.feed }
                pull.append(FeedHead(author: fork.author, scope: fork.scope, head: fork.head - 1))
                targets[fork.feed] = nil
            }
            guard !pull.isEmpty else { return try startPushing() }
            phase = .pulling
            return try send(pullRequest(after: pull))
        case (.pulling, .answered(let response)):
            try received(response)
            return try pulled(response)
        case (.taking(let count, let more, let predicted, let prefetch), .took(let report, let heads, let prefetched)):
            summary.received += count - report.skipped - report.refused.filter { !$0.isStored }.count
            summary.refusedHere += report.refused.filter { !$0.isStored }
            summary.heldHere = report.held
            noteDivergence(report.refused)
            if heads.contains(where: { $0.head < announced[$0.feed] ?? 0 }) { headMovedBack = true }
            pendingProgress = SyncProgress(phase: "pull", commits: summary.received, bytes: summary.responseBytes)
            guard more, count > 0 else { return try startPushing() }
            let now = Dictionary(heads.map { ($0.feed, $0.head) }, uniquingKeysWith: max)
            let advanced = unfinished(
                pull.map { FeedHead(author: $0.author, scope: $0.scope, head: now[$0.feed] ?? 0) }
            )
            guard advanced != pull else {
                throw SyncError(
                    .noProgress,
                    "the peer's commits could not be taken (\(report.refused.first?.reason ?? "no reason")); sync stopped"
                )
            }
            guard !advanced.isEmpty else { return try startPushing() }
            pull = advanced
            if let prefetch, let prefetched, advanced == predicted {
                // The answer asked for ahead is the one needed: counted as if sent now.
                _ = try send(prefetch)
                try received(prefetched)
                return try pulled(prefetched)
            }
            phase = .pulling
            return try send(pullRequest(after: advanced))
        case (.readingPush, .pushBatch(let records, let more)):
            guard !records.isEmpty else { return try compare() }
            phase = .pushing(more: more, records: records)
            return try send(.push(records))
        case (.pushing(let more, let records), .answered(let response)):
            try received(response)
            guard case .push(let result) = response else { throw Self.wrongAnswer(to: "a push") }
            summary.sent += result.applied + result.held
            summary.refusedThere += result.refused
            noteDivergence(result.refused)
            for refusal in result.refused where refusal.code == .fork && refusal.sequence > 0 {
                let feed = FeedKey(scope: refusal.scope, author: refusal.author)
                forkedThere[feed] = min(forkedThere[feed] ?? .max, refusal.sequence)
            }
            pendingProgress = SyncProgress(phase: "push", commits: summary.sent, bytes: summary.requestBytes)
            guard more else {
                push = []
                return try startPushing()
            }
            var last: [FeedKey: UInt64] = [:]
            for record in records {
                let commit = try WireRecord.unverifiedCommit(record)
                last[commit.feed] = max(last[commit.feed] ?? 0, commit.sequence)
            }
            push = push.map { FeedHead(author: $0.author, scope: $0.scope, head: last[$0.feed] ?? $0.head) }
            return try startPushing()
        case (.comparing, .answered(let response)):
            try received(response)
            guard case .stateDigests(let theirs) = response else { throw Self.wrongAnswer(to: "digests") }
            phase = .readingDigests(theirs: theirs)
            return .readDigests(differing.filter { theirs[$0] != nil })
        case (.readingDigests(let theirs), .localDigests(let mine)):
            summary.divergentScopes = differing.filter { scope in theirs[scope].map { $0 != mine[scope] } ?? false }
            guard summary.divergentScopes.isEmpty || askedAgain || !headMovedBack else {
                askedAgain = true
                phase = .rereadingHeads
                return .readHeads(scopes: readableScopes)
            }
            return finish()
        case (.rereadingHeads, .localHeads(let heads)):
            let again = Set(summary.divergentScopes)
            let localHeads = heads.filter { again.contains($0.scope) }
            phase = .heads(differing: differing, localHeads: localHeads)
            return try send(.heads(HeadsRequest(scopes: summary.divergentScopes, heads: localHeads)))
        default:
            throw SyncError(
                .transport,
                "the sync went out of turn (an answer or a read came when none was due); sync again"
            )
        }
    }

    // MARK: Steps

    /// Counts a request and sends it.
    mutating func send(_ request: SyncRequest) throws -> Action {
        summary.requestBytes += try SyncWire.encode(request).body.count
        summary.requests += 1
        return .send(request)
    }

    /// Counts an answer.
    mutating func received(_ response: SyncResponse) throws {
        summary.responseBytes += try SyncWire.encode(response).body.count
    }

    static func wrongAnswer(to request: String) -> SyncError {
        SyncError(.transport, "the peer answered \(request) with something else")
    }

    /// A pulled batch: take it in, asking for the next one meanwhile when its heads can be
    /// predicted from this one.
    mutating func pulled(_ response: SyncResponse) throws -> Action {
        guard case .pull(let records, let more) = response else { throw Self.wrongAnswer(to: "a pull") }
        let predicted = unfinished(try Self.advance(pull, by: records))
        let prefetch = more && !records.isEmpty && predicted != pull && !predicted.isEmpty
        let next = prefetch ? pullRequest(after: predicted) : nil
        phase = .taking(records: records.count, more: more, predicted: predicted, prefetch: next)
        return .take(records: records, prefetch: next, headsOf: scopes)
    }

    /// Notes the feeds of commits refused as a broken chain.
    mutating func noteDivergence(_ refused: [ImportReport.Refusal]) {
        for refusal in refused where refusal.code == .brokenChain && !refusal.author.isEmpty {
            diverged.insert(FeedKey(scope: refusal.scope, author: refusal.author))
        }
    }

    mutating func startPushing() throws -> Action {
        let whole = diverged.subtracting(pushedWhole).filter { scopes.contains($0.scope) }
        if !whole.isEmpty {
            pushedWhole.formUnion(whole)
            push =
                push.filter { !whole.contains($0.feed) }
                + whole.sorted().map { FeedHead(author: $0.author, scope: $0.scope, head: 0) }
        }
        if push.isEmpty, !pulledForks, !forkedThere.isEmpty {
            pulledForks = true
            pull = forkedThere.sorted { $0.key < $1.key }.map {
                FeedHead(author: $0.key.author, scope: $0.key.scope, head: $0.value - 1)
            }
            targets = targets.filter { forkedThere[$0.key] == nil }
            phase = .pulling
            return try send(pullRequest(after: pull))
        }
        guard !push.isEmpty else { return try compare() }
        phase = .readingPush
        return .readPush(after: push, maxCommits: batchCommits, maxBytes: batchBytes)
    }

    mutating func compare() throws -> Action {
        guard !differing.isEmpty else { return finish() }
        phase = .comparing
        return try send(.stateDigests(differing))
    }

    mutating func finish() -> Action {
        phase = .done
        return .finish(summary)
    }

    func pullRequest(after heads: [FeedHead]) -> SyncRequest {
        .pull(PullRequest(after: heads, maxCommits: batchCommits, maxBytes: batchBytes))
    }

    /// The feeds of `heads` this replica does not yet hold up to the peer's head.
    func unfinished(_ heads: [FeedHead]) -> [FeedHead] {
        heads.filter { $0.head < targets[$0.feed] ?? .max }
    }

    /// The heads `after` would have once `records` (in feed order) are all taken.
    static func advance(_ after: [FeedHead], by records: [[UInt8]]) throws -> [FeedHead] {
        var last: [FeedKey: UInt64] = [:]
        for record in records where record.count > 4 + WireRecord.signatureSize {
            let place = try WireRecord.place(record)
            last[place.feed] = max(last[place.feed] ?? 0, place.sequence)
        }
        return after.map {
            FeedHead(author: $0.author, scope: $0.scope, head: max($0.head, last[$0.feed] ?? 0))
        }
    }
}
