import AsyncHTTPClient
import FieldCrypto
import FieldHub
import FieldStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@testable import FieldFederation
@testable import FieldLedger
@testable import FieldSync

/// Between county and city: what is altered on the way is refused at the city, and the city hub's
/// own server pulls round after round and says how each county stands.
@Suite struct FederationTransitTests {
    /// A proxy between the city and the county flips one byte of every pull answer: the answer's
    /// digest and signature no longer hold, the pull fails saying so, and nothing of it is kept.
    @Test func aCommitAlteredInTransitIsRefusedAtTheCity() async throws {
        let county = try FederatedTestCounty(name: "高唐县", demands: 3, assigned: 1)
        let city = SigningKey.generate()
        let state = ProxyState()
        try await withFolder { folder in
            try await withClient { forwarding in
                try await buildTamperingProxy(state, client: forwarding).test(.live) { proxyClient in
                    let proxyURL = "http://127.0.0.1:\(proxyClient.port!)"
                    var configuration = county.configuration()
                    configuration.publicURLs = [proxyURL]
                    try await buildHub(configuration).test(.live) { hubClient in
                        let hubURL = "http://127.0.0.1:\(hubClient.port!)"
                        state.target.withLock { $0 = hubURL }
                        try await withClient { client in
                            // Enrollment is not altered (only pull answers are): the county is joined
                            // through the proxy, and its address remembered is the proxy's.
                            let joined = try await county.join(folder, as: city, at: proxyURL, client: client)
                            let before = try joined.ledger.replica.commitCounts()
                            let refused = await #expect(throws: SyncError.self) {
                                _ = try await Federation.pull(joined, key: city, client: client)
                            }
                            #expect(
                                refused?.message.contains("does not match its digest") == true,
                                "\(String(describing: refused))"
                            )
                            #expect(state.tampered.withLock { $0 } > 0)
                            let after = try joined.ledger.replica.commitCounts()
                            #expect(after.applied == before.applied && after.pending == 0 && after.excluded == 0)
                            #expect(try joined.ledger.demands().isEmpty, "nothing of an altered answer is kept")

                            // The same county straight from its hub: everything arrives and verifies.
                            try joined.ledger.rememberHub(hubURL)
                            let summary = try await Federation.pull(joined, key: city, client: client)
                            #expect(summary.refusedHere.isEmpty)
                            #expect(try joined.ledger.demands().count == 3)
                        }
                    }
                }
            }
        }
    }

    /// A hub that signs what it relays (a compromised hub process, or one whose disk altered a
    /// commit) cannot pass an altered commit either: the city's replica verifies each commit's own
    /// signature, refuses that one, and takes the genuine one at the next pull.
    @Test func aCommitAlteredUnderAValidAnswerSignatureIsRefusedByTheReplica() async throws {
        let county = try FederatedTestCounty(name: "高唐县", demands: 3, assigned: 1)
        let city = SigningKey.generate()
        try await withFolder { folder in
            try await withHubs([county]) { urls in
                try await withClient { client in
                    let joined = try await county.join(folder, as: city, at: urls[0], client: client)
                    var inner = HTTPTransport(
                        baseURL: urls[0],
                        key: city,
                        hubKey: county.root.publicKey,
                        client: client
                    )
                    inner.acceptHubProcess = { _ in false }
                    let altering = AlteringTransport(inner: inner)
                    let summary = try await SyncClient(replica: joined.ledger.replica, peer: urls[0]).sync(
                        over: altering
                    )
                    #expect(altering.altered.withLock { $0 } != nil)
                    #expect(summary.refusedHere.count == 1, "\(summary.refusedHere)")
                    #expect(summary.refusedHere.first?.isStored == false, "the altered bytes are not kept")
                    // The next pull, unaltered, brings the genuine commit: the city then holds exactly
                    // what the county holds.
                    let again = try await SyncClient(replica: joined.ledger.replica, peer: urls[0]).sync(over: inner)
                    #expect(again.received >= 1 && again.refusedHere.isEmpty, "\(again)")
                    #expect(try joined.ledger.demands().count == 3)
                    let digests = try Dictionary(
                        uniqueKeysWithValues: joined.ledger.replica.scopes().map {
                            ($0, try joined.ledger.replica.digest(scope: $0))
                        }
                    )
                    #expect(digests == (try county.digests()))
                }
            }
        }
    }

    /// `hub serve --federate`'s server: rounds of pulls, /healthz ready once every county was
    /// pulled, /metrics and /v1/federation/status; a county that revokes the city makes it not
    /// ready, naming that county and why.
    @Test func theFederatedHubPullsRoundAfterRoundAndSaysHowEachCountyStands() async throws {
        let gaotang = try FederatedTestCounty(name: "高唐县", demands: 2, assigned: 1)
        let chiping = try FederatedTestCounty(name: "茌平区", demands: 1, assigned: 0)
        let city = SigningKey.generate()
        try await withFolder { folder in
            try await withHubs([gaotang, chiping]) { urls in
                try await withClient { client in
                    for (county, url) in zip([gaotang, chiping], urls) {
                        _ = try await county.join(folder, as: city, at: url, client: client)
                    }
                }
                let (rounds, continuation) = AsyncStream.makeStream(of: FederationRound.self)
                var configuration = FederationConfiguration(
                    federation: try Federation(folder: folder, publicKey: city.publicKey),
                    key: city
                )
                configuration.pullInterval = .milliseconds(20)
                configuration.onRound = { continuation.yield($0) }
                try await buildFederation(configuration).test(.live) { server in
                    var iterator = rounds.makeAsyncIterator()
                    func nextRound(until done: (FederationRound) -> Bool) async throws -> FederationRound {
                        for _ in 0..<200 {
                            let round = try #require(await iterator.next())
                            if done(round) { return round }
                        }
                        throw FederationError("no round of pulls did what the test waits for")
                    }
                    _ = try await nextRound { round in round.outcomes.values.allSatisfy { (try? $0.get()) != nil } }
                    let health = try await server.execute(uri: "/healthz", method: .get)
                    #expect(health.status == .ok, "\(String(buffer: health.body))")
                    let metrics = String(buffer: try await server.execute(uri: "/metrics", method: .get).body)
                    #expect(
                        metrics.contains(
                            "fieldlog_federation_commits_held{county=\"\(gaotang.root.publicKey.fingerprint)\"}"
                        )
                    )
                    #expect(metrics.contains("fieldlog_federation_pulls_total"))
                    let status = try await server.execute(uri: "/v1/federation/status", method: .get)
                    struct Status: Decodable { var counties: [CountyStanding] }
                    let standings = try JSONDecoder().decode(Status.self, from: Data(status.body.readableBytesView))
                        .counties
                    #expect(standings.map(\.name) == ["茌平区", "高唐县"])
                    #expect(standings.allSatisfy { $0.commits > 0 && $0.lastError == nil && $0.refused == 0 })

                    // A new demand at 茌平区 arrives with a later round.
                    try chiping.addDemand("新诉求", assign: false)
                    let federation = try Federation(folder: folder, publicKey: city.publicKey)
                    let held = try federation.county(named: "茌平区").ledger
                    _ = try await nextRound { _ in (try? held.demands().count) == 2 }

                    // 高唐县 revokes the city: its pulls fail, and /healthz says which county and why.
                    _ = try gaotang.hub.revoke(publicKey: city.publicKey)
                    _ = try await nextRound { round in
                        if case .failure = round.outcomes[(try? federation.county(named: "高唐县"))?.folderName ?? ""] {
                            return true
                        }
                        return false
                    }
                    let refused = try await server.execute(uri: "/healthz", method: .get)
                    #expect(refused.status == .serviceUnavailable)
                    let text = String(buffer: refused.body)
                    #expect(text.contains("高唐县") && text.contains("revoked") && !text.contains("茌平区"), "\(text)")
                }
                continuation.finish()
            }
        }
    }
}

