import ArgumentParser
import AsyncHTTPClient
import FieldCrypto
import FieldHub
import FieldLedger
import FieldStore
import FieldSync
import Foundation
import Hummingbird
import Logging

struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub", abstract: "The county hub: create it, and serve signed HTTP sync.", subcommands: [HubInit.self, Serve.self]
    )

    struct HubInit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init", abstract: "Create the county and its operator (root) key in the data folder."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The county's name, e.g. 高唐县.") var name: String

        func run() throws {
            guard !FileManager.default.fileExists(atPath: global.keyPath), !global.hasReplica else {
                throw CLIError("\(global.folder) already holds a key or a replica; use an empty --data folder for the hub")
            }
            let passphrase = try Passphrase.read(prompt: "Choose a passphrase for the county root key: ", confirm: true)
            let key = SigningKey.generate()
            try KeyFile.write(key, passphrase: passphrase, to: global.keyPath, parameters: try kdfParameters())
            let ledger = try Ledger.open(path: global.replicaPath, root: key.publicKey, key: key)
            try ledger.replica.setMetaValue("county", name)
            if global.json {
                try global.printJSON(["county": name, "rootKey": key.publicKey.hex, "rootFingerprint": key.publicKey.fingerprint])
                return
            }
            print("Created the hub of \(name) in \(global.folder).")
            print("  root key:         \(key.publicKey.hex)")
            print("  root fingerprint: \(key.publicKey.fingerprint)   (devices compare this when they join)")
            print("Next: import the registry (`fieldlog registry import ...`), then `fieldlog hub serve`.")
        }
    }

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Serve sync over HTTP until SIGTERM or SIGINT (then shut down gracefully).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The address to listen on.") var host = "127.0.0.1"
        @Option(help: "The port to listen on.") var port = 8080
        @Option(help: "How far a request's signature time may be from the hub's clock, in seconds.") var window: Int64 = 300

        func run() async throws {
            let key = try global.signingKey()
            let ledger = try Ledger.open(path: global.replicaPath, root: nil, key: key)
            guard ledger.isRoot else { throw CLIError("this data folder is not the hub's: its key is not the county root") }
            var configuration = HubConfiguration(ledger: ledger, hubKey: key)
            configuration.host = host
            configuration.port = port
            configuration.createdWindow = window
            var logger = Logger(label: "fieldlog.hub")
            logger.logLevel = ProcessInfo.processInfo.environment["FIELDLOG_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            configuration.logger = logger
            let host = host
            configuration.onListening = { port in
                FileHandle.standardOutput.write(Data("fieldlog hub listening on http://\(host):\(port)\n".utf8))
            }
            logger.info("serving", metadata: ["address": "\(host):\(port)", "root": "\(key.publicKey.fingerprint)"])
            try await buildHub(configuration).runService()
        }
    }
}

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Sync this replica with the county hub over signed HTTP."
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: "The hub's address, e.g. http://10.1.2.3:8080.") var hub: String

    func run() async throws {
        let key = try global.signingKey()
        let ledger = try Ledger.open(path: global.replicaPath, root: nil, key: key)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let transport = HTTPTransport(baseURL: hub, key: key, hubKey: ledger.replica.root, client: client)
        let started = Date()
        let showProgress = isatty(STDERR_FILENO) == 1
        let result: Result<SyncSummary, any Error>
        do {
            let summary = try await SyncClient(replica: ledger.replica, peer: hub).sync(over: transport) { progress in
                guard showProgress else { return }
                let elapsed = max(Date().timeIntervalSince(started), 0.001)
                FileHandle.standardError.write(Data(String(
                    format: "\r%@: %d commits, %.1f MB, %.0f commits/s   ", progress.phase, progress.commits, Double(progress.bytes) / 1e6,
                    Double(progress.commits) / elapsed
                ).utf8))
            }
            result = .success(summary)
        } catch {
            result = .failure(error)
        }
        try await client.shutdown()
        if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
        let summary = try result.get()
        if global.json { try global.printJSON(summary); return }
        print("Sync with \(hub): \(summary.line)")
        if !summary.divergentScopes.isEmpty {
            throw CLIError("this replica and the hub hold the same commits but show different data in \(summary.divergentScopes.joined(separator: ", ")); report this to the operator")
        }
    }
}
