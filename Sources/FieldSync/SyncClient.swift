import FieldCrypto
import FieldStore
import Foundation

/// Carries one request to a peer and brings back its response (HTTP, or in-process).
public protocol SyncTransport: Sendable {
    func exchange(_ request: SyncRequest) async throws -> SyncResponse
}

/// Progress of a running sync, for a terminal.
public struct SyncProgress: Sendable {
    public var phase: String
    public var commits: Int
    public var bytes: Int
}

/// What a sync did, for the one-line summary.
public struct SyncSummary: Codable, Sendable, Equatable {
    public var upToDate = false
    public var received = 0
    public var sent = 0
    public var refusedHere: [ImportReport.Refusal] = []
    public var refusedThere: [ImportReport.Refusal] = []
    public var heldHere = 0
    public var conflicts = 0
    public var divergentScopes: [String] = []
    public var requestBytes = 0
    public var responseBytes = 0
    public var requests = 0

    /// One line for a terminal.
    public var line: String {
        if upToDate { return "up to date (\(requestBytes + responseBytes) bytes)" }
        var parts = ["received \(received)", "sent \(sent)"]
        let refused = refusedHere.count + refusedThere.count
        if refused > 0 {
            parts.append(
                "refused \(refused): " + (refusedHere + refusedThere).prefix(3).map(\.reason).joined(separator: "; ")
            )
        }
        if heldHere > 0 { parts.append("held \(heldHere)") }
        parts.append("open conflicts \(conflicts)")
        if !divergentScopes.isEmpty { parts.append("DIVERGED in \(divergentScopes.joined(separator: ", "))") }
        return parts.joined(separator: ", ")
    }
}

/// The pulling and pushing side of a sync, driving `SyncPlanner` over a transport.
///
/// Every step is idempotent and resumable: heads are exchanged afresh each time, so an interrupted
/// sync picks up where it stopped and a repeated one changes nothing.
public struct SyncClient: Sendable {
    public let replica: Replica
    /// Names the peer, to remember which scopes it lets us read (kept in the replica's metadata).
    public let peer: String
    public var batchCommits = SyncProtocol.maxBatchCommits
    public var batchBytes = SyncProtocol.maxBatchBytes

    public init(replica: Replica, peer: String) {
        self.replica = replica
        self.peer = peer
    }

    var scopesKey: String { "sync.scopes." + Hex.encode(BLAKE2b.hash256(Array(peer.utf8)).prefix(8)) }

