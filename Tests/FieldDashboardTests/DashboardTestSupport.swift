import FieldCrypto
import FieldStore
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdOTP
import HummingbirdTesting
import NIOSSL
import Synchronization
import Testing

@testable import FieldDashboard
@testable import FieldLedger

/// A county in memory as the hub holds it: the demo registry (tools/demo-data), cadres 王强 and
/// 李娜 with five demands, a coordinator who assigned three of them, and two console accounts:
/// 张督查 (supervisor) and 李运维 (operator, with TOTP). The accounts read a clock (seconds)
/// that a test moves.
struct ConsoleCounty {
    let root = SigningKey.generate()
    let hub: Ledger
    let wang: Ledger
    let li: Ledger
    let coordinator: Ledger
    /// The demands' numbers, in the order they were registered.
    let numbers: [String]
    let seconds = Clock()
    let accounts: DashboardAccounts

    static let supervisor = (name: "张督查", password: "supervisor-pass-1")
    static let `operator` = (name: "李运维", password: "operator-pass-1")

    static var demoData: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tools/demo-data")
    }

    init() throws {
        hub = try Ledger.open(path: nil, root: root.publicKey, key: root)
        try hub.setCountyName("高唐县")
        for kind in [Ledger.RegistryFile.departments, .cadres, .enterprises, .linkages] {
            let file = Self.demoData.appendingPathComponent("\(kind.rawValue).csv")
            try hub.importRegistry(
                kind,
                csv: try String(contentsOf: file, encoding: .utf8),
                name: file.lastPathComponent
            )
        }
        let hub = hub
        func device(_ role: Role, cadre: String? = nil) throws -> Ledger {
            let key = SigningKey.generate()
            _ = try hub.enroll(publicKey: key.publicKey, role: role, cadre: cadre, label: "设备")
            return Ledger(replica: hub.replica, publicKey: key.publicKey, signer: key)
        }
        let (wang, li, coordinator) = (
            try device(.cadre, cadre: "王强"), try device(.cadre, cadre: "李娜"), try device(.coordinator)
        )
        (self.wang, self.li, self.coordinator) = (wang, li, coordinator)
        var numbers: [String] = []
        let demands: [(Ledger, String, String, String, String?)] = [
            (wang, "山东高唐纺织有限公司", "熟练挡车工招聘难", "用工", "县人力资源社会保障局"),
            (wang, "山东高唐纺织有限公司", "厂区变压器增容", "水电气热", "县住房城乡建设局"),
            (li, "高唐县金源机械制造有限公司", "技改贷款贴息", "政策兑现", "县人力资源社会保障局"),
            (li, "高唐县金源机械制造有限公司", "厂区道路积水", "基础设施", nil),
            (wang, "高唐县鑫盛食品有限公司", "食品经营许可延续", "审批", nil),
        ]
        for (cadre, enterprise, title, category, lead) in demands {
            let number = try cadre.addDemand(
                DemandInput(enterprise: enterprise, title: title, content: title + "，请协调。", category: category)
            ).number
            numbers.append(number)
            guard let lead else { continue }
            _ = try cadre.act(.submit, on: number, ActionInput())
            var input = ActionInput()
            input.lead = lead
            _ = try coordinator.act(.assign, on: number, input)
        }
        self.numbers = numbers
        var accounts = DashboardAccounts(ledger: hub)
        accounts.bcryptCost = 4
        let clock = seconds
        accounts.clock = { clock.now }
        self.accounts = accounts
        try accounts.addUser(
            name: Self.supervisor.name,
            role: .supervisor,
            password: Self.supervisor.password,
            totp: false
        )
        try accounts.addUser(name: Self.operator.name, role: .operator, password: Self.operator.password, totp: true)
    }

    /// The operator's current one-time code.
    func code(offset: Int64 = 0) throws -> String {
        let secret = try hub.replica.database.read { db in
            try String.fetchOne(
                db,
                sql: "SELECT totp_secret FROM _hub_users WHERE name = ?",
                arguments: [Self.operator.name]
            )
        }
        let value = TOTP(secret: try #require(secret)).compute(
            date: Date(timeIntervalSince1970: TimeInterval(seconds.now + offset * 30))
        )
        return String(format: "%06d", value)
    }

    func configuration() -> DashboardConfiguration {
        var configuration = DashboardConfiguration(ledger: hub, key: root)
        configuration.accounts = accounts
        return configuration
    }

    /// Runs `body` with a browser on the console of this county, served live on a loopback port.
    func withConsole(
        _ configuration: DashboardConfiguration? = nil,
        tls: TLSConfiguration? = nil,
        _ body: @escaping @Sendable (inout ConsoleBrowser) async throws -> Void
    ) async throws {
        try await buildDashboard(configuration ?? self.configuration()).test(.live) { live in
            let port = try #require(live.port)
            try await TestClient.withClient(
                host: "127.0.0.1",
                port: port,
                // The name the certificate is checked against (SNI takes no IP address).
                configuration: .init(tlsConfiguration: tls, serverName: tls == nil ? nil : "localhost")
            ) { client in
                var browser = ConsoleBrowser(client: client, port: port, scheme: tls == nil ? "http" : "https")
                try await body(&browser)
            }
        }
    }
}

