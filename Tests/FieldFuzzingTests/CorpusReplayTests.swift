import FieldFuzzing
import Foundation
import Testing

/// Every input in `fuzz/corpus/<target>/` (the seeds, and whatever the fuzzers kept or found) runs
/// through the same check as the libFuzzer target, in every `make test`. An input that once
/// crashed a decoder stays in the corpus, so this is also the regression test of every crash.
@Suite struct CorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz/corpus")

    @Test(arguments: FuzzChecks.targets)
    func replay(target: String) throws {
        let folder = Self.corpus.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names.count >= 3, "the \(target) corpus has its seeds")
        for name in names {
            let input = [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
            FuzzChecks.run(target, input)
        }
    }
}
