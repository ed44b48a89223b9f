import FieldWeb
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Mustache
import Testing

@testable import FieldDashboard
@testable import FieldLedger

/// Every template parses and names only keys its view model has (a template naming a missing key
/// would render nothing there, silently).
@Suite struct DashboardTemplateTests {
    static let models: [String: any DashboardView] = [
        "layout": ConsoleLayout.sample, "refusal": RefusalPage.sample, "login": LoginPage.sample,
        "overview": OverviewPage.sample, "ledger": LedgerPageView.sample, "export": ExportPage.sample,
        "audit": AuditPage.sample, "report": ReportPage.sample, "conflicts": ConflictsPage.sample,
        "devices": DevicesPage.sample, "revoke": RevokePage.sample, "readmit": ReadmitPage.sample,
        "enroll": EnrollPage.sample,
        "registry": RegistryPage.sample, "history": HistoryPage.sample, "preview": PreviewPage.sample,
    ]

    @Test func everyTemplateHasAModelParsesAndNamesOnlyItsKeys() throws {
        #expect(Set(Self.models.keys) == Set(DashboardTemplates.all.keys))
        for (name, text) in DashboardTemplates.all {
            _ = try MustacheTemplate(string: text)
            let unknown = TemplateKeys.unknown(in: text, model: try #require(Self.models[name]))
            #expect(unknown.isEmpty, "\(name) names \(unknown), which its view model lacks")
        }
        _ = DashboardPages.library
    }
}

/// Accounts, logins and sessions: bcrypt passwords, TOTP, the login limit, logout and the idle
/// timeout, each refusal in Chinese and written to the audit trail.
@Suite struct DashboardLoginTests {
    @Test func aSupervisorLogsInSeesTheOverviewAndLogsOut() async throws {
        let county = try ConsoleCounty()
        try await county.withConsole { browser in
            let first = try await browser.get("/")
            #expect(first.status == .found && first.headers[.location] == "/login", "a page asks to log in first")
            let form = try await browser.get("/login")
            #expect(form.status == .ok && form.text.contains("用户名") && form.text.contains("动态验证码"))
            let loginCookie = try #require(
                form.headers[values: .setCookie].first { $0.hasPrefix("fieldlog_console_login=") }
            )
            #expect(loginCookie.contains("HttpOnly") && loginCookie.contains("SameSite=Strict"))
            #expect(form.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(form.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")

            // A browser asking for an icon, or loading the login page again, keeps the form's token.
            #expect(try await browser.get("/favicon.ico").status == .noContent)
            let again = try await browser.get("/login")
            #expect(ConsoleBrowser.csrf(in: again.text) == ConsoleBrowser.csrf(in: form.text))
            try await browser.loginSupervisor()
            let session = try #require(browser.cookies["fieldlog_console"])
            let overview = try await browser.get("/")
            #expect(
                overview.status == .ok && overview.text.contains("<h1>总览</h1>") && overview.text.contains("张督查（督查人员）")
            )
            #expect(overview.text.contains("诉求状态（共 5 件）") && overview.text.contains("<svg role=\"img\""))
            #expect(!overview.text.contains("<script>"), "no inline script")