/// The accounts' clock in a test, in seconds.
final class Clock: Sendable {
    let value = Mutex<Int64>(1_800_000_000)
    var now: Int64 { value.withLock { $0 } }
    func advance(_ seconds: Int64) { value.withLock { $0 += seconds } }
}

/// A browser's side of a test: the Host it names, its cookies, and the CSRF token of the last page.
struct ConsoleBrowser {
    let client: TestClient
    let port: Int
    let scheme: String
    var host: String
    var cookies: [String: String] = [:]

    init(client: TestClient, port: Int, scheme: String) {
        self.client = client
        self.port = port
        self.scheme = scheme
        host = "127.0.0.1:\(port)"
    }

    var origin: String { "\(scheme)://\(host)" }

    func headers(_ extra: [HTTPField.Name: String] = [:]) -> HTTPFields {
        var fields = HTTPFields()
        if !cookies.isEmpty {
            fields[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ")
        }
        for (name, value) in extra { fields[name] = value }
        return fields
    }

    /// Keeps the cookies a response sets (and drops those it expires).
    mutating func keep(_ response: TestClient.Response) {
        for field in response.headers[values: .setCookie] {
            let pair = field.split(separator: ";")[0].split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[1].isEmpty || field.contains("Max-Age=0") {
                cookies[pair[0]] = nil
            } else {
                cookies[pair[0]] = pair[1]
            }
        }
    }

    mutating func get(_ path: String) async throws -> TestClient.Response {
        let response = try await client.execute(
            TestClient.Request(path, method: .get, authority: host, headers: headers())
        )
        keep(response)
        return response
    }

    /// Posts a form from a page of the console (its Origin, unless the test names another or none).
    mutating func post(
        _ path: String,
        _ fields: [(String, String)],
        origin: String?? = .none
    ) async throws
        -> TestClient.Response
    {
        let origin: String? = origin ?? self.origin
        let body = fields.map { name, value in
            [name, value].map { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "" }.joined(
                separator: "="
            )
        }.joined(separator: "&")
        var extra: [HTTPField.Name: String] = [.contentType: "application/x-www-form-urlencoded"]
        if let origin { extra[.origin] = origin }
        let response = try await client.execute(
            TestClient.Request(
                path,
                method: .post,
                authority: host,
                headers: headers(extra),
                body: ByteBuffer(string: body)
            )
        )
        keep(response)
        return response
    }

    /// Opens the login page and sends its form.
    mutating func login(_ name: String, _ password: String, code: String? = nil) async throws -> TestClient.Response {
        let form = try await get("/login")
        let token = try #require(Self.csrf(in: form.text))
        var fields = [("csrf", token), ("name", name), ("password", password)]
        if let code { fields.append(("code", code)) }
        return try await post("/login", fields)
    }

    /// Logs in as the supervisor, expecting it to work.
    mutating func loginSupervisor() async throws {
        let response = try await login(ConsoleCounty.supervisor.name, ConsoleCounty.supervisor.password)
        #expect(response.status == .seeOther && response.headers[.location] == "/", "\(response.text)")
    }

    /// The CSRF token of a page's forms.
    static func csrf(in page: String) -> String? {
        guard let range = page.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }
}

extension TestClient.Response {
    var text: String { body.map { String(buffer: $0) } ?? "" }
    var bytes: [UInt8] { body.map { Array($0.readableBytesView) } ?? [] }
}

/// A value for a query string.
func encoded(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "" }
