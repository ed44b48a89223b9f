import FieldCrypto
import FieldHub
import FieldStore
import FieldSync
import Foundation

/// A commit the fuzzer builds field by field: valid framing (docs/commit-format.md), signed by a
/// key it chooses, with whatever values it picks, extreme ones most of all. The encoder here checks
/// nothing, so values the real encoder refuses (a sequence past 2^63 − 1, say) still reach the
/// decoder and everything behind it.
enum HostileCommit {
    static let tables = ["visits", "demands", "demand_events", "devices", "enterprises", "nope"]
    static let columns = ["topics", "title", "content", "deleted", "actor_key", "action", "state", "x"]
    static let texts = [
        "", "用工", "'; DROP TABLE visits; --", "a\u{0}b", "=HYPERLINK(\"http://x\")", "\u{202E}abc", "😀",
    ]
    static let rows = [
        UUID(uuidString: "01890a5d-ac96-774b-bcce-b302099a8057")!,
        UUID(uuidString: "01890a5d-ac96-774b-bcce-b302099a8058")!,
    ]

    /// The wire record of one hostile commit, and its id (for a next commit to name as previous).
    static func make(_ input: inout FuzzInput, county: FuzzCounty, previous: [UInt8]?) -> (record: [UInt8], id: [UInt8])
    {
        let key = input.pick([FuzzCounty.cadre, FuzzCounty.department, FuzzCounty.stranger, FuzzCounty.root])
        let scope = input.text([
            county.linked, county.unlinked, "registry", "ent:not-a-uuid", String(repeating: "s", count: 201),
        ])
        var body: [UInt8] = [0x46, 0x4C, 0x43, input.pick([1, 1, 1, 2])]
        body += key.publicKey.bytes
        let scopeBytes = Array(scope.utf8)
        body +=
            [UInt8(truncatingIfNeeded: scopeBytes.count >> 8), UInt8(truncatingIfNeeded: scopeBytes.count)] + scopeBytes
        body += BigEndian.bytes(input.number(near: 1))
        switch input.pick(3) {
        case 0: body += [UInt8](repeating: 0, count: 32)
        case 1: body += previous ?? [UInt8](repeating: 7, count: 32)
        default: body += (0..<32).map { _ in input.byte() }
        }
        let now = FuzzCounty.now
        // Each choice is read before any value it needs, so that a seed can be written in order.
        let timestamp: UInt64 =
            switch input.pick(4) {
            case 0: now << 16
            case 1: (now + 86_400_000) << 16
            case 2: UInt64(4_102_444_800_000) << 16
            default: input.number()
            }
        body += BigEndian.bytes(timestamp)
        let schema = county.schemaVersion
        let schemas: [UInt32] = [schema, schema + 1, schema + 9, 999, 0, .max]
        let choice = input.pick(schemas.count + 1)
        body += BigEndian.bytes(choice < schemas.count ? schemas[choice] : UInt32(truncatingIfNeeded: input.number()))
        body += BigEndian.bytes(input.number(near: county.registryHead))
        let count = 1 + input.pick(3)
        var changes: [[UInt8]] = []
        for _ in 0..<count { changes.append(change(&input, key: key)) }
        // Mostly in canonical order, so that the commit gets past the decoder.
        if input.pick(4) != 0 { changes.sort { $0.lexicographicallyPrecedes($1) } }
        body += BigEndian.bytes(input.pick([UInt32(count), UInt32(count), 0, 10_001, .max]))
        for change in changes { body += change }
        let id = BLAKE2b.hash256(body)
        var signature = key.sign(SignedCommit.signaturePrefix + id)
        if input.pick(8) == 0 { signature[Int(input.byte()) % signature.count] ^= 1 }
        return (BigEndian.bytes(UInt32(truncatingIfNeeded: body.count)) + body + signature, id)
    }

