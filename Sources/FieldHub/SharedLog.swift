import FieldCore
import FieldCrypto
import FieldStore
import Foundation
import Synchronization

/// The durable state several hub processes share (`fieldlog hub serve --store postgresql://…`;
/// docs/scale-out.md): the commit log every process's replica follows, the nonces of signed
/// requests, and the one-time enrollment codes. FieldPostgres implements it on PostgreSQL; the hub
/// only calls this, so the merge stays the engine's alone.
///
/// Every method throws `SharedLogError.unavailable` when the store cannot be reached: the hub then
/// refuses the request (503), never answering it from what it holds in memory.
public protocol SharedLog: Sendable {
    /// Records a signed request's nonce until `expiresAt`, in a transaction of its own.
    /// - Returns: false when the nonce is recorded already and has not expired (a replay).
    func remember(_ nonce: LogNonce, now: Int64) async throws -> Bool

    /// Appends commits to the log, each once (by id), with the request's nonce in the same
    /// transaction. A commit at a place (author, scope, sequence) that holds another commit is
    /// kept as fork evidence; with `exclusive` it is refused instead (`placeTaken`) and nothing is
    /// stored: a hub process's own commits must never fork its feed.
    /// - Returns: the checkpoint, the highest log position of any of `entries`.
    /// - Throws: `SharedLogError.replayed` (nothing stored), `.placeTaken`, `.unavailable`.
    func append(_ entries: [LogEntry], nonce: LogNonce?, now: Int64, exclusive: Bool) async throws -> Int64

    /// Entries after `position`, in log order, at most `limit`.
    func entries(after position: Int64, limit: Int) async throws -> [LogRecord]

    /// The position of the last entry (0 for an empty log).
    func end() async throws -> Int64

    /// Stores a new enrollment code (its hash only).
    func addCode(_ code: SharedEnrollmentCode) async throws
    /// The code with this hash, or nil.
    func code(hash: [UInt8]) async throws -> SharedEnrollmentCode?
    /// Spends a code for `usedBy` in one conditional update: only one caller ever gets it back.
    /// - Returns: the code when this call spent it; nil when it is unknown, spent or expired.
    func spendCode(hash: [UInt8], usedBy: String, now: Int64) async throws -> SharedEnrollmentCode?
}

/// A commit as the shared log keeps it: the wire record, and the place it claims.
public struct LogEntry: Sendable, Equatable {
    public var id: [UInt8]
    public var author: [UInt8]
    public var scope: String
    public var sequence: Int64
    /// `SignedCommit.wire`: what a following replica decodes and verifies again.
    public var record: [UInt8]

    public init(_ signed: SignedCommit) {
        id = signed.id.bytes
        author = signed.commit.author.bytes
        scope = signed.commit.scope
        sequence = Int64(signed.commit.sequence)
        record = signed.wire
    }
}

/// An entry read back from the log.
public struct LogRecord: Sendable {
    public var position: Int64
    public var record: [UInt8]

    public init(position: Int64, record: [UInt8]) {
        self.position = position
        self.record = record
    }
}

/// A signed request's nonce as the shared store records it.
public struct LogNonce: Sendable, Equatable {
    /// The signer's public key.
    public var keyID: [UInt8]
    /// The 16 bytes of the signature's `nonce` parameter.
    public var nonce: [UInt8]
    /// Unix seconds after which the request would be refused anyway (its window is over).
    public var expiresAt: Int64

    public init(keyID: [UInt8], nonce: [UInt8], expiresAt: Int64) {
        self.keyID = keyID
        self.nonce = nonce
        self.expiresAt = expiresAt
    }
}

/// An enrollment code as the shared store keeps it (the hash of the code, never the code).
public struct SharedEnrollmentCode: Sendable, Equatable {
    public var hash: [UInt8]
    public var role: String
    public var cadreID: [UInt8]?
    public var departmentID: [UInt8]?
    public var label: String?
    public var createdAt: Int64
    public var expiresAt: Int64
    public var usedAt: Int64?
    public var usedBy: String?

    public init(
        hash: [UInt8],
        role: String,
        cadreID: [UInt8]?,
        departmentID: [UInt8]?,
        label: String?,
        createdAt: Int64,
        expiresAt: Int64,
        usedAt: Int64? = nil,
        usedBy: String? = nil
    ) {
        self.hash = hash
        self.role = role
        self.cadreID = cadreID
        self.departmentID = departmentID
        self.label = label
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usedAt = usedAt
        self.usedBy = usedBy
    }
}

/// Why the shared store refused or failed.
public struct SharedLogError: CodedFieldlogError, Equatable {
    public enum Code: String, Sendable {
        /// The nonce was recorded already: nothing of the request was stored.
        case replayed
        /// An exclusive append found another commit at one of its places.
        case placeTaken
        /// The store could not be reached or failed; nothing is known to be stored.
        case unavailable
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

}

extension SharedLog {
    /// The gate of a hub replica's own writes on this log (`ReplicaOptions.localCommitGate`): each
    /// commit the replica writes is appended exclusively before the write commits, so the replica
    /// never holds a commit of its own that the log lacks, and two processes writing the root's
    /// next commit at once cannot fork its feed: the second is refused (`placeTaken`) and rolled
    /// back.
    public var localCommitGate: @Sendable (SignedCommit) throws -> Void {
        { signed in
            _ = try waitFor {
                try await self.append(
                    [LogEntry(signed)],
                    nonce: nil,
                    now: Int64(Date().timeIntervalSince1970),
                    exclusive: true
                )
            }
        }
    }
}

/// Runs async work to completion from synchronous code on a thread of its own (a hub lane, a
/// command's main thread), never from Swift's cooperative pool: a local write's gate appends the
/// commit to the shared log inside SQLite's transaction, which is synchronous.
public func waitFor<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let result = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        let outcome: Result<T, any Error>
        do { outcome = .success(try await work()) } catch { outcome = .failure(error) }
        result.withLock { $0 = outcome }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0! }.get()
}
