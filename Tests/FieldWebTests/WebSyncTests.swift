import AsyncHTTPClient
import FieldCrypto
import FieldHub
import FieldStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import FieldLedger
@testable import FieldWeb

/// 同步: a sync with the hub started from the page, followed live (server-sent events) and said in
/// Chinese; each demand's badge; U盘 bundles downloaded and uploaded.
@Suite struct WebSyncTests {
    /// A hub and a cadre's laptop of its own, which holds the registry and one demand not yet synced.
    struct County {
        let root = SigningKey.generate()
        let cadreKey = SigningKey.generate()
        let hub: Ledger
        let laptop: Ledger
        let number: String
        let sessions = WebSessions()

        init() throws {
            hub = try Ledger.open(path: nil, root: root.publicKey, key: root)
            try WebTestCounty.importRegistry(into: hub)
            _ = try hub.enroll(publicKey: cadreKey.publicKey, role: .cadre, cadre: "王强")
            laptop = try Ledger.open(path: nil, root: root.publicKey, key: cadreKey)
            var records: [[UInt8]] = []
            try hub.replica.exportRecords { records.append($0) }
            _ = try laptop.importRecords(records)
            number = try laptop.addDemand(
                DemandInput(enterprise: "高唐纺织有限公司", title: "厂区道路积水", content: "雨季积水", category: "基础设施")
            ).number
        }

