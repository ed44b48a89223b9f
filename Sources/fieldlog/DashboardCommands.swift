import ArgumentParser
import FieldCrypto
import FieldDashboard
import FieldHub
import FieldLedger
import FieldPostgres
import Foundation

/// `hub serve --dashboard …`: the console beside the sync endpoints, on a port of its own.
struct DashboardOptions: ParsableArguments {
    @Flag(help: "Serve the console (总览, 工作台账, 操作日志 …) for operators and supervisors on --dashboard-port.")
    var dashboard = false
    @Option(help: "The address the console listens on (default: the hub's --host).") var dashboardHost: String?
    @Option(help: "The console's port (0: any free port).") var dashboardPort = 8090
    @Option(
        name: .customLong("dashboard-name"),
        help:
            "A name browsers reach the console by, as host or host:port (repeat for several); others are refused (421)."
    )
    var dashboardNames: [String] = []
    @Option(help: "The console's TLS certificate chain, a PEM file (with --tls-key).") var tlsCert: String?
    @Option(help: "The private key of --tls-cert, an unencrypted PEM file.") var tlsKey: String?
    @Flag(help: "Allow the login form over plain HTTP to an address that is not loopback (a trusted network only).")
    var dashboardPlainHttp = false
    @Option(help: "Minutes without a request after which a console session ends.") var dashboardIdleMinutes = 30

    func configuration(
        ledger: Ledger,
        key: SigningKey,
        defaultHost: String,
        hubURL: ListeningAddress,
        store: PostgresSharedLog? = nil
    ) throws
        -> DashboardConfiguration?
    {
        let dashboardOnly =
            dashboardHost != nil || dashboardPort != 8090 || !dashboardNames.isEmpty || tlsCert != nil
            || tlsKey != nil || dashboardPlainHttp || dashboardIdleMinutes != 30
        guard dashboard else {
            if dashboardOnly { throw CLIError("the --dashboard-… and --tls-… options need --dashboard") }
            return nil
        }
        guard (0...65535).contains(dashboardPort) else { throw CLIError("--dashboard-port takes 0 to 65535") }
        guard (1...24 * 60).contains(dashboardIdleMinutes) else {
            throw CLIError("--dashboard-idle-minutes takes 1 to 1440")
        }
        var configuration = DashboardConfiguration(ledger: ledger, key: key)
        if let store {
            // Several hub processes: sessions, the audit trail, exports, uploads and enrollment
            // codes in PostgreSQL, so that any process answers any of a browser's requests.
            let console = PostgresConsole(log: store)
            configuration.accounts = DashboardAccounts(store: console)
            configuration.jobs = console
            configuration.storeCode = { record in try waitFor { try await store.addCode(record) } }
            configuration.deviceActivity = { try store.storedActivity() }
        }
        configuration.host = dashboardHost ?? defaultHost
        configuration.port = dashboardPort
        configuration.names = dashboardNames
        configuration.allowPlainHTTP = dashboardPlainHttp
        configuration.hubURL = { hubURL.current }
        configuration.accounts.idleTimeout = Int64(dashboardIdleMinutes) * 60
        switch (tlsCert, tlsKey) {
        case (let certificate?, let key?):
            configuration.tls = try DashboardConfiguration.tls(certificate: certificate, key: key)
        case (nil, nil): break
        default: throw CLIError("--tls-cert and --tls-key go together; give both, or neither for plain HTTP")
        }
        let (host, scheme) = (configuration.host, configuration.tls == nil ? "http" : "https")
        configuration.onListening = { port in
            FileHandle.standardOutput.write(Data("fieldlog dashboard listening on \(scheme)://\(host):\(port)\n".utf8))
        }
        return configuration
    }
}