extension FederationTransitTests {
    /// Pulls that stopped (a puller hung, the machine asleep) make the hub not ready once the last
    /// success is older than the intervals and the grace allowed; here both are zero.
    @Test func aCountyNotPulledForTooLongMakesTheHubNotReady() async throws {
        let county = try FederatedTestCounty(name: "高唐县", demands: 1, assigned: 0)
        let city = SigningKey.generate()
        try await withFolder { folder in
            try await withHubs([county]) { urls in
                try await withClient { client in
                    _ = try await county.join(folder, as: city, at: urls[0], client: client)
                }
                let (rounds, continuation) = AsyncStream.makeStream(of: FederationRound.self)
                var configuration = FederationConfiguration(
                    federation: try Federation(folder: folder, publicKey: city.publicKey),
                    key: city
                )
                configuration.pullInterval = .seconds(3600)
                configuration.staleRounds = 0
                configuration.staleGrace = .zero
                configuration.onRound = { continuation.yield($0) }
                try await buildFederation(configuration).test(.live) { server in
                    var iterator = rounds.makeAsyncIterator()
                    let first = try #require(await iterator.next())
                    #expect(first.outcomes.values.allSatisfy { (try? $0.get()) != nil })
                    let health = try await server.execute(uri: "/healthz", method: .get)
                    #expect(health.status == .serviceUnavailable)
                    #expect(String(buffer: health.body).contains("高唐县: not pulled for"))
                }
                continuation.finish()
            }
        }
    }
}

