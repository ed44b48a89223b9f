import FieldCrypto
import Foundation
import GRDB
import Testing

@testable import FieldStore

/// A replica written by the storage-1 code (the layout with `_commits` and `_versions`), checked
/// in under `Tests/Fixtures/storage-1/`, with what that code read from it. It holds the registry,
/// an open and a resolved conflict, a fork, commits held for the clock and for a newer schema,
/// commits excluded by a revocation and by the policy, a row whose only versions are excluded,
/// and a deleted row. Whatever layout later code keeps, opening a copy must read the same.
///
/// `StorageFixture.write(to:)` wrote it at the commit that added this file; later code would write
/// its own layout, so the file is never written again.
enum StorageFixture {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/storage-1")
    static let database = folder.appendingPathComponent("replica.sqlite")
    static let factsFile = folder.appendingPathComponent("facts.json")

    /// The fixture written by the code of storage `storage` (`Fixtures/storage-N`): storage 1's
    /// since this file was added, storage 2's since storage 3 was built, storage 3's since storage 4
    /// was (same scenario).
    static func folder(storage: Int) -> URL {
        folder.deletingLastPathComponent().appendingPathComponent("storage-\(storage)")
    }

    static func key(_ byte: UInt8) -> SigningKey { try! SigningKey(seed: [UInt8](repeating: byte, count: 32)) }
    static let root = key(1)
    static let local = key(2)

    /// What a replica's public reads give, in a form that compares whole.
    struct Facts: Codable, Equatable {
        var clock: UInt64
        var digests: [String: String]
        var counts: [Int]
        var feeds: [FeedState]
        var unapplied: [String]
        var conflicts: [String]
        var histories: [String: [String]]
        var records: String
        var recordCount: Int
        var rows: [String: String]

        static func read(_ replica: Replica, clock: UInt64, rows: [String: String]) throws -> Facts {
            var digests: [String: String] = [:]
            for scope in try replica.scopes() + [Commit.registryScope] {
                digests[scope] = try replica.digest(scope: scope)
            }
            let counts = try replica.commitCounts()
            let unapplied = try replica.unappliedCommits().map {
                "\($0.id.hex) \($0.scope) \($0.sequence) \($0.status) \($0.reasonCode ?? "-")"
            }
            .sorted()
            let conflicts = try replica.conflicts().map { conflict in
                "\(conflict.table) \(conflict.row.lowercased) \(conflict.column) \(conflict.scope) "
                    + conflict.heads.map { "\($0.commit.hex)=\($0.value)" }.joined(separator: ",")
            }
            var histories: [String: [String]] = [:]
            for (name, id) in rows {
                let uuid = UUID(uuidString: id)!
                let table = try replica.table(containing: uuid) ?? "-"
                histories[name] =
                    [table]
                    + (try replica.history(table: "notes", row: uuid)).map {
                        "\($0.commit.hex) \($0.sequence) \($0.scope) \($0.column)=\($0.value) \($0.status) \($0.reason ?? "-")"
                    }
            }
            let hasher = BLAKE2b.Hasher()
            var count = 0
            try replica.exportRecords { record in
                hasher.update(field: Hex.encode(record))
                count += 1
            }
            return Facts(
                clock: clock,
                digests: digests,
                counts: [counts.applied, counts.pending, counts.excluded],
                feeds: try replica.feeds(),
                unapplied: unapplied,
                conflicts: conflicts,
                histories: histories,
                records: Hex.encode(hasher.finalize()),
                recordCount: count,
                rows: rows
            )
        }
    }

    /// A schema one version past the test schema's: commits written under it are held.
    static let newer = ReplicaSchema(
        migrations: TestSchema.schema.migrations + [
            .init(version: 3, name: "mood", sql: "ALTER TABLE notes ADD COLUMN mood TEXT;")
        ]
    )

