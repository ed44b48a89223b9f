import AsyncHTTPClient
import FieldCrypto
import FieldExport
import FieldHub
import FieldStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import FieldFederation
@testable import FieldLedger
@testable import FieldSync

/// A county as its hub holds it: two departments, a cadre, three enterprises, and demands
/// registered by the cadre, `assigned` of them assigned by the coordinator (never signed, so long
/// overdue some months on).
struct FederatedTestCounty {
    let name: String
    let root = SigningKey.generate()
    let hub: Ledger
    let cadre: Ledger
    let coordinator: Ledger

    init(name: String, demands: Int, assigned: Int) throws {
        self.name = name
        hub = try Ledger.open(path: nil, root: root.publicKey, key: root)
        try hub.setCountyName(name)
        try hub.addDepartments([DepartmentInput(name: "县工业和信息化局"), DepartmentInput(name: "县人力资源社会保障局")])
        try hub.addCadres([CadreInput(name: "王强", department: "县工业和信息化局")])
        try hub.addEnterprises([
            EnterpriseInput(name: "甲企业", uscc: "91371082775260043P"),
            EnterpriseInput(name: "乙企业", uscc: "91110108551385082Q"),
        ])
        try hub.link([.init(cadre: "王强", enterprise: "甲企业", role: .lead)])
        let cadreKey = SigningKey.generate()
        let coordinatorKey = SigningKey.generate()
        _ = try hub.enroll(publicKey: cadreKey.publicKey, role: .cadre, cadre: "王强", label: "笔记本")
        _ = try hub.enroll(publicKey: coordinatorKey.publicKey, role: .coordinator, label: "转办")
        cadre = Ledger(replica: hub.replica, publicKey: cadreKey.publicKey, signer: cadreKey)
        coordinator = Ledger(replica: hub.replica, publicKey: coordinatorKey.publicKey, signer: coordinatorKey)
        for index in 0..<demands {
            try addDemand("\(name)诉求\(index + 1)", assign: index < assigned)
        }
    }

    func addDemand(_ title: String, assign: Bool) throws {
        let number = try cadre.addDemand(
            DemandInput(enterprise: "甲企业", title: title, content: title + "，请协调。", category: "用工")
        ).number
        guard assign else { return }
        _ = try cadre.act(.submit, on: number, ActionInput())
        var input = ActionInput()
        input.lead = "县人力资源社会保障局"
        _ = try coordinator.act(.assign, on: number, input)
    }

    /// A one-time code for a city hub (or for another role, to see it refused).
    func code(role: Role = .federation) throws -> String {
        try EnrollmentCodes(ledger: hub).create(role: role, label: "聊城市枢纽", now: Int64(Date().timeIntervalSince1970))
    }

    /// Joins this county to the federation in `folder` as `key`, with a fresh code unless one is given.
    func join(
        _ folder: String,
        as key: SigningKey,
        at url: String,
        client: HTTPClient,
        code: String? = nil
    ) async throws -> FederatedCounty {
        try await Federation.join(
            folder: folder,
            key: key,
            hub: url,
            code: try code ?? self.code(),
            rootFingerprint: root.publicKey.fingerprint,
            name: name,
            client: client
        )
    }

    func configuration() -> HubConfiguration {
        var configuration = HubConfiguration(ledger: hub, hubKey: root)
        configuration.port = 0
        return configuration
    }

    /// Every scope's state digest, as the county hub holds it.
    func digests() throws -> [String: String] {
        try Dictionary(uniqueKeysWithValues: hub.replica.scopes().map { ($0, try hub.replica.digest(scope: $0)) })
    }
}

/// Runs `body` with each county's hub listening on an ephemeral loopback port.
func withHubs(
    _ counties: [FederatedTestCounty],
    _ body: @Sendable ([String]) async throws -> Void
) async throws {
    @Sendable func start(_ index: Int, _ urls: [String]) async throws {
        guard index < counties.count else { return try await body(urls) }
        try await buildHub(counties[index].configuration()).test(.live) { client in
            try await start(index + 1, urls + ["http://127.0.0.1:\(client.port!)"])
        }
    }
    try await start(0, [])
}

