import ArgumentParser
import FieldCrypto
import FieldHub
import FieldLedger
import FieldPostgres
import FieldStore
import Foundation

/// `--store`: the PostgreSQL database a hub process shares with the county's other hub processes
/// (docs/scale-out.md).
struct StoreOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Share the hub with other hub processes through this PostgreSQL database, e.g. postgresql://fieldlog@127.0.0.1:5432/fieldlog; the password from $FIELDLOG_STORE_PASSWORD unless the URL has one (docs/scale-out.md).",
            valueName: "url"
        )
    )
    var store: String?

    /// The store, its tables brought up to date; nil without `--store`.
    func open() async throws -> PostgresSharedLog? {
        guard let store else { return nil }
        var url = store
        if var components = URLComponents(string: store), components.password == nil,
            let password = ProcessInfo.processInfo.environment["FIELDLOG_STORE_PASSWORD"], !password.isEmpty
        {
            components.password = password
            url = components.string ?? store
        }
        do {
            let log = try PostgresSharedLog(url: url)
            do {
                try await log.migrate()
            } catch {
                log.shutdown()
                throw error
            }
            return log
        } catch let error as SharedLogError {
            throw CLIError(error.message)
        }
    }
}

/// A hub process's replica on a shared store: opened with the gate that appends its own commits
/// to the log, and, the first time, with what it holds published to the log.
enum SharedHubReplica {
    /// Opens the process's replica in `global`'s folder: the county's hub folder, or a new folder
    /// holding only the root key file (its replica is then made empty and follows the log).
    static func open(_ global: GlobalOptions, key: SigningKey, log: PostgresSharedLog) throws -> Ledger {
        var options = ReplicaOptions()
        options.localCommitGate = log.localCommitGate
        let ledger = try Ledger.open(
            path: global.replicaPath,
            root: global.hasReplica ? nil : key.publicKey,
            key: key,
            options: options,
            profile: try global.profile()
        )
        guard ledger.isRoot else { throw CLIError("this data folder is not the hub's: its key is not the county root") }
        return ledger
    }

    /// Publishes every commit the replica holds to the log, once: when the replica has never
    /// followed a log (a county's single hub becoming the first of several). The root's own
    /// commits go exclusively: if the log holds others at their places, this folder is not the
    /// county's hub as the log knows it, and the process stops.
    /// - Returns: how many commits were published (0 when the replica follows a log already).
    static func publish(_ ledger: Ledger, to log: PostgresSharedLog) async throws -> Int {
        guard try LogFollower.storedPosition(ledger) == 0 else { return 0 }
        var entries: [LogEntry] = []
        try ledger.syncEngine.exportRecords { record in entries.append(LogEntry(try WireRecord.decode(record))) }
        guard !entries.isEmpty else { return 0 }
        let root = ledger.rootKey.bytes
        let now = Int64(Date().timeIntervalSince1970)
        do {
            for own in [true, false] {
                let part = entries.filter { ($0.author == root) == own }
                for start in stride(from: 0, to: part.count, by: 2000) {
                    _ = try await log.append(
                        Array(part[start..<min(start + 2000, part.count)]),
                        nonce: nil,
                        now: now,
                        exclusive: own
                    )
                }
            }
        } catch let error as SharedLogError where error.code == .placeTaken {
            throw CLIError(
                "the shared store holds other registry commits than this folder's replica; start this process on a new folder holding only the root key file"
            )
        } catch let error as SharedLogError {
            throw CLIError(error.message)
        }
        return entries.count
    }
}
