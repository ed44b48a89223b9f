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

    /// Runs one sync: `SyncSession` decides each step; this loop carries it out over `transport`
    /// and the replica.
    public func sync(
        over transport: some SyncTransport,
        progress: ((SyncProgress) -> Void)? = nil
    ) async throws -> SyncSummary {
        var session = SyncSession(batchCommits: batchCommits, batchBytes: batchBytes)
        func fetch(_ request: SyncRequest?) async throws -> SyncResponse? {
            guard let request else { return nil }
            return try await transport.exchange(request)
        }
        let known = Set((try replica.metaValue(scopesKey)).map { $0.split(separator: "\n").map(String.init) } ?? [])
        var action = try session.start(digest: try replica.headsDigest(scopes: known))
        while true {
            let event: SyncSession.Event
            switch action {
            case .send(let request):
                event = .answered(try await transport.exchange(request))
            case .readHeads(let scopes):
                try replica.setMetaValue(scopesKey, scopes.sorted().joined(separator: "\n"))
                event = .localHeads(try replica.heads(scopes: scopes))
            case .readForks(let scopes):
                event = .localForks(try replica.forkPoints(scopes: scopes))
            case .take(let records, let prefetch, let scopes):
                // The next batch is asked for while this one is taken in.
                async let prefetched = fetch(prefetch)
                let report: ImportReport
                do {
                    report = try replica.importRecords(records)
                } catch {
                    _ = try? await prefetched
                    throw error
                }
                let heads = try replica.heads(scopes: scopes)
                event = .took(report, heads: heads, prefetched: try await prefetched)
            case .readPush(let after, let maxCommits, let maxBytes):
                let batch = try replica.records(after: after, maxCommits: maxCommits, maxBytes: maxBytes)
                event = .pushBatch(records: batch.records, more: batch.more)
            case .readDigests(let scopes):
                var digests: [String: String] = [:]
                for scope in scopes { digests[scope] = try replica.digest(scope: scope) }
                event = .localDigests(digests)
            case .finish(var summary):
                if !summary.upToDate { summary.conflicts = try replica.conflicts().count }
                return summary
            }
            action = try session.next(event)
            if let step = session.takeProgress() { progress?(step) }
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
