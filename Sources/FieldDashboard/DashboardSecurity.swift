import FieldCrypto
import FieldHub
import FieldWeb
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The `Host` names the console answers to: its loopback names and its own address on its port,
/// and the names the operator configured (`--dashboard-name`). A request naming any other host
/// was sent by a page of another site that made its name resolve here (DNS rebinding), and is
/// refused.
struct DashboardAuthorities: Sendable {
    var names: Set<String>
    var port: Int

    init(host: String, port: Int, configured: [String]) {
        self.port = port
        var names: Set<String> = ["127.0.0.1:\(port)", "localhost:\(port)", "[::1]:\(port)"]
        if host != "0.0.0.0" && host != "::" {
            names.insert((host.contains(":") ? "[\(host)]" : host) + ":\(port)")
        }
        for name in configured {
            names.insert(name.lowercased())
            if !name.contains(":") { names.insert("\(name.lowercased()):\(port)") }
        }
        self.names = names
    }

    func accepts(host: String) -> Bool { names.contains(host.lowercased()) }

    /// Whether a `Host` names this machine itself (a password typed there never crosses a network).
    static func isLoopback(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("[") {
            name = String(name.dropFirst().prefix { $0 != "]" })
        } else if let colon = name.lastIndex(of: ":") {
            name = String(name[..<colon])
        }
        return name == "localhost" || name == "::1" || name.hasPrefix("127.")
    }
}

/// A refusal shown as a page in Chinese: what happened, and what to do next.
struct DashboardRefusal: Error {
    var status: HTTPResponse.Status
    var message: String
    var advice: String

    init(_ status: HTTPResponse.Status, _ message: String, _ advice: String) {
        self.status = status
        self.message = message
        self.advice = advice
    }
}

/// Headers on every answer (the local app's content security policy: no inline script, nothing
/// from elsewhere, no framing), and the one place errors become pages: a refusal as its page, an
/// unknown path as 404, anything else as 500 without its details (they go to the log as a type).
struct DashboardHeaders: RouterMiddleware {
    let pages: DashboardPages
    let secure: Bool

    func handle(
        _ request: Request,
        context: DashboardContext,
        next: (Request, DashboardContext) async throws -> Response
    ) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let refusal as DashboardRefusal {
            response = pages.refusal(refusal, context: context)
        } catch let error as HTTPError where error.status == .notFound {
            response = pages.refusal(
                DashboardRefusal(.notFound, "没有这个页面。", "从导航栏进入各页面。"),
                context: context
            )
        } catch let error as HTTPError where error.status == .contentTooLarge {
            response = pages.refusal(
                DashboardRefusal(.contentTooLarge, "提交的内容太大，未保存。", "请拆分后分批提交。"),
                context: context
            )
        } catch let error as SharedLogError where error.code == .unavailable {
            // Several hub processes: the console's state is in PostgreSQL, and nothing is answered
            // from what this process remembers.
            context.logger.error("dashboard page failed: the shared store is unavailable")
            response = pages.refusal(
                DashboardRefusal(.serviceUnavailable, "共享数据库暂时连不上，未保存任何内容。", "请稍后重试；仍不行请告诉运维人员检查 PostgreSQL。"),
                context: context
            )
            response.headers[.retryAfter] = "5"
        } catch let error as SharedLogError where error.code == .placeTaken {
            response = pages.refusal(
                DashboardRefusal(.conflict, "另一个枢纽进程同时改了登记，这次未保存。", "请刷新页面后再操作一次。"),
                context: context
            )
        } catch {
            context.logger.error("dashboard page failed", metadata: ["error": "\(type(of: error))"])
            response = pages.refusal(
                DashboardRefusal(.internalServerError, "本页出错了，未保存任何内容。", "请重试；仍不行请把枢纽的日志发给运维人员。"),
                context: context
            )
        }
        response.headers[.contentSecurityPolicy] = WebContentPolicy.value
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        if secure { response.headers[HTTPField.Name("Strict-Transport-Security")!] = "max-age=31536000" }
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

/// The guards of every request, in order:
/// 1. a `Host` the console answers to (421 otherwise);
/// 2. the login page only over TLS, unless the Host is this machine's loopback or the operator
///    allowed plain HTTP (`--dashboard-plain-http`);
/// 3. a live session, but for the login page and the assets (a page asks to log in, anything else
///    is 401);
/// 4. for every request that is not GET or HEAD: an `Origin` of the console itself, and the CSRF
///    token of the session (of the login page's cookie, for the login form) in the form.
/// GET never changes anything.
struct DashboardGuard: RouterMiddleware {
    let authorities: @Sendable () -> DashboardAuthorities
    let accounts: DashboardAccounts
    let database: DashboardDatabase
    let secure: Bool
    let allowPlainHTTP: Bool

