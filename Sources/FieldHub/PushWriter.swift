import FieldStore
import Synchronization

/// Group commit: the hub's one writer of pushes.
///
/// A push is decoded and its signatures verified on the read lane, by the request that carried
/// it; then it waits here. The writer, on the write lane, takes every push waiting (up to
/// `maxCommits` commits between them) and integrates them in one SQLite transaction, each in a
/// savepoint of its own (`Replica.integrateGroup`), then answers each push with its own report,
/// only after the transaction is durable. While it writes, the next pushes gather for the next
/// group, so a burst of 300 devices costs a few transactions instead of 300.
final class PushWriter: Sendable {
    private struct Waiting {
        let commits: [SignedCommit]
        let continuation: CheckedContinuation<ImportReport, any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        var writing = false
    }

    private let state = Mutex(State())
    let replica: Replica
    let keepsRefused: Bool
    let threads: HubThreads
    let metrics: HubMetrics
    /// Commits per group at most (a single larger push still goes alone).
    let maxCommits: Int
    /// Called with the number of pushes waiting each time one arrives (tests follow the queue).
    let onWaiting: (@Sendable (Int) -> Void)?

    init(
        replica: Replica,
        keepsRefused: Bool,
        threads: HubThreads,
        metrics: HubMetrics,
        maxCommits: Int = 2000,
        onWaiting: (@Sendable (Int) -> Void)? = nil
    ) {
        self.replica = replica
        self.keepsRefused = keepsRefused
        self.threads = threads
        self.metrics = metrics
        self.maxCommits = maxCommits
        self.onWaiting = onWaiting
    }

    /// Integrates verified commits with the next group; returns this push's own report.
    func push(_ commits: [SignedCommit]) async throws -> ImportReport {
        try await withCheckedThrowingContinuation { continuation in
            let (starts, waiting) = state.withLock { state in
                state.waiting.append(Waiting(commits: commits, continuation: continuation))
                guard !state.writing else { return (false, state.waiting.count) }
                state.writing = true
                return (true, state.waiting.count)
            }
            onWaiting?(waiting)
            if starts { Task { await self.write() } }
        }
    }

    private func write() async {
        do {
            try await threads.perform(.write) { self.writeGroups() }
        } catch {
            // The write lane is shut down (the hub is stopping): nothing waiting is written.
            let waiting = state.withLock { state in
                defer {
                    state.waiting = []
                    state.writing = false
                }
                return state.waiting
            }
            for push in waiting { push.continuation.resume(throwing: error) }
        }
    }

    /// Writes groups until nothing waits; runs on a write-lane thread.
    private func writeGroups() {
        while true {
            let group = state.withLock { state -> [Waiting] in
                guard !state.waiting.isEmpty else {
                    state.writing = false
                    return []
                }
                var (taken, commits) = (0, 0)
                for push in state.waiting {
                    if taken > 0 && commits + push.commits.count > maxCommits { break }
                    commits += push.commits.count
                    taken += 1
                }
                let group = Array(state.waiting.prefix(taken))
                state.waiting.removeFirst(taken)
                return group
            }
            guard !group.isEmpty else { return }
            let clock = ContinuousClock()
            let began = clock.now
            let results = replica.integrateGroup(group.map(\.commits), keepsRefused: keepsRefused)
            metrics.recordGroup(pushes: group.count, duration: clock.now - began)
            for (push, result) in zip(group, results) { push.continuation.resume(with: result) }
        }
    }
}
