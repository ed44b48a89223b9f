import FieldCore
import FieldStore
import Foundation

/// How sync messages become HTTP paths and bodies (see docs/sync-protocol.md).
public enum SyncWire {
    /// A request as it travels: the path and the body bytes.
    public struct Encoded: Sendable, Equatable {
        public var path: String
        public var contentType: String
        public var body: [UInt8]
    }

    public static let jsonType = "application/json"
    public static let batchType = "application/vnd.fieldlog.batch"
    static let batchMagic = Array("FLBATCH1".utf8)

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// Encodes a request.
    public static func encode(_ request: SyncRequest) throws -> Encoded {
        switch request {
        case .summary(let message):
            return Encoded(path: "/v1/sync/summary", contentType: jsonType, body: try json(message))
        case .heads(let message): return Encoded(path: "/v1/sync/heads", contentType: jsonType, body: try json(message))
        case .pull(let message): return Encoded(path: "/v1/sync/pull", contentType: jsonType, body: try json(message))
        case .push(let records):
            return Encoded(path: "/v1/sync/push", contentType: batchType, body: batch(records, more: false))
        case .stateDigests(let scopes):
            return Encoded(path: "/v1/sync/digests", contentType: jsonType, body: try json(scopes))
        }
    }

    /// Decodes a request from its path and body.
    /// - Throws: `SyncError` with `.badRequest` for an unknown path or a body that does not decode.
    public static func decodeRequest(path: String, body: [UInt8]) throws(SyncError) -> SyncRequest {
        switch path {
        case "/v1/sync/summary": return .summary(try decodeJSON(SummaryRequest.self, body))
        case "/v1/sync/heads":
            let heads = try decodeJSON(HeadsRequest.self, body)
            try check(heads.heads)
            return .heads(heads)
        case "/v1/sync/pull":
            let pull = try decodeJSON(PullRequest.self, body)
            try check(pull.after)
            guard (1...SyncProtocol.maxBatchCommits).contains(pull.maxCommits) else {
                throw SyncError(
                    .badRequest,
                    "maxCommits is 1 to \(SyncProtocol.maxBatchCommits), not \(pull.maxCommits)"
                )
            }
            guard pull.maxBytes >= 1 else {
                throw SyncError(.badRequest, "maxBytes is at least 1, not \(pull.maxBytes)")
            }
            return .pull(pull)
        case "/v1/sync/push": return .push(try unbatch(body).records)
        case "/v1/sync/digests": return .stateDigests(try decodeJSON([String].self, body))
        default: throw SyncError(.notFound, "no sync endpoint \(path)")
        }
    }

    /// Refuses a feed head no replica can hold: a sequence number above 2^63 - 1 (SQLite's largest
    /// integer; a pull naming head 2^64 - 1 once stopped the hub) or an author that is not 64 hex digits.
    static func check(_ heads: [FeedHead]) throws(SyncError) {
        for head in heads {
            guard head.head <= CommitCodec.maxField else {
                throw SyncError(.badRequest, "a feed head is at most 2^63 - 1, not \(head.head)")
            }
            guard head.author.utf8.count == 64,
                head.author.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
            else {
                throw SyncError(.badRequest, "a feed head's author is 64 lowercase hex digits")
            }
        }
    }

    /// Encodes a response body.
    public static func encode(_ response: SyncResponse) throws -> (contentType: String, body: [UInt8]) {
        switch response {
        case .summary(let message): return (jsonType, try json(message))
        case .heads(let message): return (jsonType, try json(message))
        case .pull(let records, let more): return (batchType, batch(records, more: more))
        case .push(let message): return (jsonType, try json(message))
        case .stateDigests(let digests): return (jsonType, try json(digests))
        }
    }

    /// Decodes the response to `request`.
    public static func decodeResponse(to request: SyncRequest, body: [UInt8]) throws(SyncError) -> SyncResponse {
        switch request {
        case .summary: return .summary(try decodeJSON(SummaryResponse.self, body))
        case .heads:
            let heads = try decodeJSON(HeadsResponse.self, body)
            try check(heads.heads)
            return .heads(heads)
        case .pull:
            let (records, more) = try unbatch(body)
            return .pull(records: records, more: more)
        case .push: return .push(try decodeJSON(PushResponse.self, body))
        case .stateDigests: return .stateDigests(try decodeJSON([String: String].self, body))
        }
    }

    static func json(_ value: some Encodable) throws -> [UInt8] { [UInt8](try encoder.encode(value)) }

    static func decodeJSON<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws(SyncError) -> T {
        do { return try JSONDecoder().decode(type, from: Data(body)) } catch {
            throw SyncError(.badRequest, "the body is not a valid \(type) message")
        }
    }

    /// A batch: `FLBATCH1`, one byte (1 when more commits remain), then records, each with a
    /// 4-byte big-endian length.
    public static func batch(_ records: [[UInt8]], more: Bool) -> [UInt8] {
        var out = batchMagic + [more ? 1 : 0]
        for record in records { Framing.append(record, to: &out) }
        return out
    }

    /// Splits a batch into records.
    public static func unbatch(_ body: [UInt8]) throws(SyncError) -> (records: [[UInt8]], more: Bool) {
        guard body.count >= 9, Array(body.prefix(8)) == batchMagic, body[8] <= 1 else {
            throw SyncError(.badRequest, "the body is not a fieldlog commit batch")
        }
        var records: [[UInt8]] = []
        var offset = 9
        while offset < body.count {
            switch Framing.next(in: body, at: offset) {
            case .failure(.endsInLength): throw SyncError(.badRequest, "a commit batch ends inside a length field")
            case .failure(.truncated): throw SyncError(.badRequest, "a commit batch is truncated")
            case .success(let framed):
                records.append(framed.record)
                offset = framed.next
            }
            guard records.count <= SyncProtocol.maxBatchCommits else {
                throw SyncError(.batchTooLarge, "a batch carries at most \(SyncProtocol.maxBatchCommits) commits")
            }
        }
        return (records, body[8] == 1)
    }
}

/// An error of the sync layer: a code (one per refusal) and a sentence.
public struct SyncError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable, Codable {
        case badRequest
        case notFound
        case batchTooLarge
        case unsupportedVersion
        case noProgress
        case transport
        case refused
        case outOfScope
    }

    public let code: Code
    public let message: String
    /// The hub's own code of a refusal (`already_enrolled`, `revoked`, …), when it sent one.
    public let hubCode: String?

    public init(_ code: Code, _ message: String, hubCode: String? = nil) {
        self.code = code
        self.message = message
        self.hubCode = hubCode
    }

    public var description: String { message }
}

extension SyncError: CodedFieldlogError {}
