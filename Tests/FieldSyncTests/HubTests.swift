import AsyncHTTPClient
import FieldCrypto
import FieldHub
import FieldLedger
import FieldStore
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Testing

@testable import FieldSync

/// The hub on an ephemeral loopback port, driven by the real HTTP transport and by raw requests.
@Suite struct HubTests {
    struct County {
        let root = SigningKey.generate()
        let hub: Ledger
        let cadreKey = SigningKey.generate()
        let laptop: Ledger

        init() throws {
            hub = try Ledger.open(path: nil, root: root.publicKey, key: root)
            try hub.addDepartments([DepartmentInput(name: "县工业和信息化局")])
            try hub.addCadres([CadreInput(name: "王强", department: "县工业和信息化局")])
            try hub.addEnterprises([
                EnterpriseInput(name: "甲企业", uscc: "91371082775260043P"),
                EnterpriseInput(name: "乙企业", uscc: "91110108551385082Q"),
            ])
            try hub.link([.init(cadre: "王强", enterprise: "甲企业", role: .lead)])
            try hub.enroll(publicKey: cadreKey.publicKey, role: .cadre, cadre: "王强")
            laptop = try Ledger.open(path: nil, root: root.publicKey, key: cadreKey)
        }

        func configuration(maxBody: Int = 16 << 20) -> HubConfiguration {
            var configuration = HubConfiguration(ledger: hub, hubKey: root)
            configuration.port = 0
            configuration.maxBodyBytes = maxBody
            return configuration
        }
    }

