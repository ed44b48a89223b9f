import FieldCrypto
import FieldHub
import FieldLedger
import FieldStore
import FieldSync
import Foundation

/// What the fuzz targets (`fuzz/`) and the corpus replay (`FieldFuzzingTests`) run on every input:
/// each decoder either refuses the bytes with its own error or returns a value that survives its
/// encoder unchanged. A crash, a hang or a violated `precondition` is a finding.
public enum FuzzChecks {
    /// The names of the targets, as in `fuzz/corpus/<name>/`: the decoders', then two that reach
    /// past them (structure-aware: the input is read as the fields of a well-framed commit or request).
    public static let targets = ["commit", "bundle", "signature", "sync-request", "integration", "hub"]

    /// Runs the check of `target` on `input` (libFuzzer's callback: it blocks for the hub's answer).
    public static func run(_ target: String, _ input: [UInt8]) {
        if target == "hub" {
            let done = DispatchSemaphore(value: 0)
            Task {
                await hub(input)
                done.signal()
            }
            done.wait()
            return
        }
        switch target {
        case "commit": commit(input)
        case "bundle": bundle(input)
        case "signature": signature(input)
        case "sync-request": syncRequest(input)
        case "integration": integration(input)
        default: preconditionFailure("no fuzz target named \(target)")
        }
    }

    /// Runs the check of `target` on `input` from async code (the corpus replay in the tests).
    public static func check(_ target: String, _ input: [UInt8]) async {
        if target == "hub" { await hub(input) } else { run(target, input) }
    }

    /// Hostile commits (`HostileCommit`: any author, scope, sequence, timestamp, schema, registry
    /// sequence and changes, extreme values most of all) taken into the hub's replica or a cadre's,
    /// as a bundle import or a sync would: no trap, and nothing stored of an author never enrolled.
    public static func integration(_ input: [UInt8]) {
        let county = FuzzCounty.current()
        let (records, onHub) = integrationInput(input, county: county)
        let ledger = onHub ? county.hub : county.laptop
        _ = try? ledger.replica.importRecords(records, keepsRefused: !onHub)
        if let stranger = county.strangerStored(in: ledger) {
            preconditionFailure("a commit by an author never enrolled is stored: \(stranger)")
        }
    }

    /// The records an `integration` input makes, and the replica it is for (the hub, or a laptop).
    static func integrationInput(_ input: [UInt8], county: FuzzCounty) -> (records: [[UInt8]], onHub: Bool) {
        var reader = FuzzInput(input)
        let records = HostileCommit.records(&reader, county: county, most: 4)
        return (records, reader.flag())
    }

    /// A hostile request (`HostileRequest`: any method, path, Host lines, framed body with extreme
    /// values, and a real signature with parameters of the input's choosing) answered by the hub's
    /// handler or a laptop's `fieldlog serve`: never a 500, every answer signed, nothing stored of
    /// an author never enrolled.
    public static func hub(_ input: [UInt8]) async {
        var reader = FuzzInput(input)
        let county = FuzzCounty.current()
        let onPeer = reader.flag()
        let request = HostileRequest.make(
            &reader,
            county: county,
            port: onPeer ? FuzzCounty.peerPort : FuzzCounty.hubPort
        )
        let answer = await (onPeer ? county.peerHandler : county.hubHandler).answer(request)
        precondition(
            answer.status < 500 || answer.status == 503,
            "the server answered \(answer.status) (\(answer.outcome)) to bad input"
        )
        precondition(answer.headers.contains { $0.name == "Signature" }, "an answer is not signed")
        if let stranger = county.strangerStored(in: onPeer ? county.laptop : county.hub) {
            preconditionFailure("a commit by an author never enrolled is stored: \(stranger)")
        }
    }

    /// A wire record (length, body, signature): decoded, verified, and a body that decodes
    /// re-encodes to the same bytes (every commit has exactly one encoding).
    public static func commit(_ input: [UInt8]) {
        if let signed = try? WireRecord.decode(input) {
            precondition(signed.wire == input, "a decoded wire record re-encodes to other bytes")
        }
        if let commit = try? CommitCodec.decode(input) {
            precondition((try? CommitCodec.encode(commit)) == input, "a decoded commit body re-encodes to other bytes")
        }
    }

    /// A bundle file: checked (magic, end marker, count, hash), then every record decoded. A
    /// fuzzer cannot forge the BLAKE2b hash at the end, so the input is also read with its hash
    /// recomputed: that reaches the record reader behind the check.
    public static func bundle(_ input: [UInt8]) {
        readBundle(input)
        if input.count >= 8 + 44 {
            var repaired = Array(input.dropLast(32))
            repaired += BLAKE2b.hash256(repaired)
            readBundle(repaired)
        }
    }

    static func readBundle(_ input: [UInt8]) {
        guard let records = try? CommitBundle.Records(data: Data(input)) else { return }
        var seen = 0
        for record in records {
            _ = try? WireRecord.decode(record)
            seen += 1
            if seen > 100_000 { break }
        }
    }

    /// `Signature-Input` and `Signature` values: the input is the two header values separated by a
    /// newline. Parsed, then (when parsed) the signature base is built and verification runs.
    public static func signature(_ input: [UInt8]) {
        let text = String(decoding: input, as: UTF8.self)
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let signatureInput = String(parts[0])
        let signatureValue = parts.count > 1 ? String(parts[1]) : ""
        _ = try? StructuredField.parseDictionary(signatureInput)
        _ = try? StructuredField.parseDictionary(signatureValue)
        guard let parsed = try? HTTPSignature.parse(signatureInput: signatureInput, signature: signatureValue) else {
            return
        }
        let message = SignedMessage(
            method: "POST",
            targetURI: "http://127.0.0.1:8080/v1/sync/summary",
            headers: [
                ("Content-Type", "application/json"),
                ("Content-Digest", "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"),
            ]
        )
        _ = try? HTTPSignature.signatureBase(parsed.input, message: message, request: message)
    }

    /// A sync request: the first byte picks the path, the rest is the body. A request that
    /// decodes is encoded again and decodes to the same request.
    public static func syncRequest(_ input: [UInt8]) {
        guard let first = input.first else { return }
        let paths = ["summary", "heads", "pull", "push", "digests", "nonsense"]
        let path = "/v1/sync/" + paths[Int(first) % paths.count]
        guard let request = try? SyncWire.decodeRequest(path: path, body: Array(input.dropFirst())) else { return }
        guard let encoded = try? SyncWire.encode(request) else {
            preconditionFailure("a decoded sync request does not encode")
        }
        let again = try? SyncWire.decodeRequest(path: path, body: encoded.body)
        precondition(again == request, "a sync request does not survive encoding")
    }
}
