import FieldCrypto
import FieldStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import FieldLedger
@testable import FieldWeb

/// A county in memory with a cadre's device that the UI serves, one demand, and a clock the
/// sessions read (seconds) that a test moves.
struct WebTestCounty {
    let root = SigningKey.generate()
    let operatorLedger: Ledger
    let cadre: Ledger
    let number: String
    let seconds = Seconds()
    let sessions: WebSessions

    init(demandTitle: String = "厂区道路积水") throws {
        operatorLedger = try Ledger.open(path: nil, root: root.publicKey, key: root)
        try operatorLedger.setCountyName("高唐县")
        try Self.importRegistry(into: operatorLedger)
        let key = SigningKey.generate()
        _ = try operatorLedger.enroll(publicKey: key.publicKey, role: .cadre, cadre: "王强")
        cadre = Ledger(replica: operatorLedger.replica, publicKey: key.publicKey, signer: key)
        number = try cadre.addDemand(
            DemandInput(enterprise: "高唐纺织有限公司", title: demandTitle, content: "雨季积水", category: "基础设施")
        ).number
        let seconds = self.seconds
        sessions = WebSessions(idleLock: 600, clock: { seconds.value.withLock { $0 } })
    }

    /// The registry of these tests: a department, cadre 王强, one enterprise he leads for.
    static func importRegistry(into ledger: Ledger) throws {
        try ledger.importRegistry(.departments, csv: "单位名称,类型\n县市场监管局,县直部门\n", name: "d.csv")
        try ledger.importRegistry(.cadres, csv: "姓名,职务,单位\n王强,副县长,县市场监管局\n", name: "c.csv")
        try ledger.importRegistry(
            .enterprises,
            csv: "企业名称,统一社会信用代码\n高唐纺织有限公司,91371082775260043P\n",
            name: "e.csv"
        )
        try ledger.importRegistry(.linkages, csv: "包联领导,企业名称,包联角色\n王强,高唐纺织有限公司,主包\n", name: "l.csv")
    }

    func configuration() -> WebConfiguration {
        var configuration = WebConfiguration(ledger: cadre, checkPassphrase: { $0 == "正确的口令" })
        configuration.sessions = sessions
        return configuration
    }

    func advance(seconds delta: Int64) { seconds.value.withLock { $0 += delta } }
}

/// The sessions' clock in a test, in seconds.
final class Seconds: Sendable {
    let value = Mutex<Int64>(1_800_000_000)
}

/// A browser's side of a test: the Host it names, and the session cookie once logged in. It talks
/// to a live server on a loopback port through a client whose `Host` the test chooses.
struct WebBrowser {
    let client: TestClient
    let port: Int
    var host: String
    var cookie: String?

    init(client: TestClient, port: Int) {
        self.client = client
        self.port = port
        host = "127.0.0.1:\(port)"
    }

    /// The origin of this app's pages.
    var origin: String { "http://127.0.0.1:\(port)" }

    func headers(_ extra: [HTTPField.Name: String] = [:]) -> HTTPFields {
        var fields = HTTPFields()
        if let cookie { fields[.cookie] = "fieldlog_session=\(cookie)" }
        for (name, value) in extra { fields[name] = value }
        return fields
    }

    func get(_ path: String) async throws -> TestClient.Response {
        try await client.execute(TestClient.Request(path, method: .get, authority: host, headers: headers()))
    }

    /// Posts a form from a page of this app (its Origin, unless the test names another or none).
    func post(
        _ path: String,
        _ fields: [(String, String)],
        origin: String?? = .none
    ) async throws -> TestClient.Response {
        let origin: String? = origin ?? self.origin
        let body = fields.map { name, value in
            [name, value].map { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "" }.joined(
                separator: "="
            )
        }.joined(separator: "&")
        var extra: [HTTPField.Name: String] = [.contentType: "application/x-www-form-urlencoded"]
        if let origin { extra[.origin] = origin }
        return try await client.execute(
            TestClient.Request(
                path,
                method: .post,
                authority: host,
                headers: headers(extra),
                body: ByteBuffer(string: body)
            )
        )
    }

    /// Follows the one-time login link and keeps the cookie it sets.
    mutating func login(_ sessions: WebSessions) async throws {
        let response = try await get("/login?token=\(sessions.issueLoginToken())")
        #expect(response.status == .seeOther)
        let setCookie = try #require(response.headers[.setCookie])
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"), "\(setCookie)")
        cookie = String(setCookie.split(separator: ";")[0].split(separator: "=", maxSplits: 1)[1])
    }

    /// The CSRF token of a page's forms.
    static func csrf(in page: String) -> String? {
        guard let range = page.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }
}

extension TestClient.Response {
    var text: String { body.map { String(buffer: $0) } ?? "" }
}

extension WebTestCounty {
    /// Runs `body` with a browser on the UI of this county, served live on a loopback port.
    func withBrowser(_ body: @escaping @Sendable (inout WebBrowser) async throws -> Void) async throws {
        try await buildWebApp(configuration()).test(.live) { live in
            let port = try #require(live.port)
            try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                var browser = WebBrowser(client: client, port: port)
                try await body(&browser)
            }
        }
    }
}
