import FieldCrypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOSSL
import Testing

@testable import FieldDashboard
@testable import FieldLedger

/// The guards of the console: the Host allow-list, the login form only over TLS (or on loopback,
/// or where the operator allowed plain HTTP), the Origin and CSRF checks of every POST, and TLS.
@Suite struct DashboardGuardTests {
    @Test func aRequestNamingAnotherHostIsRefused() async throws {
        let county = try ConsoleCounty()
        try await county.withConsole { browser in
            browser.host = "evil.example:\(browser.port)"
            let refused = try await browser.get("/login")
            #expect(refused.status == .misdirectedRequest && refused.text.contains("此地址不被允许"))
        }
    }

    @Test func theLoginFormIsNotSentOverPlainHTTPToANameOfTheNetwork() async throws {
        let county = try ConsoleCounty()
        var configuration = county.configuration()
        configuration.names = ["console.gaotang.example"]
        try await county.withConsole(configuration) { browser in
            browser.host = "console.gaotang.example:\(browser.port)"
            let refused = try await browser.get("/login")
            #expect(refused.status == .forbidden && refused.text.contains("此地址未加密，不能在这里输入密码"))
            #expect(!refused.text.contains("type=\"password\""))
            browser.host = "localhost:\(browser.port)"
            #expect(try await browser.get("/login").status == .ok, "loopback never crosses a network")
        }
        configuration.allowPlainHTTP = true
        try await county.withConsole(configuration) { browser in
            browser.host = "console.gaotang.example:\(browser.port)"
            #expect(try await browser.get("/login").status == .ok)
            try await browser.loginSupervisor()
        }
    }

    @Test func aPostWithoutTheTokenOrFromAnotherOriginChangesNothing() async throws {
        let county = try ConsoleCounty()
        try await county.withConsole { browser in
            // The login form's own token, bound to its cookie.
            let form = try await browser.get("/login")
            let token = try #require(ConsoleBrowser.csrf(in: form.text))
            let supervisor = ConsoleCounty.supervisor
            let noToken = try await browser.post(
                "/login",
                [("name", supervisor.name), ("password", supervisor.password)]
            )
            #expect(noToken.status == .forbidden && noToken.text.contains("登录表单已过期"))
            var elsewhere = browser
            elsewhere.cookies = [:]
            let noCookie = try await elsewhere.post(
                "/login",
                [("csrf", token), ("name", supervisor.name), ("password", supervisor.password)]
            )
            #expect(noCookie.status == .forbidden, "a token without its cookie (another browser) is refused")
            let crossSite = try await browser.post(
                "/login",
                [("csrf", token), ("name", supervisor.name), ("password", supervisor.password)],
                origin: "http://evil.example"
            )
            #expect(crossSite.status == .forbidden && crossSite.text.contains("请求来源不是本控制台"))

            try await browser.loginSupervisor()
            let ledger = try await browser.get("/ledger")
            let csrf = try #require(ConsoleBrowser.csrf(in: ledger.text))
            let missing = try await browser.post("/ledger/export", [("format", "csv")])
            #expect(missing.status == .forbidden && missing.text.contains("表单已过期，未保存"))
            let wrong = try await browser.post(
                "/ledger/export",
                [("csrf", String(csrf.reversed())), ("format", "csv")]
            )
            #expect(wrong.status == .forbidden)
            let cross = try await browser.post(
                "/ledger/export",
                [("csrf", csrf), ("format", "csv")],
                origin: "http://evil.example"
            )
            #expect(cross.status == .forbidden && cross.text.contains("请求来源不是本控制台"))
            let noOrigin = try await browser.post(
                "/ledger/export",
                [("csrf", csrf), ("format", "csv")],
                origin: .some(nil)
            )
            #expect(noOrigin.status == .forbidden)
        }
        let exports = try county.accounts.auditTrail(action: "export", limit: 10, offset: 0)
        #expect(exports.total == 0, "no refused POST started an export")
    }

    @Test func anUnknownPageIsAPageInChinese() async throws {
        let county = try ConsoleCounty()
        try await county.withConsole { browser in
            try await browser.loginSupervisor()
            let missing = try await browser.get("/nowhere")
            #expect(missing.status == .notFound && missing.text.contains("没有这个页面"))
            let badMonth = try await browser.get("/?month=twelve")
            #expect(badMonth.status == .badRequest && badMonth.text.contains("不是月份"))
        }
    }

    static var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tls")
    }

    @Test func overTLSTheCookiesAreSecure() async throws {
        let county = try ConsoleCounty()
        let certificate = Self.fixtures.appendingPathComponent("cert.pem").path
        var configuration = county.configuration()
        configuration.tls = try DashboardConfiguration.tls(
            certificate: certificate,
            key: Self.fixtures.appendingPathComponent("key.pem").path
        )
        // The client trusts exactly the test certificate, and checks it is the server's.
        var client = TLSConfiguration.makeClientConfiguration()
        client.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificate))
        try await county.withConsole(configuration, tls: client) { browser in
            let form = try await browser.get("/login")
            #expect(form.status == .ok && form.text.contains("type=\"password\""))
            #expect(form.headers[HTTPField.Name("Strict-Transport-Security")!] != nil)
            let token = try #require(ConsoleBrowser.csrf(in: form.text))
            let supervisor = ConsoleCounty.supervisor
            let login = try await browser.post(
                "/login",
                [("csrf", token), ("name", supervisor.name), ("password", supervisor.password)]
            )
            #expect(login.status == .seeOther)
            let session = try #require(login.headers[values: .setCookie].first { $0.hasPrefix("fieldlog_console=") })
            #expect(session.contains("Secure") && session.contains("HttpOnly") && session.contains("SameSite=Strict"))
            #expect(try await browser.get("/").text.contains("<h1>总览</h1>"))
        }
        #expect(throws: DashboardSetupError.self) {
            try DashboardConfiguration.tls(certificate: "/nonexistent.pem", key: "/nonexistent.key")
        }
    }
}
