import FieldCrypto
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// The cells one local transaction writes; the engine turns them into one signed commit.
public struct WriteBatch: Sendable {
    struct Cell: Hashable, Sendable {
        var table: String
        var row: UUID
        var column: String
    }

    var cells: [Cell: Value] = [:]
    var order: [Cell] = []
    /// Rows this batch created with a new UUIDv7: they have no versions yet, so nothing to look up.
    var fresh: Set<UUID> = []
    let milliseconds: UInt64

    init(milliseconds: UInt64) { self.milliseconds = milliseconds }

    /// Sets one cell.
    public mutating func set(_ table: String, row: UUID, _ column: String, _ value: Value) {
        let cell = Cell(table: table, row: row, column: column)
        if cells.updateValue(value, forKey: cell) == nil { order.append(cell) }
    }

    /// Sets several cells of one row.
    public mutating func update(_ table: String, row: UUID, _ values: [String: Value]) {
        for (column, value) in values.sorted(by: { $0.key < $1.key }) { set(table, row: row, column, value) }
    }

    /// Creates a row with a new UUIDv7 (or the id given) and returns its id.
    @discardableResult
    public mutating func insert(_ table: String, id: UUID? = nil, _ values: [String: Value]) -> UUID {
        let row = id ?? UUID.v7(milliseconds: milliseconds)
        if id == nil { fresh.insert(row) }
        set(table, row: row, "deleted", .integer(0))
        update(table, row: row, values)
        return row
    }

    /// Marks a row deleted (its deletion flag is a cell like any other).
    public mutating func delete(_ table: String, row: UUID) { set(table, row: row, "deleted", .integer(1)) }

    /// Clears a row's deletion flag.
    public mutating func restore(_ table: String, row: UUID) { set(table, row: row, "deleted", .integer(0)) }

    /// True when nothing was written.
    public var isEmpty: Bool { cells.isEmpty }
}

extension Replica {
    /// Makes one local commit in `scope`, signed by `key`, from the cells `build` sets.
    ///
    /// Each change supersedes the heads of its cell as this replica sees them, so writing a cell
    /// that is in conflict resolves the conflict. Cells set to the value they already show (with no
    /// conflict) are left out; if nothing is left, no commit is made and nil is returned.
    /// - Throws: `StoreError` if the policy refuses the write; nothing is stored then.
    @discardableResult
    public func write(
        scope: String,
        as key: SigningKey,
        _ build: (inout WriteBatch) throws -> Void
    ) throws -> CommitID? {
        var batch = WriteBatch(milliseconds: options.wallClock())
        try build(&batch)
        guard !batch.isEmpty else { return nil }
        return try localTransaction { db, memo in try commit(batch, scope: scope, as: key, db, memo: &memo) }
    }

    /// `write(scope:as:_:)`, with `build` run inside the write transaction and given the database
    /// (it must read through `db` only), so that what it reads (the last demand number, say) cannot
    /// change before the commit is made: GRDB opens the transaction IMMEDIATE, so another process
    /// writing the same file waits for it.
    @discardableResult
    public func write(
        scope: String,
        as key: SigningKey,
        _ build: (inout WriteBatch, Database) throws -> Void
    ) throws -> CommitID? {
        try localTransaction { db, memo in
            var batch = WriteBatch(milliseconds: options.wallClock())
            try build(&batch, db)
            guard !batch.isEmpty else { return nil }
            return try commit(batch, scope: scope, as: key, db, memo: &memo)
        }
    }

