import ArgumentParser
import AsyncHTTPClient
import FieldCrypto
import FieldDashboard
import FieldHub
import FieldLedger
import FieldPostgres
import FieldStore
import FieldSync
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract: "The county hub: create it, and serve signed HTTP sync.",
        subcommands: [
            HubInit.self, Serve.self, EnrollCode.self, HubRevoke.self, ReadmitCommand.self, ForksCommand.self,
            HubUser.self,
        ]
    )

    struct HubInit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create the county and its operator (root) key in the data folder."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The county's name, e.g. 高唐县.") var name: String

        func run() throws {
            guard !FileManager.default.fileExists(atPath: global.keyPath), !global.hasReplica else {
                throw CLIError(
                    "\(global.folder) already holds a key or a replica; use an empty --data folder for the hub"
                )
            }
            let passphrase = try Passphrase.read(prompt: "Choose a passphrase for the county root key: ", confirm: true)
            let key = SigningKey.generate()
            try KeyFile.write(key, passphrase: passphrase, to: global.keyPath, parameters: try kdfParameters())
            let ledger = try Ledger.open(path: global.replicaPath, root: key.publicKey, key: key)
            try ledger.setCountyName(name)
            if global.json {
                try global.printJSON([
                    "county": name, "rootKey": key.publicKey.hex, "rootFingerprint": key.publicKey.fingerprint,
                ])
                return
            }
            print("Created the hub of \(name) in \(global.folder).")
            print("  root key:         \(key.publicKey.hex)")
            print("  root fingerprint: \(key.publicKey.fingerprint)   (devices compare this when they join)")
            print("Next: import the registry (`fieldlog registry import ...`), then `fieldlog hub serve`.")
        }
    }

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Serve sync over HTTP until SIGTERM or SIGINT (then shut down gracefully); with --federate, pull the counties joined instead."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The address to listen on.") var host = "127.0.0.1"
        @Option(help: "The port to listen on.") var port = 8080
        @Option(help: "How far a request's signature time may be from the hub's clock, in seconds.") var window: Int64 =
            300
        @Option(help: "Close a connection silent this many seconds (a stalled request, an idle keep-alive); 0 never.")
        var idleTimeout = 30
        @Option(help: "The largest request body accepted, in MiB (413 above it).") var maxBodyMib = 16
        @OptionGroup var address: PublicURLOptions
        @OptionGroup var dashboard: DashboardOptions
        @OptionGroup var shared: StoreOptions
        @Option(
            help:
                "With --store and a key of this process's own: the county root fingerprint the operator told you (a new folder only)."
        )
        var rootFingerprint: String?
        @Option(
            help:
                "With --store: /healthz answers 503 while this process's replica is more than this many entries behind the shared log."
        )
        var maxLogLag: Int64 = 50_000
        @OptionGroup var federation: FederateOptions

        func run() async throws {
            guard idleTimeout >= 0, (1...1024).contains(maxBodyMib), maxLogLag >= 0 else {
                throw CLIError(
                    "--idle-timeout takes 0 or more seconds, --max-body-mib 1 to 1024, --max-log-lag 0 or more"
                )
            }
            guard federation.federate || (federation.pullInterval == 60 && federation.pullConcurrency == 2) else {
                throw CLIError("--pull-interval and --pull-concurrency need --federate")
            }
            if federation.federate {
                guard shared.url == nil, !dashboard.dashboard else {
                    throw CLIError(
                        "--federate runs alone: a federated hub has no shared store (--store) and no console (--dashboard)"
                    )
                }
                try await federation.serve(global, host: host, port: port)
                return
            }
            let urls = try address.validated()
            let key = try global.signingKey()
            let log = try await shared.open()
            defer { log?.shutdown() }
            let ledger: Ledger
            if let log {
                ledger = try await SharedHubReplica.open(global, key: key, log: log, rootFingerprint: rootFingerprint)
                if ledger.isRoot {
                    let published = try await SharedHubReplica.publish(ledger, to: log)
                    if published > 0 {
                        print("Published the \(published) commits of this replica to the shared store (\(log.place)).")
                    }
                }
                // Serve only once the replica holds the log as it is now: a restarted or new process
                // catches up before a proxy sends it anything.
                let position = try await SharedHubReplica.follow(ledger, log)
                print("Followed the shared store's log to position \(position).")
                guard !dashboard.dashboard || ledger.isRoot else {
                    throw CLIError(
                        "the console (--dashboard) signs registry changes and exports with the county root key: serve it from a process whose folder holds the root key file"
                    )
                }
                guard ledger.isRoot || ledger.isHubProcess(key.publicKey) else {
                    throw CLIError(
                        "this process's key (\(key.publicKey.fingerprint)) is not listed as a hub process in the county registry; on the operator's machine, with FIELDLOG_STORE set: fieldlog registry enroll --key \(key.publicKey.hex) --role hub"
                    )
                }
            } else {
                ledger = try Ledger.open(path: global.replicaPath, root: nil, key: key)
                guard ledger.isRoot else {
                    throw CLIError("this data folder is not the hub's: its key is not the county root")
                }
            }
            var configuration = serverConfiguration(ledger: ledger, key: key, host: host, port: port, role: "hub")
            configuration.sharedLog = log
            configuration.activityStore = log
            configuration.maxLogLag = maxLogLag
            configuration.publicURLs = urls
            configuration.createdWindow = window
            configuration.idleTimeout = idleTimeout == 0 ? nil : .seconds(idleTimeout)
            configuration.maxBodyBytes = maxBodyMib << 20
            // The address a device enrolls with: the first --url, or where the hub listens.
            let hubURL = ListeningAddress(urls.first)
            if urls.isEmpty {
                let announce = configuration.onListening
                configuration.onListening = { bound in
                    hubURL.set("http://\(host):\(bound)")
                    announce(bound)
                }
            }
            let console = try dashboard.configuration(
                ledger: ledger,
                key: key,
                defaultHost: host,
                hubURL: hubURL,
                store: log
            )
            try await serve(configuration, host: host, port: port, dashboard: console)
        }
    }
}