    /// 1 to `most` hostile commits, each naming the one before it as its predecessor.
    static func records(_ input: inout FuzzInput, county: FuzzCounty, most: Int) -> [[UInt8]] {
        var records: [[UInt8]] = []
        var previous: [UInt8]?
        for _ in 0..<(1 + input.pick(most)) {
            let made = make(&input, county: county, previous: previous)
            records.append(made.record)
            previous = made.id
        }
        return records
    }

    static func change(_ input: inout FuzzInput, key: SigningKey) -> [UInt8] {
        var out: [UInt8] = []
        let table = Array(input.text(tables).utf8)
        out += [UInt8(truncatingIfNeeded: table.count)] + table
        out += input.pick(3) < 2 ? input.pick(rows).bytes16 : (0..<16).map { _ in input.byte() }
        let column = Array(input.text(columns).utf8)
        out += [UInt8(truncatingIfNeeded: column.count)] + column
        switch input.pick(6) {
        case 0: out.append(0)
        case 1: out += [1] + BigEndian.bytes(input.number())
        case 2: out += [2] + BigEndian.bytes(input.pick([0.0, -0.0, 1.5, .infinity, .nan, 1e308]).bitPattern)
        case 3:
            let text = Array(input.text(texts + [key.publicKey.hex]).utf8)
            out += [3] + BigEndian.bytes(UInt32(text.count)) + text
        case 4:
            let blob = input.bytes(upTo: 40)
            out += [4] + BigEndian.bytes(UInt32(blob.count)) + blob
        default: out.append(input.byte())
        }
        let superseded = input.pick(3)
        out.append(UInt8(superseded))
        for _ in 0..<superseded { out += (0..<32).map { _ in input.byte() } }
        return out
    }
}

/// A request the fuzzer builds part by part: method, path, Host lines, a body framed for its path
/// with extreme values in it, and a signature made properly by a key it picks, with parameters it
/// picks (or made-up headers).
enum HostileRequest {
    static let paths = HubRoutes.sync + [HubRoutes.enroll, "/v1/sync/nothing", "/"]

    static func make(_ input: inout FuzzInput, county: FuzzCounty, port: Int) -> HubRequest {
        let method = input.pick(["POST", "POST", "POST", "GET", "PUT"])
        var path = input.text(paths)
        if input.pick(8) == 0 { path += "?x=1" }
        let own = "127.0.0.1:\(port)"
        let hosts = input.pick([
            [own], [own], [own], [], [own, "evil.example"], ["evil.example"], ["localhost:\(port)"],
            ["127.0.0.1:\(port + 1)"],
        ])
        let (type, body) = self.body(&input, path: path, county: county)
        var headers: [(name: String, value: String)] = [("Content-Type", type)]
        switch input.pick(4) {
        case 0: break
        case 1:
            headers += [
                ("Signature-Input", input.text(["device=()", "device=(\"@method\");created=1"])),
                ("Signature", input.text(["device=:AAAA:"])),
            ]
        default:
            headers += signature(
                &input,
                method: method,
                target: "http://" + (hosts.first ?? "") + path,
                type: type,
                body: body
            )
        }
        return HubRequest(method: method, target: path, hosts: hosts, headers: headers, body: body)
    }

