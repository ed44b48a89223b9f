import FieldHub
import FieldStore
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The hub's shared state on PostgreSQL 15 (docs/scale-out.md): the commit log several hub
/// processes append to and follow, the nonces of signed requests, the one-time enrollment codes.
///
/// The tables (created by `migrate`, each migration once, under an advisory lock so that processes
/// starting together do not race):
/// - `fieldlog_log`: one row per commit, keyed by its id, with the place it claims (author, scope,
///   sequence) and its wire record. At most one row per place is the feed's (`fork` false, a
///   partial unique index); any other commit at a taken place is kept with `fork` true, as fork
///   evidence for every replica to find. `position` orders the log.
/// - `fieldlog_log_end`: one row, the last position given. An append locks it (`FOR UPDATE`),
///   takes the next positions and moves it, in the appending transaction: the lock is held until
///   that transaction commits, so positions become visible in order, and a reader that has seen
///   position p has seen every position below it. (A sequence would not do: its values are taken
///   before the transactions commit, in any order, and a reader could pass a row that commits late.)
/// - `fieldlog_nonces`: (key id, nonce) until the request's window is over. A logged table: an
///   unlogged one is emptied after a crash, and would let a request be replayed.
/// - `fieldlog_enrollment_codes`: the hash of each code, its role and person, and when it was used.
public final class PostgresSharedLog: SharedLog {
    /// The pool of connections, and the task running it. It is replaced after a failure: a pool
    /// that failed to connect for a while backs off for longer and longer (and stops trying after
    /// a minute), so that after a database restart it would keep refusing for many seconds; a new
    /// pool connects at the first request.
    private struct Pool {
        var client: PostgresClient
        var running: Task<Void, Never>?
    }

    private let pool: Mutex<Pool>
    private let configuration: PostgresClient.Configuration
    let logger: Logger
    /// Where the store is, for messages: host and port or socket, and the database (no password).
    public let place: String
    private let lastPrune = Mutex<Int64>(0)
    /// Pushes waiting to be appended, and whether a task is appending them (`drainAppends`).
    private let appending = Mutex<(queue: [PendingAppend], draining: Bool)>(([], false))
    /// The longest any one call waits for the store before it fails as unavailable.
    public let timeout: Duration

    /// Opens a pool of connections to `url` (`postgresql://user:password@host:port/database`, with
    /// `?sslmode=disable|prefer|require`, default prefer). Connections are made when first needed.
    public init(
        url: String,
        logger: Logger = Logger(label: "fieldlog.postgres"),
        maxConnections: Int = 10,
        timeout: Duration = .seconds(10)
    ) throws {
        self.timeout = timeout
        // Never below info: PostgresNIO logs queries with their binds (commits, signatures) at debug.
        var logger = logger
        if logger.logLevel < .info { logger.logLevel = .info }
        let parsed = try Self.configuration(url)
        var configuration = parsed.configuration
        configuration.options.maximumConnections = maxConnections
        configuration.options.connectTimeout = .seconds(5)
        self.configuration = configuration
        self.logger = logger
        place = parsed.place
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        pool = Mutex(Pool(client: client, running: Task { await client.run() }))
    }

    deinit { pool.withLock { $0.running?.cancel() } }

    /// The current pool.
    var client: PostgresClient { pool.withLock { $0.client } }

    /// Replaces the pool after a failure of `failed`, unless another failure replaced it already.
    private func renew(after failed: PostgresClient) {
        let (configuration, logger) = (configuration, logger)
        pool.withLock { pool in
            guard pool.client === failed, pool.running != nil else { return }
            pool.running?.cancel()
            let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
            pool = Pool(client: client, running: Task { await client.run() })
        }
    }

    /// Closes every connection.
    public func shutdown() {
        pool.withLock { pool in
            pool.running?.cancel()
            pool.running = nil
        }
    }

