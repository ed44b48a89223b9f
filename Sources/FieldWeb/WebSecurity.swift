import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// The secrets of a local UI: one-time login tokens, and the sessions they open, each with its
/// CSRF token and the time of its last request (after `idleLock` without one, it locks and asks
/// the passphrase again). Held in memory only: a restart of `fieldlog ui` ends every session.
public final class WebSessions: Sendable {
    struct Session: Sendable {
        var csrf: String
        var lastSeen: Int64
        var locked = false
        /// The confirmation of the last save, for the next page.
        var notice: String?
    }

    /// What a request's session cookie names.
    enum State: Equatable {
        case active(csrf: String)
        case locked(csrf: String)
    }

    private let state = Mutex<(tokens: Set<String>, sessions: [String: Session])>(([], [:]))
    let idleLock: Int64
    let clock: @Sendable () -> Int64

    /// - Parameters:
    ///   - idleLock: seconds without a request after which a session locks.
    ///   - clock: the time in seconds (tests move it).
    public init(
        idleLock: Int64 = 15 * 60,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.idleLock = idleLock
        self.clock = clock
    }

    /// 32 random bytes from the system's generator, as 64 hex digits.
    static func secret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// A new one-time login token, for the URL `fieldlog ui` prints and opens.
    public func issueLoginToken() -> String {
        let token = Self.secret()
        state.withLock { _ = $0.tokens.insert(token) }
        return token
    }

    /// Spends a login token and opens a session: its id (the cookie), or nil for a token that was
    /// never issued or is spent.
    func redeem(_ token: String) -> String? {
        state.withLock { state in
            guard state.tokens.remove(token) != nil else { return nil }
            let id = Self.secret()
            state.sessions[id] = Session(csrf: Self.secret(), lastSeen: clock())
            return id
        }
    }

    /// The state of the session `id` on a request now, which counts as activity unless it is locked.
    func visit(_ id: String) -> State? {
        let now = clock()
        return state.withLock { state in
            guard var session = state.sessions[id] else { return nil }
            if !session.locked && now - session.lastSeen > idleLock { session.locked = true }
            if !session.locked { session.lastSeen = now }
            state.sessions[id] = session
            return session.locked ? .locked(csrf: session.csrf) : .active(csrf: session.csrf)
        }
    }

    /// Keeps a confirmation for the next page the session shows.
    func notice(_ text: String, to id: String?) {
        guard let id else { return }
        state.withLock { $0.sessions[id]?.notice = text }
    }

    /// The session's confirmation, once.
    func takeNotice(_ id: String) -> String? {
        state.withLock { state in
            defer { state.sessions[id]?.notice = nil }
            return state.sessions[id]?.notice
        }
    }

    /// Unlocks a session after the passphrase was typed again.
    func unlock(_ id: String) {
        let now = clock()
        state.withLock { state in
            state.sessions[id]?.locked = false
            state.sessions[id]?.lastSeen = now
        }
    }
}

/// The `host:port` names the UI answers to once it listens: a request naming any other host was
/// sent by a page of another site that made its name resolve here (DNS rebinding), and is refused.
final class WebAuthorities: Sendable {
    private let names = Mutex<Set<String>>([])

    func listening(on port: Int) {
        names.withLock { $0 = ["127.0.0.1:\(port)", "localhost:\(port)", "[::1]:\(port)"] }
    }

    func accepts(host: String) -> Bool { names.withLock { $0.contains(host.lowercased()) } }

    /// The origin of a page of this app, as a browser sends it in `Origin`.
    func accepts(origin: String) -> Bool {
        guard origin.lowercased().hasPrefix("http://") else { return false }
        return accepts(host: String(origin.dropFirst("http://".count)))
    }
}