    static func body(_ input: inout FuzzInput, path: String, county: FuzzCounty) -> (type: String, body: [UInt8]) {
        func heads() -> String {
            let count = input.pick(4)
            let entries = (0..<count).map { _ in
                let author = input.text([FuzzCounty.root.publicKey.hex, FuzzCounty.cadre.publicKey.hex, "AB", ""])
                let scope = input.text(["registry", county.linked, county.unlinked])
                return #"{"author":\#(json(author)),"scope":\#(json(scope)),"head":\#(input.number())}"#
            }
            return "[" + entries.joined(separator: ",") + "]"
        }
        func signed(_ value: UInt64) -> String { input.flag() ? String(Int64(bitPattern: value)) : String(value) }
        switch path {
        case "/v1/sync/summary":
            return (
                SyncWire.jsonType,
                Array(#"{"digest":\#(json(input.text(["", "00"]))),"version":\#(signed(input.number()))}"#.utf8)
            )
        case "/v1/sync/heads":
            return (
                SyncWire.jsonType, Array(#"{"heads":\#(heads()),"scopes":["registry",\#(json(county.linked))]}"#.utf8)
            )
        case "/v1/sync/pull":
            return (
                SyncWire.jsonType,
                Array(
                    #"{"after":\#(heads()),"maxBytes":\#(signed(input.number())),"maxCommits":\#(signed(input.number()))}"#
                        .utf8
                )
            )
        case "/v1/sync/push":
            let records = HostileCommit.records(&input, county: county, most: 3)
            return (SyncWire.batchType, SyncWire.batch(records, more: input.flag()))
        case "/v1/sync/digests":
            return (SyncWire.jsonType, Array(#"["registry",\#(json(county.linked)),\#(json(input.text([])))]"#.utf8))
        case "/v1/enroll":
            return (
                SyncWire.jsonType,
                Array(#"{"code":\#(json(input.text(["AAAA-BBBB-CCCC"]))),"label":\#(json(input.text(["x"])))}"#.utf8)
            )
        default: return (input.pick([SyncWire.jsonType, SyncWire.batchType, "text/plain"]), input.bytes(upTo: 200))
        }
    }

    /// Headers signed properly, by a key and with parameters the input picks.
    static func signature(
        _ input: inout FuzzInput,
        method: String,
        target: String,
        type: String,
        body: [UInt8]
    ) -> [(name: String, value: String)] {
        let key = input.pick([FuzzCounty.cadre, FuzzCounty.department, FuzzCounty.stranger, FuzzCounty.root])
        let label = input.pick(["device", "device", "device", "sig"])
        let now = Int64(FuzzCounty.now / 1000)
        let created: Int64 =
            switch input.pick(5) {
            case 0, 1: now
            case 2: now - 1000
            case 3: now + 1000
            default: Int64(bitPattern: input.number())
            }
        let expires: Int64 =
            switch input.pick(6) {
            case 0, 1: created &+ 300
            case 2: created &+ 301
            case 3: created &+ 3600
            case 4: created &- 1
            default: Int64(bitPattern: input.number())
            }
        let nonce: [UInt8] =
            switch input.pick(4) {
            case 0, 1: (0..<16).map { _ in input.byte() }
            case 2: [UInt8](repeating: 0x41, count: 60)
            default: input.bytes(upTo: 20)
            }
        var parameters: StructuredField.Parameters = [
            ("created", .integer(created)), ("expires", .integer(expires)),
            ("nonce", .string(Data(nonce).base64EncodedString())),
            ("keyid", .string(key.publicKey.hex)),
        ]
        switch input.pick(4) {
        case 0: break
        case 1: parameters.append(("alg", .string("hs2019")))
        default: parameters.append(("alg", .string("ed25519")))
        }
        parameters.append(("tag", .string(input.pick([SyncSigning.tag, SyncSigning.tag, "other"]))))
        let digest = input.pick(5) == 0 ? ContentDigest.header(for: body + [0]) : ContentDigest.header(for: body)
        let message = SignedMessage(
            method: method,
            targetURI: target,
            headers: [("Content-Type", type), ("Content-Digest", digest)]
        )
        let signatureInput = SignatureInput(
            label: label,
            components: SyncSigning.requestComponents,
            parameters: parameters
        )
        guard let signed = try? HTTPSignature.sign(message, input: signatureInput, key: key) else {
            return [("Content-Digest", digest)]
        }
        return [
            ("Content-Digest", digest), ("Signature-Input", signed.signatureInput), ("Signature", signed.signature),
        ]
    }

    static func json(_ text: String) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: [text]),
            let array = String(data: data, encoding: .utf8)
        else { return "\"\"" }
        return String(array.dropFirst().dropLast())
    }
}
