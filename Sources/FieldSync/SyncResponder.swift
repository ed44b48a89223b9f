import FieldStore
import Foundation

/// The serving side of a sync, over one replica, for a peer that may read `readableScopes`.
/// The hub builds one per request with the scopes of the device that signed it; a laptop serving
/// another laptop uses the scopes it holds.
public struct SyncResponder: Sendable {
    public let replica: Replica
    public let readableScopes: Set<String>
    /// False on the hub: pushed commits the policy refuses are not stored.
    public var keepsRefused = true

    public init(replica: Replica, readableScopes: Set<String>, keepsRefused: Bool = true) {
        self.replica = replica
        self.readableScopes = readableScopes
        self.keepsRefused = keepsRefused
    }

    /// Answers one request.
    public func respond(to request: SyncRequest) throws -> SyncResponse {
        switch request {
        case .summary(let summary):
            guard summary.version == SyncProtocol.version else {
                throw SyncError(
                    .unsupportedVersion,
                    "sync protocol version \(summary.version) is not supported (this hub speaks \(SyncProtocol.version))"
                )
            }
            if try replica.headsDigest(scopes: readableScopes) == summary.digest {
                return .summary(SummaryResponse(upToDate: true, scopeDigests: nil))
            }
            let heads = try replica.heads(scopes: readableScopes)
            return .summary(
                SummaryResponse(upToDate: false, scopeDigests: SyncPlanner.scopeDigests(heads, scopes: readableScopes))
            )
        case .heads(let request):
            let scopes = Set(request.scopes).intersection(readableScopes)
            return .heads(
                HeadsResponse(heads: try replica.heads(scopes: scopes), forks: try replica.forkPoints(scopes: scopes))
            )
        case .pull(let pull):
            let wanted = pull.after.filter { readableScopes.contains($0.scope) }
            let batch = try replica.records(
                after: wanted,
                maxCommits: max(1, min(pull.maxCommits, SyncProtocol.maxBatchCommits)),
                maxBytes: max(1, min(pull.maxBytes, SyncProtocol.maxBatchBytes))
            )
            return .pull(records: batch.records, more: batch.more)
        case .push(let records):
            return .push(
                PushResponse(
                    try replica.integrate(
                        try Self.admitPush(records, readableScopes: readableScopes),
                        keepsRefused: keepsRefused
                    )
                )
            )
        case .stateDigests(let scopes):
            var digests: [String: String] = [:]
            for scope in Set(scopes).intersection(readableScopes) { digests[scope] = try replica.digest(scope: scope) }
            return .stateDigests(digests)
        }
    }

    /// A push's records, each decoded and its signature verified once, before any write: the hub
    /// runs this on the pushing request's own thread, then hands the commits to its one writer.
    public static func admitPush(
        _ records: [[UInt8]],
        readableScopes: Set<String>
    ) throws(SyncError)
        -> [SignedCommit]
    {
        guard records.count <= SyncProtocol.maxBatchCommits else {
            throw SyncError(.batchTooLarge, "a push carries at most \(SyncProtocol.maxBatchCommits) commits")
        }
        return try admit(records, readableScopes: readableScopes)
    }

    /// The door of a push, one rule for every record: a batch that holds anything but well-formed
    /// commits signed by their authors, or a commit in a scope the pushing device may not read, is
    /// refused whole (`badRequest`, `outOfScope`) and nothing of it is taken. Commits that pass are
    /// then judged one by one by the replica, and each refusal is reported in the answer.
    static func admit(_ records: [[UInt8]], readableScopes: Set<String>) throws(SyncError) -> [SignedCommit] {
        var commits: [SignedCommit] = []
        commits.reserveCapacity(records.count)
        for (index, result) in WireRecord.decodeConcurrently(records).enumerated() {
            switch result {
            case .success(let commit): commits.append(commit)
            case .failure(let error):
                throw SyncError(
                    .badRequest,
                    "record \(index + 1) of the push is not a signed commit (\(error.message)); nothing of this batch was taken"
                )
            }
        }
        if let foreign = commits.first(where: { !readableScopes.contains($0.commit.scope) }) {
            throw SyncError(
                .outOfScope,
                "this device may not write or relay commits in \(foreign.commit.scope); nothing of this batch was taken"
            )
        }
        return commits
    }
}