    /// Runs `body` with the hub listening on 127.0.0.1 and an HTTP client.
    func withHub(
        _ county: County,
        maxBody: Int = 16 << 20,
        _ body: @Sendable (String, HTTPClient) async throws -> Void
    ) async throws {
        let app = buildHub(county.configuration(maxBody: maxBody))
        try await app.test(.live) { client in
            let url = "http://127.0.0.1:\(client.port!)"
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                try await body(url, http)
            } catch {
                try await http.shutdown()
                throw error
            }
            try await http.shutdown()
        }
    }

    @Test func laptopSyncsOverSignedHTTP() async throws {
        let county = try County()
        try await withHub(county) { url, http in
            let transport = HTTPTransport(
                baseURL: url,
                key: county.cadreKey,
                hubKey: county.root.publicKey,
                client: http
            )
            let client = SyncClient(replica: county.laptop.replica, peer: url)
            let first = try await client.sync(over: transport)
            #expect(first.received > 0)
            #expect(try county.laptop.enrolledRole() == .cadre)
            try county.laptop.addVisit(VisitInput(enterprise: "甲企业", topics: "用工"))
            let second = try await client.sync(over: transport)
            #expect(second.sent == 1)
            #expect(second.divergentScopes.isEmpty)
            #expect(try county.hub.visits().count == 1)
            let third = try await client.sync(over: transport)
            #expect(third.upToDate)
            #expect(third.requestBytes + third.responseBytes < 2048)
            // A client that expects another hub key refuses the responses.
            let wrongHub = HTTPTransport(
                baseURL: url,
                key: county.cadreKey,
                hubKey: SigningKey.generate().publicKey,
                client: http
            )
            let error = await #expect(throws: SyncError.self) { _ = try await client.sync(over: wrongHub) }
            #expect(error?.message.contains("another key") == true)
        }
    }

    struct RawResponse {
        var status: Int
        var code: String?
    }

    /// Sends a POST with exactly these headers and body; checks the response is signed by the hub.
    func post(
        _ url: String,
        _ path: String,
        body: [UInt8],
        headers: [(String, String)],
        http: HTTPClient,
        hubKey: PublicKey
    ) async throws -> RawResponse {
        var request = HTTPClientRequest(url: url + path)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, timeout: .seconds(30))
        let responseBody = Array(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        let signed = SignedMessage(
            status: Int(response.status.code),
            headers: response.headers.map { ($0.name, $0.value) }
        )
        let sent = SignedMessage(
            method: "POST",
            targetURI: url + path,
            headers: headers.filter { ["Content-Type", "Content-Digest", "Signature"].contains($0.0) }.map {
                ($0.0, $0.1)
            }
        )
        try SyncSigning.verifyResponse(
            signed,
            body: responseBody,
            request: sent,
            hubKey: hubKey,
            now: Int64(Date().timeIntervalSince1970)
        )
        let json = try? JSONSerialization.jsonObject(with: Data(responseBody)) as? [String: Any]
        return RawResponse(
            status: Int(response.status.code),
            code: (json?["error"] as? [String: Any])?["code"] as? String
        )
    }

    @Test func everyRefusalHasItsOwnCode() async throws {
        let county = try County()
        let stranger = SigningKey.generate()
        let revokedKey = SigningKey.generate()
        try county.hub.enroll(publicKey: revokedKey.publicKey, role: .cadre, cadre: "王强")
        try county.hub.revoke(publicKey: revokedKey.publicKey)
        try await withHub(county, maxBody: 4096) { url, http in
            let body = try SyncWire.encode(.summary(SummaryRequest(digest: "00"))).body
            let type = "application/json"
            let now = Int64(Date().timeIntervalSince1970)
            func signed(_ key: SigningKey, at time: Int64 = now, body: [UInt8] = body) throws -> [(String, String)] {
                [("Content-Type", type)]
                    + (try SyncSigning.signRequest(
                        method: "POST",
                        targetURI: url + "/v1/sync/summary",
                        contentType: type,
                        body: body,
                        key: key,
                        now: time
                    )).map { ($0.name, $0.value) }
            }
            func send(
                _ headers: [(String, String)],
                body sent: [UInt8] = body,
                path: String = "/v1/sync/summary"
            ) async throws -> RawResponse {
                try await post(url, path, body: sent, headers: headers, http: http, hubKey: county.root.publicKey)
            }
            let good = try signed(county.cadreKey)
            #expect(try await send(good).status == 200)
            let replay = try await send(good)
            #expect((replay.status, replay.code) == (401, "replayed_nonce"))
            let unsigned = try await send([("Content-Type", type), ("Content-Digest", ContentDigest.header(for: body))])
            #expect((unsigned.status, unsigned.code) == (401, "missing_signature"))
            var forged = try signed(county.cadreKey)
            forged[forged.firstIndex { $0.0 == "Signature" }!].1 =
                "device=:" + Data(repeating: 7, count: 64).base64EncodedString() + ":"
            let badSignature = try await send(forged)
            #expect((badSignature.status, badSignature.code) == (401, "bad_signature"))
            let tampered = try await send(try signed(county.cadreKey), body: body + Array(" ".utf8))
            #expect((tampered.status, tampered.code) == (400, "digest_mismatch"))
            let old = try await send(try signed(county.cadreKey, at: now - 1000))
            #expect((old.status, old.code) == (401, "created_out_of_window"))
            let unknown = try await send(try signed(stranger))
            #expect((unknown.status, unknown.code) == (401, "unknown_key"))
            let revoked = try await send(try signed(revokedKey))
            #expect((revoked.status, revoked.code) == (403, "revoked_key"))
            // Expired: created inside the window, expires already past.
            var input = SyncSigning.parameters(key: county.cadreKey.publicKey, now: now - 20, label: "device")
            input.parameters = input.parameters.map { $0.key == "expires" ? ($0.key, .integer(now - 10)) : $0 }
            let digest = ContentDigest.header(for: body)
            let message = SignedMessage(
                method: "POST",
                targetURI: url + "/v1/sync/summary",
                headers: [("Content-Type", type), ("Content-Digest", digest)]
            )
            let expiredHeaders = try HTTPSignature.sign(message, input: input, key: county.cadreKey)
            let expired = try await send([
                ("Content-Type", type), ("Content-Digest", digest), ("Signature-Input", expiredHeaders.signatureInput),
                ("Signature", expiredHeaders.signature),
            ])
            #expect((expired.status, expired.code) == (401, "expired"))
            // Too large, and a body that is not a sync message.
            let big = [UInt8](repeating: 0x20, count: 8192)
            let tooLarge = try await send(try signed(county.cadreKey, body: big), body: big)
            #expect((tooLarge.status, tooLarge.code) == (413, "body_too_large"))
            let junk = Array("{not json".utf8)
            let badRequest = try await send(try signed(county.cadreKey, body: junk), body: junk)
            #expect((badRequest.status, badRequest.code) == (400, "bad_request"))
            // Enrollment by a key already enrolled; the same request again is a replay, refused as
            // one before anything else is judged (found by schemathesis: it was already_enrolled twice).
            let enrollBody = Array(#"{"code":"AAAA-BBBB-CCCC"}"#.utf8)
            let enrollment =
                [("Content-Type", type)]
                + (try SyncSigning.signRequest(
                    method: "POST",
                    targetURI: url + "/v1/enroll",
                    contentType: type,
                    body: enrollBody,
                    key: county.cadreKey,
                    now: now
                )).map { ($0.name, $0.value) }
            let enrolled = try await send(enrollment, body: enrollBody, path: "/v1/enroll")
            #expect((enrolled.status, enrolled.code) == (409, "already_enrolled"))
            let replayedEnrollment = try await send(enrollment, body: enrollBody, path: "/v1/enroll")
            #expect((replayedEnrollment.status, replayedEnrollment.code) == (401, "replayed_nonce"))
        }
    }

    @Test func pushesOutsideTheDevicesScopesAreRefusedWhole() async throws {
        let county = try County()
        try county.hub.addVisit(VisitInput(enterprise: "乙企业", topics: "root only"))
        var collected: [[UInt8]] = []
        try county.hub.replica.exportRecords(scopes: [RegistryIDs.scope(of: try county.hub.enterprise(named: "乙企业"))]) {
            collected.append($0)
        }
        let foreign = collected
        try await withHub(county) { url, http in
            let transport = HTTPTransport(
                baseURL: url,
                key: county.cadreKey,
                hubKey: county.root.publicKey,
                client: http
            )
            let error = await #expect(throws: SyncError.self) { _ = try await transport.exchange(.push(foreign)) }
            #expect(error?.message.contains("out_of_scope") == true)
        }
    }
}

