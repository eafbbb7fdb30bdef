public import EGovKit
public import EGovStore
import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
import Logging

/// Certificates for tests: a dev CA with one certificate per process plus `tester` (a
/// platform tool) and a second, untrusted CA with a certificate of the same names.
public enum TestPKI {
    public static let directory: String = {
        let path = NSTemporaryDirectory() + "egov-test-pki-\(ProcessInfo.processInfo.processIdentifier)"
        _ = try? DevPKI(directory: path).ensure([
            "identity", "documents", "procedures", "conferences", "gateway", "tester",
        ])
        _ = try? DevPKI(directory: path + "/rogue").ensure(["tester"])
        return path
    }()

    public static func files(_ process: String) -> TLSFiles { DevPKI(directory: directory).files(for: process) }

    /// A certificate with the right name from a CA the platform does not trust.
    public static var rogue: TLSFiles { DevPKI(directory: directory + "/rogue").files(for: "tester") }
}

/// A fresh, empty directory under the system's temporary directory.
public func temporaryDirectory(_ label: String) -> String {
    let path = NSTemporaryDirectory() + "egov-\(label)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The database engines the store suites run on. PostgreSQL joins when
/// `EGOV_TEST_POSTGRES_URL` names a server; when `EGOV_REQUIRE_POSTGRES=1` (the test command,
/// CI) and it does not, the suites fail rather than skip.
public enum TestDatabases {
    public static var engines: [Engine] {
        let environment = ProcessInfo.processInfo.environment
        if environment["EGOV_TEST_POSTGRES_URL"] != nil { return [.sqlite, .postgres] }
        if environment["EGOV_REQUIRE_POSTGRES"] == "1" {
            fatalError("EGOV_REQUIRE_POSTGRES=1 but EGOV_TEST_POSTGRES_URL is not set: run the tests with scripts/test")
        }
        return [.sqlite]
    }

    /// A new empty database on `engine`: a new SQLite file, or a new PostgreSQL database on
    /// the test server.
    public static func makeURL(_ engine: Engine) async throws -> String {
        switch engine {
        case .sqlite:
            return "sqlite://\(temporaryDirectory("db"))/test.sqlite"
        case .postgres:
            let admin = ProcessInfo.processInfo.environment["EGOV_TEST_POSTGRES_URL"]!
            let name = "egov_test_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
            let store = try Store(url: admin, logger: Logger(label: "test"), poolSize: 1)
            try await store.read { try await $0.execute("CREATE DATABASE \(unsafeRaw: name)") }
            await store.close()
            guard var components = URLComponents(string: admin) else { throw StoreError("bad admin URL") }
            components.path = "/\(name)"
            return components.string!
        }
    }

    /// Opens a new empty store on `engine` with `migrations` applied.
    public static func makeStore(
        _ engine: Engine, migrations: [Migration] = [], clock: WallClock = .system
    ) async throws -> Store {
        let store = try Store(url: try await makeURL(engine), logger: Logger(label: "test"), clock: clock)
        try await store.migrate(migrations)
        return store
    }
}

/// Serves `services` on a real loopback port with TLS (mutual unless `security` says
/// otherwise) and the standard interceptors, and runs `body` with the bound port.
@discardableResult
public func withTestServer<Result: Sendable>(
    process: String = "identity",
    security: PortSecurity = .mutualTLS,
    services: [any RegistrableRPCService],
    limits: ServerLimits = ServerLimits(),
    telemetry: Telemetry = Telemetry(),
    verifier: TokenVerifier? = nil,
    interceptors: [any ServerInterceptor] = [],
    _ body: (Int) async throws -> Result
) async throws -> Result {
    let server = GRPCServer(
        transport: HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: 0),
            transportSecurity: .egov(security, files: TestPKI.files(process)),
            config: .egov(limits, minimumTLS: .tls13, domain: "\(process).egov")
        ),
        services: services,
        interceptors: standardInterceptors(
            security: security, telemetry: telemetry, logger: Logger(label: "test.\(process)"),
            domain: "\(process).egov",
            verifier: verifier, extra: interceptors)
    )
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        guard let address = try await server.listeningAddress?.ipv4 else {
            throw RPCError(code: .internalError, message: "server did not bind")
        }
        do {
            let result = try await body(address.port)
            server.beginGracefulShutdown()
            try await group.waitForAll()
            return result
        } catch {
            server.beginGracefulShutdown()
            try? await group.waitForAll()
            throw error
        }
    }
}

/// A client over mutual TLS presenting `as`'s certificate (or `files`), running for `body`.
@discardableResult
public func withTestClient<Result: Sendable>(
    port: Int, as process: String = "tester", files: TLSFiles? = nil,
    _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Result
) async throws -> Result {
    let client = try makePeerClient(
        PeerEndpoint(name: "test", target: "127.0.0.1:\(port)")!, tls: files ?? TestPKI.files(process))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.runConnections() }
        defer { client.beginGracefulShutdown() }
        return try await body(client)
    }
}

/// A client of the public port: server TLS with the dev CA, no client certificate.
@discardableResult
public func withPublicClient<Result: Sendable>(
    port: Int, _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Result
) async throws -> Result {
    let transport = try HTTP2ClientTransport.Posix(
        target: .ipv4(address: "127.0.0.1", port: port),
        transportSecurity: .tls {
            $0.trustRoots = .certificates([.file(path: TestPKI.files("gateway").caCertificate, format: .pem)])
        }
    )
    let client = GRPCClient(transport: transport)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.runConnections() }
        defer { client.beginGracefulShutdown() }
        return try await body(client)
    }
}

/// A new store on `engine`, closed when `body` ends however it ends.
@discardableResult
public func withStore<Result: Sendable>(
    _ engine: Engine = .sqlite, migrations: [Migration], clock: WallClock = .system,
    _ body: (Store) async throws -> Result
) async throws -> Result {
    let store = try await TestDatabases.makeStore(engine, migrations: migrations, clock: clock)
    do {
        let result = try await body(store)
        await store.close()
        return result
    } catch {
        await store.close()
        throw error
    }
}
