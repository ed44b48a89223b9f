import FieldCore
import FieldCrypto
import FieldHub
import FieldLedger
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL
import Synchronization

/// What the hub's console serves and how (`fieldlog hub serve --dashboard`).
///
/// The console has a port of its own, beside the sync port: the sync endpoints sign every answer
/// and admit only signed requests from devices, while the console answers browsers, with cookies,
/// forms and its own guards. A port of its own also lets the county expose the console on the
/// office network alone (or on loopback behind a proxy) while devices reach the sync port.
public struct DashboardConfiguration: Sendable {
    /// The hub's ledger (the county root's replica).
    public var ledger: Ledger
    /// The hub's key: it signs exports, and the registry commits of operator actions.
    public var key: SigningKey
    public var accounts: DashboardAccounts
    public var host = "127.0.0.1"
    /// 0 picks a free port.
    public var port = 0
    /// The names (`host` or `host:port`) the console is reached by beyond its loopback names and
    /// its own address, as browsers send them in `Host`.
    public var names: [String] = []
    /// TLS: the console then answers only HTTPS, and its cookies are `Secure`.
    public var tls: TLSConfiguration?
    /// Lets the login form be sent over plain HTTP to an address that is not loopback.
    public var allowPlainHTTP = false
    /// The hub's sync address as devices reach it, for the enrollment command the console shows
    /// (read when a code is made: a hub on port 0 knows its port only once it listens).
    public var hubURL: @Sendable () -> String? = { nil }
    /// The folder exports are written to before they are downloaded (a temporary one by default),
    /// when `jobs` is nil.
    public var exportFolder: String?
    /// Where exports and previewed uploads wait between requests: nil for memory and
    /// `exportFolder` (a single hub); the shared store when several hub processes serve the console.
    public var jobs: (any ConsoleJobs)?
    /// Where the enrollment codes the console makes are kept: nil for the hub's own database; a
    /// hub process on a shared store gives the store's (the process that redeems a code may be
    /// another one).
    public var storeCode: (@Sendable (SharedEnrollmentCode) throws -> Void)?
    /// What the hub processes saw of each device, added up in the shared store; nil for the hub's
    /// own tables.
    package var deviceActivity: (@Sendable () throws -> [String: DeviceActivity.Delta])?
    public var logger = Logger(label: "fieldlog.dashboard")
    /// Called once the console listens, with its port.
    public var onListening: @Sendable (Int) -> Void = { _ in }

    public init(ledger: Ledger, key: SigningKey) {
        self.ledger = ledger
        self.key = key
        accounts = DashboardAccounts(ledger: ledger)
    }
}

/// The console's database work runs on threads of its own, never on the server's event loops:
/// SQLite blocks its thread, and a county-sized page takes a few hundred milliseconds.
struct DashboardDatabase: Sendable {
    let threads: HubThreads

    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await threads.perform(.read, work)
    }
}

/// Builds the console: server-rendered pages over the hub's ledger behind `DashboardGuard`, every
/// answer with the headers of `DashboardHeaders`.
public func buildDashboard(_ configuration: DashboardConfiguration) throws -> some ApplicationProtocol {
    try configuration.accounts.migrate()
    let threads = HubThreads()
    let database = DashboardDatabase(threads: threads)
    let jobs: any ConsoleJobs
    if let shared = configuration.jobs {
        jobs = shared
    } else {
        let exportFolder =
            configuration.exportFolder
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("fieldlog-exports-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: exportFolder, withIntermediateDirectories: true)
        jobs = LocalConsoleJobs(folder: exportFolder)
    }
    let secure = configuration.tls != nil
    let pages = DashboardPages(
        ledger: configuration.ledger,
        key: configuration.key,
        accounts: configuration.accounts,
        database: database,
        jobs: jobs,
        secure: secure,
        files: FileIO(threadPool: threads.read),
        hubURL: configuration.hubURL,
        storeCode: configuration.storeCode,
        deviceActivity: configuration.deviceActivity
    )
    let port = Port()
    let router = Router(context: DashboardContext.self)
    router.add(middleware: DashboardHeaders(pages: pages, secure: secure))
    router.add(
        middleware: DashboardGuard(
            authorities: port.authorities(configuration),
            accounts: configuration.accounts,
            database: database,
            secure: secure,
            allowPlainHTTP: configuration.allowPlainHTTP
        )
    )
    pages.routes(router)
    let server: HTTPServerBuilder =
        if let tls = configuration.tls { try .tls(.http1(), tlsConfiguration: tls) } else { .http1() }
    return Application(
        router: router,
        server: server,
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port),
            serverName: "fieldlog-dashboard"
        ),
        services: [threads],
        onServerRunning: { channel in
            let bound = channel.localAddress?.port ?? configuration.port
            port.set(bound)
            configuration.onListening(bound)
        },
        logger: configuration.logger
    )
}

/// The port the console listens on, known once it does (0 asks for any free one): the Host
/// allow-list names it.
final class Port: Sendable {
    private let value = Mutex<Int?>(nil)

    func set(_ port: Int) { value.withLock { $0 = port } }

    /// The allow-list, built on each request from the port bound (a fixed port is known at once).
    func authorities(_ configuration: DashboardConfiguration) -> @Sendable () -> DashboardAuthorities {
        let cached = Mutex<DashboardAuthorities?>(nil)
        return { [self] in
            let port = value.withLock { $0 } ?? configuration.port
            return cached.withLock { known in
                if let known, known.port == port { return known }
                let made = DashboardAuthorities(host: configuration.host, port: port, configured: configuration.names)
                known = made
                return made
            }
        }
    }
}

extension DashboardConfiguration {
    /// The TLS of a certificate chain and its private key, both PEM files (`--tls-cert`, `--tls-key`).
    public static func tls(certificate: String, key: String) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw DashboardSetupError("--tls-cert \(certificate) is not a readable PEM certificate file")
        }
        guard !chain.isEmpty else { throw DashboardSetupError("--tls-cert \(certificate) holds no certificate") }
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw DashboardSetupError("--tls-key \(key) is not a readable, unencrypted PEM private key file")
        }
        return TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(privateKey)
        )
    }
}

/// A setting of the console that cannot be used, in one sentence saying what to do.
public struct DashboardSetupError: FieldlogError {
    public var message: String
    public var codeName: String { "dashboard_setup" }

    init(_ message: String) {
        self.message = message
    }
}

/// An address known once a server listens (its port may be chosen then), read by another.
public final class ListeningAddress: Sendable {
    private let value = Mutex<String?>(nil)

    public init(_ initial: String? = nil) {
        value.withLock { $0 = initial }
    }

    public func set(_ address: String) { value.withLock { $0 = address } }

    public var current: String? { value.withLock { $0 } }
}