/// A cadre device asks every endpoint for an enterprise it is not linked to, by name: nothing of
/// it comes back, from any of them; an unknown key gets a refusal from each; the unsigned pages
/// (/metrics, /healthz) carry neither the enterprise nor its scope.
@Suite struct HubScopeTests {
    @Test func noEndpointAnswersWithAScopeTheDeviceMayNotRead() async throws {
        let county = try HubTests.County()
        try county.hub.addVisit(VisitInput(enterprise: "乙企业", topics: "root only"))
        _ = try county.hub.addDemand(DemandInput(enterprise: "乙企业", title: "不可见的诉求", content: "只给协调员看"))
        let mine = RegistryIDs.scope(of: try county.hub.enterprise(named: "甲企业"))
        let hidden = RegistryIDs.scope(of: try county.hub.enterprise(named: "乙企业"))
        let hiddenHeads = try county.hub.replica.heads(scopes: [hidden])
        #expect(!hiddenHeads.isEmpty)
        let everything = try county.hub.replica.heads().map { FeedHead(author: $0.author, scope: $0.scope, head: 0) }
        try await HubTests().withHub(county) { url, http in
            let cadre = HTTPTransport(baseURL: url, key: county.cadreKey, hubKey: county.root.publicKey, client: http)
            guard case .summary(let summary) = try await cadre.exchange(.summary(SummaryRequest(digest: ""))) else {
                Issue.record("summary answered with something else")
                return
            }
            #expect(Set(summary.scopeDigests?.keys.map { $0 } ?? []) == [Commit.registryScope, mine])
            guard
                case .heads(let heads) = try await cadre.exchange(
                    .heads(HeadsRequest(scopes: [hidden, mine, Commit.registryScope], heads: hiddenHeads))
                )
            else {
                Issue.record("heads answered with something else")
                return
            }
            #expect(!heads.heads.isEmpty)
            #expect(heads.heads.allSatisfy { $0.scope != hidden })
            guard
                case .pull(let records, _) = try await cadre.exchange(
                    .pull(PullRequest(after: everything, maxCommits: 2000, maxBytes: 4 << 20))
                )
            else {
                Issue.record("pull answered with something else")
                return
            }
            let scopes = Set(
                try records.map {
                    try CommitCodec.decode(Array($0.dropFirst(4).dropLast(SigningKey.signatureSize))).scope
                }
            )
            #expect(scopes == [Commit.registryScope], "the registry only: 甲 has no commits yet, 乙 is not the cadre's")
            guard case .stateDigests(let digests) = try await cadre.exchange(.stateDigests([hidden, mine])) else {
                Issue.record("digests answered with something else")
                return
            }
            #expect(Set(digests.keys) == [mine])

            // A key the registry does not know is refused by every endpoint, and learns nothing.
            let stranger = HTTPTransport(
                baseURL: url,
                key: SigningKey.generate(),
                hubKey: county.root.publicKey,
                client: http
            )
            for request in [
                SyncRequest.summary(SummaryRequest(digest: "")), .heads(HeadsRequest(scopes: [hidden], heads: [])),
                .pull(PullRequest(after: everything, maxCommits: 10, maxBytes: 1 << 20)), .stateDigests([hidden]),
                .push([]),
            ] {
                let error = await #expect(throws: SyncError.self) { _ = try await stranger.exchange(request) }
                #expect(error?.message.contains("unknown_key") == true, "\(request)")
            }

            // The unsigned pages name no enterprise and no scope.
            for path in ["/metrics", "/healthz"] {
                let response = try await http.execute(HTTPClientRequest(url: url + path), timeout: .seconds(10))
                let page = String(buffer: try await response.body.collect(upTo: 1 << 20))
                #expect(response.status == .ok, "\(path)")
                #expect(!page.contains(hidden) && !page.contains(mine) && !page.contains("乙企业"), "\(path)")
            }
        }
    }
}