    /// The client configuration of a `postgresql://` URL, and where it points (for messages).
    static func configuration(_ url: String) throws -> (configuration: PostgresClient.Configuration, place: String) {
        guard let components = URLComponents(string: url),
            ["postgresql", "postgres"].contains(components.scheme ?? ""),
            let user = components.user, !user.isEmpty
        else {
            throw SharedLogError(
                .unavailable,
                "the store must be a URL like postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        }
        let database = String(components.path.drop { $0 == "/" })
        let query = Dictionary(
            (components.queryItems ?? []).map { ($0.name, $0.value ?? "") },
            uniquingKeysWith: { $1 }
        )
        let tls: PostgresClient.Configuration.TLS
        switch query["sslmode"] ?? "prefer" {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require": tls = .require(.makeClientConfiguration())
        default:
            throw SharedLogError(.unavailable, "sslmode in the store URL takes disable, prefer or require")
        }
        let host = components.host ?? "127.0.0.1"
        let port = components.port ?? 5432
        let configuration = PostgresClient.Configuration(
            host: host,
            port: port,
            username: user,
            password: components.password,
            database: database.isEmpty ? nil : database,
            tls: tls
        )
        return (configuration, "\(host):\(port)/\(database.isEmpty ? user : database)")
    }

    /// Runs `work`, turning whatever PostgreSQL or the connection throws into one sentence that
    /// names the store and no library internals (the details go to the log, never the binds).
    ///
    /// Each call is bounded by `timeout`: while the server is down, the pool keeps trying to
    /// connect for a minute, and a request must be refused long before that.
    @discardableResult
    func guarded<T: Sendable>(
        _ what: String,
        _ work: @escaping @Sendable () async throws -> T
    ) async throws
        -> T
    {
        let timeout = timeout
        let used = client
        do {
            return try await Self.bounded(by: timeout, work) { [place] in
                SharedLogError(
                    .unavailable,
                    "the shared store (PostgreSQL at \(place)) did not answer within \(timeout) while \(what); check that it runs and is reachable"
                )
            }
        } catch let error as SharedLogError {
            if error.code == .unavailable { renew(after: used) }
            throw error
        } catch let error as PostgresTransactionError where error.closureError is SharedLogError {
            throw error.closureError as! SharedLogError
        } catch is CancellationError {
            // The caller gave up (a request cut off, a service stopping): nothing is wrong with the
            // store, and its pool is kept.
            throw SharedLogError(.unavailable, "the call to the shared store was cancelled while \(what)")
        } catch {
            renew(after: used)
            logger.warning("PostgreSQL failed", metadata: ["while": "\(what)", "error": "\(Self.describe(error))"])
            throw SharedLogError(
                .unavailable,
                "the shared store (PostgreSQL at \(place)) failed while \(what); check that it runs and is reachable"
            )
        }
    }

    /// `work`'s result, or `late()` thrown once `timeout` has passed, or CancellationError once
    /// the caller is cancelled: whichever comes first. It does not wait for `work` to end (a
    /// task group would): a lease from a pool that was shut down, or a query on a connection the
    /// server dropped, may never end, and the request must still be answered.
    static func bounded<T: Sendable>(
        by timeout: Duration,
        _ work: @escaping @Sendable () async throws -> T,
        late: @escaping @Sendable () -> SharedLogError
    ) async throws -> T {
        let race = BoundedRace<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                race.start(continuation)
                race.add(Task { do { race.answer(.success(try await work())) } catch { race.answer(.failure(error)) } })
                race.add(
                    Task {
                        guard (try? await Task.sleep(for: timeout)) != nil else { return }
                        race.answer(.failure(late()))
                    }
                )
            }
        } onCancel: {
            race.answer(.failure(CancellationError()))
        }
    }