    /// Runs a local write in an IMMEDIATE transaction, with what the last local write of this
    /// replica left in memory (`LocalWriteMemo`) when nothing has changed the database since.
    ///
    /// SQLite's data version of the connection (`SQLITE_FCNTL_DATA_VERSION`) moves on with every
    /// commit of this connection and, once the transaction has begun, with every commit another
    /// connection or process made since this one last read; the memo is kept with the version read
    /// just after the commit that wrote it, so an equal version means the same database.
    private func localTransaction(
        _ body: (Database, inout LocalWriteMemo?) throws -> CommitID?
    ) throws -> CommitID? {
        try database.writeWithoutTransaction { db in
            var result: CommitID?
            var memo: LocalWriteMemo?
            // BEGIN and COMMIT as cached statements (GRDB's `inTransaction` parses both each time),
            // with its rollback on any error.
            do {
                try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
                let version = Self.dataVersion(db)
                memo = localWriteMemo.withLock { $0 }.flatMap { $0.version == version ? $0 : nil }
                result = try body(db, &memo)
                try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            } catch {
                localWriteMemo.withLock { $0 = nil }
                if db.isInsideTransaction { try? db.rollback() }
                throw error
            }
            memo?.version = Self.dataVersion(db)
            localWriteMemo.withLock { $0 = memo }
            return result
        }
    }

    /// The connection's data version: it changes whenever the database changes (see
    /// `localTransaction`).
    static func dataVersion(_ db: Database) -> UInt32 {
        var version: UInt32 = 0
        let code = sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_DATA_VERSION, &version)
        // Without an answer the memo is never trusted: a version no write recorded.
        return code == SQLITE_OK ? version : .max
    }

    /// Turns a batch into one signed commit and takes it in, inside the caller's transaction.
    private func commit(
        _ batch: WriteBatch,
        scope: String,
        as key: SigningKey,
        _ db: Database,
        memo: inout LocalWriteMemo?
    ) throws -> CommitID? {
        try Self.asEngine(db) { () throws -> CommitID? in
            var changes: [Change] = []
            // Each row's scope and merge state, read once per row of the batch.
            var states: [WriteBatch.Cell: RowState] = [:]
            for cell in batch.order {
                let value = batch.cells[cell]!
                let change = Change(table: cell.table, row: cell.row, column: cell.column, value: value)
                if let error = validateChange(change) { throw error }
                if batch.fresh.contains(cell.row) {
                    changes.append(change)
                    continue
                }
                let rowData = Data(cell.row.bytes16)
                let rowCell = WriteBatch.Cell(table: cell.table, row: cell.row, column: "")
                let state = try states[rowCell] ?? Self.rowState(db, table: cell.table, row: rowData)
                states[rowCell] = state
                if let owner = state.scope, owner != scope {
                    throw StoreError(
                        .notAuthorized,
                        "row \(cell.row.lowercased) of \(cell.table) belongs to scope \(owner), not \(scope)"
                    )
                }
                let heads = try Self.cellHeads(db, table: cell.table, row: rowData, column: cell.column, state: state)
                let resolved = Merge.resolve(heads)
                if let resolved, !resolved.isConflict, resolved.value == value { continue }
                changes.append(
                    Change(
                        table: cell.table,
                        row: cell.row,
                        column: cell.column,
                        value: value,
                        supersedes: resolved?.heads.map(\.commit) ?? []
                    )
                )
            }
            guard !changes.isEmpty else { return nil }
            // This device's feed (with its head commit and whether a commit of it waits) and the
            // engine's settings: from the memo of the last local write when the database has not
            // changed since, or one read each; the integrator keeps both for the whole write.
            var integrator = Integrator(replica: self, db: db)
            integrator.freshRows = Set(batch.fresh.map { Data($0.bytes16) })
            let feedKey = Integrator.FeedKey(author: key.publicKey, scope: scope)
            let own: LocalWriteMemo.OwnFeed?
            if let remembered = memo?.feeds[feedKey] {
                integrator.adopt(remembered.feed, of: feedKey)
                own = remembered
            } else {
                own = try integrator.ownFeed(key.publicKey, scope)
            }
            if let forkSeq = own?.feed.forkSeq {
                throw StoreError(
                    .fork,
                    "this device's feed in \(scope) forked at seq \(forkSeq) (its key was used on another device); ask the operator"
                )
            }
            let sequence = (own?.feed.head ?? 0) + 1
            let settings = try memo.map { (clock: $0.clock, generation: $0.generation) } ?? Replica.engineSettings(db)
            // Whatever this write does, the memo is rebuilt below only if it takes the fast path.
            let previousMemo = memo
            memo = nil
            integrator.generationCache = settings.generation
            let timestamp = try localTick(
                author: key.publicKey,
                after: max(settings.clock, own?.headTime ?? Timestamp(rawValue: 0)),
                db
            )
            let commit = Commit(
                author: key.publicKey,
                scope: scope,
                sequence: sequence,
                previous: own?.headID ?? .zero,
                timestamp: timestamp,
                schemaVersion: schema.version,
                registrySequence: try integrator.registryHead(),
                changes: changes
            )
            let signed = try SignedCommit(signing: commit, with: key)
            if try integrator.takeAtOnce(signed, local: true) {
                try integrator.finish()
                try options.localCommitGate?(signed)
                // A local commit taken at once changes neither the clock integration keeps nor the
                // registry; its feed's head is now this commit, with nothing waiting behind it.
                if let feed = integrator.feeds[feedKey] {
                    var next = previousMemo ?? LocalWriteMemo(clock: settings.clock, generation: settings.generation)
                    next.feeds[feedKey] = LocalWriteMemo.OwnFeed(
                        feed: feed,
                        headID: signed.id,
                        headTime: timestamp
                    )
                    memo = next
                }
                return signed.id
            }
            // Anything the local path does not judge at once (a registry commit, a feed with a
            // commit waiting, a refusal) goes the way of every commit, with its reasons.
            try integrator.receive(signed)
            try integrator.settle()
            if let refusal = integrator.report.refused.first(where: { $0.commit == signed.id.hex }) {
                throw StoreError(refusal.code, refusal.reason)
            }
            let stored = try integrator.feed(key.publicKey, scope).flatMap { feed in
                try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT status, reason FROM _log WHERE k = ?"),
                    arguments: [LogKey.make(feed.number, sequence)]
                )
            }
            guard (stored?["status"] as Int?) == CommitStatus.applied.rawValue else {
                let reason: String? = stored?["reason"]
                throw StoreError(.notAuthorized, reason ?? "the write could not be applied")
            }
            try integrator.finish()
            try options.localCommitGate?(signed)
            return signed.id
        }
    }
}

