import ArgumentParser
import Crypto
import EGovFuzzTargets
import Foundation

/// `egov-fuzz`: runs the fuzz targets for a while and reports the inputs tried and the
/// crashes found. Each target runs in a worker process that records the input it is about to
/// run; when a worker dies, its last input is saved to the corpus (a crash to keep fixed) and
/// a new worker goes on with the time left.
@main
struct EGovFuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egov-fuzz",
        abstract: "Fuzzes every parser of outside input and reports inputs tried and crashes found.")

    @Option(help: "Seconds to fuzz each target.") var seconds: Double = 10
    @Option(help: "Seed of the first worker (each restart adds one).") var seed: UInt64 = 1
    @Option(help: "Where inputs that crashed are kept, one folder per target.") var corpus = "Tests/Fuzz/corpus"
    @Option(help: .hidden) var worker: String?
    @Option(help: .hidden) var last: String?
    @Argument(help: "Targets to run (default: all).") var targets: [String] = []

    func run() throws {
        let all = try FuzzTargets.all()
        if let worker {
            guard let target = all.first(where: { $0.name == worker }), let last else { throw ExitCode(2) }
            let handle = open(last, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            let count = fuzz(
                target, corpus: EGovFuzzTargets.corpus(in: self.corpus, target: target.name), seed: seed,
                until: .now + .milliseconds(Int(seconds * 1000))
            ) { input in
                ftruncate(handle, 0)
                _ = input.withUnsafeBytes { pwrite(handle, $0.baseAddress, $0.count, 0) }
            }
            print("inputs \(count)")
            return
        }
        let chosen = targets.isEmpty ? all.map(\.name) : targets
        var totalInputs = 0
        var totalCrashes = 0
        for name in chosen {
            guard all.contains(where: { $0.name == name }) else {
                throw ValidationError("no target \(name); targets: \(all.map(\.name).joined(separator: ", "))")
            }
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            var inputs = 0
            var crashes = 0
            var workerSeed = seed
            var seen: Set<String> = []
            while ContinuousClock.now < deadline {
                let left = Double((deadline - ContinuousClock.now).components.seconds) + 0.001
                let lastFile = NSTemporaryDirectory() + "egov-fuzz-\(name)-\(getpid()).last"
                let process = Process()
                process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
                process.arguments = [
                    "--worker", name, "--last", lastFile, "--seconds", String(max(left, 0.5)), "--seed",
                    String(workerSeed),
                    "--corpus", corpus,
                ]
                let output = Pipe()
                process.standardOutput = output
                try process.run()
                let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                if process.terminationReason == .uncaughtSignal || process.terminationStatus != 0 {
                    crashes += 1
                    let input = FileManager.default.contents(atPath: lastFile) ?? Data()
                    let id = SHA256.hash(data: input).prefix(8).map { String(format: "%02x", $0) }.joined()
                    try FileManager.default.createDirectory(
                        atPath: "\(corpus)/\(name)", withIntermediateDirectories: true)
                    FileManager.default.createFile(atPath: "\(corpus)/\(name)/crash-\(id)", contents: input)
                    print(
                        "\(name): CRASH (signal or status \(process.terminationStatus)); input saved as \(corpus)/\(name)/crash-\(id)"
                    )
                    // The corpus runs first in each worker: the same crash again means it is still there.
                    if !seen.insert(id).inserted { break }
                } else if let line = printed.split(separator: "\n").last(where: { $0.hasPrefix("inputs ") }) {
                    inputs += Int(line.dropFirst("inputs ".count)) ?? 0
                }
                try? FileManager.default.removeItem(atPath: lastFile)
                workerSeed += 1
            }
            print("\(name): \(inputs) inputs, \(crashes) crashes")
            totalInputs += inputs
            totalCrashes += crashes
        }
        print("fuzzed \(chosen.count) targets: \(totalInputs) inputs, \(totalCrashes) crashes")
        if totalCrashes > 0 { throw ExitCode(1) }
    }
}