    /// Writes the fixture with the code of this build (see the type's comment).
    static func write(to path: String) throws -> Facts {
        let clock = ManualClock()
        let hub = try TestReplica.make(root: root, key: root, clock: clock, policy: GrantPolicy())
        let device = try TestReplica.make(root: root, key: local, clock: clock, policy: GrantPolicy(), path: path)
        let peer = try TestReplica.make(root: root, key: key(3), clock: clock, policy: GrantPolicy())
        let forker = key(4)
        let twinA = try TestReplica.make(root: root, key: forker, clock: clock, policy: GrantPolicy())
        let twinB = try TestReplica.make(root: root, key: forker, clock: clock, policy: GrantPolicy())
        let revoked = try TestReplica.make(root: root, key: key(5), clock: clock, policy: GrantPolicy())
        let aheadClock = ManualClock(clock.now + 3_600_000)
        let ahead = try TestReplica.make(root: root, key: key(6), clock: aheadClock, policy: GrantPolicy())
        let upgraded = try TestReplica.make(root: root, key: key(7), clock: clock, schema: newer, policy: GrantPolicy())
        let stranger = try TestReplica.make(root: root, key: key(8), clock: clock)
        var grants: [String: UUID] = [:]
        for writer in [device, peer, twinA, revoked, ahead, upgraded] {
            try hub.replica.write(scope: Commit.registryScope, as: root) {
                grants[writer.key.publicKey.hex] = $0.insert("grants", ["author": .text(writer.key.publicKey.hex)])
            }
        }
        let registry = try hub.signedCommits()
        for replica in [device, peer, twinA, twinB, revoked, ahead, upgraded, stranger] {
            _ = try replica.replica.integrate(registry)
        }
        var rows: [String: UUID] = [:]
        try device.replica.write(scope: "s1", as: local) {
            rows["visited"] = $0.insert("notes", ["title": .text("走访一"), "body": .text("正文"), "n": .integer(1)])
            rows["gone"] = $0.insert("notes", ["title": .text("删去"), "n": .integer(2)])
        }
        try device.replica.write(scope: "s2", as: local) {
            rows["other"] = $0.insert("notes", ["title": .text("另一范围"), "tag": .text("甲"), "n": .real(2.5)])
        }
        try device.replica.write(scope: "s1", as: local) { $0.delete("notes", row: rows["gone"]!) }
        // Both edit the title and the number apart; the device settles the number afterwards.
        _ = try peer.replica.integrate(try device.signedCommits())
        clock.advance(by: 1000)
        try device.replica.write(scope: "s1", as: local) {
            $0.update("notes", row: rows["visited"]!, ["title": .text("甲改"), "n": .integer(10)])
        }
        try peer.replica.write(scope: "s1", as: peer.key) {
            $0.update("notes", row: rows["visited"]!, ["title": .text("乙改"), "n": .integer(20)])
            rows["peer"] = $0.insert("notes", ["title": .text("乙的"), "body": .null])
        }
        _ = try device.replica.integrate(try peer.signedCommits())
        try device.replica.write(scope: "s1", as: local) { $0.set("notes", row: rows["visited"]!, "n", .integer(30)) }
        // One key, two devices, two commits numbered 2.
        try twinA.replica.write(scope: "s1", as: forker) { rows["forked"] = $0.insert("notes", ["title": .text("一")]) }
        _ = try twinB.replica.integrate(try twinA.signedCommits())
        try twinA.replica.write(scope: "s1", as: forker) { $0.set("notes", row: rows["forked"]!, "title", .text("二")) }
        try twinB.replica.write(scope: "s1", as: forker) { $0.set("notes", row: rows["forked"]!, "title", .text("孪")) }
        _ = try device.replica.integrate(try twinA.signedCommits())
        _ = try device.replica.integrate(try twinB.signedCommits().filter { $0.commit.author == forker.publicKey })
        // A device revoked after its first commit: its second, a new row, is excluded.
        try revoked.replica.write(scope: "s1", as: revoked.key) {
            rows["kept"] = $0.insert("notes", ["n": .integer(5)])
        }
        try revoked.replica.write(scope: "s1", as: revoked.key) {
            rows["excluded"] = $0.insert("notes", ["title": .text("撤销后")])
        }
        _ = try device.replica.integrate(try revoked.signedCommits())
        try hub.replica.write(scope: Commit.registryScope, as: root) {
            $0.update(
                "grants",
                row: grants[revoked.key.publicKey.hex]!,
                ["revoked_scope": .text("s1"), "revoked_after": .integer(1)]
            )
        }
        _ = try device.replica.integrate(try hub.signedCommits())
        // Held: one for the clock, one for a newer schema. Excluded: a writer with no grant.
        try ahead.replica.write(scope: "s1", as: ahead.key) {
            rows["ahead"] = $0.insert("notes", ["title": .text("未来")])
        }
        _ = try device.replica.integrate(try ahead.signedCommits())
        try upgraded.replica.write(scope: "s2", as: upgraded.key) {
            rows["newer"] = $0.insert("notes", ["title": .text("新版"), "mood": .text("好")])
        }
        _ = try device.replica.integrate(try upgraded.signedCommits())
        try stranger.replica.write(scope: "s2", as: stranger.key) {
            rows["stranger"] = $0.insert("notes", ["title": .text("陌生")])
        }
        _ = try device.replica.integrate(try stranger.signedCommits())
        try device.replica.setMetaValue("author", local.publicKey.hex)
        try device.replica.database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        return try Facts.read(device.replica, clock: clock.now, rows: rows.mapValues(\.uuidString))
    }