@Suite struct HubEnrollmentTests {
    @Test func oneTimeCodesEnrollScopesFollowLinkagesAndRevocationHolds() async throws {
        let county = try HubTests.County()
        let now = Int64(Date().timeIntervalSince1970)
        let code = try EnrollmentCodes(ledger: county.hub).create(role: .cadre, cadre: "王强", now: now)
        let expired = try EnrollmentCodes(ledger: county.hub).create(
            role: .cadre,
            cadre: "王强",
            validFor: 1,
            now: now - 100
        )
        let newKey = SigningKey.generate()
        let otherKey = SigningKey.generate()
        let app = buildHub(county.configuration())
        try await app.test(.live) { client in
            let url = "http://127.0.0.1:\(client.port!)"
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { _ = http.shutdown() }
            let (root, records) = try await Enrollment.enroll(
                hub: url,
                code: code,
                label: "笔记本",
                key: newKey,
                client: http
            )
            #expect(root == county.root.publicKey)
            let device = try Ledger.open(path: nil, root: root, key: newKey)
            _ = try device.replica.importRecords(records)
            #expect(try device.enrolledRole() == .cadre)
            // A code works once; an unknown or expired code is refused with its own code.
            let reused = await #expect(throws: SyncError.self) {
                _ = try await Enrollment.enroll(hub: url, code: code, label: nil, key: otherKey, client: http)
            }
            #expect(reused?.message.contains("enrollment_code_spent") == true)
            let unknown = await #expect(throws: SyncError.self) {
                _ = try await Enrollment.enroll(
                    hub: url,
                    code: "AAAA-BBBB-CCCC",
                    label: nil,
                    key: otherKey,
                    client: http
                )
            }
            #expect(unknown?.message.contains("enrollment_code_invalid") == true)
            let late = await #expect(throws: SyncError.self) {
                _ = try await Enrollment.enroll(hub: url, code: expired, label: nil, key: otherKey, client: http)
            }
            #expect(late?.message.contains("expired") == true)
            #expect(try county.hub.standing(of: otherKey.publicKey) == .unknown)

            // The cadre sees only 甲企业; linking 乙企业 back-fills it at the next sync.
            try county.hub.addVisit(VisitInput(enterprise: "乙企业", topics: "earlier"))
            let transport = HTTPTransport(baseURL: url, key: newKey, hubKey: root, client: http)
            let sync = SyncClient(replica: device.replica, peer: url)
            _ = try await sync.sync(over: transport)
            #expect(try device.visits().isEmpty)
            try county.hub.link([.init(cadre: "王强", enterprise: "乙企业", role: .assisting)])
            _ = try await sync.sync(over: transport)
            #expect(try device.visits().map(\.topics) == ["earlier"])

            // Revoked: the device's requests are refused, and its later commit relayed by a peer too.
            try device.addVisit(VisitInput(enterprise: "甲企业", topics: "after revocation"))
            try county.hub.revoke(publicKey: newKey.publicKey)
            let refused = await #expect(throws: SyncError.self) { _ = try await sync.sync(over: transport) }
            #expect(refused?.message.contains("revoked_key") == true)
            var relayed: [[UInt8]] = []
            try device.replica.exportRecords(scopes: [RegistryIDs.scope(of: try county.hub.enterprise(named: "甲企业"))]) {
                relayed.append($0)
            }
            let peer = HTTPTransport(baseURL: url, key: county.cadreKey, hubKey: root, client: http)
            let pushed = try await peer.exchange(.push(relayed))
            guard case .push(let result) = pushed else {
                Issue.record("not a push answer")
                return
            }
            #expect(result.applied == 0)
            #expect(result.refused.contains { $0.code == .revoked })
            #expect(try county.hub.visits().map(\.topics) == ["earlier"])
            #expect(
                try county.hub.replica.feeds().allSatisfy {
                    $0.author != newKey.publicKey.hex || $0.scope == Commit.registryScope
                },
                "nothing refused is stored"
            )
            #expect(try county.hub.replica.commitCounts().excluded == 0)
            try await http.shutdown()
        }
    }
}