extension HubCommand {
    struct EnrollCode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enroll-code",
            abstract: "Create a one-time enrollment code for a device (shown once)."
        )
        @OptionGroup var global: GlobalOptions
        @Option(
            help: "cadre, department, coordinator, supervisor, operator, or federation (a city or province hub)."
        )
        var role: String
        @Option(help: "The cadre the device belongs to.") var cadre: String?
        @Option(help: "The department the device belongs to.") var department: String?
        @Option(help: "A label for the device.") var label: String?
        @Option(help: "Hours before the code expires.") var validHours: Int64 = 24
        @OptionGroup var shared: StoreOptions

        func run() async throws {
            guard let role = Role(rawValue: role) else {
                throw CLIError("role \(role) is not one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard validHours > 0, validHours <= 24 * 30 else { throw CLIError("--valid-hours takes 1 to 720") }
            let ledger = try global.ledger(write: true, followsStore: false)
            let codes = EnrollmentCodes(ledger: ledger)
            let now = Int64(Date().timeIntervalSince1970)
            let code: String
            if let log = try await shared.open() {
                // Hub processes on a shared store redeem codes from it (one conditional update).
                defer { log.shutdown() }
                let made = try codes.make(
                    role: role,
                    cadre: cadre,
                    department: department,
                    label: label,
                    validFor: validHours * 3600,
                    now: now
                )
                do { try await log.addCode(made.record) } catch let error as SharedLogError {
                    throw CLIError(error.message)
                }
                code = made.code
            } else {
                code = try codes.create(
                    role: role,
                    cadre: cadre,
                    department: department,
                    label: label,
                    validFor: validHours * 3600,
                    now: now
                )
            }
            if global.json {
                try global.printJSON(["code": code, "rootFingerprint": ledger.rootKey.fingerprint])
                return
            }
            print("Enrollment code: \(code)  (one use, valid \(validHours) h)")
            print("On the device: fieldlog enroll --hub http://HUB:PORT --code \(code)")
            print("County root fingerprint to compare: \(ledger.rootKey.fingerprint)")
        }
    }

    struct HubRevoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract:
                "Revoke a device: its requests are refused, and nothing after its feeds' current heads is accepted anywhere."
        )
        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("key"), help: "The device's public key.") var publicKey: String

        func run() throws {
            let key = try PublicKey(hex: publicKey)
            let heads = try global.ledger(write: true).revoke(publicKey: key)
            if global.json {
                try global.printJSON(heads)
                return
            }
            print(
                "Revoked \(key.fingerprint); last accepted: \(heads.isEmpty ? "none" : heads.map { "\($0.key) #\($0.value)" }.sorted().joined(separator: ", "))."
            )
        }
    }
}

struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Enroll this device with the county hub using a one-time code, and receive the registry."
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: "The hub's address, e.g. http://10.1.2.3:8080.") var hub: String
    @Option(help: "The one-time code the operator gave you.") var code: String
    @Option(help: "A label for this device.") var label: String?
    @Option(help: "The county root fingerprint the operator told you; enrollment stops if it differs.")
    var rootFingerprint: String?

    func run() async throws {
        guard !global.hasReplica else {
            throw CLIError("this device already belongs to a county (\(global.replicaPath))")
        }
        guard FileManager.default.fileExists(atPath: global.keyPath) else {
            throw CLIError("no device key yet; run `fieldlog init` first")
        }
        let key = try global.signingKey()
        let (root, records) = try await withClient { client in
            try await Enrollment.enroll(hub: hub, code: code, label: label, key: key, client: client)
        }
        if let expected = rootFingerprint, expected.lowercased() != root.fingerprint {
            throw CLIError(
                "the hub's county root fingerprint is \(root.fingerprint), not \(expected); do not trust this hub, tell the operator"
            )
        }
        let ledger = try Ledger.open(path: global.replicaPath, root: root, key: key)
        let report = try ledger.importRecords(records)
        try ledger.rememberHub(hub)
        if global.json {
            try global.printJSON([
                "rootFingerprint": root.fingerprint, "role": try ledger.enrolledRole()?.rawValue ?? "",
                "applied": String(report.applied),
            ])
            return
        }
        print("已在 \(hub) 的县枢纽登记，角色：\(try ledger.enrolledRole()?.plain ?? "?")。")
        print("本县根密钥指纹：\(root.fingerprint)（请与运维人员核对）")
        print("下一步：fieldlog sync（已记住县枢纽地址）")
    }
}

/// Runs a server until SIGTERM or SIGINT. A port that cannot be had is one sentence (it printed
/// `bind(...) (errno: 98)` after a line saying it served).
func serve(
    _ configuration: HubConfiguration,
    host: String,
    port: Int,
    dashboard: DashboardConfiguration? = nil
)
    async throws
{
    try await listening(host: host, port: port) {
        if let dashboard {
            try await ServiceGroup(
                configuration: .init(
                    services: [buildHub(configuration), try buildDashboard(dashboard)],
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: configuration.logger
                )
            ).run()
        } else {
            try await buildHub(configuration).runService()
        }
    }
}

/// Runs a server, saying in one sentence why the port cannot be had.
func listening(host: String, port: Int, _ run: () async throws -> Void) async throws {
    do {
        try await run()
    } catch let error as IOError where [EADDRINUSE, EACCES, EADDRNOTAVAIL].contains(error.errnoCode) {
        switch error.errnoCode {
        case EADDRINUSE:
            throw CLIError(
                "port \(port) on \(host) is in use (another hub or program listens there); stop it, or choose another --port"
            )
        case EACCES: throw CLIError("this user may not listen on port \(port); choose a port above 1024 with --port")
        default:
            throw CLIError(
                "\(host) is not an address of this computer; choose one of its addresses with --host, or 0.0.0.0 for all"
            )
        }
    }
}

/// `--url`, which `hub serve` and `serve` share: the addresses clients use to reach the server.
struct PublicURLOptions: ParsableArguments {
    @Option(
        name: .customLong("url"),
        help: ArgumentHelp(
            "A URL clients reach this server by, e.g. http://hub.gaotang.example:8080 (repeat for several).",
            discussion:
                "A signed request names the server it is for; one naming another is refused (421). The listening address and port are always accepted; add the URL of a reverse proxy in front, or a name clients use."
        )
    )
    var urls: [String] = []

    func validated() throws -> [String] {
        for url in urls {
            guard let parts = URLComponents(string: url), ["http", "https"].contains(parts.scheme?.lowercased() ?? ""),
                parts.host?.isEmpty == false
            else {
                throw CLIError(
                    "--url \(url) is not a URL like http://hub.example:8080; give the scheme, host and port clients use"
                )
            }
        }
        return urls
    }
}

