import FieldLedger
import Foundation
import Hummingbird
import Logging

/// What the local UI serves and how.
public struct WebConfiguration: Sendable {
    public var ledger: Ledger
    /// Always a loopback address: the UI is for the person at this computer.
    public var host = "127.0.0.1"
    /// 0 picks a free port.
    public var port = 0
    public var sessions = WebSessions()
    /// Checks a passphrase typed on the unlock page: true when it opens this device's key.
    public var checkPassphrase: @Sendable (String) -> Bool
    public var logger = Logger(label: "fieldlog.ui")
    /// Called once the UI listens, with its port.
    public var onListening: @Sendable (Int) -> Void = { _ in }

    public init(ledger: Ledger, checkPassphrase: @escaping @Sendable (String) -> Bool) {
        self.ledger = ledger
        self.checkPassphrase = checkPassphrase
    }
}

/// Builds the local UI (`fieldlog ui`): server-rendered pages over the ledger, behind the guards of
/// `WebGuardMiddleware`, every answer with the headers of `WebHeadersMiddleware`.
public func buildWebApp(_ configuration: WebConfiguration) -> some ApplicationProtocol {
    let authorities = WebAuthorities()
    authorities.listening(on: configuration.port)
    let pages = WebPages(
        ledger: configuration.ledger,
        sessions: configuration.sessions,
        checkPassphrase: configuration.checkPassphrase,
        jobs: WebSyncJobs(),
        downloads: WebDownloads()
    )
    let router = Router(context: WebContext.self)
    router.add(middleware: WebHeadersMiddleware())
    router.add(middleware: WebGuardMiddleware(authorities: authorities, sessions: configuration.sessions))
    router.get("/login") { request, _ in try pages.login(request) }
    router.get("/unlock") { _, context in try pages.unlockForm(context) }
    router.post("/unlock") { _, context in try pages.unlock(context) }
    router.get("/") { _, context in try pages.home(context) }
    router.get("/demands") { request, context in try pages.demands(request, context: context) }
    router.get("/demands/new") { _, context in try pages.demandForm(context) }
    router.post("/demands") { _, context in try pages.addDemand(context) }
    router.get("/demands/:number") { _, context in
        try pages.demand(context.parameters.require("number"), context: context)
    }
    router.post("/demands/:number/edit") { _, context in
        try pages.editDemand(context.parameters.require("number"), context: context)
    }
    router.post("/demands/:number/act") { _, context in
        try pages.act(context.parameters.require("number"), context: context)
    }
    router.get("/conflicts") { _, context in try pages.conflicts(context) }
    router.post("/conflicts/resolve") { _, context in try pages.resolveConflict(context) }
    router.get("/visits/new") { request, context in
        try pages.visitForm(context, chosen: request.uri.queryParameters["enterprise"].map(String.init))
    }
    router.get("/enterprises/:id") { _, context in
        try pages.enterprise(context.parameters.require("id"), context: context)
    }
    router.get("/rates") { request, context in try pages.rates(request, context: context) }
    router.get("/device") { _, context in try pages.device(context, large: context.largeFont) }
    router.post("/device/font") { _, context in pages.setFont(context) }
    router.post("/visits") { _, context in try pages.addVisit(context) }
    router.get("/sync") { _, context in try pages.syncPage(context) }
    router.post("/sync") { _, context in try pages.startSync(context) }
    router.get("/sync/events") { _, _ in pages.syncEvents() }
    router.post("/sync/bundle") { _, context in try pages.exportBundle(context) }
    router.post("/sync/import") { _, context in try pages.importBundle(context) }
    router.get("/export") { _, context in try pages.exportPage(context) }
    router.post("/export/ledger") { _, context in try pages.export("ledger", context: context) }
    router.post("/export/monthly") { _, context in try pages.export("monthly", context: context) }
    router.get("/export/ready/:token") { _, context in
        try pages.exportReady(context.parameters.require("token"), context: context)
    }
    router.get("/export/files/:token") { _, context in
        try pages.exportFile(context.parameters.require("token"), signature: false)
    }
    router.get("/export/files/:token/sig") { _, context in
        try pages.exportFile(context.parameters.require("token"), signature: true)
    }
    router.get("/export/verify") { _, context in try pages.verifyForm(context) }
    router.post("/export/verify") { _, context in try pages.verifyUpload(context) }
    router.get("/assets/app.css") { _, _ in asset(WebAssets.css, type: "text/css; charset=utf-8") }
    router.get("/assets/app.js") { _, _ in asset(WebAssets.js, type: "text/javascript; charset=utf-8") }
    return Application(
        router: router,
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port),
            serverName: "fieldlog-ui"
        ),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? configuration.port
            authorities.listening(on: port)
            configuration.onListening(port)
        },
        logger: configuration.logger
    )
}

func asset(_ text: String, type: String) -> Response {
    var fields = HTTPFields()
    fields[.contentType] = type
    fields[.cacheControl] = "max-age=3600"
    return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
}