        func withUI(_ body: @escaping @Sendable (inout WebBrowser) async throws -> Void) async throws {
            var configuration = WebConfiguration(ledger: laptop, checkPassphrase: { _ in true })
            configuration.sessions = sessions
            try await buildWebApp(configuration).test(.live) { live in
                let port = try #require(live.port)
                try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                    var browser = WebBrowser(client: client, port: port)
                    try await browser.login(sessions)
                    try await body(&browser)
                }
            }
        }
    }

    @Test func aSyncWithTheHubIsFollowedLiveAndSaidInChinese() async throws {
        let county = try County()
        var hubConfiguration = HubConfiguration(ledger: county.hub, hubKey: county.root)
        hubConfiguration.port = 0
        try await buildHub(hubConfiguration).test(.live) { hub in
            let hubURL = "http://127.0.0.1:\(try #require(hub.port))"
            try await county.withUI { browser in
                let before = try await browser.get("/sync")
                #expect(before.text.contains("尚未同步过") && before.text.contains("<strong>1</strong> 条待同步"))
                #expect(try await browser.get("/demands").text.contains("flag note\">未同步"))
                let csrf = try #require(WebBrowser.csrf(in: before.text))

                let wrong = try await browser.post("/sync", [("csrf", csrf), ("kind", "hub"), ("address", "平台")])
                #expect(wrong.status == .unprocessableContent && wrong.text.contains("不是网址"))

                let started = try await browser.post("/sync", [("csrf", csrf), ("kind", "hub"), ("address", hubURL)])
                #expect(started.status == .seeOther && started.headers[.location] == "/sync")
                // The live feed: JSON snapshots until the sync ends (the body ends with it).
                let events = try await browser.get("/sync/events")
                #expect(events.headers[.contentType]?.hasPrefix("text/event-stream") == true)
                let snapshots = events.text.split(separator: "\n\n").compactMap { event -> WebSyncJobs.Snapshot? in
                    guard event.hasPrefix("data: ") else { return nil }
                    return try? JSONDecoder().decode(WebSyncJobs.Snapshot.self, from: Data(event.dropFirst(6).utf8))
                }
                let last = try #require(snapshots.last)
                #expect(!last.running && last.error == nil && last.phase == "已完成", "\(snapshots)")
                #expect(last.result.first == "发出 1 条提交，收到 0 条。", "\(last.result)")

                let after = try await browser.get("/sync")
                #expect(after.text.contains("发出 1 条提交") && !after.text.contains("尚未同步过"))
                #expect(after.text.contains("<strong>0</strong> 条待同步"))
                #expect(after.text.contains("value=\"\(hubURL)\""), "the hub's address is remembered")
                let list = try await browser.get("/demands")
                #expect(list.text.contains("flag ok\">已同步") && !list.text.contains("flag note\">未同步"))
                #expect(try await browser.get("/demands?sync=unsynced").text.contains("共 0 条"))

                // Nothing answers: the result says so in Chinese.
                let closed = try await browser.post(
                    "/sync",
                    [("csrf", csrf), ("kind", "hub"), ("address", "http://127.0.0.1:1")]
                )
                #expect(closed.status == .seeOther)
                _ = try await browser.get("/sync/events")
                let failed = try await browser.get("/sync")
                #expect(failed.text.contains("连不上对方"), "\(failed.text)")
            }
        }
        #expect(try county.hub.demandDetail(county.number).title == "厂区道路积水")
        #expect(try county.laptop.lastSync()?.sent.isEmpty == false)
    }

    @Test func aSyncWithALaptopOnTheLANTakesItsCommits() async throws {
        let county = try County()
        // The cadre's second laptop, enrolled, serving as a peer (`fieldlog serve`) with a visit.
        let otherKey = SigningKey.generate()
        _ = try county.hub.enroll(publicKey: otherKey.publicKey, role: .cadre, cadre: "王强", label: "备用笔记本")
        let other = try Ledger.open(path: nil, root: county.root.publicKey, key: otherKey)
        var registry: [[UInt8]] = []
        try county.hub.replica.exportRecords { registry.append($0) }
        _ = try other.importRecords(registry)
        _ = try county.laptop.importRecords(registry)
        try other.addVisit(VisitInput(enterprise: "高唐纺织有限公司", topics: "备用笔记本上的走访"))
        var peer = HubConfiguration(ledger: other, hubKey: otherKey)
        peer.port = 0
        peer.isPeer = true
        try await buildHub(peer).test(.live) { served in
            let address = "http://127.0.0.1:\(try #require(served.port))"
            try await county.withUI { browser in
                let csrf = try #require(WebBrowser.csrf(in: try await browser.get("/sync").text))
                let started = try await browser.post("/sync", [("csrf", csrf), ("kind", "peer"), ("address", address)])
                #expect(started.status == .seeOther)
                _ = try await browser.get("/sync/events")
                let after = try await browser.get("/sync")
                #expect(after.text.contains("同事笔记本 \(address)") && after.text.contains("收到 1 条"), "\(after.text)")
                #expect(after.text.contains("尚未同步过"), "a laptop is not the hub: the last hub sync stays as it was")
            }
        }
        #expect(try county.laptop.visits().map(\.topics).contains("备用笔记本上的走访"))
        #expect(try other.demandDetail(county.number).title == "厂区道路积水", "the demand went the other way")
    }

    @Test func aBundleIsDownloadedForADeviceAndAnUploadedOneIsTaken() async throws {
        let county = try County()
        // The cadre's second laptop, enrolled, holding the registry.
        let otherKey = SigningKey.generate()
        let code = try county.hub.enroll(publicKey: otherKey.publicKey, role: .cadre, cadre: "王强", label: "备用笔记本")
        let other = try Ledger.open(path: nil, root: county.root.publicKey, key: otherKey)
        var registry: [[UInt8]] = []
        try county.hub.replica.exportRecords { registry.append($0) }
        _ = try other.importRecords(registry)
        _ = try county.laptop.importRecords(registry)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("web-bundle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        try await county.withUI { browser in
            let page = try await browser.get("/sync")
            #expect(page.text.contains("备用笔记本") || page.text.contains(code))
            let csrf = try #require(WebBrowser.csrf(in: page.text))
            let download = try await browser.post("/sync/bundle", [("csrf", csrf), ("recipient", code)])
            #expect(download.status == .ok)
            #expect(download.headers[.contentDisposition]?.hasPrefix("attachment;") == true)
            let path = folder.appendingPathComponent("to-other.bundle").path
            let body = try #require(download.body)
            try Data(body.readableBytesView).write(to: URL(fileURLWithPath: path))
            _ = try other.importRecords(try CommitBundle.open(path))
            #expect(try other.demandDetail(county.number).title == "厂区道路积水")

            let unknown = try await browser.post("/sync/bundle", [("csrf", csrf), ("recipient", "D999")])
            #expect(unknown.status == .unprocessableContent)

            try other.editDemand(county.number, fields: ["title": "厂区道路积水（西门）"])
            let back = folder.appendingPathComponent("back.bundle").path
            _ = try other.writeBundle(scopes: nil, to: back)
            let uploaded = try await browser.upload(
                "/sync/import",
                fields: [("csrf", csrf)],
                file: (
                    name: "bundle", filename: "备用笔记本.bundle",
                    bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: back)))
                )
            )
            #expect(uploaded.status == .ok && uploaded.text.contains("已导入“备用笔记本.bundle”"), "\(uploaded.text)")
            #expect(uploaded.text.contains("新应用 1 条"))
            let junk = try await browser.upload(
                "/sync/import",
                fields: [("csrf", csrf)],
                file: (name: "bundle", filename: "照片.jpg", bytes: Array("not a bundle".utf8))
            )
            #expect(junk.status == .unprocessableContent && junk.text.contains("不是 fieldlog 的 U 盘包"))
            let noToken = try await browser.upload(
                "/sync/import",
                fields: [],
                file: (
                    name: "bundle", filename: "b.bundle",
                    bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: back)))
                )
            )
            #expect(noToken.status == .forbidden)
            // A multipart body cut short: refused before any handler, nothing taken.
            let cut = try await browser.client.execute(
                TestClient.Request(
                    "/sync/import",
                    method: .post,
                    authority: browser.host,
                    headers: browser.headers([
                        .contentType: "multipart/form-data; boundary=XYZ", .origin: browser.origin,
                    ]),
                    body: ByteBuffer(string: "--XYZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n\(csrf)")
                )
            )
            #expect(cut.status == .badRequest && cut.text.contains("上传的表单不完整"))
        }
        #expect(try county.laptop.demandDetail(county.number).title == "厂区道路积水（西门）")
    }
}

extension WebBrowser {
    /// Posts a `multipart/form-data` form with one file, from a page of this app.
    func upload(
        _ path: String,
        fields: [(String, String)],
        file: (name: String, filename: String, bytes: [UInt8])
    ) async throws -> TestClient.Response {
        try await upload(path, fields: fields, files: [file])
    }

    /// Posts a `multipart/form-data` form with files, from a page of this app.
    func upload(
        _ path: String,
        fields: [(String, String)],
        files: [(name: String, filename: String, bytes: [UInt8])]
    ) async throws -> TestClient.Response {
        let boundary = "----fieldlog\(UUID().uuidString)"
        var body: [UInt8] = []
        for (name, value) in fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        for file in files {
            body += Array(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.name)\"; filename=\"\(file.filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    .utf8
            )
            body += file.bytes + Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        return try await client.execute(
            TestClient.Request(
                path,
                method: .post,
                authority: host,
                headers: headers([.contentType: "multipart/form-data; boundary=\(boundary)", .origin: origin]),
                body: ByteBuffer(bytes: body)
            )
        )
    }
}
