import AsyncHTTPClient
import FieldCrypto
import FieldLedger
import FieldStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Testing

@testable import FieldHub
@testable import FieldSync

/// The defects an independent review found in the hub and `fieldlog serve`, each as the request
/// that showed it: every one is refused at the door, with a signed answer, and the server stays up.
@Suite struct HubHardeningTests {
    typealias County = HubTests.County
    static let json = "application/json"

    /// An answer as it came: status, headers, body, and the error code if it is a refusal.
    struct Answer {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]
        var code: String? {
            let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
            return (object?["error"] as? [String: Any])?["code"] as? String
        }
    }

    /// A request signed by `key` for `url` + `path`, its signature parameters edited by `edit`.
    static func signed(
        _ url: String,
        _ path: String,
        body: [UInt8],
        key: SigningKey,
        label: String = "device",
        type: String = json,
        now: Int64 = Int64(Date().timeIntervalSince1970),
        edit: (inout SignatureInput) -> Void = { _ in }
    ) throws -> [(name: String, value: String)] {
        let digest = ContentDigest.header(for: body)
        let message = SignedMessage(
            method: "POST",
            targetURI: url + path,
            headers: [("Content-Type", type), ("Content-Digest", digest)]
        )
        var input = SyncSigning.parameters(key: key.publicKey, now: now, label: label)
        edit(&input)
        let signature = try HTTPSignature.sign(message, input: input, key: key)
        return [
            ("Content-Type", type), ("Content-Digest", digest), ("Signature-Input", signature.signatureInput),
            ("Signature", signature.signature),
        ]
    }

    /// Sends a POST to `url` + `path` with exactly these headers (a `Host` among them replaces the
    /// URL's) and returns the answer, unverified.
    static func send(
        _ url: String,
        _ path: String,
        body: [UInt8],
        headers: [(name: String, value: String)],
        http: HTTPClient
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: url + path)
        request.method = .POST
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = Array(try await response.body.collect(upTo: 16 << 20).readableBytesView)
        return Answer(
            status: Int(response.status.code),
            headers: response.headers.map { ($0.name, $0.value) },
            body: bytes
        )
    }

    /// Checks that `answer` is signed by `key` and bound to the request `headers` made for `target`.
    static func verify(
        _ answer: Answer,
        request headers: [(name: String, value: String)],
        target: String,
        key: PublicKey
    ) throws {
        let response = SignedMessage(status: answer.status, headers: answer.headers)
        let type = headers.first { $0.name == "Content-Type" }?.value ?? json
        let sent = SyncSigning.sentRequest(targetURI: target, contentType: type, signatureHeaders: headers)
        try SyncSigning.verifyResponse(
            response,
            body: answer.body,
            request: sent,
            hubKey: key,
            now: Int64(Date().timeIntervalSince1970)
        )
    }

    /// Signs, sends and verifies in one go: the answer to a request `key` signs for `url` + `path`.
    static func exchange(
        _ url: String,
        _ path: String,
        body: [UInt8],
        key: SigningKey,
        http: HTTPClient,
        server: PublicKey,
        edit: (inout SignatureInput) -> Void = { _ in }
    ) async throws -> Answer {
        let headers = try signed(url, path, body: body, key: key, edit: edit)
        let answer = try await send(url, path, body: body, headers: headers, http: http)
        try verify(answer, request: headers, target: url + path, key: server)
        return answer
    }

    func withHub(
        _ configuration: HubConfiguration,
        _ body: @Sendable (String, HTTPClient) async throws -> Void
    ) async throws {
        try await buildHub(configuration).test(.live) { client in
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                try await body("http://127.0.0.1:\(client.port!)", http)
            } catch {
                try await http.shutdown()
                throw error
            }
            try await http.shutdown()
        }
    }

    /// A wire record whose body is `commit`'s with bytes patched (offsets in docs/commit-format.md),
    /// signed again by `key`: what a hostile client can send.
    static func forged(_ commit: Commit, key: SigningKey, _ patch: (inout [UInt8], Int) -> Void) throws -> [UInt8] {
        var body = try CommitCodec.encode(commit)
        let sequenceOffset = 3 + 1 + 32 + 2 + commit.scope.utf8.count
        patch(&body, sequenceOffset)
        let id = BLAKE2b.hash256(body)
        return Array(bigEndian(UInt64(body.count))[4...]) + body + key.sign(SignedCommit.signaturePrefix + id)
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }

    static func put(_ value: UInt64, at offset: Int, in body: inout [UInt8]) {
        body.replaceSubrange(offset..<offset + 8, with: bigEndian(value))
    }

    /// The review's overflowing inputs: a commit numbered 2^63 (with a predecessor, as such a
    /// commit has), and one citing registry commit 2^64 - 1. Signed by an author nobody enrolled.
    static func overflowingRecords(in county: County) throws -> [[UInt8]] {
        let stranger = SigningKey.generate()
        let scope = RegistryIDs.scope(of: try county.hub.enterprise(named: "甲企业"))
        let commit = Commit(
            author: stranger.publicKey,
            scope: scope,
            sequence: 1,
            previous: .zero,
            timestamp: Timestamp(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000), counter: 0),
            schemaVersion: county.hub.replica.schema.version,
            registrySequence: 1,
            changes: [Change(table: "visits", row: UUID(), column: "topics", value: .text("x"))]
        )
        let bigSequence = try forged(commit, key: stranger) { body, at in
            put(1 << 63, at: at, in: &body)
            body.replaceSubrange(at + 8..<at + 40, with: [UInt8](repeating: 7, count: 32))
        }
        let bigRegistry = try forged(commit, key: stranger) { body, at in put(.max, at: at + 52, in: &body) }
        return [bigSequence, bigRegistry]
    }

    // MARK: 1. 64-bit fields

    /// A pull naming head 2^64 - 1 of the registry feed, and pushes of commits numbered 2^63 or
    /// citing registry commit 2^64 - 1, used to trap the hub (SIGILL, no answer). Each is a
    /// `bad_request` now, signed, on the hub and on a laptop's `fieldlog serve`, which stay up.
    @Test(arguments: [false, true])
    func sixtyFourBitFieldsPastTheLimitAreRefusedAtTheDoor(peer: Bool) async throws {
        let county = try County()
        _ = try await SyncClient(replica: county.laptop.replica, peer: "hub").sync(
            over: LocalTransport(
                responder: SyncResponder(
                    replica: county.hub.replica,
                    readableScopes: try county.hub.readableScopes(of: county.cadreKey.publicKey)
                )
            )
        )
        let device = SigningKey.generate()
        _ = try county.hub.enroll(publicKey: device.publicKey, role: .coordinator)
        _ = try await SyncClient(replica: county.laptop.replica, peer: "hub").sync(
            over: LocalTransport(
                responder: SyncResponder(
                    replica: county.hub.replica,
                    readableScopes: try county.hub.readableScopes(of: county.cadreKey.publicKey)
                )
            )
        )
        var configuration = HubConfiguration(
            ledger: peer ? county.laptop : county.hub,
            hubKey: peer ? county.cadreKey : county.root
        )
        configuration.port = 0
        configuration.isPeer = peer
        let server = configuration.hubKey.publicKey
        let stored = try configuration.ledger.replica.commitCounts()
        let records = try Self.overflowingRecords(in: county)
        try await withHub(configuration) { url, http in
            let registry = FeedHead(author: county.root.publicKey.hex, scope: Commit.registryScope, head: .max)
            let pull = try SyncWire.encode(.pull(PullRequest(after: [registry], maxCommits: 10, maxBytes: 1 << 20)))
                .body
            let pulled = try await Self.exchange(
                url,
                "/v1/sync/pull",
                body: pull,
                key: device,
                http: http,
                server: server
            )
            #expect((pulled.status, pulled.code) == (400, "bad_request"))
            for record in records {
                let body = SyncWire.batch([record], more: false)
                let headers = try Self.signed(url, "/v1/sync/push", body: body, key: device, type: SyncWire.batchType)
                let pushed = try await Self.send(url, "/v1/sync/push", body: body, headers: headers, http: http)
                try Self.verify(pushed, request: headers, target: url + "/v1/sync/push", key: server)
                #expect((pushed.status, pushed.code) == (400, "bad_request"))
            }
            let summary = try SyncWire.encode(.summary(SummaryRequest(digest: ""))).body
            let alive = try await Self.exchange(
                url,
                "/v1/sync/summary",
                body: summary,
                key: device,
                http: http,
                server: server
            )
            #expect(alive.status == 200, "still up")
        }
        let after = try configuration.ledger.replica.commitCounts()
        #expect((after.applied, after.pending, after.excluded) == (stored.applied, stored.pending, stored.excluded))
    }

    /// The same commits in a bundle: refused as malformed, nothing stored, no trap.
    @Test func sixtyFourBitFieldsPastTheLimitAreRefusedInBundles() throws {
        let county = try County()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fieldlog-bundle-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("hostile.bundle").path
        let writer = try CommitBundle.Writer(path: path)
        for record in try Self.overflowingRecords(in: county) { try writer.append(record) }
        try writer.finish()
        let before = try county.hub.replica.commitCounts()
        let report = try county.hub.replica.importRecords(try CommitBundle.open(path))
        #expect(report.refused.map(\.code) == [.malformedCommit, .malformedCommit])
        #expect(report.refused.allSatisfy { $0.reason.contains("at most 2^63 - 1") })
        let after = try county.hub.replica.commitCounts()
        #expect((after.applied, after.pending, after.excluded) == (before.applied, before.pending, before.excluded))
    }

    // MARK: 3. What a stranger can make the hub remember

    /// `expires` past `created` + 300, a nonce that is not 16 bytes, and enrollment requests from
    /// made-up keys with made-up codes: refused, and the nonce cache does not grow; when full of
    /// live nonces, it refuses (503 busy) rather than grow.
    @Test func theNonceCacheIsBoundedWhateverClientsSend() async throws {
        let county = try County()
        var configuration = county.configuration()
        configuration.maxNonces = 3
        let handler = HubHandler(configuration: configuration)
        let (server, cadre) = (county.root.publicKey, county.cadreKey)
        try await withHub(configuration) { url, http in
            let summary = try SyncWire.encode(.summary(SummaryRequest(digest: ""))).body
            func send(
                _ key: SigningKey? = nil,
                path: String = "/v1/sync/summary",
                body: [UInt8] = summary,
                edit: @escaping (inout SignatureInput) -> Void
            ) async throws -> Answer {
                try await Self.exchange(
                    url,
                    path,
                    body: body,
                    key: key ?? cadre,
                    http: http,
                    server: server,
                    edit: edit
                )
            }
            func set(_ name: String, _ value: StructuredField.Item) -> (inout SignatureInput) -> Void {
                { input in input.parameters = input.parameters.map { $0.key == name ? ($0.key, value) : $0 } }
            }
            let now = Int64(Date().timeIntervalSince1970)
            let longLived = try await send(edit: set("expires", .integer(now + 3600)))
            #expect((longLived.status, longLived.code) == (401, "bad_signature_parameters"))
            let decade = try await send(edit: set("expires", .integer(now + 10 * 365 * 86400)))
            #expect((decade.status, decade.code) == (401, "bad_signature_parameters"))
            let huge = try await send(
                edit: set("nonce", .string(Data(repeating: 0x41, count: 60_000).base64EncodedString()))
            )
            #expect((huge.status, huge.code) == (401, "bad_signature_parameters"))
            let short = try await send(edit: set("nonce", .string("AAAA")))
            #expect((short.status, short.code) == (401, "bad_signature_parameters"))
            let enroll = Array(#"{"code":"AAAA-BBBB-CCCC","label":"x"}"#.utf8)
            for _ in 0..<10 {
                let stranger = try await send(SigningKey.generate(), path: "/v1/enroll", body: enroll, edit: { _ in })
                #expect((stranger.status, stranger.code) == (403, "enrollment_code_invalid"))
            }
            let metrics = try await http.execute(HTTPClientRequest(url: url + "/metrics"), timeout: .seconds(10))
            let text = String(buffer: try await metrics.body.collect(upTo: 1 << 20))
            #expect(text.contains("fieldlog_hub_nonces_remembered 0"), "nothing of the refused requests is remembered")
            for _ in 0..<3 { #expect(try await send(edit: { _ in }).status == 200) }
            let full = try await send(edit: { _ in })
            #expect((full.status, full.code) == (503, "busy"))
        }
        #expect(await handler.nonces.capacity == 3)
    }

    // MARK: 7. Replays across servers

    /// A request captured on its way to the hub and replayed to a laptop's `fieldlog serve` with the
    /// hub's Host (and the other way round) is refused (421): each server answers only requests
    /// addressed to it.
    @Test func aRequestForOneServerIsRefusedByAnother() async throws {
        let county = try County()
        let device = SigningKey.generate()
        _ = try county.hub.enroll(publicKey: device.publicKey, role: .coordinator)
        _ = try await SyncClient(replica: county.laptop.replica, peer: "hub").sync(
            over: LocalTransport(
                responder: SyncResponder(
                    replica: county.hub.replica,
                    readableScopes: try county.hub.readableScopes(of: county.cadreKey.publicKey)
                )
            )
        )
        var peerConfiguration = HubConfiguration(ledger: county.laptop, hubKey: county.cadreKey)
        peerConfiguration.port = 0
        peerConfiguration.isPeer = true
        let peer = peerConfiguration
        let body = try SyncWire.encode(.summary(SummaryRequest(digest: ""))).body
        let path = "/v1/sync/summary"
        try await withHub(county.configuration()) { hubURL, http in
            try await withHub(peer) { peerURL, _ in
                for (meant, meantKey, other, otherKey) in [
                    (hubURL, county.root.publicKey, peerURL, county.cadreKey.publicKey),
                    (peerURL, county.cadreKey.publicKey, hubURL, county.root.publicKey),
                ] {
                    let headers = try Self.signed(meant, path, body: body, key: device)
                    let host = String(meant.dropFirst("http://".count))
                    let replayed = try await Self.send(
                        other,
                        path,
                        body: body,
                        headers: headers + [("Host", host)],
                        http: http
                    )
                    try Self.verify(replayed, request: headers, target: meant + path, key: otherKey)
                    #expect((replayed.status, replayed.code) == (421, "misdirected_request"), "\(meant) → \(other)")
                    let delivered = try await Self.send(meant, path, body: body, headers: headers, http: http)
                    try Self.verify(delivered, request: headers, target: meant + path, key: meantKey)
                    #expect(delivered.status == 200, "the same request where it was meant to go")
                }
                // Behind a reverse proxy the operator names the public URL, and it is accepted.
                var proxied = county.configuration()
                proxied.publicURLs = ["http://hub.gaotang.example:8080"]
                let authorities = HubHandler(configuration: proxied).authorities
                #expect(
                    authorities.accepts("hub.gaotang.example:8080") && authorities.accepts("HUB.gaotang.example:8080")
                )
                #expect(authorities.accepts("127.0.0.1:0") && !authorities.accepts("hub.gaotang.example"))
            }
        }
    }

    // MARK: 8. An answer is bound to its request's signature

    /// The answer to one summary does not verify as the answer to a later request with the same
    /// body: it covers the request's signature (`"signature";req;key="device"`).
    @Test func anAnswerVerifiesOnlyForTheRequestItAnswers() async throws {
        let county = try County()
        let server = county.root.publicKey
        try await withHub(county.configuration()) { url, http in
            let body = try SyncWire.encode(.summary(SummaryRequest(digest: ""))).body
            let path = "/v1/sync/summary"
            let first = try Self.signed(url, path, body: body, key: county.cadreKey)
            let second = try Self.signed(url, path, body: body, key: county.cadreKey)
            let answer = try await Self.send(url, path, body: body, headers: first, http: http)
            try Self.verify(answer, request: first, target: url + path, key: server)
            #expect(throws: SyncError.self) {
                try Self.verify(answer, request: second, target: url + path, key: server)
            }
            let components = try #require(answer.headers.first { $0.name.lowercased() == "signature-input" }?.value)
            #expect(components.contains(#""signature";req;key="device""#))
        }
    }

    // MARK: 9. The documented Signature-Input, exactly

    /// The signature labelled `device` is the one verified, whatever comes before it; another label
    /// alone is no signature; `alg` is required and must be ed25519.
    @Test func onlyTheDeviceLabelWithItsAlgorithmIsVerified() async throws {
        let county = try County()
        let server = county.root.publicKey
        try await withHub(county.configuration()) { url, http in
            let body = try SyncWire.encode(.summary(SummaryRequest(digest: ""))).body
            let path = "/v1/sync/summary"
            func header(_ name: String, _ headers: [(name: String, value: String)]) -> String {
                headers.first { $0.name == name }!.value
            }
            // Another party's signature first, then the device's: the device's is the one verified.
            let other = try Self.signed(url, path, body: body, key: SigningKey.generate(), label: "aaa")
            let mine = try Self.signed(url, path, body: body, key: county.cadreKey)
            let both = [
                mine[0], mine[1],
                ("Signature-Input", header("Signature-Input", other) + ", " + header("Signature-Input", mine)),
                ("Signature", header("Signature", other) + ", " + header("Signature", mine)),
            ]
            let accepted = try await Self.send(url, path, body: body, headers: both, http: http)
            try Self.verify(accepted, request: both, target: url + path, key: server)
            #expect(accepted.status == 200)
            let relabelled = try await Self.exchange(
                url,
                path,
                body: body,
                key: county.cadreKey,
                http: http,
                server: server
            ) { input in
                input.label = "sig1"
            }
            #expect((relabelled.status, relabelled.code) == (401, "missing_signature"))
            let noAlgorithm = try await Self.exchange(
                url,
                path,
                body: body,
                key: county.cadreKey,
                http: http,
                server: server
            ) { input in
                input.parameters.removeAll { $0.key == "alg" }
            }
            #expect((noAlgorithm.status, noAlgorithm.code) == (401, "incomplete_signature"))
            let otherAlgorithm = try await Self.exchange(
                url,
                path,
                body: body,
                key: county.cadreKey,
                http: http,
                server: server
            ) { input in
                input.parameters = input.parameters.map { $0.key == "alg" ? ($0.key, .string("hs2019")) : $0 }
            }
            #expect((otherAlgorithm.status, otherAlgorithm.code) == (401, "bad_signature_parameters"))
        }
    }

    // MARK: 10. Smaller points

    /// Unknown paths and methods get a signed `not_found`; two Host lines are a 400; `maxCommits: 0`
    /// is a 400 as the OpenAPI description says; a pushed record that is not a well-formed commit
    /// signed by its author is one rule: the batch is a 400 and nothing of it is taken.
    @Test func smallerPointsFollowOneRuleEach() async throws {
        let county = try County()
        let server = county.root.publicKey
        var registry: [[UInt8]] = []
        try county.hub.replica.exportRecords(scopes: [Commit.registryScope]) { registry.append($0) }
        _ = try county.laptop.replica.importRecords(registry)
        try county.laptop.addVisit(VisitInput(enterprise: "甲企业", topics: "用工"))
        var own: [[UInt8]] = []
        try county.laptop.replica.exportRecords(scopes: [RegistryIDs.scope(of: try county.hub.enterprise(named: "甲企业"))]
        ) { own.append($0) }
        let record = try #require(own.first)
        let stored = try county.hub.replica.commitCounts()
        try await withHub(county.configuration()) { url, http in
            let nothing = try await Self.exchange(
                url,
                "/v1/sync/nothing",
                body: Array("{}".utf8),
                key: county.cadreKey,
                http: http,
                server: server
            )
            #expect((nothing.status, nothing.code) == (404, "not_found"))
            var get = HTTPClientRequest(url: url + "/v1/sync/summary")
            get.method = .GET
            let wrongMethod = try await http.execute(get, timeout: .seconds(10))
            let wrongBody = Array(try await wrongMethod.body.collect(upTo: 1 << 20).readableBytesView)
            let response = Answer(
                status: Int(wrongMethod.status.code),
                headers: wrongMethod.headers.map { ($0.name, $0.value) },
                body: wrongBody
            )
            #expect((response.status, response.code) == (404, "not_found"))
            #expect(response.headers.contains { $0.name.lowercased() == "signature" }, "the 404 is signed")

            let port = Int(url.split(separator: ":").last!)!
            let twoHosts = try await HubOperationsTests().sendAndStall(
                port: port,
                Array(
                    "POST /v1/sync/summary HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nHost: evil.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .utf8
                ),
                bound: 20
            )
            #expect(twoHosts.hasPrefix("answered then closed: HTTP/1.1 400"), "\(twoHosts.prefix(200))")
            #expect(twoHosts.contains("bad_request"))

            let zero = try JSONSerialization.data(withJSONObject: ["after": [], "maxCommits": 0, "maxBytes": 1000])
            let noCommits = try await Self.exchange(
                url,
                "/v1/sync/pull",
                body: [UInt8](zero),
                key: county.cadreKey,
                http: http,
                server: server
            )
            #expect((noCommits.status, noCommits.code) == (400, "bad_request"))

            var wrongLength = record
            wrongLength[3] &+= 1
            var badSignature = record
            badSignature[badSignature.count - 1] ^= 1
            var badBody = record
            badBody[8] ^= 0xFF
            for hostile in [wrongLength, badSignature, badBody] {
                let body = SyncWire.batch([record, hostile], more: false)
                let headers = try Self.signed(
                    url,
                    "/v1/sync/push",
                    body: body,
                    key: county.cadreKey,
                    type: SyncWire.batchType
                )
                let pushed = try await Self.send(url, "/v1/sync/push", body: body, headers: headers, http: http)
                try Self.verify(pushed, request: headers, target: url + "/v1/sync/push", key: server)
                #expect((pushed.status, pushed.code) == (400, "bad_request"))
            }
        }
        let after = try county.hub.replica.commitCounts()
        #expect(after.applied == stored.applied, "nothing of a refused batch was taken, not even its good record")
    }
}