    /// A copy of the fixture in a folder of its own.
    static func copy(storage: Int = 1) throws -> String {
        let path = temporaryPath("storage-\(storage).sqlite")
        try FileManager.default.copyItem(
            atPath: folder(storage: storage).appendingPathComponent("replica.sqlite").path,
            toPath: path
        )
        return path
    }

    static func facts(storage: Int = 1) throws -> Facts {
        try JSONDecoder().decode(
            Facts.self,
            from: Data(contentsOf: folder(storage: storage).appendingPathComponent("facts.json"))
        )
    }
}

@Suite struct StorageFixtureTests {
    /// `FIELDLOG_WRITE_STORAGE_FIXTURE=N swift test --filter StorageFixtureTests`, run by a build
    /// of storage N before the layout changes, wrote `Fixtures/storage-N` with that build's code.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FIELDLOG_WRITE_STORAGE_FIXTURE"] != nil))
    func writeTheFixture() throws {
        let storage = Int(ProcessInfo.processInfo.environment["FIELDLOG_WRITE_STORAGE_FIXTURE"] ?? "") ?? 0
        let folder = StorageFixture.folder(storage: storage)
        let database = folder.appendingPathComponent("replica.sqlite")
        let path = temporaryPath("replica.sqlite")
        let facts = try StorageFixture.write(to: path)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: database)
        // One file, no WAL beside it: VACUUM INTO writes a compact copy in rollback mode.
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "VACUUM INTO ?", arguments: [database.path])
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(facts).write(to: folder.appendingPathComponent("facts.json"))
    }

    /// The checked-in replica opens and reads exactly as the code that wrote it read it.
    @Test func theStorage1ReplicaReadsAsItWasWritten() throws {
        try readsAsItWasWritten(storage: 1)
    }

    /// The same scenario written by the storage-2 code reads as that code read it (upgrade 2 → 3).
    @Test func theStorage2ReplicaReadsAsItWasWritten() throws {
        try readsAsItWasWritten(storage: 2)
    }

    /// The same scenario written by the storage-3 code reads as that code read it (upgrade 3 → 4),
    /// and the local device's feed, which storage 4 keeps its head in the log for, goes on.
    @Test func theStorage3ReplicaReadsAsItWasWritten() throws {
        try readsAsItWasWritten(storage: 3)
    }

    func readsAsItWasWritten(storage: Int) throws {
        let expected = try StorageFixture.facts(storage: storage)
        #expect(expected.counts.allSatisfy { $0 > 0 })
        #expect(!expected.conflicts.isEmpty)
        #expect(expected.feeds.contains { $0.forkedAt != nil })
        let path = try StorageFixture.copy(storage: storage)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let clock = ManualClock(expected.clock)
        let opened = try TestReplica.make(
            root: StorageFixture.root,
            key: StorageFixture.local,
            clock: clock,
            policy: GrantPolicy(),
            path: path
        )
        let read = try StorageFixture.Facts.read(opened.replica, clock: expected.clock, rows: expected.rows)
        #expect(read == expected)
        // The local device's feed goes on from where it was.
        let visited = UUID(uuidString: expected.rows["visited"]!)!
        let next = try opened.replica.write(scope: "s1", as: StorageFixture.local) {
            $0.set("notes", row: visited, "title", .text("定稿"))
        }
        #expect(next != nil)
        #expect(try opened.title(visited) == "定稿")
        #expect(try opened.replica.conflicts().allSatisfy { $0.column != "title" })
        let held = try opened.replica.feeds().first {
            $0.author == StorageFixture.local.publicKey.hex && $0.scope == "s1"
        }
        let before = expected.feeds.first { $0.author == StorageFixture.local.publicKey.hex && $0.scope == "s1" }
        #expect(held?.head == (before?.head ?? 0) + 1)
    }
}

