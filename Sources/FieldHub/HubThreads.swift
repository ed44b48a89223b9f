import Foundation
import NIOPosix
import ServiceLifecycle

/// The threads the hub's database work runs on, never Swift's cooperative pool. SQLite calls block
/// their thread, and that pool has one thread per core: during a burst of syncs every thread of it
/// waited for the writer, and /healthz took up to 5.7 s to answer in the 300-device load bench.
/// Writes (pushes, enrollments) have a lane of their own, since they take turns on SQLite's single
/// writer anyway; reads (summaries, heads, pulls, the signer's identity) go side by side on the
/// other, as WAL lets them, without queueing behind the writes.
///
/// A service of the hub's application: `buildHub` adds it, and the pools are shut down with the
/// application, after the server has stopped taking requests.
package final class HubThreads: Service, Sendable {
    package enum Lane: Sendable { case read, write }

    package let read: NIOThreadPool
    package let write: NIOThreadPool

    package init() {
        read = NIOThreadPool(numberOfThreads: max(6, 2 * ProcessInfo.processInfo.activeProcessorCount))
        write = NIOThreadPool(numberOfThreads: 2)
        read.start()
        write.start()
    }

    /// The pools of hubs answered in process without an application (the fuzzer, some tests): they
    /// live as long as the process.
    package static let shared = HubThreads()

    /// Runs synchronous database work on the lane's threads, suspending the calling task meanwhile.
    package func perform<T: Sendable>(_ lane: Lane, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await (lane == .read ? read : write).runIfActive(work)
    }

    /// Waits for the application's graceful shutdown, then stops both pools.
    package func run() async throws {
        try? await gracefulShutdown()
        try await read.shutdownGracefully()
        try await write.shutdownGracefully()
    }
}
