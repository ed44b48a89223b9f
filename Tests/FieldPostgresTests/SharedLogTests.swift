import FieldCrypto
import FieldHub
import FieldLedger
import FieldStore
import Foundation
import PostgresNIO
import Testing

@testable import FieldPostgres

/// The shared store's rules, on a real PostgreSQL 15 (docs/scale-out.md).
@Suite(.enabled(if: TestPostgres.available)) struct SharedLogTests {
    /// A signed commit of `author` at `sequence` in `scope` (its content made distinct by `topic`).
    static func commit(
        _ author: SigningKey,
        scope: String = "s1",
        sequence: UInt64,
        topic: String = "x"
    ) throws
        -> SignedCommit
    {
        let commit = Commit(
            author: author.publicKey,
            scope: scope,
            sequence: sequence,
            previous: .zero,
            timestamp: Timestamp(milliseconds: 1_700_000_000_000 + sequence, counter: 0),
            schemaVersion: 1,
            registrySequence: 1,
            changes: [Change(table: "visits", row: UUID(), column: "topics", value: .text(topic))]
        )
        return try SignedCommit(signing: commit, with: author)
    }

    static func nonce(_ key: SigningKey, expires: Int64 = 2_000_000_000) -> LogNonce {
        LogNonce(keyID: key.publicKey.bytes, nonce: secureRandomBytes(16), expiresAt: expires)
    }

    @Test func aNonceIsRecordedOnceAndAReplayIsRefused() async throws {
        try await TestPostgres.withDatabase { url in
            let log = try PostgresSharedLog(url: url)
            defer { log.shutdown() }
            try await log.migrate()
            try await log.migrate()  // twice: each migration runs once
            let key = SigningKey.generate()
            let nonce = Self.nonce(key)
            #expect(try await log.remember(nonce, now: 1_000))
            #expect(try await !log.remember(nonce, now: 1_000))
            // Another key may use the same 16 bytes: nonces are per key.
            var other = nonce
            other.keyID = SigningKey.generate().publicKey.bytes
            #expect(try await log.remember(other, now: 1_000))
            // A push's nonce is recorded in the push's transaction: a replayed push stores nothing.
            let pushNonce = Self.nonce(key)
            let commit = try Self.commit(key, sequence: 1)
            #expect(try await log.append([LogEntry(commit)], nonce: pushNonce, now: 1_000, exclusive: false) == 1)
            let second = try Self.commit(key, sequence: 2)
            await #expect(throws: SharedLogError(.replayed, "this request was already received (its nonce was seen)")) {
                try await log.append([LogEntry(second)], nonce: pushNonce, now: 1_000, exclusive: false)
            }
            #expect(try await log.end() == 1)
            // Once its window is over, a nonce's row may be taken again (the request would be
            // refused as expired before it got here anyway).
            #expect(try await log.remember(nonce, now: 3_000_000_000))
        }
    }

    @Test func anAppendIsIdempotentAndKeepsEveryCommitOfAFork() async throws {
        try await TestPostgres.withDatabase { url in
            let log = try PostgresSharedLog(url: url)
            defer { log.shutdown() }
            try await log.migrate()
            let key = SigningKey.generate()
            let batch = try (1...5).map { try LogEntry(Self.commit(key, sequence: $0)) }
            #expect(try await log.append(batch, nonce: nil, now: 0, exclusive: false) == 5)
            // The same batch again, or part of it, stores nothing and answers the same checkpoint.
            #expect(try await log.append(batch, nonce: nil, now: 0, exclusive: false) == 5)
            #expect(try await log.append(Array(batch[0..<2]), nonce: nil, now: 0, exclusive: false) == 2)
            #expect(try await log.end() == 5)
            // Another commit at sequence 3: kept, as fork evidence.
            let twin = try LogEntry(Self.commit(key, sequence: 3, topic: "twin"))
            #expect(try await log.append([twin], nonce: nil, now: 0, exclusive: false) == 6)
            let forks = try await log.forks()
            #expect(forks.count == 1 && forks[0].sequence == 3 && forks[0].count == 2)
            // Both commits of a fork in one batch: both kept too.
            let a = try LogEntry(Self.commit(key, sequence: 9, topic: "a"))
            let b = try LogEntry(Self.commit(key, sequence: 9, topic: "b"))
            #expect(try await log.append([a, b, a], nonce: nil, now: 0, exclusive: false) == 8)
            #expect(try await log.forks().count == 2)
            // An exclusive append (a hub process's own commit) at a taken place is refused whole.
            let own = try LogEntry(Self.commit(key, sequence: 4, topic: "own"))
            let next = try LogEntry(Self.commit(key, sequence: 10))
            await #expect(throws: SharedLogError.self) {
                try await log.append([next, own], nonce: nil, now: 0, exclusive: true)
            }
            #expect(try await log.end() == 8)
            let records = try await log.entries(after: 0, limit: 100)
            #expect(records.map(\.position) == Array(1...8))
            #expect(Set(records.map(\.record)).count == 8)
        }
    }

    /// Many appends at once from several connections while a reader follows: the reader never
    /// sees a position before every lower one (positions are given under the lock of the
    /// appending transaction), so it misses nothing.
    @Test func aFollowerNeverSkipsAnEntryThatCommitsLate() async throws {
        try await TestPostgres.withDatabase { url in
            // Generous timeouts: the whole test suite runs beside this one on two cores.
            let writers = try (0..<4).map { _ in
                try PostgresSharedLog(url: url, maxConnections: 4, timeout: .seconds(120))
            }
            let reader = try PostgresSharedLog(url: url, timeout: .seconds(120))
            defer {
                for writer in writers { writer.shutdown() }
                reader.shutdown()
            }
            try await reader.migrate()
            let total = 4 * 2 * 20
            let read = try await withThrowingTaskGroup(of: [LogRecord].self) { group in
                for writer in writers {
                    for _ in 0..<2 {
                        group.addTask {
                            let key = SigningKey.generate()
                            for sequence in 1...20 {
                                let entry = try LogEntry(Self.commit(key, sequence: UInt64(sequence)))
                                _ = try await writer.append([entry], nonce: nil, now: 0, exclusive: false)
                            }
                            return []
                        }
                    }
                }
                group.addTask {
                    var seen: [LogRecord] = []
                    var position: Int64 = 0
                    while seen.count < total {
                        let records = try await reader.entries(after: position, limit: 50)
                        for record in records {
                            // Each read continues exactly where the last one stopped.
                            #expect(record.position == position + 1, "position \(record.position) after \(position)")
                            position = record.position
                            seen.append(record)
                        }
                    }
                    return seen
                }
                var all: [LogRecord] = []
                for try await part in group { all += part }
                return all
            }
            #expect(read.count == total)
            #expect(Set(read.map(\.record)).count == total)
        }
    }

    /// Pushes arriving together at one process are appended in one transaction (group commit),
    /// each still judged alone: a replayed nonce among them is refused without its commits, and
    /// every other push is answered with a checkpoint that covers its own commit.
    @Test func pushesAppendedTogetherAreEachJudgedAlone() async throws {
        try await TestPostgres.withDatabase { url in
            let log = try PostgresSharedLog(url: url, timeout: .seconds(120))
            defer { log.shutdown() }
            try await log.migrate()
            let author = SigningKey.generate()
            let pushes = try (1...40).map { sequence in
                (try LogEntry(Self.commit(author, scope: "s\(sequence)", sequence: 1)), Self.nonce(author))
            }
            let replay = try LogEntry(Self.commit(author, scope: "replay", sequence: 1))
            let outcomes = await withTaskGroup(of: (String, Result<Int64, SharedLogError>).self) { group in
                for (entry, nonce) in pushes {
                    group.addTask {
                        do {
                            return (
                                entry.scope,
                                .success(try await log.append([entry], nonce: nonce, now: 0, exclusive: false))
                            )
                        } catch let error as SharedLogError {
                            return (entry.scope, .failure(error))
                        } catch {
                            return (entry.scope, .failure(SharedLogError(.unavailable, "\(error)")))
                        }
                    }
                }
                // The first push's nonce again, with another commit: a replay.
                group.addTask {
                    do {
                        return (
                            "replay",
                            .success(try await log.append([replay], nonce: pushes[0].1, now: 0, exclusive: false))
                        )
                    } catch let error as SharedLogError {
                        return ("replay", .failure(error))
                    } catch {
                        return ("replay", .failure(SharedLogError(.unavailable, "\(error)")))
                    }
                }
                var all: [String: Result<Int64, SharedLogError>] = [:]
                for await (scope, outcome) in group { all[scope] = outcome }
                return all
            }
            let failures = outcomes.filter { if case .failure = $0.value { true } else { false } }
            #expect(failures.count == 1, "exactly one of the two pushes with one nonce is refused: \(failures)")
            if case .failure(let error)? = failures.first?.value { #expect(error.code == .replayed) }
            let stored = try await log.entries(after: 0, limit: 100)
            #expect(stored.count == 40, "the refused push's commit is not stored")
            let entries = Dictionary(uniqueKeysWithValues: pushes.map { ($0.0.scope, $0.0) } + [("replay", replay)])
            for (scope, outcome) in outcomes {
                let record = stored.first { $0.record == entries[scope]?.record }
                switch outcome {
                case .failure: #expect(record == nil, "\(scope): a refused push's commit is not stored")
                case .success(let checkpoint):
                    #expect(checkpoint >= (record?.position ?? .max), "\(scope): the checkpoint covers its commit")
                }
            }
        }
    }

    /// Many requests waiting at once for the replica to reach the log's end (pushes presenting
    /// their checkpoints) all return, and the follower answers afterwards. A waiter once spun on
    /// the finished step of another, holding the follower's actor for ever.
    @Test func manyWaitersOnOneFollowerAllReturn() async throws {
        try await TestPostgres.withDatabase { url in
            let log = try PostgresSharedLog(url: url, timeout: .seconds(120))
            defer { log.shutdown() }
            try await log.migrate()
            let author = SigningKey.generate()
            for sequence in 1...120 {
                _ = try await log.append(
                    [try LogEntry(Self.commit(author, sequence: UInt64(sequence)))],
                    nonce: nil,
                    now: 0,
                    exclusive: false
                )
            }
            let root = SigningKey.generate()
            let ledger = try Ledger.open(path: nil, root: root.publicKey, key: root)
            let follower = LogFollower(
                log: log,
                ledger: ledger,
                threads: HubThreads.shared,
                metrics: HubMetrics(),
                logger: HubConfiguration(ledger: ledger, hubKey: root).logger,
                batch: 3
            )
            // The waiters run in a task of their own: if they never return, the test fails after
            // a minute instead of waiting with them.
            let (done, finished) = AsyncStream.makeStream(of: Bool.self)
            Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<40 {
                        group.addTask { try await follower.reach(Int64(80 + index)) }
                    }
                    try await group.waitForAll()
                }
                finished.yield(true)
            }
            let timer = Task {
                try await Task.sleep(for: .seconds(60))
                finished.yield(false)
            }
            var outcomes = done.makeAsyncIterator()
            let returned = await outcomes.next()
            timer.cancel()
            #expect(returned == true, "40 waiters did not return within a minute")
            guard returned == true else { return }
            try await follower.refresh()
            #expect(await follower.position == 120)
        }
    }

    @Test func anEnrollmentCodeIsSpentOnceWhateverTheRace() async throws {
        try await TestPostgres.withDatabase { url in
            let logs = try (0..<3).map { _ in try PostgresSharedLog(url: url) }
            defer { for log in logs { log.shutdown() } }
            try await logs[0].migrate()
            let hash = secureRandomBytes(32)
            try await logs[0].addCode(
                SharedEnrollmentCode(
                    hash: hash,
                    role: "cadre",
                    cadreID: Array(repeating: 1, count: 16),
                    departmentID: nil,
                    label: "王强的电脑",
                    createdAt: 100,
                    expiresAt: 200
                )
            )
            let winners = try await withThrowingTaskGroup(of: SharedEnrollmentCode?.self) { group in
                for index in 0..<12 {
                    group.addTask {
                        try await logs[index % 3].spendCode(hash: hash, usedBy: "device \(index)", now: 150)
                    }
                }
                var winners: [SharedEnrollmentCode] = []
                for try await spent in group { if let spent { winners.append(spent) } }
                return winners
            }
            #expect(winners.count == 1)
            #expect(winners.first?.label == "王强的电脑")
            let stored = try #require(try await logs[1].code(hash: hash))
            #expect(stored.usedAt == 150 && stored.usedBy == winners.first?.usedBy)
            // An expired code is never spent.
            let late = secureRandomBytes(32)
            try await logs[0].addCode(
                SharedEnrollmentCode(
                    hash: late,
                    role: "supervisor",
                    cadreID: nil,
                    departmentID: nil,
                    label: nil,
                    createdAt: 100,
                    expiresAt: 120
                )
            )
            #expect(try await logs[2].spendCode(hash: late, usedBy: "late", now: 121) == nil)
        }
    }

    @Test func anUnreachableStoreFailsInOneSentence() async throws {
        // A port nothing listens on: the error names the store and says what to check.
        let log = try PostgresSharedLog(
            url: "postgresql://fieldlog:x@127.0.0.1:1/fieldlog?sslmode=disable",
            timeout: .seconds(1)
        )
        defer { log.shutdown() }
        do {
            _ = try await log.end()
            Issue.record("an unreachable store answered")
        } catch let error as SharedLogError {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("127.0.0.1:1/fieldlog"))
            #expect(!error.message.contains("PSQLError"))
        }
        #expect(throws: SharedLogError.self) { try PostgresSharedLog(url: "mysql://x@y/z") }
        #expect(throws: SharedLogError.self) { try PostgresSharedLog(url: "postgresql://x@y/z?sslmode=maybe") }
        #expect(throws: SharedLogError.self) { try PostgresSharedLog(url: "postgresql://127.0.0.1/z") }
    }
}