    /// What went wrong, for the log: PostgreSQL's code, state and message, never the query (its
    /// binds hold commits and their signatures) nor the library's full description.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            let state = error.serverInfo?[.sqlState].map { " \($0)" } ?? ""
            let message = error.serverInfo?[.message].map { ": \($0)" } ?? ""
            return "\(error.code)\(state)\(message)"
        }
        if let error = error as? PostgresTransactionError {
            let inner: (any Error)? = error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError
            return inner.map(describe) ?? "transaction failed"
        }
        return String(describing: type(of: error))
    }

    // MARK: - Migrations

    static let migrations: [(name: String, sql: [String])] = [
        (
            "1-log-nonces-codes",
            [
                """
                CREATE TABLE fieldlog_log(
                    position bigint PRIMARY KEY,
                    id bytea NOT NULL UNIQUE,
                    author bytea NOT NULL,
                    scope text NOT NULL,
                    seq bigint NOT NULL,
                    fork boolean NOT NULL,
                    record bytea NOT NULL,
                    stored_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                "CREATE UNIQUE INDEX fieldlog_log_place ON fieldlog_log(author, scope, seq) WHERE NOT fork",
                "CREATE INDEX fieldlog_log_feed ON fieldlog_log(author, scope, seq)",
                """
                CREATE TABLE fieldlog_log_end(
                    one boolean PRIMARY KEY DEFAULT true CHECK (one),
                    position bigint NOT NULL
                )
                """,
                "INSERT INTO fieldlog_log_end(one, position) VALUES (true, 0)",
                """
                CREATE TABLE fieldlog_nonces(
                    key_id bytea NOT NULL,
                    nonce bytea NOT NULL,
                    expires_at bigint NOT NULL,
                    PRIMARY KEY(key_id, nonce)
                )
                """,
                "CREATE INDEX fieldlog_nonces_expiry ON fieldlog_nonces(expires_at)",
                """
                CREATE TABLE fieldlog_enrollment_codes(
                    hash bytea PRIMARY KEY,
                    role text NOT NULL,
                    cadre_id bytea,
                    department_id bytea,
                    label text,
                    created_at bigint NOT NULL,
                    expires_at bigint NOT NULL,
                    used_at bigint,
                    used_by text
                )
                """,
            ]
        ),
        // The console of several hub processes (`hub serve --store … --dashboard`): accounts,
        // sessions, the audit trail, exports and previewed uploads (PostgresConsole).
        ("2-console", PostgresConsole.migration),
        // What every process saw of each device, added up (PostgresDeviceActivity).
        ("3-device-activity", activityMigration),
    ]

    /// Brings the tables up to date: each migration once, recorded in `fieldlog_migrations`, all
    /// under one advisory lock so that processes starting together take turns.
    public func migrate() async throws {
        try await guarded("creating its tables") { [self] in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(7301180018)", logger: logger)
                try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS fieldlog_migrations(
                        name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """,
                    logger: logger
                )
                var applied: Set<String> = []
                for try await name in try await connection.query(
                    "SELECT name FROM fieldlog_migrations",
                    logger: logger
                ).decode(String.self) {
                    applied.insert(name)
                }
                for migration in Self.migrations where !applied.contains(migration.name) {
                    for statement in migration.sql {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO fieldlog_migrations(name) VALUES (\(migration.name))",
                        logger: logger
                    )
                }
            }
        }
    }

    // MARK: - Nonces

    public func remember(_ nonce: LogNonce, now: Int64) async throws -> Bool {
        try await guarded("recording a request's nonce") { [self] in
            try await pruneNonces(now: now)
            return try await client.withConnection { connection in
                try await Self.record(nonce, now: now, connection, logger)
            }
        }
    }

    /// Inserts a nonce, or takes over an expired row of it; false when a live one is there.
    static func record(
        _ nonce: LogNonce,
        now: Int64,
        _ connection: PostgresConnection,
        _ logger: Logger
    ) async throws
        -> Bool
    {
        let rows = try await connection.query(
            """
            INSERT INTO fieldlog_nonces(key_id, nonce, expires_at) VALUES (\(Self.bytes(nonce.keyID)), \(Self.bytes(nonce.nonce)), \(nonce.expiresAt))
            ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
                WHERE fieldlog_nonces.expires_at < \(now)
            RETURNING 1
            """,
            logger: logger
        ).collect()
        return rows.count == 1
    }

    /// Deletes expired nonces, at most once a minute per process.
    private func pruneNonces(now: Int64) async throws {
        let due = lastPrune.withLock { last in
            guard now - last >= 60 else { return false }
            last = now
            return true
        }
        guard due else { return }
        try await client.query("DELETE FROM fieldlog_nonces WHERE expires_at < \(now)", logger: logger)
    }

    // MARK: - The log

    public func append(_ entries: [LogEntry], nonce: LogNonce?, now: Int64, exclusive: Bool) async throws -> Int64 {
        if nonce != nil {
            try await guarded("recording a request's nonce") { [self] in try await pruneNonces(now: now) }
        }
        guard exclusive else {
            return try await withCheckedThrowingContinuation { continuation in
                let starts = appending.withLock { state in
                    state.queue.append(PendingAppend(entries: entries, nonce: nonce, now: now, answer: continuation))
                    defer { state.draining = true }
                    return !state.draining
                }
                if starts { Task { await self.drainAppends() } }
            }
        }
        return try await guarded("storing commits") { [self] in
            try await client.withTransaction(logger: logger) { connection in
                if let nonce, !(try await Self.record(nonce, now: now, connection, logger)) {
                    throw SharedLogError(.replayed, "this request was already received (its nonce was seen)")
                }
                guard !entries.isEmpty else { return 0 }
                return try await Self.append(entries, exclusive: exclusive, connection, logger)
            }
        }
    }

    /// A device's push waiting to be appended with the others (`drainAppends`).
    struct PendingAppend: Sendable {
        var entries: [LogEntry]
        var nonce: LogNonce?
        var now: Int64
        var answer: CheckedContinuation<Int64, any Error>
    }

    /// The most pushes one transaction takes.
    static let appendGroup = 200

    /// Appends the pushes waiting, a group at a time, until none waits (group commit). Every push
    /// of a group is one transaction: each records its nonce (a replayed one is refused alone and
    /// its commits left out), then all their commits are appended under one lock of the log's end
    /// and one flush of PostgreSQL's WAL. The lock serialises every append of every process, so
    /// one transaction per push made a burst of 1,500 devices wait past the store's timeout
    /// (503 `store_unavailable` for most of them, in the scale-out benchmark). Each push is
    /// answered with the group's checkpoint, which covers its own commits.
    private func drainAppends() async {
        while true {
            let group = appending.withLock { state in
                let taken = Array(state.queue.prefix(Self.appendGroup))
                state.queue.removeFirst(taken.count)
                if taken.isEmpty { state.draining = false }
                return taken
            }
            guard !group.isEmpty else { return }
            let logger = logger
            let items = group.map { ($0.entries, $0.nonce, $0.now) }
            do {
                let (replayed, checkpoint) = try await guarded("storing commits") { [self] in
                    try await client.withTransaction(logger: logger) { connection in
                        var replayed: [Bool] = []
                        for (_, nonce, now) in items {
                            guard let nonce else {
                                replayed.append(false)
                                continue
                            }
                            replayed.append(!(try await Self.record(nonce, now: now, connection, logger)))
                        }
                        let entries = zip(items, replayed).filter { !$0.1 }.flatMap(\.0.0)
                        guard !entries.isEmpty else { return (replayed, Int64(0)) }
                        return (replayed, try await Self.append(entries, exclusive: false, connection, logger))
                    }
                }
                for (pending, wasReplayed) in zip(group, replayed) {
                    if wasReplayed {
                        pending.answer.resume(
                            throwing: SharedLogError(
                                .replayed,
                                "this request was already received (its nonce was seen)"
                            )
                        )
                    } else {
                        pending.answer.resume(returning: pending.entries.isEmpty ? 0 : checkpoint)
                    }
                }
            } catch {
                for pending in group { pending.answer.resume(throwing: error) }
            }
        }
    }

    /// The append proper, inside the caller's transaction.
    static func append(
        _ entries: [LogEntry],
        exclusive: Bool,
        _ connection: PostgresConnection,
        _ logger: Logger
    ) async throws -> Int64 {
        // The lock every append takes, held until this transaction commits (see the type's notes).
        var end: Int64 = 0
        for try await position in try await connection.query(
            "SELECT position FROM fieldlog_log_end FOR UPDATE",
            logger: logger
        ).decode(Int64.self) {
            end = position
        }
        var present: [[UInt8]: Int64] = [:]
        let ids = entries.map { bytes($0.id) }
        for try await (id, position) in try await connection.query(
            "SELECT id, position FROM fieldlog_log WHERE id = ANY(\(ids))",
            logger: logger
        ).decode((ByteBuffer, Int64).self) {
            present[Array(id.readableBytesView)] = position
        }
        // The new entries, each id once, in the order given.
        var fresh: [LogEntry] = []
        var seen = Set(present.keys)
        for entry in entries where seen.insert(entry.id).inserted { fresh.append(entry) }
        var checkpoint = present.values.max() ?? 0
        guard !fresh.isEmpty else { return checkpoint }
        struct Place: Hashable {
            var author: [UInt8]
            var scope: String
            var sequence: Int64
        }
        var taken: Set<Place> = []
        for try await (author, scope, sequence) in try await connection.query(
            """
            SELECT l.author, l.scope, l.seq FROM fieldlog_log l
            JOIN unnest(\(fresh.map { bytes($0.author) }), \(fresh.map(\.scope)), \(fresh.map(\.sequence)))
                AS n(author, scope, seq) ON l.author = n.author AND l.scope = n.scope AND l.seq = n.seq
            WHERE NOT l.fork
            """,
            logger: logger
        ).decode((ByteBuffer, String, Int64).self) {
            taken.insert(Place(author: Array(author.readableBytesView), scope: scope, sequence: sequence))
        }
        var forks: [Bool] = []
        for entry in fresh {
            let place = Place(author: entry.author, scope: entry.scope, sequence: entry.sequence)
            let isFork = !taken.insert(place).inserted
            if isFork && exclusive {
                throw SharedLogError(
                    .placeTaken,
                    "another commit holds sequence \(entry.sequence) of this feed in the shared log"
                )
            }
            forks.append(isFork)
        }
        let positions = (1...fresh.count).map { end + Int64($0) }
        try await connection.query(
            """
            INSERT INTO fieldlog_log(position, id, author, scope, seq, fork, record)
            SELECT * FROM unnest(\(positions), \(fresh.map { bytes($0.id) }), \(fresh.map { bytes($0.author) }),
                \(fresh.map(\.scope)), \(fresh.map(\.sequence)), \(forks), \(fresh.map { bytes($0.record) }))
            """,
            logger: logger
        )
        let newEnd = end + Int64(fresh.count)
        try await connection.query("UPDATE fieldlog_log_end SET position = \(newEnd)", logger: logger)
        checkpoint = max(checkpoint, newEnd)
        return checkpoint
    }

    /// At most `readBytes` of records per query (or one record, if it alone is larger), so that
    /// each answer is small: PostgresNIO 1.33.2 stops the process with a precondition failure when
    /// the server closes a connection (a restart) while a result that spans several socket reads
    /// is being streamed (its RowStreamStateMachine), and small answers make that window narrow.
    /// `entries` asks as many times as it takes to gather `limit` entries.
    public static let readBytes = 32 << 10

    public func entries(after position: Int64, limit: Int) async throws -> [LogRecord] {
        var records: [LogRecord] = []
        var last = position
        while records.count < limit {
            let part = try await entriesQuery(after: last, limit: limit - records.count)
            guard let end = part.last else { break }
            records += part
            last = end.position
        }
        return records
    }

    /// One query of `entries`: the next records after `position`, at most `readBytes` of them.
    private func entriesQuery(after position: Int64, limit: Int) async throws -> [LogRecord] {
        try await guarded("reading the log") { [self] in
            var records: [LogRecord] = []
            for try await (position, record) in try await client.query(
                """
                SELECT position, record FROM (
                    SELECT position, record, sum(octet_length(record)) OVER (ORDER BY position) AS upto
                    FROM (SELECT position, record FROM fieldlog_log WHERE position > \(position)
                          ORDER BY position LIMIT \(min(limit, 2000))) AS next
                ) AS sized
                WHERE upto <= \(Self.readBytes) OR position = (SELECT min(position) FROM fieldlog_log WHERE position > \(position))
                ORDER BY position
                """,
                logger: logger
            ).decode((Int64, ByteBuffer).self) {
                records.append(LogRecord(position: position, record: Array(record.readableBytesView)))
            }
            return records
        }
    }

    public func end() async throws -> Int64 {
        try await guarded("reading the log's end") { [self] in
            var end: Int64 = 0
            for try await position in try await client.query(
                "SELECT position FROM fieldlog_log_end",
                logger: logger
            ).decode(Int64.self) {
                end = position
            }
            return end
        }
    }

    /// The author of the log's first registry commit: the county root, for a process that starts
    /// with an empty replica and its own key (which it checks against the fingerprint it is given).
    public func registryAuthor() async throws -> [UInt8]? {
        try await guarded("reading the log") { [self] in
            var author: [UInt8]?
            for try await key in try await client.query(
                "SELECT author FROM fieldlog_log WHERE scope = \(Commit.registryScope) ORDER BY position LIMIT 1",
                logger: logger
            ).decode(ByteBuffer.self) {
                author = Array(key.readableBytesView)
            }
            return author
        }
    }

    /// Every place of the log that holds more than one commit: (author, scope, sequence, ids).
    public func forks() async throws -> [(author: [UInt8], scope: String, sequence: Int64, count: Int)] {
        try await guarded("reading the log's forks") { [self] in
            var forks: [(author: [UInt8], scope: String, sequence: Int64, count: Int)] = []
            for try await (author, scope, sequence, count) in try await client.query(
                """
                SELECT author, scope, seq, count(*) FROM fieldlog_log GROUP BY author, scope, seq
                HAVING count(*) > 1 ORDER BY author, scope, seq
                """,
                logger: logger
            ).decode((ByteBuffer, String, Int64, Int64).self) {
                forks.append((Array(author.readableBytesView), scope, sequence, Int(count)))
            }
            return forks
        }
    }

    // MARK: - Enrollment codes

    public func addCode(_ code: SharedEnrollmentCode) async throws {
        try await guarded("storing an enrollment code") { [self] in
            try await client.query(
                """
                INSERT INTO fieldlog_enrollment_codes(hash, role, cadre_id, department_id, label, created_at, expires_at)
                VALUES (\(Self.bytes(code.hash)), \(code.role), \(code.cadreID.map(Self.bytes)),
                    \(code.departmentID.map(Self.bytes)), \(code.label), \(code.createdAt), \(code.expiresAt))
                """,
                logger: logger
            )
        }
    }

    public func code(hash: [UInt8]) async throws -> SharedEnrollmentCode? {
        try await guarded("reading an enrollment code") { [self] in
            try await Self.codes(
                client.query(
                    """
                    SELECT hash, role, cadre_id, department_id, label, created_at, expires_at, used_at, used_by
                    FROM fieldlog_enrollment_codes WHERE hash = \(Self.bytes(hash))
                    """,
                    logger: logger
                )
            ).first
        }
    }

    public func spendCode(hash: [UInt8], usedBy: String, now: Int64) async throws -> SharedEnrollmentCode? {
        try await guarded("spending an enrollment code") { [self] in
            try await Self.codes(
                client.query(
                    """
                    UPDATE fieldlog_enrollment_codes SET used_at = \(now), used_by = \(usedBy)
                    WHERE hash = \(Self.bytes(hash)) AND used_at IS NULL AND expires_at >= \(now)
                    RETURNING hash, role, cadre_id, department_id, label, created_at, expires_at, used_at, used_by
                    """,
                    logger: logger
                )
            ).first
        }
    }

    private static func codes(_ rows: PostgresRowSequence) async throws -> [SharedEnrollmentCode] {
        var codes: [SharedEnrollmentCode] = []
        for try await (hash, role, cadre, department, label, created, expires, used, usedBy) in rows.decode(
            (ByteBuffer, String, ByteBuffer?, ByteBuffer?, String?, Int64, Int64, Int64?, String?).self
        ) {
            codes.append(
                SharedEnrollmentCode(
                    hash: Array(hash.readableBytesView),
                    role: role,
                    cadreID: cadre.map { Array($0.readableBytesView) },
                    departmentID: department.map { Array($0.readableBytesView) },
                    label: label,
                    createdAt: created,
                    expiresAt: expires,
                    usedAt: used,
                    usedBy: usedBy
                )
            )
        }
        return codes
    }

    static func bytes(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }
}

/// The first of a call's outcomes (its result, its timeout, its caller's cancellation) answers it;
/// the others find it answered. The tasks still running are cancelled then.
private final class BoundedRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var tasks: [Task<Void, Never>] = []
        var answered = false
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            guard let early = state.early else {
                state.continuation = continuation
                return nil
            }
            return early
        }
        if let early { continuation.resume(with: early) }
    }

    func add(_ task: Task<Void, Never>) {
        let cancel = state.withLock { state -> Bool in
            if state.answered { return true }
            state.tasks.append(task)
            return false
        }
        if cancel { task.cancel() }
    }

    func answer(_ result: Result<T, any Error>) {
        let (continuation, tasks) = state.withLock {
            state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
            guard !state.answered else { return (nil, []) }
            state.answered = true
            guard let continuation = state.continuation else {
                state.early = result
                return (nil, state.tasks)
            }
            state.continuation = nil
            return (continuation, state.tasks)
        }
        for task in tasks { task.cancel() }
        continuation?.resume(with: result)
    }
}