/// What a local write read and wrote that the next one needs (`Replica.localTransaction`): the
/// engine's settings and, per feed this replica's local writes took at once, its head. Valid only
/// while the database's data version is the one recorded.
struct LocalWriteMemo {
    struct OwnFeed {
        var feed: FeedRecord
        var headID: CommitID
        var headTime: Timestamp
    }

    var version: UInt32 = .max
    var clock: Timestamp
    var generation: Int64
    var feeds: [Integrator.FeedKey: OwnFeed] = [:]
}

extension Replica {
    /// The timestamp of a new local commit: after every reading this process gave, after `floor`
    /// (the clock that integrating remote commits stored, `_meta.hlc`, and the feed's previous
    /// commit), and after every commit the author has stored (read once per author and process),
    /// so that it never goes back across restarts. Only integration writes `_meta.hlc`; a local
    /// write reads it and writes nothing for the clock.
    func localTick(author: PublicKey, after floor: Timestamp, _ db: Database) throws -> Timestamp {
        var floor = floor
        if !localClock.withLock({ $0.authors.contains(author) }) {
            let stored = try Int64.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT MAX(hlc) FROM (
                            SELECT l.hlc FROM _feeds f JOIN _log l ON l.k BETWEEN f.feed << 32 AND (f.feed << 32) | 4294967295
                            WHERE f.author = ?
                            UNION ALL
                            SELECT x.hlc FROM _feeds f JOIN _forks x ON x.feed = f.feed WHERE f.author = ?)
                        """
                ),
                arguments: [Data(author.bytes), Data(author.bytes)]
            )
            floor = max(floor, Timestamp(rawValue: UInt64(bitPattern: stored ?? 0)))
        }
        return localClock.withLock { clock in
            clock.authors.insert(author)
            let tick = HybridClock.tick(last: max(clock.last, floor), wallMilliseconds: options.wallClock())
            clock.last = tick
            return tick
        }
    }
}