    static let cookie = "fieldlog_console"
    static let loginCookie = "fieldlog_console_login"

    var scheme: String { secure ? "https" : "http" }

    func handle(
        _ request: Request,
        context: DashboardContext,
        next: (Request, DashboardContext) async throws -> Response
    ) async throws -> Response {
        guard let host = request.head.authority, authorities().accepts(host: host) else {
            throw DashboardRefusal(.misdirectedRequest, "此地址不被允许。", "请用运维人员公布的控制台地址打开。")
        }
        let path = request.uri.path
        if path.hasPrefix("/assets/") || path == "/favicon.ico" { return try await next(request, context) }
        var context = context
        if path == "/login" {
            guard secure || allowPlainHTTP || DashboardAuthorities.isLoopback(host) else {
                throw DashboardRefusal(
                    .forbidden,
                    "此地址未加密，不能在这里输入密码。",
                    "请用 https 地址打开控制台；运维人员可用 --tls-cert 和 --tls-key 启用加密。"
                )
            }
            if request.method == .post {
                // Before anyone is known, a small form only.
                let form = try await checkedForm(request, host: host, limit: 64 << 10)
                guard let token = request.cookies[Self.loginCookie]?.value, token.count == 64, form["csrf"] == token
                else {
                    throw DashboardRefusal(.forbidden, "登录表单已过期，未登录。", "请刷新登录页后重新输入。")
                }
                context.form = form
            }
            return try await next(request, context)
        }
        let cookie = request.cookies[Self.cookie]?.value
        let accounts = accounts
        var found: DashboardAccounts.Session?
        if let cookie { found = try await database.run { try accounts.session(cookie) } }
        guard let session = found else {
            if request.method == .get || request.method == .head {
                return .redirect(to: "/login", type: .found)
            }
            throw DashboardRefusal(.unauthorized, "尚未登录或登录已过期，未保存。", "请重新登录后再操作一次。")
        }
        context.session = session
        context.cookie = cookie
        if request.method != .get && request.method != .head {
            let form = try await checkedForm(request, host: host)
            guard form["csrf"] == session.csrf else {
                throw DashboardRefusal(.forbidden, "表单已过期，未保存。", "请刷新页面后重新提交。")
            }
            context.form = form
        }
        return try await next(request, context)
    }

    /// The form of an unsafe request, after its `Origin` was found to be this console's.
    func checkedForm(_ request: Request, host: String, limit: Int = 64 << 20) async throws -> WebForm {
        guard let origin = request.headers[.origin], origin.lowercased() == "\(scheme)://\(host.lowercased())" else {
            throw DashboardRefusal(.forbidden, "请求来源不是本控制台，未执行。", "请在控制台的页面里操作。")
        }
        if let boundary = WebForm.boundary(request.headers[.contentType]) {
            let body = try await request.body.collect(upTo: limit)
            guard let form = WebForm(multipart: [UInt8](buffer: body), boundary: boundary) else {
                throw DashboardRefusal(.badRequest, "上传的表单不完整，未保存。", "请重新选择文件后再提交。")
            }
            return form
        }
        let body = try await request.body.collect(upTo: min(limit, 1 << 20))
        return WebForm(body: String(buffer: body))
    }
}
