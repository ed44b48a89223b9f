import ArgumentParser
import FieldCrypto
import FieldHub
import FieldLedger
import FieldPostgres
import FieldStore
import Foundation
import Logging

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

    /// `--store`, else `$FIELDLOG_STORE`.
    var url: String? { store ?? SharedHubReplica.environmentStore }

    /// The store, its tables brought up to date; nil without `--store` or `$FIELDLOG_STORE`.
    func open() async throws -> PostgresSharedLog? {
        guard let store = url else { return nil }
        let url = SharedHubReplica.passwordFromEnvironment(store)
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
    ///
    /// A folder may instead hold a key of the process's own (`fieldlog init`), which the operator
    /// lists in the registry with the role `hub`: the process then signs its answers with it and
    /// holds no root key, so that a host gone astray is revoked alone. Its replica only follows the
    /// log; a new one takes the county root from the log's first registry commit, checked against
    /// `rootFingerprint`.
    static func open(
        _ global: GlobalOptions,
        key: SigningKey,
        log: PostgresSharedLog,
        rootFingerprint: String?
    ) async throws -> Ledger {
        var options = ReplicaOptions()
        options.localCommitGate = log.localCommitGate
        var root: PublicKey?
        if !global.hasReplica {
            let author: [UInt8]?
            do { author = try await log.registryAuthor() } catch let error as SharedLogError {
                throw CLIError(error.message)
            }
            let logRoot = try author.map { try PublicKey(bytes: $0) }
            if let rootFingerprint,
                logRoot == nil || logRoot?.fingerprintDigits != PublicKey.fingerprintDigits(typed: rootFingerprint)
            {
                throw CLIError(
                    "the shared store's county root (\(logRoot?.fingerprint ?? "none yet")) is not the one given with --root-fingerprint; check the store URL and the fingerprint"
                )
            }
            if let logRoot, logRoot != key.publicKey, rootFingerprint == nil {
                throw CLIError(
                    "this folder's key is not the county root: give the root fingerprint the operator told you with --root-fingerprint"
                )
            }
            root = logRoot ?? key.publicKey
        }
        return try Ledger.open(
            path: global.replicaPath,
            root: root,
            publicKey: key.publicKey,
            signer: key,
            options: options,
            profile: try global.profile()
        )
    }

    /// `$FIELDLOG_STORE`: the shared store of the operator's shell, for `hub serve`, `hub
    /// enroll-code` and every command that writes with the root key (`GlobalOptions.ledger`).
    static var environmentStore: String? {
        ProcessInfo.processInfo.environment["FIELDLOG_STORE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The root's ledger for an operator's command on a shared store (`$FIELDLOG_STORE`): its
    /// replica published to the log if it never followed one, then followed to the log's end,
    /// and its writes appended to the log exclusively (the gate), so that the command's registry
    /// commits reach every hub process and never fork the root's feed. Runs on the command's own
    /// thread (a synchronous command), waiting for PostgreSQL there.
    static func operatorLedger(
        _ global: GlobalOptions,
        publicKey: PublicKey,
        signer: SigningKey,
        options: ReplicaOptions,
        url: String
    ) throws -> Ledger {
        let log: PostgresSharedLog
        do {
            log = try PostgresSharedLog(url: passwordFromEnvironment(url))
            try waitFor { try await log.migrate() }
        } catch let error as SharedLogError {
            throw CLIError(error.message)
        }
        var options = options
        options.localCommitGate = log.localCommitGate
        let ledger = try Ledger.open(
            path: global.replicaPath,
            root: nil,
            publicKey: publicKey,
            signer: signer,
            options: options,
            profile: try global.profile()
        )
        _ = try waitFor { try await publish(ledger, to: log) }
        _ = try waitFor { try await follow(ledger, log) }
        return ledger
    }

    /// Follows the log to its end into the replica; returns the position reached.
    static func follow(_ ledger: Ledger, _ log: PostgresSharedLog) async throws -> Int64 {
        let follower = LogFollower(
            log: log,
            ledger: ledger,
            threads: HubThreads.shared,
            metrics: HubMetrics(),
            logger: Logger(label: "fieldlog.hub")
        )
        do {
            try await follower.refresh()
        } catch let error as SharedLogError {
            throw CLIError(error.message)
        }
        return await follower.position
    }

    /// `url` with the password of `$FIELDLOG_STORE_PASSWORD` when it names none.
    static func passwordFromEnvironment(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password == nil,
            let password = ProcessInfo.processInfo.environment["FIELDLOG_STORE_PASSWORD"], !password.isEmpty
        else { return url }
        components.password = password
        return components.string ?? url
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