    /// Runs one sync.
    public func sync(
        over transport: some SyncTransport,
        progress: ((SyncProgress) -> Void)? = nil
    ) async throws -> SyncSummary {
        var summary = SyncSummary()
        func exchange(_ request: SyncRequest) async throws -> SyncResponse {
            let encoded = try SyncWire.encode(request)
            summary.requestBytes += encoded.body.count
            summary.requests += 1
            let response = try await transport.exchange(request)
            summary.responseBytes += try SyncWire.encode(response).body.count
            return response
        }
        let known = Set((try replica.metaValue(scopesKey)).map { $0.split(separator: "\n").map(String.init) } ?? [])
        let digest = try replica.headsDigest(scopes: known)
        guard case .summary(let first) = try await exchange(.summary(SummaryRequest(digest: digest))) else {
            throw SyncError(.transport, "the peer answered a summary with something else")
        }
        if first.upToDate {
            summary.upToDate = true
            return summary
        }
        let serverDigests = first.scopeDigests ?? [:]
        let readable = Set(serverDigests.keys)
        try replica.setMetaValue(scopesKey, readable.sorted().joined(separator: "\n"))
        let localDigests = SyncPlanner.scopeDigests(try replica.heads(scopes: readable), scopes: readable)
        let differing = SyncPlanner.differingScopes(server: serverDigests, client: localDigests)
        let scopeSet = Set(differing)
        let localHeads = try replica.heads(scopes: scopeSet)
        guard case .heads(let remote) = try await exchange(.heads(HeadsRequest(scopes: differing, heads: localHeads)))
        else {
            throw SyncError(.transport, "the peer answered heads with something else")
        }
        let plan = SyncPlanner.plan(client: localHeads, server: remote.heads, scopes: scopeSet)
        // Pull what the peer has and we lack, in bounded batches, until it says there is no more.
        // The next batch is asked for while this one is taken in (its heads are predicted from the
        // batch itself); if the replica did not take the whole batch, the prefetched answer is
        // dropped and the next request is made from what the replica actually holds.
        // A feed leaves the request once the replica holds it up to the head the peer announced,
        // so each request (and the peer's work on it) shrinks as the sync goes on.
        let targets = Dictionary(remote.heads.map { ($0.feed, $0.head) }, uniquingKeysWith: max)
        func unfinished(_ heads: [FeedHead]) -> [FeedHead] {
            heads.filter { $0.head < targets[$0.feed] ?? .max }
        }
        var pull = plan.pull
        var response: SyncResponse? =
            pull.isEmpty
            ? nil : try await exchange(.pull(PullRequest(after: pull, maxCommits: batchCommits, maxBytes: batchBytes)))
        while let current = response {
            guard case .pull(let records, let more) = current else {
                throw SyncError(.transport, "the peer answered a pull with something else")
            }
            let predicted = unfinished(try Self.advance(pull, by: records))
            let prefetch = more && !records.isEmpty && predicted != pull && !predicted.isEmpty
            let nextRequest = SyncRequest.pull(
                PullRequest(after: predicted, maxCommits: batchCommits, maxBytes: batchBytes)
            )
            async let prefetched: SyncResponse? = prefetch ? transport.exchange(nextRequest) : nil
            let report: ImportReport
            do {
                report = try replica.importRecords(records)
            } catch {
                _ = try? await prefetched
                throw error
            }
            summary.received += records.count - report.skipped - report.refused.filter { !$0.isStored }.count
            summary.refusedHere += report.refused.filter { !$0.isStored }
            summary.heldHere = report.held
            progress?(SyncProgress(phase: "pull", commits: summary.received, bytes: summary.responseBytes))
            let next = try await prefetched
            guard more, !records.isEmpty else { break }
            let now = Dictionary(
                try replica.heads(scopes: scopeSet).map { ($0.feed, $0.head) },
                uniquingKeysWith: max
            )
            let advanced = unfinished(
                pull.map {
                    FeedHead(author: $0.author, scope: $0.scope, head: now[$0.feed] ?? 0)
                }
            )
            guard advanced != pull else {
                throw SyncError(
                    .noProgress,
                    "the peer's commits could not be taken (\(report.refused.first?.reason ?? "no reason")); sync stopped"
                )
            }
            if advanced.isEmpty { break }
            if let next, advanced == predicted {
                summary.requestBytes += try SyncWire.encode(nextRequest).body.count
                summary.requests += 1
                summary.responseBytes += try SyncWire.encode(next).body.count
                response = next
            } else {
                response = try await exchange(
                    .pull(PullRequest(after: advanced, maxCommits: batchCommits, maxBytes: batchBytes))
                )
            }
            pull = advanced
        }
        // Push what we have and the peer lacks.
        var push = plan.push
        while !push.isEmpty {
            let batch = try replica.records(after: push, maxCommits: batchCommits, maxBytes: batchBytes)
            guard !batch.records.isEmpty else { break }
            guard case .push(let result) = try await exchange(.push(batch.records)) else {
                throw SyncError(.transport, "the peer answered a push with something else")
            }
            summary.sent += result.applied + result.held
            summary.refusedThere += result.refused
            progress?(SyncProgress(phase: "push", commits: summary.sent, bytes: summary.requestBytes))
            guard batch.more else { break }
            var last: [FeedKey: UInt64] = [:]
            for record in batch.records {
                let commit = try WireRecord.unverifiedCommit(record)
                last[commit.feed] = max(last[commit.feed] ?? 0, commit.sequence)
            }
            push = push.map {
                FeedHead(author: $0.author, scope: $0.scope, head: last[$0.feed] ?? $0.head)
            }
        }
        // Compare the state of every scope both sides now hold: a difference is reported loudly.
        if !differing.isEmpty {
            guard case .stateDigests(let theirs) = try await exchange(.stateDigests(differing)) else {
                throw SyncError(.transport, "the peer answered digests with something else")
            }
            for scope in differing {
                guard let remoteDigest = theirs[scope] else { continue }
                if try remoteDigest != replica.digest(scope: scope) { summary.divergentScopes.append(scope) }
            }
        }
        summary.conflicts = try replica.conflicts().count
        return summary
    }
}

extension SyncClient {
    /// The heads `after` would have once `records` (in feed order) are all taken.
    static func advance(_ after: [FeedHead], by records: [[UInt8]]) throws -> [FeedHead] {
        var last: [FeedKey: UInt64] = [:]
        for record in records where record.count > 4 + WireRecord.signatureSize {
            let commit = try WireRecord.unverifiedCommit(record)
            last[commit.feed] = max(last[commit.feed] ?? 0, commit.sequence)
        }
        return after.map {
            FeedHead(author: $0.author, scope: $0.scope, head: max($0.head, last[$0.feed] ?? 0))
        }
    }
}

/// A transport that calls a responder in the same process, through the wire encoding (so byte
/// counts and decoding are the real ones). Used by tests and by laptop-to-laptop sync over a file share.
public struct LocalTransport: SyncTransport {
    public let responder: SyncResponder

    public init(responder: SyncResponder) { self.responder = responder }

    public func exchange(_ request: SyncRequest) async throws -> SyncResponse {
        let encoded = try SyncWire.encode(request)
        let decoded = try SyncWire.decodeRequest(path: encoded.path, body: encoded.body)
        let response = try responder.respond(to: decoded)
        let body = try SyncWire.encode(response).body
        return try SyncWire.decodeResponse(to: request, body: body)
    }
}