/// A federation folder of its own, removed after the test.
func withFolder(_ body: (String) async throws -> Void) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fieldlog-federation-\(UUID())").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try await body(folder)
}

func withClient(_ body: (HTTPClient) async throws -> Void) async throws {
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    let result: Result<Void, any Error>
    do { result = .success(try await body(client)) } catch { result = .failure(error) }
    try await client.shutdown()
    try result.get()
}

@Suite struct FederationTests {
    /// A city joins two counties with their operators' codes, pulls them, holds exactly what each
    /// county hub holds, follows a new demand, and exports the ledger, the 久拖不决 list and the
    /// rates across both with a county column.
    @Test func aCityFollowsTwoCountiesAndExportsAcrossThem() async throws {
        let gaotang = try FederatedTestCounty(name: "高唐县", demands: 3, assigned: 2)
        let chiping = try FederatedTestCounty(name: "茌平区", demands: 2, assigned: 1)
        let city = SigningKey.generate()
        try await withFolder { folder in
            try await withHubs([gaotang, chiping]) { urls in
                try await withClient { client in
                    for (county, url) in zip([gaotang, chiping], urls) {
                        let joined = try await county.join(folder, as: city, at: url, client: client)
                        let summary = try await Federation.pull(joined, key: city, client: client)
                        #expect(summary.received > 0 && summary.refusedHere.isEmpty, "\(county.name)")
                        #expect(try county.hub.standing(of: city.publicKey) == .enrolled(.federation))
                    }
                    var federation = try Federation(folder: folder, publicKey: city.publicKey)
                    #expect(federation.counties.map(\.name) == ["茌平区", "高唐县"])
                    for county in [gaotang, chiping] {
                        let held = try federation.county(named: county.root.publicKey.fingerprint)
                        let digests = try Dictionary(
                            uniqueKeysWithValues: held.ledger.replica.scopes().map {
                                ($0, try held.ledger.replica.digest(scope: $0))
                            }
                        )
                        #expect(digests == (try county.digests()), "the city holds what \(county.name) holds")
                    }

                    // A demand registered at 高唐县 reaches the city at its next pull.
                    try gaotang.addDemand("新诉求", assign: false)
                    let again = try await Federation.pull(
                        try federation.county(named: "高唐县"),
                        key: city,
                        client: client
                    )
                    #expect(again.received == 1)
                    federation = try Federation(folder: folder, publicKey: city.publicKey)

                    let today = federation.today()
                    let ledger = try federation.workLedger(today: today)
                    #expect(ledger.headers.prefix(3) == ["序号", Federation.countyHeader, "诉求编号"])
                    #expect(ledger.rows.count == 6)
                    #expect(ledger.rows.map { $0[0].text } == (1...6).map(String.init))
                    #expect(ledger.rows.filter { $0[1].text == "高唐县" }.count == 4)
                    #expect(ledger.rows.filter { $0[1].text == "茌平区" }.count == 2)
                    let contacts = ledger.headers.firstIndex(of: "联系电话")!
                    #expect(
                        ledger.rows.allSatisfy { $0[contacts].text.isEmpty },
                        "no personal data leaves the counties"
                    )

                    // Four months on, the assigned demands, never signed, drag on in both counties.
                    let later = today.adding(days: 120)
                    let dragging = try federation.supervisionList(.dragOn, today: later)
                    #expect(dragging.rows.map { $0[1].text }.sorted() == ["茌平区", "高唐县", "高唐县"])
                    #expect(dragging.headers.last == "原因")

                    let month = try #require(Period(month: String(later.description.prefix(7))))
                    let rates = try federation.ratesByCounty(Period(from: today, to: month.to), today: later)
                    #expect(rates.rows.map { $0[0].text } == ["茌平区", "高唐县", "合计"])
                    #expect(rates.rows.map { $0.last?.text } == ["1", "2", "3"], "久拖不决 per county, and in all")
                    var pooled = Rates()
                    for county in [gaotang, chiping] {
                        pooled.absorb(try county.hub.rates(for: Period(from: today, to: month.to), today: later))
                    }
                    #expect(rates.rows[2][3] == .percent(pooled.onTime.value), "pooled, not averaged")
                    #expect(pooled.onTime.denominator == 3)

                    // The spreadsheet a supervisor opens carries the county column.
                    let workbook = try ExportFile.bytes([ledger], format: .xlsx, title: "各县工作台账")
                    let sheet = try XLSXReader.rows(workbook)
                    #expect(sheet.contains { $0.prefix(2) == ["序号", "县（市、区）"] })
                    #expect(sheet.filter { ["高唐县", "茌平区"].contains($0.dropFirst().first ?? "") }.count == 6)
                }
            }
        }
    }

    /// The pinned fingerprint is checked before anything is kept, and a code for another role
    /// leaves nothing behind either, with a sentence saying what the county's operator must do.
    @Test func joiningRefusesAnotherRootAndAnotherRole() async throws {
        let county = try FederatedTestCounty(name: "高唐县", demands: 1, assigned: 0)
        let city = SigningKey.generate()
        try await withFolder { folder in
            try await withHubs([county]) { urls in
                try await withClient { client in
                    // The hub answers for a root other than the one pinned (here: the pin is wrong):
                    // refused before the code is spent.
                    let otherRoot = SigningKey.generate().publicKey.fingerprint
                    let firstCode = try county.code()
                    let wrongRoot = await #expect(throws: FederationError.self) {
                        _ = try await Federation.join(
                            folder: folder,
                            key: city,
                            hub: urls[0],
                            code: firstCode,
                            rootFingerprint: otherRoot,
                            name: "高唐县",
                            client: client
                        )
                    }
                    #expect(wrongRoot?.message.contains("the code is unspent") == true)
                    #expect(try Federation(folder: folder, publicKey: city.publicKey).counties.isEmpty)
                    #expect(try county.hub.standing(of: city.publicKey) == .unknown)

                    let other = SigningKey.generate()
                    let wrongRole = await #expect(throws: FederationError.self) {
                        _ = try await Federation.join(
                            folder: folder,
                            key: other,
                            hub: urls[0],
                            code: try county.code(role: .supervisor),
                            rootFingerprint: county.root.publicKey.fingerprint,
                            name: "高唐县",
                            client: client
                        )
                    }
                    #expect(wrongRole?.message.contains("--role federation") == true)
                    #expect(try Federation(folder: folder, publicKey: other.publicKey).counties.isEmpty)
                    let left =
                        (try? FileManager.default.contentsOfDirectory(atPath: Federation.countiesFolder(folder))) ?? []
                    #expect(left.isEmpty, "no staging folder is left: \(left)")

                    // A malformed fingerprint is refused before anything is sent; the first code,
                    // unspent, still joins.
                    let code = firstCode
                    await #expect(throws: FederationError.self) {
                        _ = try await Federation.join(
                            folder: folder,
                            key: city,
                            hub: urls[0],
                            code: code,
                            rootFingerprint: "not-a-fingerprint",
                            name: "高唐县",
                            client: client
                        )
                    }
                    _ = try await Federation.join(
                        folder: folder,
                        key: city,
                        hub: urls[0],
                        code: code,
                        rootFingerprint: county.root.publicKey.fingerprint,
                        name: "高唐县",
                        client: client
                    )
                    let twice = await #expect(throws: FederationError.self) {
                        _ = try await Federation.join(
                            folder: folder,
                            key: city,
                            hub: urls[0],
                            code: try county.code(),
                            rootFingerprint: county.root.publicKey.fingerprint,
                            name: "高唐县",
                            client: client
                        )
                    }
                    #expect(twice?.message.contains("already joined") == true)
                }
            }
        }
    }

    /// The county's operator may enroll the city's key directly instead of making a code: the
    /// join then takes the registry with a pull, and checks the role just the same.
    @Test func aKeyEnrolledByTheOperatorJoinsWithoutACode() async throws {
        let county = try FederatedTestCounty(name: "高唐县", demands: 2, assigned: 1)
        let (city, supervisor) = (SigningKey.generate(), SigningKey.generate())
        _ = try county.hub.enroll(publicKey: city.publicKey, role: .federation, label: "聊城市枢纽")
        _ = try county.hub.enroll(publicKey: supervisor.publicKey, role: .supervisor, label: "督查")
        // The role writes nothing: a visit or a demand event signed by its key is refused.
        let asCity = Ledger(replica: county.hub.replica, publicKey: city.publicKey, signer: city)
        #expect(throws: (any Error).self) { try asCity.addVisit(VisitInput(enterprise: "甲企业", topics: "暗访")) }
        #expect(try county.hub.visits().isEmpty)
        try await withFolder { folder in
            try await withHubs([county]) { urls in
                try await withClient { client in
                    let refused = await #expect(throws: FederationError.self) {
                        _ = try await Federation.join(
                            folder: folder,
                            key: supervisor,
                            hub: urls[0],
                            code: nil,
                            rootFingerprint: county.root.publicKey.fingerprint,
                            name: "高唐县",
                            client: client
                        )
                    }
                    #expect(refused?.message.contains("督查") == true)
                    let joined = try await Federation.join(
                        folder: folder,
                        key: city,
                        hub: urls[0],
                        code: nil,
                        rootFingerprint: county.root.publicKey.fingerprint,
                        name: "高唐县",
                        client: client
                    )
                    _ = try await Federation.pull(joined, key: city, client: client)
                    #expect(try joined.ledger.demands().count == 2)
                }
            }
        }
    }

    /// A join run again after the first stopped once its code was spent (the key is enrolled,
    /// the county not yet in the folder): the hub's `already_enrolled`, recognised by its code,
    /// sends it on with a pull.
    @Test func aJoinRunAgainAfterItsCodeWasSpentCompletes() async throws {
        let county = try FederatedTestCounty(name: "高唐县", demands: 2, assigned: 1)
        let city = SigningKey.generate()
        try await withFolder { folder in
            try await withHubs([county]) { urls in
                try await withClient { client in
                    let code = try county.code()
                    // The first run got as far as spending the code.
                    _ = try await Enrollment.enroll(hub: urls[0], code: code, label: nil, key: city, client: client)
                    let joined = try await Federation.join(
                        folder: folder,
                        key: city,
                        hub: urls[0],
                        code: code,
                        rootFingerprint: county.root.publicKey.fingerprint,
                        name: "高唐县",
                        client: client
                    )
                    _ = try await Federation.pull(joined, key: city, client: client)
                    #expect(try joined.ledger.demands().count == 2)
                }
            }
        }
    }

    /// A replica moved under another county's folder is refused when the federation opens: the
    /// folder name is the pin.
    @Test func aReplicaUnderAnotherCountysFolderIsRefused() async throws {
        let county = try FederatedTestCounty(name: "高唐县", demands: 1, assigned: 0)
        let city = SigningKey.generate()
        try await withFolder { folder in
            try await withHubs([county]) { urls in
                try await withClient { client in
                    let joined = try await Federation.join(
                        folder: folder,
                        key: city,
                        hub: urls[0],
                        code: try county.code(),
                        rootFingerprint: county.root.publicKey.fingerprint,
                        name: "高唐县",
                        client: client
                    )
                    let base = Federation.countiesFolder(folder)
                    let forged = String(repeating: "ab", count: 10)
                    try FileManager.default.moveItem(
                        atPath: "\(base)/\(joined.folderName)",
                        toPath: "\(base)/\(forged)"
                    )
                    let refused = #expect(throws: FederationError.self) {
                        _ = try Federation(folder: folder, publicKey: city.publicKey)
                    }
                    #expect(refused?.message.contains("not the one its folder pins") == true)
                }
            }
        }
    }
}
