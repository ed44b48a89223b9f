import AsyncHTTPClient
import FieldCrypto
import FieldHub
import FieldLedger
import FieldStore
import Foundation
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
                EnterpriseInput(name: "甲企业", uscc: "91371082775260043P"), EnterpriseInput(name: "乙企业", uscc: "91110108551385082Q"),
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
    func withHub(_ county: County, maxBody: Int = 16 << 20, _ body: @Sendable (String, HTTPClient) async throws -> Void) async throws {
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
            let transport = HTTPTransport(baseURL: url, key: county.cadreKey, hubKey: county.root.publicKey, client: http)
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
            let wrongHub = HTTPTransport(baseURL: url, key: county.cadreKey, hubKey: SigningKey.generate().publicKey, client: http)
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
        _ url: String, _ path: String, body: [UInt8], headers: [(String, String)], http: HTTPClient, hubKey: PublicKey
    ) async throws -> RawResponse {
        var request = HTTPClientRequest(url: url + path)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, timeout: .seconds(30))
        let responseBody = Array(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        let signed = SignedMessage(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) })
        let sent = SignedMessage(method: "POST", targetURI: url + path, headers: headers.filter { ["Content-Type", "Content-Digest"].contains($0.0) }.map { ($0.0, $0.1) })
        try SyncSigning.verifyResponse(signed, body: responseBody, request: sent, hubKey: hubKey, now: Int64(Date().timeIntervalSince1970))
        let json = try? JSONSerialization.jsonObject(with: Data(responseBody)) as? [String: Any]
        return RawResponse(status: Int(response.status.code), code: (json?["error"] as? [String: Any])?["code"] as? String)
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
                [("Content-Type", type)] + (try SyncSigning.signRequest(
                    method: "POST", targetURI: url + "/v1/sync/summary", contentType: type, body: body, key: key, now: time
                )).map { ($0.name, $0.value) }
            }
            func send(_ headers: [(String, String)], body sent: [UInt8] = body, path: String = "/v1/sync/summary") async throws -> RawResponse {
                try await post(url, path, body: sent, headers: headers, http: http, hubKey: county.root.publicKey)
            }
            let good = try signed(county.cadreKey)
            #expect(try await send(good).status == 200)
            let replay = try await send(good)
            #expect((replay.status, replay.code) == (401, "replayed_nonce"))
            let unsigned = try await send([("Content-Type", type), ("Content-Digest", ContentDigest.header(for: body))])
            #expect((unsigned.status, unsigned.code) == (401, "missing_signature"))
            var forged = try signed(county.cadreKey)
            forged[forged.firstIndex { $0.0 == "Signature" }!].1 = "device=:" + Data(repeating: 7, count: 64).base64EncodedString() + ":"
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
            let message = SignedMessage(method: "POST", targetURI: url + "/v1/sync/summary", headers: [("Content-Type", type), ("Content-Digest", digest)])
            let expiredHeaders = try HTTPSignature.sign(message, input: input, key: county.cadreKey)
            let expired = try await send([("Content-Type", type), ("Content-Digest", digest), ("Signature-Input", expiredHeaders.signatureInput), ("Signature", expiredHeaders.signature)])
            #expect((expired.status, expired.code) == (401, "expired"))
            // Too large, and a body that is not a sync message.
            let big = [UInt8](repeating: 0x20, count: 8192)
            let tooLarge = try await send(try signed(county.cadreKey, body: big), body: big)
            #expect((tooLarge.status, tooLarge.code) == (413, "body_too_large"))
            let junk = Array("{not json".utf8)
            let badRequest = try await send(try signed(county.cadreKey, body: junk), body: junk)
            #expect((badRequest.status, badRequest.code) == (400, "bad_request"))
        }
    }

    @Test func pushesOutsideTheDevicesScopesAreRefusedWhole() async throws {
        let county = try County()
        try county.hub.addVisit(VisitInput(enterprise: "乙企业", topics: "root only"))
        var collected: [[UInt8]] = []
        try county.hub.replica.exportRecords(scopes: [RegistryIDs.scope(of: try county.hub.enterprise(named: "乙企业"))]) { collected.append($0) }
        let foreign = collected
        try await withHub(county) { url, http in
            let transport = HTTPTransport(baseURL: url, key: county.cadreKey, hubKey: county.root.publicKey, client: http)
            let error = await #expect(throws: SyncError.self) { _ = try await transport.exchange(.push(foreign)) }
            #expect(error?.message.contains("out_of_scope") == true)
        }
    }
}
