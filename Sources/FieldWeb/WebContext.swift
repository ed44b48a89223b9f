import Hummingbird
import Logging

/// What the guards found of a request: its session, and the form it posted.
public struct WebContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    struct Session: Sendable {
        var id: String
        var csrf: String
    }

    /// Set by `WebGuardMiddleware` for every page but the login link and the assets.
    var session: Session?
    /// The form of a POST, checked for its CSRF token.
    var form: WebForm?
    /// 大字, as this browser chose on 设备.
    var largeFont = false

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}