            let csrf = try #require(ConsoleBrowser.csrf(in: overview.text))
            let out = try await browser.post("/logout", [("csrf", csrf)])
            #expect(out.status == .seeOther && out.headers[.location] == "/login")
            // The cookie of the ended session, kept by someone who copied it, opens nothing.
            browser.cookies["fieldlog_console"] = session
            let stolen = try await browser.get("/ledger")
            #expect(stolen.status == .found && stolen.headers[.location] == "/login")
            let stolenPost = try await browser.post("/ledger/export", [("csrf", csrf), ("format", "csv")])
            #expect(stolenPost.status == .unauthorized && stolenPost.text.contains("尚未登录或登录已过期"))
        }
        let trail = try county.accounts.auditTrail(limit: 10, offset: 0).entries.map { "\($0.action) \($0.outcome)" }
        #expect(trail.prefix(2) == ["logout ok", "login ok"])
    }

    @Test func aWrongPasswordOrNameIsRefusedAndWrittenDown() async throws {
        let county = try ConsoleCounty()
        try await county.withConsole { browser in
            let wrong = try await browser.login(ConsoleCounty.supervisor.name, "not the password")
            #expect(wrong.status == .unauthorized && wrong.text.contains("用户名或密码不对"))
            #expect(browser.cookies["fieldlog_console"] == nil)
            let stranger = try await browser.login("无此人", "whatever-password")
            #expect(stranger.status == .unauthorized && stranger.text.contains("用户名或密码不对"))
            // Nothing else opens without a session.
            #expect(try await browser.get("/audit").status == .found)
        }
        let trail = try county.accounts.auditTrail(action: "login", limit: 10, offset: 0).entries
        #expect(trail.map(\.outcome) == ["wrong_password", "wrong_password"])
        #expect(trail.map(\.user) == ["无此人", ConsoleCounty.supervisor.name] && trail[0].address == "127.0.0.1")
    }

    @Test func anAccountWithTOTPNeedsAFreshCode() async throws {
        let county = try ConsoleCounty()
        try await county.withConsole { browser in
            let name = ConsoleCounty.operator.name
            let password = ConsoleCounty.operator.password
            let none = try await browser.login(name, password)
            #expect(none.status == .unauthorized && none.text.contains("动态验证码不对或已用过"))
            let wrongCode = String(format: "%06d", (Int(try county.code())! + 1) % 1_000_000)
            #expect(try await browser.login(name, password, code: wrongCode).status == .unauthorized)
            let code = try county.code()
            let right = try await browser.login(name, password, code: code)
            #expect(right.status == .seeOther)
            #expect(try await browser.get("/").text.contains("李运维（运维人员）"))
            // The same code again, even within its 30 seconds, is refused.
            var other = browser
            other.cookies = [:]
            #expect(try await other.login(name, password, code: code).status == .unauthorized)
            county.seconds.advance(30)
            #expect(try await other.login(name, password, code: try county.code()).status == .seeOther)
        }
        let outcomes = try county.accounts.auditTrail(action: "login", limit: 10, offset: 0).entries.map(\.outcome)
        #expect(outcomes == ["ok", "wrong_totp", "ok", "wrong_totp", "wrong_totp"])
    }

    @Test func failedLoginsPauseTheNameForAQuarterOfAnHour() async throws {
        let county = try ConsoleCounty()
        try await county.withConsole { browser in
            for _ in 0..<5 {
                #expect(
                    try await browser.login(ConsoleCounty.supervisor.name, "wrong-password").status == .unauthorized
                )
            }
            let paused = try await browser.loginAttempt()
            #expect(paused.status == .tooManyRequests && paused.text.contains("登录失败次数过多，请 15 分钟后再试"))
            #expect(browser.cookies["fieldlog_console"] == nil, "the right password does not open a paused name")
            county.seconds.advance(15 * 60 + 1)
            try await browser.loginSupervisor()
        }
    }

    @Test func anIdleSessionEnds() async throws {
        let county = try ConsoleCounty()
        try await county.withConsole { browser in
            try await browser.loginSupervisor()
            county.seconds.advance(29 * 60)
            #expect(try await browser.get("/").status == .ok)
            county.seconds.advance(29 * 60)
            #expect(try await browser.get("/").status == .ok, "each request counts as activity")
            county.seconds.advance(31 * 60)
            let ended = try await browser.get("/")
            #expect(ended.status == .found && ended.headers[.location] == "/login")
        }
    }

    @Test func accountsAreCheckedWhenAdded() throws {
        let county = try ConsoleCounty()
        #expect(throws: LedgerError.self) {
            try county.accounts.addUser(name: "王五", role: .supervisor, password: "short", totp: false)
        }
        #expect(throws: LedgerError.self) {
            try county.accounts.addUser(
                name: ConsoleCounty.supervisor.name,
                role: .operator,
                password: "long-enough-1",
                totp: false
            )
        }
        #expect(throws: LedgerError.self) {
            try county.accounts.addUser(name: " 空格", role: .operator, password: "long-enough-1", totp: false)
        }
        try county.accounts.disableUser(ConsoleCounty.supervisor.name)
        #expect(try county.accounts.users().first { $0.name == ConsoleCounty.supervisor.name }?.disabled == true)
        #expect(throws: LoginRefusal.disabled) {
            try county.accounts.login(
                name: ConsoleCounty.supervisor.name,
                password: ConsoleCounty.supervisor.password,
                code: nil,
                address: "127.0.0.1"
            )
        }
    }
}

extension ConsoleBrowser {
    /// The supervisor's right password, for a login expected to be refused.
    mutating func loginAttempt() async throws -> TestClient.Response {
        try await login(ConsoleCounty.supervisor.name, ConsoleCounty.supervisor.password)
    }
}