/// The upgrade of a storage-1 replica in place (`Replica.upgradeStorage`), on copies of the fixture.
@Suite struct StorageUpgradeTests {
    /// A plain SQLite connection: no `fieldlog_engine()`, as another program or an older build has.
    func plainConnection(_ path: String) throws -> DatabaseQueue {
        try DatabaseQueue(path: path)
    }

    @Test func theUpgradedReplicaRefusesAStorage1BuildAndDirectWrites() throws {
        let path = try StorageFixture.copy()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let expected = try StorageFixture.facts()
        do {
            _ = try TestReplica.make(
                root: StorageFixture.root,
                clock: ManualClock(expected.clock),
                policy: GrantPolicy(),
                path: path
            )
        }
        let plain = try plainConnection(path)
        let (version, commitsType, logCount, dataVersions) = try plain.read { db in
            (
                try String.fetchOne(db, sql: "SELECT value FROM _meta WHERE key = 'storage_version'"),
                try String.fetchOne(db, sql: "SELECT type FROM sqlite_master WHERE name = '_commits'"),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM _log") ?? 0,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM _versions WHERE scope <> 'registry'") ?? -1
            )
        }
        #expect(version == String(Replica.storageVersion))
        // Storage 3: the data scopes' merge state is inline in the rows, `_versions` is the registry's.
        #expect(dataVersions == 0)
        #expect(commitsType == "view")
        #expect(logCount > 0)
        // What a storage-1 build runs first on opening a replica fails, and changes nothing.
        let storage1 = try String(
            contentsOf: StorageFixture.folder.appendingPathComponent("engine-tables.sql"),
            encoding: .utf8
        )
        let refusal = #expect(throws: DatabaseError.self) { try plain.write { db in try db.execute(sql: storage1) } }
        #expect(refusal?.message == "views may not be indexed", "\(String(describing: refusal))")
        #expect(
            try plain.read { db in
                try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE name = '_writer')")
            } == false
        )
        // A program without the engine's function cannot write a replicated table.
        let row = UUID(uuidString: expected.rows["visited"]!)!
        #expect(throws: DatabaseError.self) {
            try plain.write { db in
                try db.execute(sql: "UPDATE notes SET title = 'x' WHERE id = ?", arguments: [Data(row.bytes16)])
            }
        }
        // The engine still writes it, and the replica stays sound.
        let reopened = try TestReplica.make(
            root: StorageFixture.root,
            key: StorageFixture.local,
            clock: ManualClock(expected.clock),
            policy: GrantPolicy(),
            path: path
        )
        try reopened.replica.write(scope: "s1", as: StorageFixture.local) {
            $0.set("notes", row: row, "body", .text("又"))
        }
        #expect(try reopened.replica.check().isClean)
    }

    /// The old replica's bundle export (byte for byte the one the storage-1 code exported: the
    /// facts hold its hash) imported into a new replica gives the digests the upgrade in place gave.
    @Test(arguments: [1, 2, 3]) func aBundleOfTheOldReplicaGivesTheDigestsOfTheUpgradeInPlace(storage: Int) throws {
        let path = try StorageFixture.copy(storage: storage)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let expected = try StorageFixture.facts(storage: storage)
        let upgraded = try TestReplica.make(
            root: StorageFixture.root,
            clock: ManualClock(expected.clock),
            policy: GrantPolicy(),
            path: path
        )
        var records: [[UInt8]] = []
        let hasher = BLAKE2b.Hasher()
        try upgraded.replica.exportRecords { record in
            records.append(record)
            hasher.update(field: Hex.encode(record))
        }
        #expect(Hex.encode(hasher.finalize()) == expected.records)
        let fresh = try TestReplica.make(
            root: StorageFixture.root,
            clock: ManualClock(expected.clock),
            policy: GrantPolicy()
        )
        _ = try fresh.replica.importRecords(records)
        let scopes = try upgraded.replica.scopes()
        #expect(try fresh.replica.scopes() == scopes)
        for scope in scopes + [Commit.registryScope] {
            #expect(try fresh.replica.digest(scope: scope) == upgraded.replica.digest(scope: scope), "\(scope)")
        }
        #expect(try fresh.replica.headsDigest(scopes: nil) == upgraded.replica.headsDigest(scopes: nil))
    }

    /// A storage-1 replica the upgrade cannot carry over whole (here a feed's row lost behind the
    /// engine's back, so its commits have no feed to be numbered in) is left exactly as it was.
    @Test func anUpgradeThatWouldChangeWhatTheReplicaShowsIsRolledBack() throws {
        let path = try StorageFixture.copy()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let expected = try StorageFixture.facts()
        try plainConnection(path).write { db in
            try db.execute(sql: "DELETE FROM _feeds WHERE scope = 's2'")
        }
        let error = #expect(throws: StoreError.self) {
            _ = try TestReplica.make(
                root: StorageFixture.root,
                clock: ManualClock(expected.clock),
                policy: GrantPolicy(),
                path: path
            )
        }
        #expect(error?.message.contains("nothing was changed") == true, "\(String(describing: error))")
        let (commitsType, version) = try plainConnection(path).read { db in
            (
                try String.fetchOne(db, sql: "SELECT type FROM sqlite_master WHERE name = '_commits'"),
                try String.fetchOne(db, sql: "SELECT value FROM _meta WHERE key = 'storage_version'")
            )
        }
        #expect(commitsType == "table")
        #expect(version == nil)
    }

    /// A storage-2 replica whose merge state the upgrade would not carry over whole (here a version
    /// moved to a column its commit never wrote, behind the engine's back, so the row's history
    /// would change) is left exactly as it was: still storage 2, no `_tombs`, no `_cells`.
    @Test func anUpgradeFromStorage2ThatWouldChangeAHistoryIsRolledBack() throws {
        let path = try StorageFixture.copy(storage: 2)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let expected = try StorageFixture.facts(storage: 2)
        try plainConnection(path).write { db in
            try db.execute(
                sql: """
                    UPDATE _versions SET col = 'ghost' WHERE (tbl, row, col, commit_id) =
                        (SELECT tbl, row, col, commit_id FROM _versions WHERE scope = 's1' AND col = 'body' LIMIT 1)
                    """
            )
            #expect(db.changesCount == 1)
        }
        let error = #expect(throws: StoreError.self) {
            _ = try TestReplica.make(
                root: StorageFixture.root,
                clock: ManualClock(expected.clock),
                policy: GrantPolicy(),
                path: path
            )
        }
        #expect(error?.message.contains("the history of some row") == true, "\(String(describing: error))")
        #expect(error?.message.contains("nothing was changed") == true)
        let (tombs, cells, version) = try plainConnection(path).read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master WHERE name = '_tombs'"),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pragma_table_info('notes') WHERE name = '_cells'"),
                try String.fetchOne(db, sql: "SELECT value FROM _meta WHERE key = 'storage_version'")
            )
        }
        #expect(tombs == 0 && cells == 0)
        #expect(version == "2")
    }
}