@Suite struct PeerSyncTests {
    /// Laptop B syncs with laptop A directly; A later syncs with the hub, which accepts B's
    /// commits relayed by A because each still carries B's signature.
    @Test func peerSyncThenHubSyncRelaysCommits() async throws {
        let county = try HubTests.County()
        let keyB = SigningKey.generate()
        try county.hub.link([.init(cadre: "王强", enterprise: "乙企业", role: .lead)])
        try county.hub.addCadres([CadreInput(name: "李娜", department: "县工业和信息化局")])
        try county.hub.link([.init(cadre: "李娜", enterprise: "甲企业", role: .assisting)])
        try county.hub.enroll(publicKey: keyB.publicKey, role: .cadre, cadre: "李娜")
        let laptopB = try Ledger.open(path: nil, root: county.root.publicKey, key: keyB)
        // Both laptops get the registry (from the hub, in process).
        for laptop in [county.laptop, laptopB] {
            _ = try await SyncClient(replica: laptop.replica, peer: "hub").sync(
                over: LocalTransport(
                    responder: SyncResponder(
                        replica: county.hub.replica,
                        readableScopes: try county.hub.readableScopes(of: laptop.publicKey)
                    )
                )
            )
        }
        try county.hub.addVisit(VisitInput(enterprise: "乙企业", topics: "乙 only"))
        _ = try await SyncClient(replica: county.laptop.replica, peer: "hub").sync(
            over: LocalTransport(
                responder: SyncResponder(
                    replica: county.hub.replica,
                    readableScopes: try county.hub.readableScopes(of: county.cadreKey.publicKey)
                )
            )
        )
        #expect(try county.laptop.visits().map(\.topics) == ["乙 only"])
        try laptopB.addVisit(VisitInput(enterprise: "甲企业", topics: "B 的走访"))
        var peerConfiguration = HubConfiguration(ledger: county.laptop, hubKey: county.cadreKey)
        peerConfiguration.port = 0
        peerConfiguration.isPeer = true
        try await buildHub(peerConfiguration).test(.live) { client in
            let url = "http://127.0.0.1:\(client.port!)"
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            var transport = HTTPTransport(baseURL: url, key: keyB, hubKey: county.root.publicKey, client: http)
            let registry = laptopB
            transport.acceptPeer = { key in
                if case .enrolled = (try? registry.standing(of: key)) ?? .unknown { return true }
                return false
            }
            let summary = try await SyncClient(replica: laptopB.replica, peer: url).sync(over: transport)
            try await http.shutdown()
            #expect(summary.sent == 1)
            #expect(summary.divergentScopes.isEmpty)
        }
        #expect(Set(try county.laptop.visits().map(\.topics)) == ["B 的走访", "乙 only"])
        // A syncs with the hub: B's visit reaches it through A.
        _ = try await SyncClient(replica: county.laptop.replica, peer: "hub").sync(
            over: LocalTransport(
                responder: SyncResponder(
                    replica: county.hub.replica,
                    readableScopes: try county.hub.readableScopes(of: county.cadreKey.publicKey),
                    keepsRefused: false
                )
            )
        )
        #expect(Set(try county.hub.visits().map(\.topics)) == ["B 的走访", "乙 only"])
        // B, not linked to 乙企业, gets nothing of it from A.
        #expect(try laptopB.visits().map(\.topics) == ["B 的走访"])
    }
}

