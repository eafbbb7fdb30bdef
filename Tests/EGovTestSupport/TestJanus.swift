import Foundation
import NIOCore
import NIOPosix

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real Janus WebRTC Server (Debian's `janus`, which scripts/test installs) on loopback for
/// one test, configured by scripts/janus/configure: its HTTP API, and its events posted to
/// `eventsPort`, where the conferences process under test listens.
public struct TestJanus: Sendable {
    /// The HTTP API, `http://127.0.0.1:PORT/janus`.
    public let url: String
    /// Where Janus posts its events.
    public let eventsPort: Int
    /// The folder with its configuration and secrets (`token_secret`, `admin_key`, `events_password`).
    public let directory: String

    /// The arguments that connect an egov-conferences process to it.
    public var conferencesArguments: [String] {
        [
            "--janus.url=\(url)", "--janus.admin_key_file=\(directory)/admin_key",
            "--janus.token_secret_file=\(directory)/token_secret",
            "--janus.events_password_file=\(directory)/events_password", "--janus.events_port=\(eventsPort)",
        ]
    }

    /// A secret of its configuration, e.g. `token_secret`.
    public func secret(_ name: String) throws -> String {
        try String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
    }
}

/// Runs `body` with a Janus of its own, stopped afterwards.
public func withJanus<Result: Sendable>(_ body: (TestJanus) async throws -> Result) async throws -> Result {
    guard let janus = ["/usr/bin/janus", "/usr/local/bin/janus"].first(where: FileManager.default.isExecutableFile)
    else {
        throw JanusMissing()
    }
    // Ports are chosen free, then released for Janus to take: on a busy machine another
    // process may take one first, so a Janus that cannot bind is started again on others.
    for attempt in 1...5 {
        let directory = temporaryDirectory("janus")
        let (httpPort, eventsPort) = (try await freePort(), try await freePort())
        let configure = Process()
        configure.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        configure.arguments = [
            "bash", repositoryRoot + "/scripts/janus/configure", directory, "\(httpPort)", "\(eventsPort)",
        ]
        try configure.run()
        configure.waitUntilExit()
        guard configure.terminationStatus == 0 else { throw JanusMissing(reason: "scripts/janus/configure failed") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: janus)
        process.arguments = ["-C", "\(directory)/janus.jcfg", "-F", directory]
        // Its own folder as working directory: should it dump core, the dump lands there.
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        FileManager.default.createFile(atPath: "\(directory)/janus.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(directory)/janus.log"))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        defer {
            // Janus's graceful stop can wait on its event handler's retries to a listener that
            // is gone: ask, then insist.
            process.interrupt()
            for _ in 0..<20 where process.isRunning { usleep(100_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            try? log.close()
        }
        let url = "http://127.0.0.1:\(httpPort)/janus"
        // Up when its API answers (a second on an idle machine; generous for a busy one).
        var up = false
        for _ in 0..<300 where process.isRunning {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "\(url)/info")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                up = true
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard up else {
            if attempt < 5 && !process.isRunning { continue }
            throw JanusMissing(reason: "janus did not start; see \(directory)/janus.log")
        }
        return try await body(TestJanus(url: url, eventsPort: eventsPort, directory: directory))
    }
    throw JanusMissing(reason: "janus did not start")
}

public struct JanusMissing: Error, CustomStringConvertible {
    public var reason = "janus is not installed: scripts/test installs Debian's janus"
    public var description: String { reason }
}

/// A loopback port nobody listens on now (the system's choice, released at once).
func freePort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 0
    try await channel.close()
    return port
}

/// The package's root folder (where scripts/ is), from this file's place in it.
let repositoryRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
