import FieldWeb
import Hummingbird
import Logging
import NIOCore

/// What the console's guards found of a request: who is logged in, the form a POST carried, and
/// where it came from.
public struct DashboardContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's address, for the audit trail and the login limit (no port).
    var address: String
    /// Set by `DashboardGuard` on every page but the login page and the assets.
    var session: DashboardAccounts.Session?
    /// The cookie of that session (logout ends it).
    var cookie: String?
    /// The form of a POST, its CSRF token checked.
    var form: WebForm?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        address = source.channel.remoteAddress?.ipAddress ?? ""
        session = nil
        cookie = nil
        form = nil
    }

    /// The logged-in user (the guard lets no request without one reach a page).
    var user: DashboardUser {
        get throws {
            guard let user = session?.user else {
                throw DashboardRefusal(.unauthorized, "尚未登录。", "请先登录。")
            }
            return user
        }
    }

    /// Refuses anyone but an operator: nothing is read or stored for them.
    func requireOperator() throws {
        guard try user.role == .operator else {
            throw DashboardRefusal(.forbidden, "此操作仅限运维人员，未执行。", "督查人员可查看和导出；登记和设备由运维人员管理。")
        }
    }
}
