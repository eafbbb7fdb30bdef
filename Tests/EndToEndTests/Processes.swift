import EGovKit
import EGovTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// One of the platform's executables, started for real from the build folder.
final class PlatformProcess: @unchecked Sendable {
    static let binaries = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug")

    let name: String
    let process = Process()
    let output: URL
    let grpcPort: Int
    let adminPort: Int

    /// Runs a subcommand of an executable (no ports).
    static func command(_ name: String, _ arguments: [String]) throws -> PlatformProcess {
        try PlatformProcess(name, dataDirectory: NSTemporaryDirectory(), arguments: arguments)
    }

    init(_ name: String, dataDirectory: String, arguments: [String]) throws {
        self.name = name
        self.grpcPort = 0
        self.adminPort = 0
        output = URL(fileURLWithPath: "\(dataDirectory)/\(name)-\(UUID().uuidString.prefix(6)).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = Self.binaries.appendingPathComponent("egov-\(name)")
        process.arguments = arguments
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    init(
        _ name: String, dataDirectory: String, grpcPort: Int = freeLoopbackPort(), adminPort: Int = freeLoopbackPort(),
        flags: [String] = []
    ) throws {
        self.name = name
        self.grpcPort = grpcPort
        self.adminPort = adminPort
        output = URL(fileURLWithPath: "\(dataDirectory)/\(name)-\(UUID().uuidString.prefix(6)).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = Self.binaries.appendingPathComponent("egov-\(name)")
        // The machine running the tests is busy: calls between the processes get a deadline that
        // only catches a hang, not the 5 s a deployment uses.
        process.arguments =
            [
                "--data_dir", dataDirectory, "--listen.port", "\(grpcPort)", "--admin.port", "\(adminPort)",
                "--rpc.default_deadline_ms", "60000",
            ] + flags
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    /// Starts `name` and waits until it serves. The ports are picked free just before, and
    /// another test may take one in between: a start that exits is tried again on new ports.
    static func started(_ name: String, dataDirectory: String, flags: [String] = []) async throws -> PlatformProcess {
        var attempt = 0
        while true {
            attempt += 1
            let process = try PlatformProcess(name, dataDirectory: dataDirectory, flags: flags)
            do {
                try await process.waitUntilServing()
                return process
            } catch {
                // Still running means it never served: no new port helps that.
                let exited = !process.process.isRunning
                _ = await process.stop()
                if attempt == 3 || !exited { throw error }
            }
        }
    }

    /// Waits until `/healthz` answers 200.
    func waitUntilServing(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !process.isRunning { throw EndToEndError("\(name) exited: \(log)") }
            if (try? await httpStatus("/healthz")) == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw EndToEndError("\(name) did not start serving: \(log)")
    }

    func httpStatus(_ path: String) async throws -> Int {
        let (_, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(adminPort)\(path)")!)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }

    func httpBody(_ path: String) async throws -> String {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(adminPort)\(path)")!)
        return String(decoding: data, as: UTF8.self)
    }

    /// Sends SIGTERM and returns the exit status.
    @discardableResult
    func stop() async -> Int32 {
        if process.isRunning { process.terminate() }
        return await exitStatus()
    }

    func exitStatus() async -> Int32 {
        let process = self.process
        return await Task.detached {
            process.waitUntilExit(); return process.terminationStatus
        }.value
    }

    deinit { if process.isRunning { process.terminate() } }
}

struct EndToEndError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func temporaryDataDirectory() -> String {
    let path = NSTemporaryDirectory() + "egov-e2e-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
