import AsyncHTTPClient
import FieldCrypto
import FieldStore
import FieldSync
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import FieldDashboard
@testable import FieldHub
@testable import FieldLedger

/// 设备与同步, revocation and enrollment codes: what the hub saw of each device, and the
/// operators' actions on devices, which a supervisor cannot take.
@Suite struct DashboardDeviceTests {
    /// A laptop of 王强 with a replica of its own, enrolled in the county.
    static func laptop(_ county: ConsoleCounty) throws -> (key: SigningKey, ledger: Ledger) {
        let key = SigningKey.generate()
        _ = try county.hub.enroll(publicKey: key.publicKey, role: .cadre, cadre: "王强", label: "王强的笔记本")
        let ledger = try Ledger.open(path: nil, root: county.root.publicKey, key: key)
        var records: [[UInt8]] = []
        try county.hub.replica.exportRecords(scopes: [Commit.registryScope]) { records.append($0) }
        _ = try ledger.replica.importRecords(records)
        return (key, ledger)
    }

    @Test func theDevicePageShowsWhatTheHubSaw() async throws {
        let county = try ConsoleCounty()
        // The console judges "silent" by the accounts' clock; here it is the hub's.
        county.seconds.value.withLock { $0 = Int64(Date().timeIntervalSince1970) }
        let (key, laptop) = try Self.laptop(county)
        _ = try laptop.addVisit(VisitInput(enterprise: "山东高唐纺织有限公司", topics: "用工"))
        let offset = Mutex<Int64>(0)
        var configuration = HubConfiguration(ledger: county.hub, hubKey: county.root)
        configuration.port = 0
        configuration.clock = { Int64(Date().timeIntervalSince1970) + offset.withLock { $0 } }
        let activity = configuration.activity
        try await buildHub(configuration).test(.live) { live in
            let url = "http://127.0.0.1:\(try #require(live.port))"
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let transport = HTTPTransport(baseURL: url, key: key, hubKey: county.root.publicKey, client: http)
            let client = SyncClient(replica: laptop.replica, peer: url)
            var sent = -1
            var refused = false
            do {
                sent = try await client.sync(over: transport).sent
                // The hub's clock runs 1,000 s ahead: the laptop's next request is refused, and put
                // down to it.
                offset.withLock { $0 = 1000 }
                do { _ = try await client.sync(over: transport) } catch { refused = true }
            } catch {
                try await http.shutdown()
                throw error
            }
            try await http.shutdown()
            #expect(sent == 1 && refused)
        }
        try activity.flush(to: county.hub)
        try await county.withConsole { browser in
            try await browser.loginSupervisor()
            let page = try await browser.get("/devices")
            #expect(page.status == .ok)
            let row = try #require(
                page.text.components(separatedBy: "<tr>").first { $0.contains(key.publicKey.fingerprint) }
            )
            #expect(!row.contains("从未") && row.contains("<td>1</td>"), "one commit pushed: \(row)")
            // The skew is whole seconds between the laptop signing and the hub checking: a second
            // boundary between the two (a loaded machine) makes it -1001.
            #expect(
                row.contains("签名时间与县枢纽时钟相差过大 1 次") && (row.contains("-1000 秒") || row.contains("-1001 秒")),
                "\(row)"
            )
            #expect(!row.contains("超过 7 天未同步"))
            // The devices that never synced are silent, the laptop that did is not.
            let silent = try await browser.get("/devices?status=silent")
            #expect(!silent.text.contains(key.publicKey.fingerprint) && silent.text.contains("从未"))
            #expect(!page.text.contains("/devices/revoke?key="), "a supervisor is offered no revocation")
            #expect(try await browser.get("/devices?status=nope").status == .badRequest)
        }
    }

    /// 王强's key on two computers, each writing the first commit of the enterprise's feed, both
    /// taken by the hub: the feed forks at 1.
    static func fork(_ county: ConsoleCounty) throws -> (key: SigningKey, first: Ledger, second: Ledger) {
        let (key, first) = try Self.laptop(county)
        let second = try Ledger.open(path: nil, root: county.root.publicKey, key: key)
        var registry: [[UInt8]] = []
        try county.hub.replica.exportRecords(scopes: [Commit.registryScope]) { registry.append($0) }
        _ = try second.replica.importRecords(registry)
        _ = try first.addVisit(VisitInput(enterprise: "山东高唐纺织有限公司", topics: "用工"))
        _ = try second.addVisit(VisitInput(enterprise: "山东高唐纺织有限公司", topics: "融资"))
        for laptop in [first, second] {
            var records: [[UInt8]] = []
            try laptop.replica.exportRecords { records.append($0) }
            _ = try county.hub.replica.importRecords(records)
        }
        return (key, first, second)
    }

    @Test func anOperatorReadmitsABranchOfAForkWithTheCodeTyped() async throws {
        let county = try ConsoleCounty()
        let (key, _, second) = try Self.fork(county)
        let code = try #require(
            try county.hub.registryListing("devices").first { $0["public_key"] == key.publicKey.hex }?["code"]
        )
        let scope = try #require(try county.hub.forks().first?.scope)
        let branch = try #require(
            try second.replica.feeds().first { $0.scope == scope }.flatMap { _ in
                var id: String?
                try second.replica.exportRecords { record in
                    let signed = try WireRecord.decode(record)
                    if signed.commit.author == key.publicKey && signed.commit.scope == scope { id = signed.id.hex }
                }
                return id
            }
        )
        let registryHead: @Sendable () throws -> UInt64 = { try county.hub.replica.readRegistry { $0.sequence } }
        let before = try registryHead()
        let form = [("key", key.publicKey.hex), ("scope", scope), ("branch", branch), ("confirm", code)]
        try await county.withConsole { browser in
            try await browser.loginSupervisor()
            let page = try await browser.get("/devices")
            #expect(!page.text.contains("决定恢复哪一分支"), "no form offered to a supervisor")
            let denied = try await browser.get("/devices/readmit?key=\(key.publicKey.hex)&scope=\(scope)")
            #expect(denied.status == .forbidden && denied.text.contains("此操作仅限运维人员"))
            let csrf = try #require(ConsoleBrowser.csrf(in: page.text))
            let post = try await browser.post("/devices/readmit", [("csrf", csrf)] + form)
            #expect(post.status == .forbidden)
            #expect(try registryHead() == before, "nothing stored for a supervisor")
        }
        try await county.withConsole { browser in
            _ = try await browser.login(
                ConsoleCounty.operator.name,
                ConsoleCounty.operator.password,
                code: try county.code()
            )
            let devices = try await browser.get("/devices")
            #expect(devices.text.contains("决定恢复哪一分支") && devices.text.contains("尚未决定"))
            let page = try await browser.get("/devices/readmit?key=\(key.publicKey.hex)&scope=\(scope)")
            #expect(page.status == .ok && page.text.contains("第 1 条处要恢复的分支"))
            #expect(page.text.contains(String(branch.prefix(12))) && page.text.contains("不恢复任何分支"))
            let csrf = try #require(ConsoleBrowser.csrf(in: page.text))
            let wrongCode = try await browser.post(
                "/devices/readmit",
                [("csrf", csrf), ("key", key.publicKey.hex), ("scope", scope), ("branch", branch), ("confirm", "D999")]
            )
            #expect(wrongCode.status == .unprocessableContent && wrongCode.text.contains("输入的设备编号与该数据流的设备不符"))
            let noBranch = try await browser.post(
                "/devices/readmit",
                [("csrf", csrf), ("key", key.publicKey.hex), ("scope", scope), ("branch", "abc"), ("confirm", code)]
            )
            #expect(noBranch.status == .unprocessableContent && noBranch.text.contains("请选择要恢复的分支"))
            let unknown = try await browser.get("/devices/readmit?key=\(key.publicKey.hex)&scope=ent:nowhere")
            #expect(unknown.status == .notFound && unknown.text.contains("没有分叉"))
            #expect(try registryHead() == before, "nothing stored for a refused form")

            let done = try await browser.post(
                "/devices/readmit",
                [("csrf", csrf), ("note", "核实后保留第二台")] + form
            )
            #expect(done.status == .seeOther)
            let shown = try await browser.get(try #require(done.headers[.location]))
            #expect(shown.text.contains("已决定：第 1 条处恢复 \(branch.prefix(12))"), "\(shown.text)")
            #expect(shown.text.contains("已恢复：有效至第 1 条"))
            #expect(try registryHead() == before + 1)
            let topics = try county.hub.visits(enterprise: "山东高唐纺织有限公司").compactMap(\.topics)
            #expect(topics == ["融资"])
            let again = try await browser.post("/devices/readmit", [("csrf", csrf)] + form)
            #expect(again.status == .unprocessableContent && again.text.contains("这已经是该处的决定"))
            let none = try await browser.post(
                "/devices/readmit",
                [("csrf", csrf), ("key", key.publicKey.hex), ("scope", scope), ("branch", "none"), ("confirm", code)]
            )
            #expect(none.status == .seeOther)
            #expect(try county.hub.visits(enterprise: "山东高唐纺织有限公司").isEmpty)
        }
        let trail = try county.accounts.auditTrail(action: "readmit", limit: 5, offset: 0).entries
        #expect(trail.count == 2 && trail.allSatisfy { $0.user == ConsoleCounty.operator.name })
    }

    @Test func aForkedDeviceIsShownWithItsEvidence() async throws {
        let county = try ConsoleCounty()
        // The same key on a second computer: both write the first commit of the enterprise's feed.
        let (key, _, _) = try Self.fork(county)
        #expect(try county.hub.quarantinedFeeds().count == 1)
        try await county.withConsole { browser in
            try await browser.loginSupervisor()
            let page = try await browser.get("/devices?status=forked")
            #expect(page.text.contains(key.publicKey.fingerprint) && page.text.contains("已隔离（分叉）"))
            let evidence = try #require(page.text.components(separatedBy: "分叉（已隔离）的设备").last)
            #expect(evidence.contains("企业 山东高唐纺织有限公司") && evidence.contains("<td>1</td>"))
            #expect(evidence.components(separatedBy: "<li>").count - 1 == 2, "both commits at sequence 1")
        }
    }

    @Test func anOperatorRevokesADeviceOnlyWithItsCodeTyped() async throws {
        let county = try ConsoleCounty()
        let (key, _) = try Self.laptop(county)
        let code = try #require(
            try county.hub.registryListing("devices").first { $0["public_key"] == key.publicKey.hex }?["code"]
        )
        try await county.withConsole { browser in
            try await browser.loginSupervisor()
            let denied = try await browser.get("/devices/revoke?key=\(key.publicKey.hex)")
            #expect(denied.status == .forbidden && denied.text.contains("此操作仅限运维人员"))
            let csrf = try #require(ConsoleBrowser.csrf(in: try await browser.get("/devices").text))
            let post = try await browser.post(
                "/devices/revoke",
                [("csrf", csrf), ("key", key.publicKey.hex), ("confirm", code)]
            )
            #expect(post.status == .forbidden)
            #expect(try county.hub.standing(of: key.publicKey) == .enrolled(.cadre), "nothing stored for a supervisor")
        }
        try await county.withConsole { browser in
            let login = try await browser.login(
                ConsoleCounty.operator.name,
                ConsoleCounty.operator.password,
                code: try county.code()
            )
            #expect(login.status == .seeOther)
            let form = try await browser.get("/devices/revoke?key=\(key.publicKey.hex)")
            #expect(form.status == .ok && form.text.contains("确定吊销该设备吗？此操作不可撤销"))
            let csrf = try #require(ConsoleBrowser.csrf(in: form.text))
            let wrong = try await browser.post(
                "/devices/revoke",
                [("csrf", csrf), ("key", key.publicKey.hex), ("confirm", "D999")]
            )
            #expect(wrong.status == .unprocessableContent && wrong.text.contains("输入的设备编号与要吊销的设备不符，未吊销"))
            #expect(try county.hub.standing(of: key.publicKey) == .enrolled(.cadre))
            let done = try await browser.post(
                "/devices/revoke",
                [("csrf", csrf), ("key", key.publicKey.hex), ("confirm", code)]
            )
            #expect(done.status == .seeOther)
            let page = try await browser.get(try #require(done.headers[.location]))
            #expect(page.text.contains("已吊销设备 \(code)") && page.text.contains("县根密钥签名"))
            #expect(try county.hub.standing(of: key.publicKey) == .revoked)
            let again = try await browser.post(
                "/devices/revoke",
                [("csrf", csrf), ("key", key.publicKey.hex), ("confirm", code)]
            )
            #expect(again.status == .conflict)
        }
        let revocations = try county.accounts.auditTrail(action: "revoke", limit: 5, offset: 0).entries
        #expect(revocations.count == 1 && revocations[0].user == ConsoleCounty.operator.name)
    }

    static func codeCount(_ county: ConsoleCounty) throws -> Int {
        try county.hub.replica.database.read { db in
            try db.tableExists("_hub_enrollment_codes")
                ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM _hub_enrollment_codes") ?? 0 : 0
        }
    }

    @Test func anOperatorMakesAnEnrollmentCodeShownWithItsQRCode() async throws {
        let county = try ConsoleCounty()
        var configuration = county.configuration()
        configuration.hubURL = { "http://hub.gaotang.example:8080" }
        try await county.withConsole(configuration) { browser in
            try await browser.loginSupervisor()
            let csrf = try #require(ConsoleBrowser.csrf(in: try await browser.get("/").text))
            let denied = try await browser.post(
                "/devices/enroll",
                [("csrf", csrf), ("role", "supervisor"), ("hours", "24")]
            )
            #expect(denied.status == .forbidden && denied.text.contains("此操作仅限运维人员"))
            #expect(try Self.codeCount(county) == 0, "nothing stored for a supervisor")
        }
        try await county.withConsole(configuration) { browser in
            _ = try await browser.login(
                ConsoleCounty.operator.name,
                ConsoleCounty.operator.password,
                code: try county.code()
            )
            let form = try await browser.get("/devices/enroll")
            #expect(form.status == .ok && form.text.contains("生成登记码"))
            let csrf = try #require(ConsoleBrowser.csrf(in: form.text))
            let missing = try await browser.post(
                "/devices/enroll",
                [("csrf", csrf), ("role", "cadre"), ("hours", "24")]
            )
            #expect(missing.status == .unprocessableContent && missing.text.contains("包联干部的登记码须选择干部"))
            let hours = try await browser.post("/devices/enroll", [("csrf", csrf), ("role", "cadre"), ("hours", "0")])
            #expect(hours.status == .unprocessableContent && hours.text.contains("1 到 720 小时"))
            #expect(try Self.codeCount(county) == 0)
            let made = try await browser.post(
                "/devices/enroll",
                [("csrf", csrf), ("role", "cadre"), ("cadre", "王强"), ("label", "王强的新笔记本"), ("hours", "24")]
            )
            #expect(made.status == .ok && made.text.contains("登记码（只显示这一次）"))
            let code = try #require(
                made.text.components(separatedBy: "<p class=\"big\"><strong>").last?.prefix { $0 != "<" }
            )
            try EnrollmentCodes(ledger: county.hub).check(String(code), now: county.seconds.now)
            let command =
                "fieldlog init && fieldlog enroll --hub http://hub.gaotang.example:8080 --code \(code) --root-fingerprint \(county.root.publicKey.fingerprint)"
            #expect(made.text.contains(command.replacingOccurrences(of: "&", with: "&amp;")))
            // The QR code, read by an independent decoder, holds the command.
            let svg = try #require(made.text.range(of: "<svg xmlns")).lowerBound
            let end = try #require(made.text.range(of: "</svg>", range: svg..<made.text.endIndex)).upperBound
            #expect(try Self.decodeQR(String(made.text[svg..<end])) == command)
        }
        #expect(try Self.codeCount(county) == 1)
        let audit = try county.accounts.auditTrail(action: "enroll_code", limit: 5, offset: 0).entries
        #expect(audit.count == 1 && audit[0].detail.contains("王强的新笔记本"))
    }

    /// The text of a QR code SVG, read by tools/qr/read_qr.py (zxing-cpp).
    static func decodeQR(_ svg: String) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("qr-\(UUID().uuidString).svg")
        defer { try? FileManager.default.removeItem(at: file) }
        try svg.write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tools/qr/read_qr.py").path
        process.arguments = ["python3", script, file.path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Codes of every length an enrollment command can have decode to themselves (versions 1 to 10).
    @Test(arguments: [1, 17, 40, 80, 120, 152, 153, 200, 213])
    func theQRCodeHoldsItsText(length: Int) throws {
        var generator = SystemRandomNumberGenerator()
        let seed = UInt64.random(in: 0...UInt64.max, using: &generator)
        var random = SeededGenerator(seed: seed)
        let alphabet = Array("ABCDEFGHJKMNPQRSTVWXYZ23456789-:/. abcdefgh&")
        let text = String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] })
        #expect(try Self.decodeQR(try QRCode.svg(for: text)) == text, "seed \(seed)")
        #expect(throws: QRCode.Failure.self) { try QRCode.svg(for: String(repeating: "x", count: 214)) }
    }
}

/// A deterministic generator from a printed seed (SplitMix64).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
