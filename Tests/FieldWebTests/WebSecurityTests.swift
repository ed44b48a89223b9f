import FieldCrypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import FieldLedger
@testable import FieldWeb

/// The guards of the local UI, each on a live server on a loopback port: no session, a wrong Host,
/// a cross-origin or token-less POST, a reused login link, and the idle lock; each refused in
/// Chinese with nothing changed.
@Suite struct WebSecurityTests {
    @Test func aPageNeedsTheLoginLinkAndTheLinkWorksOnce() async throws {
        let county = try WebTestCounty()
        try await county.withBrowser { browser in
            let anonymous = try await browser.get("/")
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.text.contains("尚未登录"))
            let token = county.sessions.issueLoginToken()
            let first = try await browser.get("/login?token=\(token)")
            #expect(first.status == .seeOther && first.headers[.location] == "/")
            let again = try await browser.get("/login?token=\(token)")
            #expect(again.status == .forbidden && again.text.contains("已经用过"), "a login link works once")
            #expect(again.headers[.setCookie] == nil)
            let made = try await browser.get("/login?token=" + String(repeating: "0", count: 64))
            #expect(made.status == .forbidden)
            try await browser.login(county.sessions)
            let home = try await browser.get("/")
            #expect(home.status == .ok)
            #expect(home.text.contains("工作台") && home.text.contains(county.number))
            #expect(home.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(home.headers[.contentSecurityPolicy]?.contains("unsafe-inline") == false)
            #expect(!home.text.contains("<script>"), "no inline script")
        }
    }

    @Test func aRequestNamingAnotherHostIsRefused() async throws {
        let county = try WebTestCounty()
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            for host in ["evil.example:\(browser.port)", "127.0.0.1:1", "192.168.1.5:\(browser.port)"] {
                browser.host = host
                let page = try await browser.get("/")
                #expect(page.status == .misdirectedRequest, "\(host)")
                #expect(page.text.contains("此地址不被允许"))
                let login = try await browser.get("/login?token=\(county.sessions.issueLoginToken())")
                #expect(login.status == .misdirectedRequest && login.headers[.setCookie] == nil, "\(host)")
            }
            browser.host = "localhost:\(browser.port)"
            #expect(try await browser.get("/").status == .ok)
        }
    }

    @Test func anUnsafeRequestNeedsThisOriginAndTheFormsToken() async throws {
        let county = try WebTestCounty()
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            county.advance(seconds: 700)
            let locked = try await browser.get("/")
            #expect(locked.status == .found && locked.headers[.location] == "/unlock")
            let form = try await browser.get("/unlock")
            let csrf = try #require(WebBrowser.csrf(in: form.text))
            let phrase = [("csrf", csrf), ("passphrase", "正确的口令")]
            for (origin, csrf, why) in [
                (Optional<String>.none, csrf, "no Origin"), ("http://evil.example", csrf, "another origin"),
                (browser.origin, "", "no token"), (browser.origin, String(repeating: "a", count: 64), "a wrong token"),
            ] {
                let refused = try await browser.post(
                    "/unlock",
                    [("csrf", csrf), ("passphrase", "正确的口令")],
                    origin: .some(origin)
                )
                #expect(refused.status == .forbidden, "\(why)")
                #expect(try await browser.get("/").status == .found, "\(why): still locked")
            }
            let wrong = try await browser.post("/unlock", [("csrf", csrf), ("passphrase", "不对")])
            #expect(wrong.status == .unauthorized && wrong.text.contains("口令不对"))
            let unlocked = try await browser.post("/unlock", phrase)
            #expect(unlocked.status == .seeOther)
            #expect(try await browser.get("/").status == .ok)
        }
    }

    @Test func theIdleLockStopsPagesUntilThePassphrase() async throws {
        let county = try WebTestCounty()
        try await county.withBrowser { browser in
            try await browser.login(county.sessions)
            county.advance(seconds: 500)
            #expect(try await browser.get("/demands").status == .ok, "activity within the limit")
            county.advance(seconds: 500)
            #expect(try await browser.get("/demands").status == .ok, "the limit counts from the last request")
            county.advance(seconds: 601)
            let locked = try await browser.get("/demands/\(county.number)")
            #expect(locked.status == .found && locked.headers[.location] == "/unlock")
            #expect(!locked.text.contains(county.number), "a locked session shows nothing")
            let page = try await browser.get("/unlock")
            #expect(page.status == .ok && page.text.contains("应用已锁定"))
        }
    }
}
