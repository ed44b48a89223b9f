import FieldCrypto
import FieldExport
import FieldHub
import FieldStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdOTP
import HummingbirdTesting
import NIOPosix
import PostgresNIO
import Synchronization
import Testing

@testable import FieldDashboard
@testable import FieldLedger
@testable import FieldPostgres

/// The private PostgreSQL cluster of make test (`tools/postgres/cluster.sh`).
enum TestCluster {
    static let url = ProcessInfo.processInfo.environment["FIELDLOG_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
}

/// The console served by several hub processes on one PostgreSQL database
/// (`hub serve --store … --dashboard`): each console here has its own pool of connections and
/// nothing in memory in common with the other, as two processes behind a proxy. Needs the test
/// cluster (`FIELDLOG_TEST_POSTGRES`, which make test sets).
@Suite(.enabled(if: TestCluster.url != nil)) struct SharedConsoleTests {
    static let cluster = TestCluster.url

    /// One console process: its store's pool, its accounts over it.
    struct Process: Sendable {
        let log: PostgresSharedLog
        let console: PostgresConsole
        let accounts: DashboardAccounts

        init(url: String, county: ConsoleCounty, timeout: Duration = .seconds(10)) throws {
            log = try PostgresSharedLog(url: url, timeout: timeout)
            console = PostgresConsole(log: log)
            var accounts = DashboardAccounts(store: console)
            accounts.bcryptCost = 4
            let clock = county.seconds
            accounts.clock = { clock.now }
            self.accounts = accounts
        }

        func configuration(_ county: ConsoleCounty) -> DashboardConfiguration {
            var configuration = DashboardConfiguration(ledger: county.hub, key: county.root)
            configuration.accounts = accounts
            configuration.jobs = console
            return configuration
        }
    }

    /// Runs `body` with two console processes on a new database of the cluster, holding the
    /// county's two accounts (张督查, and 李运维 with TOTP).
    static func withProcesses(
        _ county: ConsoleCounty,
        _ body: @Sendable (Process, Process) async throws -> Void
    ) async throws {
        let admin = try #require(cluster)
        let name = "c_" + (0..<12).map { _ in String("abcdefghijklmnopqrstuvwxyz".randomElement()!) }.joined()
        try await adminQuery(admin, "CREATE DATABASE \(name)")
        var components = URLComponents(string: admin)!
        components.path = "/" + name
        let url = components.string!
        let (first, second) = (try Process(url: url, county: county), try Process(url: url, county: county))
        do {
            try await first.log.migrate()
            try await blocking {
                try first.accounts.addUser(
                    name: ConsoleCounty.supervisor.name,
                    role: .supervisor,
                    password: ConsoleCounty.supervisor.password,
                    totp: false
                )
                try first.accounts.addUser(
                    name: ConsoleCounty.operator.name,
                    role: .operator,
                    password: ConsoleCounty.operator.password,
                    totp: true
                )
            }
            try await body(first, second)
        } catch {
            first.log.shutdown()
            second.log.shutdown()
            try? await adminQuery(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
        first.log.shutdown()
        second.log.shutdown()
        try await adminQuery(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    static func adminQuery(_ admin: String, _ sql: String) async throws {
        let client = PostgresClient(configuration: try PostgresSharedLog.configuration(admin).configuration)
        let running = Task { await client.run() }
        defer { running.cancel() }
        _ = try await client.query(PostgresQuery(unsafeSQL: sql)).collect()
    }

    /// The console's calls wait for PostgreSQL on their thread: never on Swift's cooperative pool.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }

    /// Runs `body` with a browser on each of two live consoles.
    static func withBrowsers(
        _ configurations: (DashboardConfiguration, DashboardConfiguration),
        _ body: @escaping @Sendable (ConsoleBrowser, ConsoleBrowser) async throws -> Void
    ) async throws {
        try await buildDashboard(configurations.0).test(.live) { first in
            try await buildDashboard(configurations.1).test(.live) { second in
                let (one, two) = (try #require(first.port), try #require(second.port))
                try await TestClient.withClient(host: "127.0.0.1", port: one) { a in
                    try await TestClient.withClient(host: "127.0.0.1", port: two) { b in
                        try await body(
                            ConsoleBrowser(client: a, port: one, scheme: "http"),
                            ConsoleBrowser(client: b, port: two, scheme: "http")
                        )
                    }
                }
            }
        }
    }

    /// A browser behind a proxy: its login at one process, its pages, its export and its logout
    /// at the other, as the proxy sends them.
    @Test func aBrowsersRequestsMayReachEitherProcess() async throws {
        let county = try ConsoleCounty()
        try await Self.withProcesses(county) { first, second in
            try await Self.withBrowsers((first.configuration(county), second.configuration(county))) { a, b in
                var (a, b) = (a, b)
                try await a.loginSupervisor()
                // The cookie the proxy's one name carries to either process.
                b.cookies = a.cookies
                let overview = try await b.get("/")
                #expect(overview.status == .ok && overview.text.contains(ConsoleCounty.supervisor.name))
                // An export started at one process, followed and downloaded at the other.
                let ledger = try await a.get("/ledger")
                let csrf = try #require(ConsoleBrowser.csrf(in: ledger.text))
                let started = try await a.post("/ledger/export", [("csrf", csrf), ("format", "csv")])
                let location = try #require(started.headers[.location])
                var page = try await b.get(location)
                while page.text.contains("正在导出") { page = try await b.get(location) }
                #expect(page.text.contains("已导出并由县枢纽密钥签名"), "\(page.text)")
                let file = try await b.get(location + "/file")
                #expect(file.status == .ok && file.headers[.contentLength] == String(file.bytes.count))
                #expect(String(decoding: file.bytes, as: UTF8.self).contains("熟练挡车工招聘难"))
                let signature = try JSONDecoder().decode(
                    ExportSignature.self,
                    from: Data(try await b.get(location + "/sig").bytes)
                )
                #expect(signature.blake2b256 == Hex.encode(BLAKE2b.hash256(file.bytes)))
                #expect(signature.signer == county.root.publicKey.hex)
                // Logged out at the second process: the first no longer knows the cookie.
                let logout = try await b.post(
                    "/logout",
                    [("csrf", try #require(ConsoleBrowser.csrf(in: overview.text)))]
                )
                #expect(logout.status == .seeOther)
                let after = try await a.get("/")
                #expect(after.status == .found && after.headers[.location] == "/login")
            }
            let trail = try await Self.blocking { try first.accounts.auditTrail(limit: 10, offset: 0) }
            #expect(
                trail.entries.map { "\($0.action) \($0.outcome)" }.prefix(3) == ["logout ok", "export ok", "login ok"]
            )
        }
    }

    /// One TOTP code typed into two logins that reach two processes at once: one session.
    @Test func aOneTimeCodeIsGoodOnceAcrossProcesses() async throws {
        let county = try ConsoleCounty()
        try await Self.withProcesses(county) { first, second in
            let secret = try #require(
                try await Self.blocking { try first.console.account(named: ConsoleCounty.operator.name)?.totpSecret }
            )
            let code = String(
                format: "%06d",
                TOTP(secret: secret).compute(date: Date(timeIntervalSince1970: TimeInterval(county.seconds.now)))
            )
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for process in [first, second, first, second] {
                    group.addTask {
                        try await Self.blocking {
                            do {
                                _ = try process.accounts.login(
                                    name: ConsoleCounty.operator.name,
                                    password: ConsoleCounty.operator.password,
                                    code: code,
                                    address: "10.0.0.5"
                                )
                                return true
                            } catch let refusal as LoginRefusal {
                                #expect(refusal == .wrongCode)
                                return false
                            }
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1, "\(outcomes)")
            // Two logins that both read the account before either wrote (the race above may not
            // reach it): each process's session opens only if the step is still free.
            let step = county.seconds.now / 30 + 1
            let opened = try await withThrowingTaskGroup(of: Bool.self) { group in
                for (index, process) in [first, second].enumerated() {
                    group.addTask {
                        try await Self.blocking {
                            try process.console.openSession(
                                ConsoleSessionRecord(
                                    hash: [UInt8](repeating: UInt8(index), count: 32),
                                    user: ConsoleCounty.operator.name,
                                    csrf: "csrf",
                                    createdAt: county.seconds.now,
                                    lastSeen: county.seconds.now
                                ),
                                totpStep: step,
                                idleBefore: 0,
                                openedBefore: 0,
                                audit: ConsoleAuditLine(
                                    at: county.seconds.now,
                                    user: nil,
                                    action: "login",
                                    outcome: "ok"
                                )
                            )
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(opened.filter { $0 }.count == 1, "\(opened)")
        }
    }

    /// An account disabled through one process: its session at the other ends at once.
    @Test func aDisabledAccountsSessionsEndAtEveryProcess() async throws {
        let county = try ConsoleCounty()
        try await Self.withProcesses(county) { first, second in
            try await Self.blocking {
                let (cookie, _) = try first.accounts.login(
                    name: ConsoleCounty.supervisor.name,
                    password: ConsoleCounty.supervisor.password,
                    code: nil,
                    address: "10.0.0.5"
                )
                #expect(try second.accounts.session(cookie)?.user.name == ConsoleCounty.supervisor.name)
                try second.accounts.disableUser(ConsoleCounty.supervisor.name)
                #expect(try first.accounts.session(cookie) == nil)
                #expect(try first.accounts.users().first { $0.name == ConsoleCounty.supervisor.name }?.disabled == true)
            }
        }
    }

    /// A registry file previewed at one process is confirmed once, whichever process the two
    /// confirmations reach.
    @Test func anUploadIsTakenOnceAcrossProcesses() async throws {
        let county = try ConsoleCounty()
        try await Self.withProcesses(county) { first, second in
            let upload = PendingUpload(
                owner: ConsoleCounty.operator.name,
                kind: .enterprises,
                name: "企业.csv",
                rows: [["名称", "统一社会信用代码"], ["高唐县新企业有限公司", "91371526MA3C000000"]]
            )
            let token = try await Self.blocking { try first.console.keepUpload(upload, at: 1) }
            let taken = try await withThrowingTaskGroup(of: PendingUpload?.self) { group in
                for process in [first, second] {
                    group.addTask {
                        try await Self.blocking {
                            try process.console.takeUpload(token: token, owner: ConsoleCounty.operator.name)
                        }
                    }
                }
                return try await group.reduce(into: [PendingUpload]()) { taken, upload in
                    if let upload { taken.append(upload) }
                }
            }
            #expect(taken == [upload])
            let other = try await Self.blocking { try first.console.keepUpload(upload, at: 2) }
            #expect(try await Self.blocking { try second.console.takeUpload(token: other, owner: "张督查") } == nil)
        }
    }

    /// An export whose process stopped while writing it is shown as failed after ten minutes,
    /// not as running for ever; the last 50 finished exports are kept.
    @Test func anAbandonedExportFailsAndOldOnesGo() async throws {
        let county = try ConsoleCounty()
        try await Self.withProcesses(county) { first, second in
            try await Self.blocking {
                let signature = ExportSignature.sign(
                    file: [1],
                    name: "x",
                    key: county.root,
                    signerName: "x",
                    heads: [],
                    signedAt: "2026-12-02T00:00:00.000Z"
                )
                try first.console.startExport(id: "abandoned", owner: "a", name: "x.csv", format: .csv, at: 1000)
                #expect(try second.console.exportJob(id: "abandoned", owner: "a", now: 1300)?.running == true)
                #expect(try second.console.exportJob(id: "abandoned", owner: "b", now: 1300) == nil)
                let late = try second.console.exportJob(
                    id: "abandoned",
                    owner: "a",
                    now: 1000 + PostgresConsole.staleAfter + 1
                )
                #expect(late?.running == false && late?.failure != nil)
                var finished: [String] = []
                for index in 0..<(ConsoleLimits.exportsKept + 3) {
                    let id = "export-\(index)"
                    try first.console.startExport(
                        id: id,
                        owner: "a",
                        name: "\(index).csv",
                        format: .csv,
                        at: 2000 + Int64(index)
                    )
                    // A file of several parts.
                    let bytes = (0..<(PostgresConsole.partBytes * 2 + 5)).map { UInt8(($0 + index) % 251) }
                    try first.console.finishExport(
                        id: id,
                        file: bytes,
                        signature: [7],
                        signed: signature,
                        rows: 1,
                        at: 2000
                    )
                    finished.append(id)
                }
                #expect(try second.console.exportJob(id: "abandoned", owner: "a", now: 1300) != nil, "still running")
                #expect(
                    try finished.prefix(3).allSatisfy {
                        try second.console.exportJob(id: $0, owner: "a", now: 3000) == nil
                    }
                )
                guard case .bytes(let bytes) = try second.console.exportContent(id: finished.last!, signature: false)
                else {
                    Issue.record("the last export's file is not in the store")
                    return
                }
                #expect(
                    bytes == (0..<(PostgresConsole.partBytes * 2 + 5)).map { UInt8(($0 + finished.count - 1) % 251) }
                )
                #expect(try second.console.exportJob(id: finished.last!, owner: "a", now: 3000)?.size == bytes.count)
            }
        }
    }

    /// Two root processes' consoles change the registry at once: the console whose replica had
    /// not followed the other's commit is refused with 409 (its write found the root's place
    /// taken in the log), imports nothing, and says to upload again.
    @Test func aRegistryImportRacingAnotherProcessIsRefusedWith409() async throws {
        let county = try ConsoleCounty()
        try await Self.withProcesses(county) { first, second in
            func rootReplica(_ process: Process) throws -> Ledger {
                var options = ReplicaOptions()
                options.localCommitGate = process.log.localCommitGate
                return try Ledger.open(path: nil, root: county.root.publicKey, key: county.root, options: options)
            }
            let (other, behind) = (try rootReplica(first), try rootReplica(second))
            _ = try await Self.blocking { try other.addDepartments([DepartmentInput(name: "县商务局")]) }
            var configuration = second.configuration(county)
            configuration.ledger = behind
            let secret = try #require(
                try await Self.blocking { try second.console.account(named: ConsoleCounty.operator.name)?.totpSecret }
            )
            let code = String(
                format: "%06d",
                TOTP(secret: secret).compute(date: Date(timeIntervalSince1970: TimeInterval(county.seconds.now)))
            )
            try await Self.withBrowsers((first.configuration(county), configuration)) { _, browser in
                var browser = browser
                let login = try await browser.login(
                    ConsoleCounty.operator.name,
                    ConsoleCounty.operator.password,
                    code: code
                )
                #expect(login.status == .seeOther, "\(login.text)")
                let csv = Array("单位名称,类型\n县税务二局,县直部门\n".utf8)
                let preview = try await DashboardRegistryTests.upload(
                    &browser,
                    kind: "departments",
                    name: "单位.csv",
                    csv
                )
                let token = try #require(
                    preview.text.components(separatedBy: "name=\"token\" value=\"").last?.prefix { $0 != "\"" },
                    "\(preview.text)"
                )
                let csrf = try #require(ConsoleBrowser.csrf(in: preview.text))
                let refused = try await browser.post(
                    "/registry/import/commit",
                    [("csrf", csrf), ("token", String(token))]
                )
                #expect(refused.status == .conflict && refused.text.contains("另一个枢纽进程同时改了登记"), "\(refused.text)")
                #expect(refused.text.contains("请重新上传文件并预览"))
            }
            #expect(try behind.registryNames(.department).isEmpty, "nothing imported")
            let trail = try await Self.blocking {
                try second.accounts.auditTrail(action: "registry_import", limit: 5, offset: 0).entries
            }
            #expect(trail.first?.outcome == "refused")
        }
    }

    /// Without its store, a console refuses with 503 and says so in the county's words; it does
    /// not answer from anything it remembers.
    @Test func withoutItsStoreTheConsoleRefusesWith503() async throws {
        let county = try ConsoleCounty()
        try await Self.withProcesses(county) { first, _ in
            // A console whose store is a port where nothing listens.
            let unreachable = try Process(
                url: "postgresql://fieldlog@127.0.0.1:1/none?sslmode=disable",
                county: county,
                timeout: .seconds(2)
            )
            defer { unreachable.log.shutdown() }
            try await Self.withBrowsers((first.configuration(county), unreachable.configuration(county))) { a, b in
                var (a, b) = (a, b)
                try await a.loginSupervisor()
                b.cookies = a.cookies
                let page = try await b.get("/")
                #expect(page.status == .serviceUnavailable && page.headers[.retryAfter] == "5")
                #expect(page.text.contains("共享数据库暂时连不上"))
            }
        }
    }
}