@Suite struct OpenAPITests {
    /// docs/openapi.yaml lists exactly the hub's routes, and the running hub answers each of them
    /// (a signed refusal for an unsigned POST, not a 404), and 404 for what it does not list.
    @Test func openAPIDescribesTheRunningHub() async throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("docs/openapi.yaml")
        let lines = try String(contentsOf: file, encoding: .utf8).split(
            separator: "\n",
            omittingEmptySubsequences: false
        ).map(String.init)
        var documented: [String] = []
        var inPaths = false
        var current: String?
        for line in lines {
            if line == "paths:" {
                inPaths = true
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /") && line.hasSuffix(":") { current = String(line.dropFirst(2).dropLast()) }
            if let path = current, ["    get:", "    post:", "    put:", "    delete:"].contains(line) {
                documented.append(line.trimmingCharacters(in: .whitespaces).dropLast().uppercased() + " " + path)
            }
        }
        #expect(documented.sorted() == HubRoutes.all.sorted())
        let county = try HubTests.County()
        try await buildHub(county.configuration()).test(.live) { client in
            for route in HubRoutes.all {
                let parts = route.split(separator: " ")
                let response = try await client.execute(uri: String(parts[1]), method: parts[0] == "GET" ? .get : .post)
                if parts[0] == "GET" {
                    #expect(response.status == .ok, "\(route)")
                } else {
                    #expect(response.status == .unauthorized, "\(route)")
                    #expect(response.headers[HTTPField.Name("Signature")!] != nil, "\(route): the refusal is signed")
                }
            }
            let missing = try await client.execute(uri: "/v1/sync/nothing", method: .post)
            #expect(missing.status == .notFound)
        }
    }
}

@Suite struct HubRestartTests {
    /// Gives up after a number of exchanges, like a connection cut while the hub goes down.
    struct Limited<Inner: SyncTransport>: SyncTransport {
        let inner: Inner
        let limit: Int
        let counter = Counter()

        final class Counter: @unchecked Sendable {
            // Safe because one sync drives it, one request at a time.
            var value = 0
        }

