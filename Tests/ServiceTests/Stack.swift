import ConferencesService
import DocumentsService
import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GatewayService
import IdentityService
import Testing

@testable import ProceduresService

/// The whole platform for one test: the four services and the gateway, each assembled by
/// its own build function as the executables are, on loopback over mutual TLS, each with
/// its own data directory and store.
struct Stack {
    var gatewayPort: Int
    var ports: [String: Int]
    /// The procedures service as served, for what runs on a timer (the overdue scan), and its store.
    var procedures: ProceduresService
    var proceduresStore: Store { procedures.store }
    /// The documents process, for tests that look behind it (its files, its database).
    var documents: TestProcess
}

/// The platform for `body`. With `clock`, the services' records read the time from it
/// (dossiers' dates, the working-day calendar); tokens and transport keep the real time.
/// Procedures' and documents' stores are on `engine`; the others are on SQLite. The processes share one token
/// verifier, so a session is known everywhere from its first call (each also refreshes it
/// from identity, as in production).
/// `documentsArguments` and `conferencesArguments` are added to those processes' (e.g. the
/// documents exchange endpoint, the media server).
func withStack<Result: Sendable>(
    engine: Engine = .sqlite, clock: ManualClock? = nil, documentsArguments: [String] = [],
    conferencesArguments: [String] = [], _ body: (Stack) async throws -> Result
) async throws -> Result {
    let verifier = TokenVerifier()
    let wallClock = clock?.wallClock ?? .system
    return try await withIdentity(verifier: verifier, clock: clock) { identity, _ in
        let peers = ["--peers.identity=127.0.0.1:\(identity)"]
        return try await withProcess(
            "documents", keys: DocumentsApp.keys, engine: engine,
            arguments: peers + [
                "--signing.ca_cert=\(TestPKI.directory)/ca.pem", "--signing.ca_key=\(TestPKI.directory)/ca.key",
            ] + documentsArguments, verifier: verifier,
            clock: wallClock,
            build: DocumentsApp.build
        ) { documents in
            try await withProcess(
                "procedures", keys: ProceduresApp.keys, engine: engine,
                // The overdue scan runs when a test says so.
                arguments: peers + ["--overdue.scan_seconds=86400", "--peers.documents=127.0.0.1:\(documents.port)"],
                verifier: verifier, clock: wallClock,
                build: ProceduresApp.build
            ) { procedures in
                try await withProcess(
                    "conferences", keys: ConferencesApp.keys,
                    arguments: peers + ["--peers.documents=127.0.0.1:\(documents.port)"] + conferencesArguments,
                    verifier: verifier, clock: wallClock,
                    build: ConferencesApp.build
                ) { conferences in
                    let ports = [
                        "identity": identity, "documents": documents.port, "procedures": procedures.port,
                        "conferences": conferences.port,
                    ]
                    return try await withGateway(ports: ports, verifier: verifier) { gatewayPort in
                        try await body(
                            Stack(
                                gatewayPort: gatewayPort, ports: ports,
                                procedures: try #require(procedures.parts.services.first as? ProceduresService),
                                documents: documents))
                    }
                }
            }
        }
    }
}

/// The gateway in front of the services at `ports`, as egov-gateway runs it (its HTTP/JSON
/// port off, its rate limits out of the way).
func withGateway<Result: Sendable>(
    ports: [String: Int], verifier: TokenVerifier, _ body: (Int) async throws -> Result
) async throws -> Result {
    try await withProcess(
        "gateway", keys: GatewayApp.keys, security: .serverTLS,
        arguments: ports.map { "--peers.\($0.key)=127.0.0.1:\($0.value)" } + [
            "--http.enabled=false", "--ratelimit.anonymous_per_second=1000000", "--ratelimit.user_per_second=1000000",
        ], verifier: verifier, build: GatewayApp.build
    ) { try await body($0.port) }
}
