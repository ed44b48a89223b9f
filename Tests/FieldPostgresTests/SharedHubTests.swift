import AsyncHTTPClient
import FieldCrypto
import FieldHub
import FieldLedger
import FieldStore
import FieldSync
import Foundation
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import PostgresNIO
import Synchronization
import Testing

@testable import FieldPostgres

/// Several hub processes on one shared PostgreSQL log, served live on loopback: each rule of
/// docs/scale-out.md with its test.
@Suite(.enabled(if: TestPostgres.available)) struct SharedHubTests {
    /// The name every process answers to, as behind a reverse proxy.
    static let publicURL = "http://hub.county.test"

    /// A county whose hub runs as several processes, each with its own replica, on one database.
    struct County: Sendable {
        let root = SigningKey.generate()
        let cadres = ["王强", "李明", "张伟"]
        let enterprises = ["甲企业", "乙企业", "丙企业"]
        let cadreKeys = [SigningKey.generate(), SigningKey.generate(), SigningKey.generate()]
        let url: String
        let processes: [Process]

        struct Process: Sendable {
            let log: PostgresSharedLog
            let ledger: Ledger
        }

        /// The database at `url` set up, and `count` processes; the registry is written through
        /// the first (its writes go to the log through the gate).
        init(url: String, processes count: Int = 3) async throws {
            self.url = url
            let root = root
            processes = try (0..<count).map { _ in try Self.process(url: url, root: root) }
            try await processes[0].log.migrate()
            let (ledger, cadres, enterprises, keys) = (processes[0].ledger, cadres, enterprises, cadreKeys)
            try await TestPostgres.blocking {
                try ledger.setCountyName("高唐县")
                try ledger.addDepartments([DepartmentInput(name: "县工业和信息化局")])
                try ledger.addCadres(cadres.map { CadreInput(name: $0, department: "县工业和信息化局") })
                try ledger.addEnterprises(
                    zip(enterprises, ["91371082775260043P", "91110108551385082Q", "91371526MA3C4H8X2G"]).map {
                        EnterpriseInput(name: $0, uscc: $1)
                    }
                )
                try ledger.link(zip(cadres, enterprises).map { .init(cadre: $0, enterprise: $1, role: .lead) })
                for (cadre, key) in zip(cadres, keys) {
                    try ledger.enroll(publicKey: key.publicKey, role: .cadre, cadre: cadre)
                }
            }
        }

        /// A process's replica (empty, in memory) with its own connections to the store.
        static func process(url: String, root: SigningKey) throws -> Process {
            // A generous timeout: the whole test suite runs beside these tests on two cores.
            let log = try PostgresSharedLog(url: url, timeout: .seconds(120))
            var options = ReplicaOptions()
            options.localCommitGate = log.localCommitGate
            return Process(
                log: log,
                ledger: try Ledger.open(path: nil, root: root.publicKey, key: root, options: options)
            )
        }

        func configuration(_ index: Int) -> HubConfiguration {
            var configuration = HubConfiguration(ledger: processes[index].ledger, hubKey: root)
            configuration.port = 0
            configuration.publicURLs = [SharedHubTests.publicURL]
            configuration.sharedLog = processes[index].log
            configuration.logFollowInterval = .milliseconds(50)
            return configuration
        }

        func shutdown() { for process in processes { process.log.shutdown() } }

        /// A cadre's laptop: an empty replica of the county.
        func laptop(_ index: Int) throws -> Ledger {
            try Ledger.open(path: nil, root: root.publicKey, key: cadreKeys[index])
        }

        /// Every process's replica followed to the log's end, by a request presenting it.
        func catchUp(_ urls: [String], http: HTTPClient) async throws {
            let end = try await processes[0].log.end()
            for url in urls {
                let transport = HTTPTransport(baseURL: url, key: cadreKeys[0], hubKey: root.publicKey, client: http)
                transport.checkpoint.raise(to: end)
                _ = try await transport.exchange(.stateDigests([]))
            }
        }
    }

    /// Runs the processes' servers on ephemeral loopback ports for the time of `body`.
    static func withProcesses(
        _ configurations: [HubConfiguration],
        _ body: @escaping @Sendable ([String], HTTPClient) async throws -> Void
    ) async throws {
        @Sendable func run(_ index: Int, _ urls: [String]) async throws {
            guard index < configurations.count else {
                let http = HTTPClient(eventLoopGroupProvider: .singleton)
                do {
                    try await body(urls, http)
                } catch {
                    try await http.shutdown()
                    throw error
                }
                try await http.shutdown()
                return
            }
            try await buildHub(configurations[index]).test(.live) { client in
                try await run(index + 1, urls + ["http://127.0.0.1:\(client.port!)"])
            }
        }
        try await run(0, [])
    }

    static func withCounty(
        processes: Int = 3,
        configure: @escaping @Sendable (Int, inout HubConfiguration) -> Void = { _, _ in },
        _ body: @escaping @Sendable (County, [String], HTTPClient) async throws -> Void
    ) async throws {
        try await TestPostgres.withDatabase { url in
            let county = try await County(url: url, processes: processes)
            defer { county.shutdown() }
            let configurations = (0..<processes).map { index in
                var configuration = county.configuration(index)
                configure(index, &configuration)
                return configuration
            }
            try await withProcesses(configurations) { urls, http in try await body(county, urls, http) }
        }
    }

    /// Sends one signed request, as a device behind the county's proxy would (Host: the public
    /// name), and returns its status and body; the same headers may be sent again (a replay).
    static func signed(
        path: String,
        body: [UInt8],
        contentType: String,
        key: SigningKey
    ) throws -> [(name: String, value: String)] {
        try SyncSigning.signRequest(
            method: "POST",
            targetURI: publicURL + path,
            contentType: contentType,
            body: body,
            key: key,
            now: Int64(Date().timeIntervalSince1970)
        ) + [("Content-Type", contentType), ("Host", "hub.county.test")]
    }

    static func send(
        _ headers: [(name: String, value: String)],
        path: String,
        body: [UInt8],
        to url: String,
        http: HTTPClient
    ) async throws -> (status: Int, body: String, headers: [(String, String)]) {
        var request = HTTPClientRequest(url: url + path)
        request.method = .POST
        for header in headers { request.headers.replaceOrAdd(name: header.name, value: header.value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 24))
        return (Int(response.status.code), text, response.headers.map { ($0.name, $0.value) })
    }

    // MARK: - Nonces

    @Test func aRequestReplayedToAnotherProcessIsRefused() async throws {
        try await Self.withCounty { county, urls, http in
            for request in [SyncRequest.stateDigests([]), .push([])] {
                let encoded = try SyncWire.encode(request)
                let headers = try Self.signed(
                    path: encoded.path,
                    body: encoded.body,
                    contentType: encoded.contentType,
                    key: county.cadreKeys[0]
                )
                let first = try await Self.send(
                    headers,
                    path: encoded.path,
                    body: encoded.body,
                    to: urls[0],
                    http: http
                )
                #expect(first.status == 200, "\(encoded.path): \(first.body)")
                for url in urls {
                    let replay = try await Self.send(
                        headers,
                        path: encoded.path,
                        body: encoded.body,
                        to: url,
                        http: http
                    )
                    #expect(replay.status == 401, "\(encoded.path) replayed: \(replay.body)")
                    #expect(replay.body.contains("replayed_nonce"))
                }
            }
        }
    }

    // MARK: - Pushes

    @Test func theSameBatchAtTwoProcessesAtOnceIsStoredOnceWithOneAnswer() async throws {
        try await Self.withCounty { county, urls, http in
            let laptop = try county.laptop(0)
            let first = HTTPTransport(
                baseURL: urls[0],
                key: county.cadreKeys[0],
                hubKey: county.root.publicKey,
                client: http
            )
            _ = try await SyncClient(replica: laptop.replica, peer: "hub").sync(over: first)
            for topic in ["一", "二", "三"] { _ = try laptop.addVisit(VisitInput(enterprise: "甲企业", topics: topic)) }
            var records: [[UInt8]] = []
            let scope = RegistryIDs.scope(of: try laptop.enterprise(named: "甲企业"))
            try laptop.replica.exportRecords(scopes: [scope]) { records.append($0) }
            #expect(records.count == 3)
            let batch = records
            let before = try await county.processes[0].log.end()
            let answers = try await withThrowingTaskGroup(of: SyncResponse.self) { group in
                for url in urls.prefix(2) {
                    group.addTask {
                        let transport = HTTPTransport(
                            baseURL: url,
                            key: county.cadreKeys[0],
                            hubKey: county.root.publicKey,
                            client: http
                        )
                        return try await transport.exchange(.push(batch))
                    }
                }
                var answers: [PushResponse] = []
                for try await answer in group { if case .push(let result) = answer { answers.append(result) } }
                return answers.map(SyncResponse.push)
            }
            #expect(answers.count == 2)
            #expect(answers[0] == answers[1], "two processes answered the same push differently")
            guard case .push(let answer) = answers[0] else { return }
            #expect(answer.applied == 3 && answer.held == 0 && answer.refused.isEmpty && answer.skipped == 0)
            #expect(answer.checkpoint == before + 3)
            #expect(try await county.processes[0].log.end() == before + 3)
        }
    }

    @Test func twoCommitsAtOnePlaceAtTwoProcessesAreBothKeptAsForkEvidence() async throws {
        try await Self.withCounty { county, urls, http in
            // One key on two laptops (a copied folder): each writes its own first visit.
            let twins = try [county.laptop(1), county.laptop(1)]
            var records: [[[UInt8]]] = []
            for (twin, topic) in zip(twins, ["原机", "复制机"]) {
                let transport = HTTPTransport(
                    baseURL: urls[0],
                    key: county.cadreKeys[1],
                    hubKey: county.root.publicKey,
                    client: http
                )
                _ = try await SyncClient(replica: twin.replica, peer: "hub").sync(over: transport)
                _ = try twin.addVisit(VisitInput(enterprise: "乙企业", topics: topic))
                let scope = RegistryIDs.scope(of: try twin.enterprise(named: "乙企业"))
                var batch: [[UInt8]] = []
                try twin.replica.exportRecords(scopes: [scope]) { batch.append($0) }
                records.append(batch)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, batch) in records.enumerated() {
                    group.addTask {
                        let transport = HTTPTransport(
                            baseURL: urls[index],
                            key: county.cadreKeys[1],
                            hubKey: county.root.publicKey,
                            client: http
                        )
                        _ = try await transport.exchange(.push(batch))
                    }
                }
                try await group.waitForAll()
            }
            let forks = try await county.processes[0].log.forks()
            #expect(forks.count == 1 && forks.first?.count == 2, "both commits at the place are in the log")
            try await county.catchUp(urls, http: http)
            for process in county.processes {
                let evidence = try process.ledger.forks()
                #expect(evidence.count == 1, "every process finds the fork")
                #expect(try process.ledger.visits(enterprise: "乙企业").isEmpty, "neither branch is applied")
            }
        }
    }

    // MARK: - Enrollment

    @Test func anEnrollmentCodeUsedAtTwoProcessesAtOnceEnrollsOneDevice() async throws {
        try await Self.withCounty { county, urls, http in
            let codes = EnrollmentCodes(ledger: county.processes[0].ledger)
            let now = Int64(Date().timeIntervalSince1970)
            // A hub process's key is listed by the operator, never redeemed with a code.
            #expect(throws: LedgerError.self) { try codes.make(role: .hub, now: now) }
            let contested = try codes.make(role: .supervisor, label: "督查室", now: now)
            try await county.processes[0].log.addCode(contested.record)
            // Two more codes, redeemed at two processes at once: both registry commits are the
            // root's next one, and neither may fork the root's feed.
            let other = try [codes.make(role: .supervisor, now: now), codes.make(role: .supervisor, now: now)]
            for code in other { try await county.processes[0].log.addCode(code.record) }
            let keys = (0..<4).map { _ in SigningKey.generate() }
            let attempts = [(contested.code, 1), (contested.code, 2), (other[0].code, 1), (other[1].code, 2)]
            let statuses = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for (index, (code, process)) in attempts.enumerated() {
                    group.addTask {
                        let transport = HTTPTransport(
                            baseURL: urls[process],
                            key: keys[index],
                            hubKey: county.root.publicKey,
                            client: http
                        )
                        let body = Array(#"{"code": "\#(code)"}"#.utf8)
                        let answer = try await transport.send(
                            path: Enrollment.path,
                            contentType: "application/json",
                            body: body
                        )
                        return (index, answer.status)
                    }
                }
                var statuses: [Int: Int] = [:]
                for try await (index, status) in group { statuses[index] = status }
                return statuses
            }
            #expect([statuses[0], statuses[1]].compactMap { $0 }.sorted() == [200, 403], "\(statuses)")
            #expect(statuses[2] == 200 && statuses[3] == 200, "\(statuses)")
            #expect(try await county.processes[0].log.forks().isEmpty, "the root's feed never forks")
            try await county.catchUp(urls, http: http)
            for process in county.processes {
                let enrolled = try keys.map { try process.ledger.standing(of: $0.publicKey) }
                let count = enrolled.filter { if case .enrolled = $0 { true } else { false } }.count
                #expect(count == 3, "one of the contested code's devices and both others")
            }
        }
    }

    // MARK: - Read-your-writes

    @Test func aRequestPresentingACheckpointIsAnsweredOnlyByAProcessThatHoldsIt() async throws {
        // The second process follows only when asked, and waits for nothing inline.
        let lagging: @Sendable (Int, inout HubConfiguration) -> Void = { index, configuration in
            if index == 1 {
                configuration.logFollowInterval = .seconds(3600)
                configuration.maxInlineCatchUp = 0
            }
        }
        try await Self.withCounty(configure: lagging) { county, urls, http in
            let laptop = try county.laptop(0)
            let first = HTTPTransport(
                baseURL: urls[0],
                key: county.cadreKeys[0],
                hubKey: county.root.publicKey,
                client: http
            )
            _ = try await SyncClient(replica: laptop.replica, peer: "hub").sync(over: first)
            _ = try laptop.addVisit(VisitInput(enterprise: "甲企业", topics: "读己之写"))
            _ = try await SyncClient(replica: laptop.replica, peer: "hub").sync(over: first)
            let checkpoint = try #require(first.checkpoint.value)
            // The lagging process refuses a request presenting the checkpoint, never answering it
            // from a view without the push.
            let encoded = try SyncWire.encode(.stateDigests([]))
            let path = encoded.path + "?checkpoint=\(checkpoint)"
            let headers = try Self.signed(
                path: path,
                body: encoded.body,
                contentType: encoded.contentType,
                key: county.cadreKeys[0]
            )
            let refused = try await Self.send(headers, path: path, body: encoded.body, to: urls[1], http: http)
            #expect(refused.status == 503 && refused.body.contains("catching_up"), "\(refused.body)")
            #expect(refused.headers.contains { $0.0.lowercased() == "retry-after" && $0.1 == "1" })
            // A push to that process makes it follow the log past its own checkpoint: then it answers.
            let other = try county.laptop(2)
            let second = HTTPTransport(
                baseURL: urls[1],
                key: county.cadreKeys[2],
                hubKey: county.root.publicKey,
                client: http
            )
            _ = try await SyncClient(replica: other.replica, peer: "hub").sync(over: second)
            _ = try other.addVisit(VisitInput(enterprise: "丙企业", topics: "另一台电脑"))
            _ = try await SyncClient(replica: other.replica, peer: "hub").sync(over: second)
            #expect(try #require(second.checkpoint.value) > checkpoint)
            let retried = try Self.signed(
                path: path,
                body: encoded.body,
                contentType: encoded.contentType,
                key: county.cadreKeys[0]
            )
            let answered = try await Self.send(retried, path: path, body: encoded.body, to: urls[1], http: http)
            #expect(answered.status == 200, "\(answered.body)")
            // Its health says how far behind it is.
            var health = HTTPClientRequest(url: urls[0] + "/healthz")
            health.method = .GET
            let healthy = try await http.execute(health, timeout: .seconds(10))
            #expect(healthy.status == .ok)
        }
    }

    /// A checkpoint that is no position of the log is bad input: 400, never ignored.
    @Test func aCheckpointThatIsNoPositionIsRefused() async throws {
        try await Self.withCounty(processes: 1) { county, urls, http in
            let encoded = try SyncWire.encode(.stateDigests([]))
            for bad in ["abc", "-1", "", "1e3", "99999999999999999999"] {
                let path = encoded.path + "?checkpoint=\(bad)"
                let headers = try Self.signed(
                    path: path,
                    body: encoded.body,
                    contentType: encoded.contentType,
                    key: county.cadreKeys[0]
                )
                let refused = try await Self.send(headers, path: path, body: encoded.body, to: urls[0], http: http)
                #expect(
                    refused.status == 400 && refused.body.contains("not a position of the log"),
                    "\(bad): \(refused.body)"
                )
            }
        }
    }

    // MARK: - Convergence

    /// Laptops syncing through whichever process the proxy picks, request by request: every
    /// replica, every process and the log end in agreement.
    @Test(arguments: [0x5EED_0001, 0x5EED_0002] as [UInt64])
    func laptopsSyncingThroughRandomProcessesConverge(seed: UInt64) async throws {
        try await Self.withCounty { county, urls, http in
            var random = SeededRandom(seed: seed)
            let laptops = try (0..<3).map { try county.laptop($0) }
            let counter = RoundCounter(seed: random.next())
            for round in 0..<4 {
                for (index, laptop) in laptops.enumerated() {
                    if round > 0 {
                        for _ in 0..<(1 + Int(random.next() % 3)) {
                            _ = try laptop.addVisit(
                                VisitInput(
                                    enterprise: county.enterprises[index],
                                    topics: "第\(round)轮 \(random.next() % 1000)"
                                )
                            )
                        }
                    }
                    let holder = CheckpointHolder()
                    let transports = urls.map { url in
                        var transport = HTTPTransport(
                            baseURL: url,
                            key: county.cadreKeys[index],
                            hubKey: county.root.publicKey,
                            client: http
                        )
                        transport.checkpoint = holder
                        return transport
                    }
                    let summary = try await SyncClient(replica: laptop.replica, peer: "hub").sync(
                        over: RandomProcessTransport(transports: transports, counter: counter)
                    )
                    #expect(summary.divergentScopes.isEmpty, "seed \(seed), round \(round): \(summary.line)")
                    #expect(summary.refusedThere.isEmpty, "seed \(seed)")
                }
            }
            try await county.catchUp(urls, http: http)
            let digests = try county.processes[0].ledger.scopeDigests()
            for process in county.processes.dropFirst() {
                #expect(try process.ledger.scopeDigests() == digests, "seed \(seed): the processes agree")
            }
            for laptop in laptops {
                for (scope, digest) in try laptop.scopeDigests() {
                    #expect(digests[scope] == digest, "seed \(seed): a laptop agrees with the hub on \(scope)")
                }
            }
            var held = 0
            try county.processes[0].ledger.syncEngine.exportRecords { _ in held += 1 }
            #expect(
                try await county.processes[0].log.end() == Int64(held),
                "seed \(seed): the log holds each commit once"
            )
            // A process rebuilt from the log alone reaches the same state.
            let rebuilt = try County.process(url: county.url, root: county.root)
            defer { rebuilt.log.shutdown() }
            var configuration = HubConfiguration(ledger: rebuilt.ledger, hubKey: county.root)
            configuration.sharedLog = rebuilt.log
            let follower = LogFollower(
                log: rebuilt.log,
                ledger: rebuilt.ledger,
                threads: HubThreads.shared,
                metrics: HubMetrics(),
                logger: configuration.logger
            )
            try await follower.refresh()
            #expect(try rebuilt.ledger.scopeDigests() == digests, "seed \(seed): a rebuilt replica agrees")
        }
    }

    /// Two processes holding the root key write the root's next registry commit at once (two
    /// consoles, two operators): the second to append finds the place taken, is refused
    /// (`placeTaken`, which the console shows as 409), and its replica keeps nothing of it.
    @Test func aRootWriteByAProcessBehindTheLogIsRefusedAndRolledBack() async throws {
        try await TestPostgres.withDatabase { url in
            let county = try await County(url: url, processes: 2)
            defer { county.shutdown() }
            // The second process has not followed the registry the first wrote.
            let behind = county.processes[1].ledger
            let error = await #expect(throws: SharedLogError.self) {
                try await TestPostgres.blocking { try behind.addDepartments([DepartmentInput(name: "县商务局")]) }
            }
            #expect(error?.code == .placeTaken, "\(String(describing: error))")
            #expect(try behind.replica.feeds().isEmpty, "nothing of the refused write stays")
            #expect(try await county.processes[1].log.forks().isEmpty, "the root's feed is not forked")
        }
    }

    // MARK: - Revocation races

    /// A device revoked through one process while another, which has not followed the revocation
    /// yet, still accepts its push: positional revocation excludes what came after the heads the
    /// revocation names at every process, whichever process accepted the push, and whether the log
    /// holds the late commits after the revocation or before it (the revoking process had not
    /// seen them). The revoking process follows the log only when asked, so that what it has seen
    /// is known.
    @Test(arguments: [false, true])
    func aPushAcceptedByAProcessThatMissedARevocationIsExcludedEverywhere(lateFirst: Bool) async throws {
        // The revoking process follows the log only when a request asks it to.
        let configure: @Sendable (Int, inout HubConfiguration) -> Void = { index, configuration in
            if index == 0 { configuration.logFollowInterval = .seconds(3600) }
        }
        try await Self.withCounty(configure: configure) { county, urls, http in
            let laptop = try county.laptop(1)
            let transport = HTTPTransport(
                baseURL: urls[0],
                key: county.cadreKeys[1],
                hubKey: county.root.publicKey,
                client: http
            )
            _ = try await SyncClient(replica: laptop.replica, peer: "hub").sync(over: transport)
            _ = try laptop.addVisit(VisitInput(enterprise: "乙企业", topics: "撤销前"))
            _ = try await SyncClient(replica: laptop.replica, peer: "hub").sync(over: transport)
            try await county.catchUp(urls, http: http)
            // Two visits the revocation will not cover, as a third process accepts them.
            _ = try laptop.addVisit(VisitInput(enterprise: "乙企业", topics: "撤销后一"))
            _ = try laptop.addVisit(VisitInput(enterprise: "乙企业", topics: "撤销后二"))
            let scope = RegistryIDs.scope(of: try laptop.enterprise(named: "乙企业"))
            var entries: [LogEntry] = []
            try laptop.replica.exportRecords(scopes: [scope]) { entries.append(LogEntry(try WireRecord.decode($0))) }
            let late = entries
            let accept = { @Sendable in
                _ = try await county.processes[2].log.append(
                    late,
                    nonce: nil,
                    now: Int64(Date().timeIntervalSince1970),
                    exclusive: false
                )
            }
            if lateFirst { try await accept() }
            let (revoker, key) = (county.processes[0].ledger, county.cadreKeys[1].publicKey)
            let heads = try await TestPostgres.blocking { try revoker.revoke(publicKey: key) }
            #expect(heads[scope] == 1, "the revoking process had seen the first visit only")
            if !lateFirst { try await accept() }
            try await county.catchUp(urls, http: http)
            let digests = try county.processes[0].ledger.scopeDigests()
            for (index, process) in county.processes.enumerated() {
                let topics = try process.ledger.visits(enterprise: "乙企业").map(\.topics)
                #expect(topics == ["撤销前"], "process \(index), late first \(lateFirst): \(topics)")
                #expect(try process.ledger.scopeDigests() == digests, "process \(index) agrees")
            }
            // The laptop is refused at every process from now on.
            for url in urls {
                let refused = HTTPTransport(
                    baseURL: url,
                    key: county.cadreKeys[1],
                    hubKey: county.root.publicKey,
                    client: http
                )
                await #expect(throws: SyncError.self) { _ = try await refused.exchange(.stateDigests([])) }
            }
        }
    }

    // MARK: - A restored database

    /// A log restored to an earlier point than a replica followed: the follower refuses to go on
    /// (it would skip the commits given the positions again) and says what to do; a replica
    /// rebuilt from the restored log follows it.
    @Test func aReplicaAheadOfARestoredLogRefusesToFollowIt() async throws {
        try await TestPostgres.withDatabase { url in
            let county = try await County(url: url, processes: 2)
            defer { county.shutdown() }
            let follower = LogFollower(
                log: county.processes[1].log,
                ledger: county.processes[1].ledger,
                threads: HubThreads.shared,
                metrics: HubMetrics(),
                logger: HubConfiguration(ledger: county.processes[1].ledger, hubKey: county.root).logger
            )
            try await follower.refresh()
            let end = try await county.processes[0].log.end()
            #expect(await follower.position == end && end > 3)
            // The restore: the last three entries are gone.
            try await TestPostgres.withClient(url) { client in
                _ = try await client.query("DELETE FROM fieldlog_log WHERE position > \(end - 3)").collect()
                _ = try await client.query("UPDATE fieldlog_log_end SET position = \(end - 3)").collect()
            }
            do {
                try await follower.refresh()
                Issue.record("a replica ahead of the log went on following it")
            } catch let error as SharedLogError {
                #expect(error.message.contains("before this replica's position"), "\(error.message)")
                #expect(error.message.contains("new folder"))
            }
            #expect(await follower.failure != nil, "the process reports itself not ready")
            let rebuilt = try County.process(url: url, root: county.root)
            defer { rebuilt.log.shutdown() }
            let fresh = LogFollower(
                log: rebuilt.log,
                ledger: rebuilt.ledger,
                threads: HubThreads.shared,
                metrics: HubMetrics(),
                logger: HubConfiguration(ledger: rebuilt.ledger, hubKey: county.root).logger
            )
            try await fresh.refresh()
            #expect(await fresh.position == end - 3)
        }
    }

    // MARK: - The store down

    @Test func withoutItsStoreAProcessRefusesRequestsAndIsNotReady() async throws {
        let root = SigningKey.generate()
        let cadre = SigningKey.generate()
        let ledger = try Ledger.open(path: nil, root: root.publicKey, key: root)
        try ledger.addDepartments([DepartmentInput(name: "县工业和信息化局")])
        try ledger.addCadres([CadreInput(name: "王强", department: "县工业和信息化局")])
        try ledger.enroll(publicKey: cadre.publicKey, role: .cadre, cadre: "王强")
        let log = try PostgresSharedLog(url: "postgresql://fieldlog:x@127.0.0.1:1/fieldlog", timeout: .seconds(1))
        defer { log.shutdown() }
        var configuration = HubConfiguration(ledger: ledger, hubKey: root)
        configuration.port = 0
        configuration.sharedLog = log
        try await Self.withProcesses([configuration]) { urls, http in
            let transport = HTTPTransport(baseURL: urls[0], key: cadre, hubKey: root.publicKey, client: http)
            for request in [SyncRequest.stateDigests([]), .push([])] {
                let encoded = try SyncWire.encode(request)
                let answer = try await transport.send(
                    path: encoded.path,
                    contentType: encoded.contentType,
                    body: encoded.body
                )
                #expect(answer.status == 503, "\(encoded.path)")
                #expect(String(decoding: answer.body, as: UTF8.self).contains("store_unavailable"))
            }
            var health = HTTPClientRequest(url: urls[0] + "/healthz")
            health.method = .GET
            let response = try await http.execute(health, timeout: .seconds(10))
            #expect(response.status == .serviceUnavailable)
        }
    }
}

/// A transport that sends each request to a random process, as a proxy spreading requests would.
struct RandomProcessTransport: SyncTransport {
    let transports: [HTTPTransport]
    let counter: RoundCounter

    func exchange(_ request: SyncRequest) async throws -> SyncResponse {
        try await transports[counter.next(below: transports.count)].exchange(request)
    }
}

/// Seeded choices shared by concurrent callers.
final class RoundCounter: Sendable {
    private let state: Mutex<SeededRandom>

    init(seed: UInt64) { state = Mutex(SeededRandom(seed: seed)) }

    func next(below bound: Int) -> Int { state.withLock { Int($0.next() % UInt64(bound)) } }
}

/// SplitMix64: the same sequence for the same seed on every machine.
struct SeededRandom: Sendable {
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
