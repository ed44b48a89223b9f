import Foundation
import Synchronization

/// The sync this UI runs, one at a time: its progress while it runs and its result after, for the
/// 同步 page and its live feed (server-sent events). Held in memory; a restart forgets the result
/// (the ledger keeps the time of the last successful sync with the hub).
final class WebSyncJobs: Sendable {
    /// A sync as the page shows it.
    struct Snapshot: Sendable, Codable, Equatable {
        /// 县级平台 or 同事笔记本, and its address.
        var target: String
        var running: Bool
        /// The step under way, in Chinese.
        var phase: String
        var commits: Int
        var bytes: Int
        /// What it did, line by line in Chinese (after it ended).
        var result: [String] = []
        /// Why it failed, in Chinese, with what to do next.
        var error: String?
    }

    private let state = Mutex<(current: Snapshot?, watchers: [UUID: AsyncStream<Snapshot>.Continuation])>((nil, [:]))

    /// The sync running now, or the last one.
    var current: Snapshot? { state.withLock { $0.current } }

    /// Starts `work` unless a sync runs already (false then). `work` reports progress through its
    /// argument and returns the result's lines; a thrown `WebRefusal` becomes the shown error.
    func start(
        target: String,
        _ work:
            @escaping @Sendable (_ progress: @escaping @Sendable (String, Int, Int) -> Void) async throws -> [String]
    ) -> Bool {
        let started = state.withLock { state -> Bool in
            if state.current?.running == true { return false }
            state.current = Snapshot(target: target, running: true, phase: "连接中", commits: 0, bytes: 0)
            return true
        }
        guard started else { return false }
        publish()
        Task.detached {
            do {
                let lines = try await work { phase, commits, bytes in
                    self.update { snapshot in
                        snapshot.phase = phase
                        snapshot.commits = commits
                        snapshot.bytes = bytes
                    }
                }
                self.update { snapshot in
                    snapshot.running = false
                    snapshot.phase = "已完成"
                    snapshot.result = lines
                }
            } catch let refusal as WebRefusal {
                self.update { snapshot in
                    snapshot.running = false
                    snapshot.phase = "未完成"
                    snapshot.error = refusal.message + refusal.advice
                }
            } catch {
                self.update { snapshot in
                    snapshot.running = false
                    snapshot.phase = "未完成"
                    snapshot.error = WebWords.syncFailure(error)
                }
            }
            self.finishWatchers()
        }
        return true
    }

    private func update(_ change: (inout Snapshot) -> Void) {
        state.withLock { state in
            guard var snapshot = state.current else { return }
            change(&snapshot)
            state.current = snapshot
        }
        publish()
    }

    private func publish() {
        let (snapshot, watchers) = state.withLock { ($0.current, Array($0.watchers.values)) }
        guard let snapshot else { return }
        for watcher in watchers { watcher.yield(snapshot) }
    }

    private func finishWatchers() {
        let watchers = state.withLock { state in
            defer { state.watchers.removeAll() }
            return Array(state.watchers.values)
        }
        for watcher in watchers { watcher.finish() }
    }

    /// The snapshots from now on: the current one first, then every change, ending when the sync
    /// ends (at once when none runs).
    func updates() -> AsyncStream<Snapshot> {
        let (stream, continuation) = AsyncStream.makeStream(of: Snapshot.self, bufferingPolicy: .bufferingNewest(16))
        let id = UUID()
        let current = state.withLock { state -> Snapshot? in
            if state.current?.running == true { state.watchers[id] = continuation }
            return state.current
        }
        if let current { continuation.yield(current) }
        if current?.running != true {
            continuation.finish()
        } else {
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
            }
        }
        return stream
    }
}
