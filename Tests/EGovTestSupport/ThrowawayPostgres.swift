import Foundation

/// A PostgreSQL cluster of one test's own, on a free loopback port, that the test may stop,
/// start and kill (the shared test server stays untouched). Uses Debian's binaries, as
/// scripts/postgres.sh does; as root the cluster belongs to the postgres user.
public final class ThrowawayPostgres: Sendable {
    public let directory: String
    public let port: Int
    let bin: String

    /// Whether the PostgreSQL server binaries are installed.
    public static var binaries: String? {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let newest = versions.sorted(by: { $0.compare($1, options: .numeric) == .orderedAscending }).last else {
            return nil
        }
        let bin = "/usr/lib/postgresql/\(newest)/bin"
        return FileManager.default.isExecutableFile(atPath: "\(bin)/initdb") ? bin : nil
    }

    /// `postgres://` URL of the cluster's `postgres` database.
    public var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres?tlsmode=disable" }

    public init() throws {
        guard let bin = Self.binaries else {
            throw TestFailure("PostgreSQL is not installed (scripts/test installs it)")
        }
        self.bin = bin
        directory = temporaryDirectory("pg")
        port = freeLoopbackPort()
        if getuid() == 0 { try Self.run("/bin/chown", ["postgres:postgres", directory]) }
        try asOwner(
            "\(bin)/initdb",
            ["-D", "\(directory)/data", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"])
        try start()
    }

    public func start() throws {
        try asOwner(
            "\(bin)/pg_ctl",
            [
                "-D", "\(directory)/data", "-l", "\(directory)/server.log", "-w", "-o",
                "-p \(port) -c listen_addresses=127.0.0.1 -k \(directory) -c fsync=on", "start",
            ])
    }

    /// Stops the server: `immediate` is a crash (no checkpoint, connections dropped).
    public func stop(immediate: Bool = false) throws {
        try asOwner("\(bin)/pg_ctl", ["-D", "\(directory)/data", "-m", immediate ? "immediate" : "fast", "-w", "stop"])
    }

    public func destroy() {
        try? stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func asOwner(_ program: String, _ arguments: [String]) throws {
        if getuid() == 0 {
            try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", program] + arguments)
        } else {
            try Self.run(program, arguments)
        }
    }

    /// Runs `program` and waits for it with posix_spawn and waitpid: Foundation's `Process`
    /// was seen to miss the exit of `runuser` (left a zombie) and wait for ever.
    static func run(_ program: String, _ arguments: [String]) throws {
        let log = NSTemporaryDirectory() + "egov-pg-command-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard spawned == 0 else { throw TestFailure("cannot run \(program): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // Exited normally with status 0.
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
            let message = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw TestFailure("\(program) \(arguments.joined(separator: " ")) failed (\(status)): \(message)")
        }
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
