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
import ProceduresService
import Testing

/// The whole platform for one test: the four services and the gateway, in process, on
/// loopback over mutual TLS, each with its own store.
struct Stack {
    var gatewayPort: Int
    var ports: [String: Int]
    /// The procedures service as served, for what runs on a timer (the overdue scan), and its store.
    var procedures: ProceduresService? = nil
    var proceduresStore: Store? = nil
}

func withStack<Result: Sendable>(
    engine: Engine = .sqlite, clock: ManualClock? = nil, _ body: (Stack) async throws -> Result
) async throws -> Result {
    try await withStack(verifier: TokenVerifier(), engine: engine, clock: clock, body)
}

/// The four services and the gateway, in process, on loopback. With `clock`, the procedures
/// service reads the time from it (dossiers' dates and the working-day calendar); tokens and
/// transport keep the real time.
func withStack<Result: Sendable>(
    verifier: TokenVerifier, engine: Engine = .sqlite, clock: ManualClock? = nil, _ body: (Stack) async throws -> Result
) async throws -> Result {
    try await withIdentity(verifier: verifier) { identityPort, _ in
        // Each service calls identity with its own certificate, as the processes do.
        let identityClient = try makePeerClient(
            PeerEndpoint(name: "identity", target: "127.0.0.1:\(identityPort)")!, tls: TestPKI.files("documents"))
        let proceduresIdentityClient = try makePeerClient(
            PeerEndpoint(name: "identity", target: "127.0.0.1:\(identityPort)")!, tls: TestPKI.files("procedures"))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await identityClient.runConnections() }
            group.addTask { try await proceduresIdentityClient.runConnections() }
            defer {
                identityClient.beginGracefulShutdown()
                proceduresIdentityClient.beginGracefulShutdown()
            }
            let directory = IdentityAgencyDirectory(client: identityClient, deadline: .seconds(60))
            return try await withStore(migrations: DocumentsApp.migrations) { documentsStore in
                try await withStore(engine, migrations: ProceduresApp.migrations, clock: clock?.wallClock ?? .system) {
                    proceduresStore in
                    try await withStore(migrations: ConferencesApp.migrations) { conferencesStore in
                        try await withTestServer(
                            process: "documents",
                            services: [DocumentsService(store: documentsStore, agencies: directory)], verifier: verifier
                        ) { documentsPort in
                            let procedures = ProceduresService(
                                store: proceduresStore,
                                agencies: IdentityAgencyDirectory(
                                    client: proceduresIdentityClient, deadline: .seconds(60)),
                                people: IdentityPersonDirectory(
                                    client: proceduresIdentityClient, deadline: .seconds(60)),
                                attachments: AttachmentStore(directory: temporaryDirectory("attachments")))
                            return try await withTestServer(
                                process: "procedures", services: [procedures], verifier: verifier
                            ) { proceduresPort in
                                try await withTestServer(
                                    process: "conferences",
                                    services: [ConferencesService(store: conferencesStore, agencies: directory)],
                                    verifier: verifier
                                ) { conferencesPort in
                                    let ports = [
                                        "identity": identityPort, "documents": documentsPort,
                                        "procedures": proceduresPort, "conferences": conferencesPort,
                                    ]
                                    return try await withGateway(ports: ports, verifier: verifier) { gatewayPort in
                                        try await body(
                                            Stack(
                                                gatewayPort: gatewayPort, ports: ports, procedures: procedures,
                                                proceduresStore: proceduresStore))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

func withGateway<Result: Sendable>(
    ports: [String: Int], verifier: TokenVerifier, _ body: (Int) async throws -> Result
) async throws -> Result {
    var clients: [String: GRPCClient<HTTP2ClientTransport.Posix>] = [:]
    for (name, port) in ports {
        clients[name] = try makePeerClient(
            PeerEndpoint(name: name, target: "127.0.0.1:\(port)")!, tls: TestPKI.files("gateway"))
    }
    let backends = ports.keys.sorted().map { name in
        GatewayService.Backend(
            service: name == "identity" ? "egov.identity.v1.IdentityService" : "", target: "127.0.0.1:\(ports[name]!)",
            client: clients[name]!)
    }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        for client in clients.values { group.addTask { try await client.runConnections() } }
        defer { clients.values.forEach { $0.beginGracefulShutdown() } }
        let services: [any RegistrableRPCService] = [
            ForwardingService(routes: try RouteTable.routes(), clients: clients, defaultDeadline: .seconds(60)),
            GatewayService(backends: backends, version: "test"),
        ]
        return try await withTestServer(
            process: "gateway", security: .serverTLS, services: services, verifier: verifier, body)
    }
}