/// Forwards every request to `target` unchanged (its Host too, which the signature covers), and
/// flips one byte in the middle of every pull answer of more than a few bytes.
final class ProxyState: Sendable {
    let target = Mutex<String?>(nil)
    let tampered = Mutex(0)
}

func buildTamperingProxy(_ state: ProxyState, client: HTTPClient) -> some ApplicationProtocol {
    let router = Router()
    router.post("**") { request, context -> Response in
        guard let base = state.target.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
        let body = try await request.body.collect(upTo: 64 << 20)
        var forward = HTTPClientRequest(url: base + request.uri.path)
        forward.method = .POST
        for field in request.headers { forward.headers.add(name: field.name.canonicalName, value: field.value) }
        if let authority = request.head.authority { forward.headers.replaceOrAdd(name: "Host", value: authority) }
        forward.body = .bytes(body)
        let answer = try await client.execute(forward, timeout: .seconds(30))
        var bytes = [UInt8](buffer: try await answer.body.collect(upTo: 64 << 20))
        if request.uri.path.hasSuffix("/pull"), bytes.count > 64 {
            bytes[bytes.count / 2] ^= 0x01
            state.tampered.withLock { $0 += 1 }
        }
        var headers = HTTPFields()
        for (name, value) in answer.headers where name.lowercased() != "content-length" {
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        return Response(
            status: .init(code: Int(answer.status.code)),
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
    return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
}

/// Passes requests on, and alters one byte of the first commit of the first pull answer that
/// carries more than a registry's worth, after the answer's own signature was checked.
final class AlteringTransport: SyncTransport {
    let inner: HTTPTransport
    let altered = Mutex<[UInt8]?>(nil)

    init(inner: HTTPTransport) { self.inner = inner }

    func exchange(_ request: SyncRequest) async throws -> SyncResponse {
        let response = try await inner.exchange(request)
        guard case .pull(var records, let more) = response, let last = records.indices.last,
            altered.withLock({ $0 == nil })
        else { return response }
        var record = records[last]
        record[record.count / 2] ^= 0x01
        records[last] = record
        altered.withLock { $0 = record }
        return .pull(records: records, more: more)
    }
}
