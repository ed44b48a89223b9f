import FieldHub
import FieldLedger
import FieldStore
import Foundation
import Testing

@testable import FieldFuzzing

/// Every input in `fuzz/corpus/<target>/` (the seeds, and whatever the fuzzers kept or found) runs
/// through the same check as the libFuzzer target, in every `make test`. An input that once
/// crashed a decoder stays in the corpus, so this is also the regression test of every crash.
@Suite struct CorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("fuzz/corpus")

    @Test(arguments: FuzzChecks.targets)
    func replay(target: String) async throws {
        let folder = Self.corpus.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names.count >= 3, "the \(target) corpus has its seeds")
        for name in names {
            let input = [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
            await FuzzChecks.check(target, input)
        }
    }

    /// The independent review's inputs (`FuzzSeeds.review`) are in the corpora, byte for byte, so
    /// that every run replays them. `FIELDLOG_WRITE_SEEDS=1` writes them (after a change to how
    /// the hostile inputs are read).
    @Test func theReviewsInputsAreInTheCorpora() throws {
        let write = ProcessInfo.processInfo.environment["FIELDLOG_WRITE_SEEDS"] == "1"
        for seed in FuzzSeeds.review {
            let file = Self.corpus.appendingPathComponent(seed.target).appendingPathComponent(seed.name)
            if write {
                try FileManager.default.createDirectory(
                    at: file.deletingLastPathComponent(),
                    withIntermediateDirectories: true
                )
                try Data(seed.bytes).write(to: file)
            }
            let stored = FileManager.default.contents(atPath: file.path).map { [UInt8]($0) }
            #expect(
                stored == seed.bytes,
                "fuzz/corpus/\(seed.target)/\(seed.name) is as FuzzSeeds writes it (FIELDLOG_WRITE_SEEDS=1 rewrites it)"
            )
        }
    }

    /// Each of the review's inputs, read as the fuzzer reads it, is what the review sent, and is
    /// refused as it must be now (a county of its own for each, so no nonce is seen twice).
    @Test func theReviewsInputsAreRefusedAsTheyMustBe() async throws {
        for seed in FuzzSeeds.review {
            let county = try FuzzCounty()
            var input = FuzzInput(seed.bytes)
            let outcome: String
            if seed.target == "hub" {
                let onPeer = input.flag()
                let request = HostileRequest.make(
                    &input,
                    county: county,
                    port: onPeer ? FuzzCounty.peerPort : FuzzCounty.hubPort
                )
                outcome = await (onPeer ? county.peerHandler : county.hubHandler).answer(request).outcome
                #expect(input.offset <= seed.bytes.count, "\(seed.name) is read whole, not past its end")
            } else {
                let (records, onHub) = FuzzChecks.integrationInput(seed.bytes, county: county)
                let ledger = onHub ? county.hub : county.laptop
                let report = try ledger.replica.importRecords(records, keepsRefused: !onHub)
                outcome = Set(report.refused.map(\.code.rawValue)).sorted().joined(separator: ",")
                #expect(county.strangerStored(in: ledger) == nil, "\(seed.name)")
            }
            #expect(outcome == seed.expected, "\(seed.name)")
        }
    }
}
