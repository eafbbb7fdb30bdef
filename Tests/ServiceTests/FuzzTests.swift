import EGovFuzzTargets
import Foundation
import Testing

/// A short run of every fuzz target: the inputs that once crashed a target (Tests/Fuzz/corpus),
/// the seeds, then seeded mutations for a few seconds each. `scripts/fuzz` runs them for long,
/// in worker processes that keep any crashing input. A crash here crashes the test run.
@Suite struct FuzzTests {
    static let corpusDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus").path

    @Test func everyParserOfOutsideInputSurvivesMutatedInput() throws {
        let seconds = Double(ProcessInfo.processInfo.environment["EGOV_FUZZ_SECONDS"] ?? "") ?? 4
        var report: [String] = []
        for target in try FuzzTargets.all() {
            let kept = corpus(in: Self.corpusDirectory, target: target.name)
            let count = fuzz(target, corpus: kept, seed: 20_261_203, until: .now + .milliseconds(Int(seconds * 1000)))
            #expect(count >= kept.count + target.seeds.count)
            report.append("\(target.name) \(count)")
        }
        print("fuzzed: \(report.joined(separator: ", "))")
    }
}