/// The content security policy of the local app and the hub's console: no inline script, nothing
/// from elsewhere, no framing.
package enum WebContentPolicy {
    package static let value =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

/// Headers on every answer: a content security policy that allows no inline script and nothing
/// from elsewhere, no framing, no sniffing, no caching of pages.
struct WebHeadersMiddleware: RouterMiddleware {
    static let policy = WebContentPolicy.value

    func handle(
        _ request: Request,
        context: WebContext,
        next: (Request, WebContext) async throws -> Response
    ) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as WebRefusal {
            response = error.page()
        } catch let error as HTTPError where error.status == .notFound {
            response = WebRefusal(.notFound, "没有这个页面。", "从导航栏进入各页面。").page()
        } catch {
            context.logger.error("page failed", metadata: ["error": "\(type(of: error))"])
            response = WebRefusal(.internalServerError, "本页出错了。", "请重试；仍不行请把终端里的日志发给运维人员。").page()
        }
        response.headers[.contentSecurityPolicy] = Self.policy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

/// The guards of every request, in order: a Host this app answers to; a session (but for the
/// login link and the style sheet and script), unlocked (but for the unlock page); and for any
/// request that is not GET or HEAD, an `Origin` of this app and the session's CSRF token in the
/// form. GET never changes anything, but the login link, which spends its token.
struct WebGuardMiddleware: RouterMiddleware {
    let authorities: WebAuthorities
    let sessions: WebSessions

    static let cookie = "fieldlog_session"

    func handle(
        _ request: Request,
        context: WebContext,
        next: (Request, WebContext) async throws -> Response
    ) async throws -> Response {
        guard let host = request.head.authority, authorities.accepts(host: host) else {
            throw WebRefusal(.misdirectedRequest, "此地址不被允许。", "请用 fieldlog ui 打印的 127.0.0.1 地址打开。")
        }
        let path = request.uri.path
        if path == "/login" || path.hasPrefix("/assets/") { return try await next(request, context) }
        guard let id = request.cookies[Self.cookie]?.value, let state = sessions.visit(id) else {
            throw WebRefusal(
                .unauthorized,
                "尚未登录。",
                "请用 fieldlog ui 在终端打印的登录链接打开本应用（每个链接只能用一次）。"
            )
        }
        var context = context
        context.largeFont = request.cookies[WebPages.fontCookie]?.value == "large"
        switch state {
        case .active(let csrf):
            context.session = WebContext.Session(id: id, csrf: csrf)
        case .locked(let csrf):
            context.session = WebContext.Session(id: id, csrf: csrf)
            if path != "/unlock" {
                guard request.method == .get else {
                    throw WebRefusal(.forbidden, "应用已锁定，本次操作未保存。", "请先输入口令解锁，再重做一次。")
                }
                return .redirect(to: "/unlock", type: .found)
            }
        }
        guard request.method == .get || request.method == .head else {
            guard let origin = request.headers[.origin], authorities.accepts(origin: origin) else {
                throw WebRefusal(.forbidden, "请求来源不是本应用，未保存。", "请在本应用的页面里操作。")
            }
            var request = request
            let form: WebForm
            if let boundary = WebForm.boundary(request.headers[.contentType]) {
                let body = try await request.body.collect(upTo: WebForm.maxUpload)
                guard let parsed = WebForm(multipart: [UInt8](buffer: body), boundary: boundary) else {
                    throw WebRefusal(.badRequest, "上传的表单不完整，未保存。", "请重新选择文件后再提交。")
                }
                form = parsed
            } else {
                let body = try await request.body.collect(upTo: 2 << 20)
                request.body = RequestBody(buffer: body)
                form = WebForm(body: String(buffer: body))
            }
            guard let token = form["csrf"], token == context.session?.csrf else {
                throw WebRefusal(.forbidden, "表单已过期，未保存。", "请刷新页面后重新填写提交。")
            }
            context.form = form
            return try await next(request, context)
        }
        return try await next(request, context)
    }
}

/// A refusal shown as a page in Chinese: what happened, and what to do next.
struct WebRefusal: Error {
    var status: HTTPResponse.Status
    var message: String
    var advice: String

    init(_ status: HTTPResponse.Status, _ message: String, _ advice: String) {
        self.status = status
        self.message = message
        self.advice = advice
    }

    func page() -> Response {
        var response = WebPages.html(
            WebPages.render(RefusalView(message: message, advice: advice), "refusal", title: "无法完成")
        )
        response.status = status
        return response
    }
}

/// A form as posted (`application/x-www-form-urlencoded`, or `multipart/form-data` with files):
/// each name's first value, and all of them; an uploaded file's name and bytes.
package struct WebForm: Sendable {
    package var fields: [(name: String, value: String)] = []
    package var files: [String: (filename: String, bytes: [UInt8])] = [:]

    /// The largest upload taken (a bundle of a whole county's commits for one device fits).
    package static let maxUpload = 256 << 20

    /// The boundary of a `multipart/form-data` content type, or nil for any other.
    package static func boundary(_ contentType: String?) -> String? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                return value.isEmpty || value.count > 200 ? nil : value
            }
        }
        return nil
    }

    /// A `multipart/form-data` body (RFC 7578): its text fields and files; nil when malformed.
    package init?(multipart body: [UInt8], boundary: String) {
        let delimiter = Array("--\(boundary)".utf8)
        let separator = Array("\r\n\r\n".utf8)
        guard var start = Self.find(delimiter, in: body, from: 0) else { return nil }
        while true {
            let after = start + delimiter.count
            // `--` after a delimiter ends the body.
            if body.count >= after + 2 && body[after] == UInt8(ascii: "-") && body[after + 1] == UInt8(ascii: "-") {
                return
            }
            guard body.count >= after + 2, body[after] == 13, body[after + 1] == 10,
                let headerEnd = Self.find(separator, in: body, from: after + 2),
                let next = Self.find(Array("\r\n".utf8) + delimiter, in: body, from: headerEnd + 4)
            else { return nil }
            let headers = String(decoding: body[(after + 2)..<headerEnd], as: UTF8.self)
            let content = Array(body[(headerEnd + 4)..<next])
            guard
                let disposition = headers.split(separator: "\r\n").first(where: {
                    $0.lowercased().hasPrefix("content-disposition:")
                })
            else { return nil }
            var name: String?
            var filename: String?
            for parameter in disposition.split(separator: ";").dropFirst() {
                let pair = parameter.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                switch pair[0].lowercased() {
                case "name": name = value
                case "filename": filename = value
                default: break
                }
            }
            guard let name else { return nil }
            if let filename {
                files[name] = (filename, content)
            } else {
                fields.append((name, String(decoding: content, as: UTF8.self)))
            }
            start = next + 2
        }
    }

    /// Where `needle` begins in `haystack` at or after `from`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, from <= haystack.count - needle.count else {
            return nil
        }
        let first = needle[0]
        var index = from
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first && haystack[index..<(index + needle.count)].elementsEqual(needle) {
                return index
            }
            index += 1
        }
        return nil
    }

    package init(body: String) {
        for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            fields.append((decode(parts[0]), parts.count > 1 ? decode(parts[1]) : ""))
        }
    }

    package subscript(name: String) -> String? { fields.first { $0.name == name }?.value }

    package func all(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }
}
