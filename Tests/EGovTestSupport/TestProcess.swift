public import EGovKit
public import EGovStore
import Foundation
import GRPCCore
import Logging
import ServiceLifecycle

/// A process running inside the test, assembled by the same `EGovProcess.assemble` and the
/// same build function as the shipped executable.
public struct TestProcess: Sendable {
    /// The gRPC port it listens on (loopback).
    public let port: Int
    /// What its build function made: its services, for tests that drive a timer by hand.
    public let parts: ProcessParts
    /// The database it was given, for tests that look at what was stored.
    public let databaseURL: String
    /// Its data directory (files, keys).
    public let dataDirectory: String
}

/// Runs the process `name` (its `keys` and `build`) on loopback for `body`: a new data
/// directory, a new database on `engine`, the test PKI's certificate for `name`, ports chosen
/// by the system, and `arguments` on top, as an operator would pass them. Peer calls get a
/// one-minute default deadline: long enough never to fail on a busy machine, short enough to
/// catch a hang.
public func withProcess<Result: Sendable>(
    _ name: String, keys: [ConfigKey], security: PortSecurity = .mutualTLS, engine: Engine = .sqlite,
    arguments: [String] = [], verifier: TokenVerifier = TokenVerifier(), clock: WallClock = .system,
    build: @escaping @Sendable (ProcessEnvironment) async throws -> ProcessParts,
    _ body: (TestProcess) async throws -> Result
) async throws -> Result {
    let tls = TestPKI.files(name)
    let hasDatabase = keys.contains { $0.name == "database.url" }
    let databaseURL = hasDatabase ? try await TestDatabases.makeURL(engine) : ""
    let dataDirectory = temporaryDirectory(name)
    let defaults = [
        "--data_dir=\(dataDirectory)", "--listen.port=0", "--admin.port=0", "--tls.dev_pki=false",
        "--tls.ca=\(tls.caCertificate)", "--tls.cert=\(tls.certificate)", "--tls.key=\(tls.privateKey)",
        "--rpc.default_deadline_ms=60000", "--shutdown.grace_seconds=5",
    ]
    let configuration = try Configuration.load(
        keys: keys, arguments: defaults + (hasDatabase ? ["--database.url=\(databaseURL)"] : []) + arguments,
        environment: [:])
    // Warnings and worse: a suite's worth of per-RPC lines would bury a failure.
    var logger = Logger(label: "test.\(name)")
    logger.logLevel = .warning
    let environment = ProcessEnvironment(
        settings: try ProcessSettings(name: name, config: configuration), configuration: configuration,
        logger: logger, verifier: verifier, clock: clock)
    // No cancellation limit: ServiceLifecycle's fatalError on a slow shutdown of a busy
    // machine would end the whole test run; a real hang is caught by the test's deadline.
    let process = try await EGovProcess.assemble(
        name: name, security: security, environment: environment, cancellationLimit: nil, build: build)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await process.group.run() }
        func stop() async {
            await process.group.triggerGracefulShutdown()
            try? await group.waitForAll()
            await process.parts.shutdown()
        }
        do {
            guard let address = try await process.server.listeningAddress?.ipv4 else {
                throw RPCError(code: .internalError, message: "\(name) did not bind")
            }
            let result = try await body(
                TestProcess(
                    port: address.port, parts: process.parts,
                    databaseURL: hasDatabase ? configuration.string("database.url") : "",
                    dataDirectory: configuration.string("data_dir")))
            await stop()
            return result
        } catch {
            await stop()
            throw error
        }
    }
}