        func exchange(_ request: SyncRequest) async throws -> SyncResponse {
            counter.value += 1
            if counter.value > limit { throw SyncError(.transport, "connection closed") }
            return try await inner.exchange(request)
        }
    }

    @Test func hubRestartedMidSyncResumesWithNothingLostOrDuplicated() async throws {
        let county = try HubTests.County()
        for index in 0..<200 { try county.hub.addVisit(VisitInput(enterprise: "甲企业", topics: "第\(index)次")) }
        var configured = SyncClient(replica: county.laptop.replica, peer: "hub")
        configured.batchCommits = 20
        let client = configured
        try await buildHub(county.configuration()).test(.live) { live in
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let transport = HTTPTransport(
                baseURL: "http://127.0.0.1:\(live.port!)",
                key: county.cadreKey,
                hubKey: county.root.publicKey,
                client: http
            )
            await #expect(throws: SyncError.self) {
                _ = try await client.sync(over: Limited(inner: transport, limit: 5))
            }
            try await http.shutdown()
        }
        let partial = try county.laptop.visits().count
        #expect(partial > 0 && partial < 200, "\(partial) visits landed before the hub went down")
        // The hub comes back (a new server on the same replica, on another port).
        try await buildHub(county.configuration()).test(.live) { live in
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let transport = HTTPTransport(
                baseURL: "http://127.0.0.1:\(live.port!)",
                key: county.cadreKey,
                hubKey: county.root.publicKey,
                client: http
            )
            let resumed = try await client.sync(over: transport)
            #expect(resumed.divergentScopes.isEmpty)
            #expect(try await client.sync(over: transport).upToDate)
            try await http.shutdown()
        }
        #expect(try county.laptop.visits().count == 200)
        let scope = RegistryIDs.scope(of: try county.hub.enterprise(named: "甲企业"))
        #expect(try county.laptop.replica.digest(scope: scope) == county.hub.replica.digest(scope: scope))
        #expect(
            try county.laptop.replica.commitCounts().applied
                == county.hub.replica.heads().filter { [scope, Commit.registryScope].contains($0.scope) }.reduce(0) {
                    $0 + Int($1.head)
                }
        )
    }
}

/// Issue 14: enrollment codes are the hub's, with refusals of their own. The hub once turned every
/// ledger error of a redemption but "not found" into `enrollment_code_spent`: a code for a cadre
/// retired since was "already used".
@Suite struct EnrollmentCodeTests {
    @Test func eachRefusalOfACodeIsItsOwn() throws {
        let county = try HubTests.County()
        let codes = EnrollmentCodes(ledger: county.hub)
        let now = Int64(1_790_000_000)
        let unknown = #expect(throws: HubError.self) { try codes.check("AAAA-BBBB-CCCC", now: now) }
        #expect(unknown?.code == .enrollmentCodeInvalid)
        let expired = try codes.create(role: .cadre, cadre: "王强", validFor: 10, now: now - 100)
        #expect((#expect(throws: HubError.self) { try codes.check(expired, now: now) })?.code == .enrollmentCodeSpent)
        let code = try codes.create(role: .cadre, cadre: "王强", now: now)
        try codes.check(code.lowercased(), now: now)
        try county.hub.retire(.cadre, "王强")
        let retired = #expect(throws: HubError.self) {
            try codes.redeem(code, publicKey: SigningKey.generate().publicKey, label: nil, now: now)
        }
        #expect(retired?.code == .enrollmentCodeInvalid)
        #expect(retired?.message.contains("retired") == true)
        // Burnt all the same: a crash or a refusal after the burn costs a code, never a second device.
        #expect((#expect(throws: HubError.self) { try codes.check(code, now: now) })?.code == .enrollmentCodeSpent)
        // The hub's own table is migrated once, and an earlier hub's table is kept.
        try codes.migrate()
        let applied = try county.hub.replica.database.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM _hub_migrations")
        }
        #expect(applied == ["1-enrollment-codes"])
    }
}