/// The settings `hub serve` and `serve` share: address, logging, and the "listening on" line
/// (printed with the bound port, so `--port 0` can be used by scripts and tests).
func serverConfiguration(ledger: Ledger, key: SigningKey, host: String, port: Int, role: String) -> HubConfiguration {
    var configuration = HubConfiguration(ledger: ledger, hubKey: key)
    configuration.host = host
    configuration.port = port
    var logger = Logger(label: "fieldlog.\(role)")
    logger.logLevel =
        ProcessInfo.processInfo.environment["FIELDLOG_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    configuration.logger = logger
    let serving = logger
    configuration.onListening = { port in
        FileHandle.standardOutput.write(Data("fieldlog \(role) listening on http://\(host):\(port)\n".utf8))
        serving.info("serving", metadata: ["address": "\(host):\(port)", "key": "\(key.publicKey.fingerprint)"])
    }
    return configuration
}

struct PeerServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Let other enrolled laptops on the LAN sync with this one (same protocol and checks as the hub)."
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port).") var port = 8081
    @OptionGroup var address: PublicURLOptions

    func run() async throws {
        let urls = try address.validated()
        let key = try global.signingKey()
        let ledger = try Ledger.open(path: global.replicaPath, root: nil, key: key)
        guard case .enrolled = try ledger.standing(of: key.publicKey) else {
            throw CLIError("this device is not enrolled (or is revoked); it cannot serve other laptops")
        }
        var configuration = serverConfiguration(ledger: ledger, key: key, host: host, port: port, role: "peer")
        configuration.isPeer = true
        configuration.publicURLs = urls
        try await serve(configuration, host: host, port: port)
    }
}

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Sync this replica with the county hub (--hub) or another laptop (--peer) over signed HTTP."
    )
    @OptionGroup var global: GlobalOptions
    @Option(
        help:
            "The hub's address, e.g. http://10.1.2.3:8080 (default: the last hub this replica synced or enrolled with)."
    )
    var hub: String?
    @Option(help: "Another laptop's address (its `fieldlog serve`).") var peer: String?

    func run() async throws {
        guard hub == nil || peer == nil else { throw CLIError("give either --hub URL or --peer URL, not both") }
        let key = try global.signingKey()
        let ledger = try Ledger.open(path: global.replicaPath, root: nil, key: key)
        guard let target = try hub ?? peer ?? ledger.rememberedHub() else {
            throw CLIError(
                "give the hub's address once with --hub http://HUB:8080 (it is remembered), or --peer URL for a laptop"
            )
        }
        // Ctrl-C: say what was kept; every batch taken is its own transaction.
        let interrupt = interruptNotice(
            "\nSync interrupted: every batch taken in before is kept (each is one transaction); `fieldlog sync` again resumes where this one stopped.\n"
        )
        defer { interrupt.cancel() }
        let client = HTTPTransport.makeClient()
        var transport = HTTPTransport(baseURL: target, key: key, hubKey: ledger.rootKey, client: client)
        transport.acceptHubProcess = { [ledger] candidate in ledger.isHubProcess(candidate) }
        if peer != nil {
            let readOnly = try Ledger.open(path: global.replicaPath, root: nil, publicKey: key.publicKey, signer: nil)
            transport.acceptPeer = { candidate in
                if case .enrolled = (try? readOnly.standing(of: candidate)) ?? .unknown { return true }
                return false
            }
        }
        let hub = target
        let started = Date()
        let showProgress = isatty(STDERR_FILENO) == 1
        let result: Result<SyncSummary, any Error>
        do {
            let summary = try await SyncClient(replica: ledger.syncEngine, peer: hub).sync(over: transport) {
                progress in
                guard showProgress else { return }
                let elapsed = max(Date().timeIntervalSince(started), 0.001)
                FileHandle.standardError.write(
                    Data(
                        String(
                            format: "\r%@: %d commits, %.1f MB, %.0f commits/s   ",
                            progress.phase,
                            progress.commits,
                            Double(progress.bytes) / 1e6,
                            Double(progress.commits) / elapsed
                        ).utf8
                    )
                )
            }
            result = .success(summary)
        } catch {
            result = .failure(error)
        }
        try await client.shutdown()
        if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
        let summary = try result.get()
        if peer == nil {
            try ledger.rememberHub(target)
            try ledger.noteSynced(target: target, refused: summary.refusedThere)
        }
        let workflow = try ledger.workflowConflicts(profile: try global.profile()).map(\.number)
        if global.json {
            try global.printJSON(SyncOutput(summary: summary, workflowConflicts: workflow))
            return
        }
        print("与 \(hub) 同步：\(summary.chineseLine)")
        if !workflow.isEmpty {
            print("  流转冲突待协调人裁定：\(workflow.joined(separator: "、"))；详见 `fieldlog demand show 编号`")
        }
        if !summary.divergentScopes.isEmpty {
            throw CLIError(
                "this replica and the hub hold the same commits but show different data in \(summary.divergentScopes.joined(separator: ", ")); report this to the operator"
            )
        }
    }
}

/// `sync --json`: the sync's summary, and the demands left with a workflow conflict to settle.
struct SyncOutput: Encodable {
    let summary: SyncSummary
    let workflowConflicts: [String]

    enum Key: String, CodingKey { case workflowConflicts }

    func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(workflowConflicts, forKey: .workflowConflicts)
    }
}

/// Prints `message` and exits 130 on SIGINT while the returned source lives (cancel it after).
func interruptNotice(_ message: String) -> any DispatchSourceSignal {
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    source.setEventHandler {
        FileHandle.standardError.write(Data(message.utf8))
        exit(130)
    }
    source.resume()
    return source
}
