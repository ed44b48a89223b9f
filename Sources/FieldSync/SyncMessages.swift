import FieldStore
import Foundation

/// The messages of the sync protocol, version 1 (see docs/sync-protocol.md).
///
/// Control messages are JSON; commits travel as wire records (the same bytes as in bundles).
public enum SyncRequest: Sendable, Equatable {
    /// Round 1: the digest of the client's heads over the scopes it last learned it may read.
    case summary(SummaryRequest)
    /// Round 2: the client's heads in the scopes whose digests differ.
    case heads(HeadsRequest)
    /// Commits the client lacks, after the heads it names.
    case pull(PullRequest)
    /// Commits the server lacks, in feed order.
    case push([[UInt8]])
    /// The state digests of scopes, to compare once everything is exchanged.
    case stateDigests([String])
}

/// The server's answers, one kind per request kind.
public enum SyncResponse: Sendable, Equatable {
    case summary(SummaryResponse)
    case heads(HeadsResponse)
    case pull(records: [[UInt8]], more: Bool)
    case push(PushResponse)
    case stateDigests([String: String])
}

public struct SummaryRequest: Codable, Sendable, Equatable {
    public var version: Int
    public var digest: String

    public init(version: Int = SyncProtocol.version, digest: String) {
        self.version = version
        self.digest = digest
    }
}

public struct SummaryResponse: Codable, Sendable, Equatable {
    /// True when the server's heads over the client's readable scopes have the same digest.
    public var upToDate: Bool
    /// When not up to date: the heads digest of every scope the client may read.
    public var scopeDigests: [String: String]?

    public init(upToDate: Bool, scopeDigests: [String: String]?) {
        self.upToDate = upToDate
        self.scopeDigests = scopeDigests
    }
}

public struct HeadsRequest: Codable, Sendable, Equatable {
    public var scopes: [String]
    public var heads: [FeedHead]

    public init(scopes: [String], heads: [FeedHead]) {
        self.scopes = scopes
        self.heads = heads
    }
}

public struct HeadsResponse: Codable, Sendable, Equatable {
    public var heads: [FeedHead]
    /// The feeds the server holds as excluded from a fork on, each with that sequence in `head`
    /// (absent when there are none): a client that holds one of them past that place without the
    /// fork pulls it from there and finds the same fork (docs/sync-protocol.md).
    public var forks: [FeedHead]?

    public init(heads: [FeedHead], forks: [FeedHead]? = nil) {
        self.heads = heads
        self.forks = forks?.isEmpty == true ? nil : forks
    }
}

public struct PullRequest: Codable, Sendable, Equatable {
    /// The feeds wanted and the last sequence the client holds of each (0: none).
    public var after: [FeedHead]
    public var maxCommits: Int
    public var maxBytes: Int

    public init(after: [FeedHead], maxCommits: Int, maxBytes: Int) {
        self.after = after
        self.maxCommits = maxCommits
        self.maxBytes = maxBytes
    }
}

public struct PushResponse: Codable, Sendable, Equatable {
    public var applied: Int
    public var skipped: Int
    public var held: Int
    public var refused: [ImportReport.Refusal]
    /// From one of several hub processes on a shared log: the log position that holds every commit
    /// of this push. The client presents it with its later requests of the sync (`?checkpoint=`),
    /// so that no process answers them from a view that lacks the push. Absent from a lone hub.
    public var checkpoint: Int64?

    public init(_ report: ImportReport) {
        applied = report.applied
        skipped = report.skipped
        held = report.held
        refused = report.refused
    }
}

/// Protocol constants.
public enum SyncProtocol {
    public static let version = 1
    /// The most commits one pull or push batch carries.
    public static let maxBatchCommits = 2000
    /// About the most bytes one batch carries.
    public static let maxBatchBytes = 4 << 20
}

/// The body of every refusal, from the hub or a serving laptop: `{"error": {"code": …, "message":
/// …}}`, the code one of docs/openapi.yaml's and the message one sentence. The server encodes it
/// and the client decodes it with this one type.
public struct ErrorEnvelope: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var code: String
        public var message: String
    }

    public var error: Detail

    public init(code: String, message: String) {
        error = Detail(code: code, message: message)
    }

    /// The envelope's JSON (keys in a stable order).
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(self)).map { [UInt8]($0) } ?? []
    }

    /// The envelope in `body`, if it holds one.
    public static func decode(_ body: [UInt8]) -> ErrorEnvelope? {
        try? JSONDecoder().decode(ErrorEnvelope.self, from: Data(body))
    }
}