extension HubCommand {
    /// `hub user add|list|disable`: the console's accounts.
    struct HubUser: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "user",
            abstract: "The console's accounts: operators and supervisors.",
            subcommands: [Add.self, List.self, Disable.self]
        )

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Add an account (its password is read from FIELDLOG_USER_PASSWORD, or typed twice)."
            )
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The account's name, e.g. 张三.") var name: String
            @Option(help: "operator (the registry and devices) or supervisor (reads and exports the county).")
            var role: String
            @Flag(help: "Require a one-time code from an authenticator app (TOTP) at login.") var totp = false
            @OptionGroup var shared: StoreOptions

            func run() throws {
                guard let role = DashboardRole(rawValue: role) else {
                    throw CLIError("--role takes operator or supervisor, not \(role)")
                }
                let password = try Self.password()
                let url = try withAccounts(global, shared) { accounts in
                    try accounts.addUser(name: name, role: role, password: password, totp: totp)
                }
                if global.json {
                    try global.printJSON(["name": name, "role": role.rawValue, "totpURL": url ?? ""])
                    return
                }
                print("已开设控制台账号 \(name)（\(role.chinese)）。")
                if let url {
                    print("动态验证码：请在手机的验证器应用中添加下面的地址（只显示这一次）：")
                    print("  \(url)")
                }
            }

            static func password() throws -> String {
                if let value = ProcessInfo.processInfo.environment["FIELDLOG_USER_PASSWORD"] { return value }
                guard isatty(STDIN_FILENO) == 1 else {
                    throw CLIError(
                        "no password: set FIELDLOG_USER_PASSWORD, or run this command in a terminal to type it"
                    )
                }
                guard
                    let first = getpass("The account's password (10 characters or more): ").map({ String(cString: $0) }
                    ),
                    let again = getpass("Type it again: ").map({ String(cString: $0) }), first == again
                else { throw CLIError("the two passwords differ; run the command again") }
                return first
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the accounts.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var shared: StoreOptions

            func run() throws {
                let users = try withAccounts(global, shared) { try $0.users() }
                if global.json {
                    try global.printJSON(
                        users.map {
                            [
                                "name": $0.name, "role": $0.role.rawValue, "totp": $0.hasTOTP ? "yes" : "no",
                                "disabled": $0.disabled ? "yes" : "no",
                            ]
                        }
                    )
                    return
                }
                if users.isEmpty { print("还没有控制台账号；用 fieldlog hub user add 开设。") }
                for user in users {
                    print(
                        "\(user.name)\t\(user.role.chinese)\(user.hasTOTP ? "\t动态验证码" : "")\(user.disabled ? "\t已停用" : "")"
                    )
                }
            }
        }

        struct Disable: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Disable an account and end its sessions.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The account's name.") var name: String
            @OptionGroup var shared: StoreOptions

            func run() throws {
                try withAccounts(global, shared) { try $0.disableUser(name) }
                if global.json {
                    try global.printJSON(["name": name, "disabled": "yes"])
                    return
                }
                print("已停用控制台账号 \(name)，其登录已全部结束。")
            }
        }
    }
}

/// Runs `body` with the console's accounts: those of the shared store with `--store` or
/// `$FIELDLOG_STORE` (several hub processes serve the console), else those of the hub in the data
/// folder, whose key must be the county root.
func withAccounts<T>(
    _ global: GlobalOptions,
    _ shared: StoreOptions,
    _ body: (DashboardAccounts) throws -> T
) throws -> T {
    guard let url = shared.url else {
        let ledger = try global.ledger(write: true, followsStore: false)
        guard ledger.isRoot else {
            throw CLIError("this data folder is not the hub's: its key is not the county root")
        }
        return try body(DashboardAccounts(ledger: ledger))
    }
    let log: PostgresSharedLog
    do {
        log = try PostgresSharedLog(url: SharedHubReplica.passwordFromEnvironment(url))
    } catch let error as SharedLogError {
        throw CLIError(error.message)
    }
    defer { log.shutdown() }
    do {
        try waitFor { try await log.migrate() }
        return try body(DashboardAccounts(store: PostgresConsole(log: log)))
    } catch let error as SharedLogError {
        throw CLIError(error.message)
    }
}
