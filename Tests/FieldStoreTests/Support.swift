import FieldCrypto
import Foundation
import GRDB
import Synchronization

@testable import FieldStore

/// A wall clock tests can move.
final class ManualClock: Sendable {
    private let value: Mutex<UInt64>

    init(_ start: UInt64 = 1_780_000_000_000) { value = Mutex(start) }

    var now: UInt64 { value.withLock { $0 } }

    func advance(by milliseconds: UInt64) { value.withLock { $0 += milliseconds } }
}

enum TestSchema {
    static let v1 = ReplicaSchema.Migration(
        version: 1,
        name: "notes",
        sql: """
            CREATE TABLE notes(
                id BLOB PRIMARY KEY, scope TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
                title TEXT, body TEXT, n INTEGER
            );
            CREATE TABLE grants(
                id BLOB PRIMARY KEY, scope TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
                author TEXT, revoked_scope TEXT, revoked_after INTEGER
            );
            """
    )
    static let v2 = ReplicaSchema.Migration(version: 2, name: "tags", sql: "ALTER TABLE notes ADD COLUMN tag TEXT;")

    static let schema = ReplicaSchema(migrations: [v1, v2])
}

/// A policy over the test schema: registry table `grants` lists authors allowed to write (by hex key),
/// and optional positional revocations.
struct GrantPolicy: ReplicaPolicy {
    func authorize(_ commit: Commit, registry: RegistrySnapshot) throws -> PolicyVerdict {
        if commit.scope == Commit.registryScope { return .allow }
        let grants = try registry.rows("grants", where: "author", equals: .text(commit.author.hex))
        guard try grants.contains(where: { try registry.rowExists("grants", row: $0) }) else {
            return .deny(StoreError(.notEnrolled, "author \(commit.author.fingerprint) has no grant"))
        }
        if commit.changes.contains(where: { $0.table == "grants" }) {
            return .deny(StoreError(.notAuthorized, "only the root writes grants"))
        }
        return .allow
    }

    func revocations(registry: RegistrySnapshot) throws -> [Revocation] {
        var out: [Revocation] = []
        let rows = try registry.db.cachedStatement(
            sql: "SELECT DISTINCT row FROM _versions WHERE tbl = 'grants' AND col = 'revoked_after'"
        )
        for raw in try Data.fetchAll(rows) {
            let row = UUID(bytes16: [UInt8](raw))
            guard case .integer(let after) = try registry.value("grants", row: row, column: "revoked_after"),
                case .text(let author) = try registry.value("grants", row: row, column: "author"),
                case .text(let scope) = try registry.value("grants", row: row, column: "revoked_scope")
            else { continue }
            out.append(Revocation(author: try PublicKey(hex: author), lastAccepted: [scope: UInt64(after)]))
        }
        return out
    }
}

struct TestReplica {
    let replica: Replica
    let key: SigningKey
    let clock: ManualClock

    static func make(
        root: SigningKey,
        key: SigningKey = .generate(),
        clock: ManualClock = ManualClock(),
        schema: ReplicaSchema = TestSchema.schema,
        policy: any ReplicaPolicy = AcceptAllPolicy(),
        path: String? = nil
    ) throws -> TestReplica {
        var options = ReplicaOptions()
        options.wallClock = { clock.now }
        let replica = try Replica.open(
            path: path,
            root: root.publicKey,
            schema: schema,
            policy: policy,
            options: options
        )
        return TestReplica(replica: replica, key: key, clock: clock)
    }

    /// All stored records.
    func records() throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        try replica.exportRecords { out.append($0) }
        return out
    }

    func signedCommits() throws -> [SignedCommit] {
        try records().map { try WireRecord.decode($0) }
    }

    func note(_ id: UUID) throws -> Row? {
        try replica.database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM notes WHERE id = ?", arguments: [Data(id.bytes16)])
        }
    }

    func title(_ id: UUID) throws -> String? {
        try note(id)?["title"]
    }
}

func temporaryPath(_ name: String) -> String {
    let folder = NSTemporaryDirectory() + "fieldlog-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder + "/" + name
}
