import ArgumentParser
import DocumentsService
// Measures unary RPC cost on this machine and prints a table: the floor of the stack (a
// trivial handler on the same transport and mutual TLS, no interceptors), a real service
// call (identity GetAgency from SQLite, all interceptors) made directly over mutual TLS, and
// the same call through the gateway (TLS to the gateway, mutual TLS to identity).
//
//   scripts/bench            (release build; see scripts/bench --help)
//
// Clients and servers share the machine's cores, as they do on a one-box deployment;
// compare the rows of one run as ratios rather than across machines.
import EGovAPI
import EGovKit
import EGovStore
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GatewayService
import IdentityService
import Logging
import ProceduresService
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

struct Options: ParsableCommand, Sendable {
    static let configuration = CommandConfiguration(
        commandName: "egov-bench", abstract: "Measures unary RPC cost on this machine and prints a table.")

    @Option(help: "Calls made with --concurrency in flight, for throughput.")
    var calls = 4000

    @Option(help: "Calls in flight at once.")
    var concurrency = 64

    @Option(help: "Calls made one after another, for latency.")
    var sequential = 1000

    @Option(help: "Documents generated to search over.")
    var searchDocuments = 100_000

    @Option(help: "WatchConference streams the conference events fan out to.")
    var watchers = 100

    @Option(help: "Conference events the chair makes, one after another.")
    var conferenceEvents = 200
}

struct Figures: Sendable {
    var name: String
    var sequential: [Duration]
    var concurrentElapsed: Duration
    var concurrentCalls: Int

    func percentile(_ p: Double) -> Double {
        let sorted = sequential.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))].milliseconds
    }

    var throughput: Double { Double(concurrentCalls) / (concurrentElapsed.milliseconds / 1000) }
}

/// Runs `call` sequentially for latency, then with `concurrency` in flight for throughput.
func measure(_ name: String, options: Options, _ call: @escaping @Sendable () async throws -> Void) async throws
    -> Figures
{
    for _ in 0..<200 { try await call() }  // warm up connections and caches
    var latencies: [Duration] = []
    latencies.reserveCapacity(options.sequential)
    for _ in 0..<options.sequential {
        let start = ContinuousClock.now
        try await call()
        latencies.append(ContinuousClock.now - start)
    }
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        let perWorker = options.calls / options.concurrency
        for _ in 0..<options.concurrency {
            group.addTask { for _ in 0..<perWorker { try await call() } }
        }
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - start
    return Figures(
        name: name, sequential: latencies, concurrentElapsed: elapsed,
        concurrentCalls: (options.calls / options.concurrency) * options.concurrency)
}

func serve<Result: Sendable>(
    _ server: GRPCServer<HTTP2ServerTransport.Posix>, _ body: (Int) async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        let port = try await server.listeningAddress!.ipv4!.port
        let result = try await body(port)
        server.beginGracefulShutdown()
        try await group.waitForAll()
        return result
    }
}

/// Runs the gateway's HTTP/JSON server (plain HTTP/1.1 on loopback) for `body`.
func servingHTTP<Result: Sendable>(_ server: HTTPTranscodingServer, _ body: (Int) async throws -> Result) async throws
    -> Result
{
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        let port = await server.boundPort() ?? 0
        let result = try await body(port)
        group.cancelAll()
        return result
    }
}

func running<Result: Sendable>(
    _ clients: [GRPCClient<HTTP2ClientTransport.Posix>], _ body: () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for client in clients { group.addTask { try await client.runConnections() } }
        let result = try await body()
        for client in clients { client.beginGracefulShutdown() }
        try await group.waitForAll()
        return result
    }
}

/// A shared count, for spreading calls over a list.
final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int {
        value.withLock { count in
            count += 1
            return count
        }
    }
}

@main
enum Bench {
    static func main() async throws { try await run() }

    nonisolated static func run() async throws {
        let options = Options.parseOrExit()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let logger = Logger(label: "egov.bench")
        let directory = NSTemporaryDirectory() + "egov-bench-\(UUID().uuidString.prefix(8))"
        let pki = DevPKI(directory: "\(directory)/pki")
        try pki.ensure(["identity", "procedures", "documents", "gateway", "tester"])
        let limits = ServerLimits()
        let telemetry = Telemetry()

        let store = try Store(url: "sqlite://\(directory)/identity.sqlite", logger: logger)
        try await store.migrate(IdentityApp.migrations)
        let monitor = HealthMonitor(services: [], probes: [], logger: logger)
        await monitor.refresh()

        func server(
            _ process: String, _ security: PortSecurity, _ services: [any RegistrableRPCService], interceptors: Bool
        ) -> GRPCServer<HTTP2ServerTransport.Posix> {
            GRPCServer(
                transport: HTTP2ServerTransport.Posix(
                    address: .ipv4(host: "127.0.0.1", port: 0),
                    transportSecurity: .egov(security, files: pki.files(for: process)),
                    config: .egov(limits, minimumTLS: .tls13, domain: "bench")
                ),
                services: services,
                interceptors: interceptors
                    ? standardInterceptors(security: security, telemetry: telemetry, logger: logger, domain: "bench")
                    : []
            )
        }

        let floorServer = server("identity", .mutualTLS, [HealthService(monitor: monitor)], interceptors: false)
        let verifier = TokenVerifier()
        let secrets = SecretBox.ephemeral()
        let tokens = try await TokenIssuer.open(store: store, verifier: verifier, secrets: secrets)
        let identityService = try await IdentityService(store: store, tokens: tokens, secrets: secrets, logger: logger)
        let identityServer = server("identity", .mutualTLS, [identityService], interceptors: true)

        let results = try await serve(floorServer) { floorPort in
            try await serve(identityServer) { identityPort in
                let tester = pki.files(for: "tester")
                let floorClient = try makePeerClient(
                    PeerEndpoint(name: "floor", target: "127.0.0.1:\(floorPort)")!, tls: tester)
                let directClient = try makePeerClient(
                    PeerEndpoint(name: "identity", target: "127.0.0.1:\(identityPort)")!, tls: tester)
                let gatewayToIdentity = try makePeerClient(
                    PeerEndpoint(name: "identity", target: "127.0.0.1:\(identityPort)")!, tls: pki.files(for: "gateway")
                )
                let gatewayServer = server(
                    "gateway", .serverTLS,
                    [
                        ForwardingService(
                            routes: try RouteTable.routes(), clients: ["identity": gatewayToIdentity],
                            defaultDeadline: .seconds(5))
                    ],
                    interceptors: true)
                return try await serve(gatewayServer) { gatewayPort in
                    let publicClient = GRPCClient(
                        transport: try HTTP2ClientTransport.Posix(
                            target: .ipv4(address: "127.0.0.1", port: gatewayPort),
                            transportSecurity: .tls {
                                $0.trustRoots = .certificates([.file(path: pki.caCertificate, format: .pem)])
                            }
                        ))
                    return try await running([floorClient, directClient, gatewayToIdentity, publicClient]) {
                        let direct = Egov_Identity_V1_IdentityService.Client(wrapping: directClient)
                        let agency = try await direct.createAgency(
                            .with {
                                $0.agency = .with {
                                    $0.code = "000.00.00.H41"
                                    $0.displayName = "Ủy ban nhân dân tỉnh"
                                    $0.abbreviation = "UBND"
                                    $0.kind = .provincialPeoplesCommittee
                                }
                            })
                        let request = Egov_Identity_V1_GetAgencyRequest.with { $0.name = agency.name }

                        // Sign-in cost: scrypt at the production parameters dominates it by design.
                        let password = "mật khẩu đủ dài 2026"
                        _ = try await direct.registerPerson(
                            .with {
                                $0.person = .with {
                                    $0.kind = .citizen
                                    $0.displayName = "Nguyễn Văn An"
                                    $0.citizenID = "008090001234"
                                    $0.birthDate = "1990-05-01"
                                }
                                $0.password = password
                            })
                        let loginCount = 20
                        let loginStart = ContinuousClock.now
                        var token = ""
                        try await withThrowingTaskGroup(of: String.self) { group in
                            for _ in 0..<loginCount {
                                group.addTask {
                                    try await direct.login(
                                        .with {
                                            $0.login = "008090001234"; $0.password = password
                                        }
                                    ).accessToken
                                }
                            }
                            for try await issued in group { token = issued }
                        }
                        let loginElapsed = ContinuousClock.now - loginStart
                        let verifications = 50_000
                        let verifyStart = ContinuousClock.now
                        for _ in 0..<verifications { _ = try await verifier.verify(token) }
                        let verifyElapsed = ContinuousClock.now - verifyStart
                        print(
                            String(
                                format: "logins (scrypt N=2^17, r=8, p=1, %d concurrent): %.1f/s", loginCount,
                                Double(loginCount) / (loginElapsed.milliseconds / 1000)))
                        print(
                            String(
                                format: "access token verifications (Ed25519, one core): %.0f/s",
                                Double(verifications) / (verifyElapsed.milliseconds / 1000)))
                        let health = Grpc_Health_V1_Health.Client(wrapping: floorClient)
                        let viaGateway = Egov_Identity_V1_IdentityService.Client(wrapping: publicClient)
                        let documents = try await documentFigures(
                            directory: directory, pki: pki, identityPort: identityPort, identity: direct,
                            verifier: verifier, options: options, logger: logger)
                        let oneStop = try await oneStopFigures(
                            directory: directory, pki: pki, identity: directClient, agency: agency.name,
                            options: options,
                            logger: logger, server: server)
                        return documents + oneStop + [
                            try await measure("floor: trivial handler, mTLS, no interceptors", options: options) {
                                _ = try await health.check(.init())
                            },
                            try await measure("identity GetAgency direct over mTLS", options: options) {
                                _ = try await direct.getAgency(request)
                            },
                            try await measure("identity GetAgency through the gateway", options: options) {
                                _ = try await viaGateway.getAgency(request)
                            },
                        ] + [
                            try await httpFigure(
                                agency: agency.name, identity: gatewayToIdentity, options: options, logger: logger)
                        ]
                    }
                }
            }
        }
        await store.close()

        print(
            "egov-bench: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(options.sequential) sequential calls for latency, "
                + "\(options.calls) calls with \(options.concurrency) in flight for throughput")
        print("")
        print("path".padding(toLength: 48, withPad: " ", startingAt: 0) + "     p50 ms     p99 ms     calls/s")
        for result in results {
            let line =
                result.name.padding(toLength: 48, withPad: " ", startingAt: 0)
                + String(
                    format: " %10.3f %10.3f %11.0f", result.percentile(0.5), result.percentile(0.99), result.throughput)
            print(line)
        }
        print("")
        try await conferenceFanOut(watchers: options.watchers, events: options.conferenceEvents)

    }

    /// Submissions with a small attachment and public lookups against a procedures service
    /// that checks agencies with the identity service over mTLS.
    /// GetAgency as HTTP/JSON through the gateway's transcoder (plain HTTP/1.1 keep-alive on
    /// loopback, URLSession as the client): the JSON and HTTP cost on top of the gRPC path.
    nonisolated static func httpFigure(
        agency: String, identity: GRPCClient<HTTP2ClientTransport.Posix>, options: Options, logger: Logger
    ) async throws -> Figures {
        let transcoder = try Transcoder(
            routes: try RouteTable.routes(), clients: ["identity": identity], verifier: TokenVerifier(),
            limiter: RateLimiter(anonymousPerSecond: 0, userPerSecond: 0), deadline: .seconds(5))
        var quiet = logger
        quiet.logLevel = .warning
        let server = HTTPTranscodingServer(host: "127.0.0.1", port: 0, tls: nil, transcoder: transcoder, logger: quiet)
        return try await servingHTTP(server) { port in
            let url = URL(string: "http://127.0.0.1:\(port)/v1/\(agency)")!
            let configuration = URLSessionConfiguration.ephemeral
            configuration.httpMaximumConnectionsPerHost = options.concurrency
            let session = URLSession(configuration: configuration)
            return try await measure("identity GetAgency as HTTP/JSON via the gateway", options: options) {
                let (_, response) = try await session.data(from: url)
                guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw URLError(.badServerResponse) }
            }
        }
    }

    /// Releases of a signed decision to 10 agencies (numbering, two CMS signatures, ten copies
    /// numbered and verified on arrival, one transaction), and ranked search over 100,000
    /// documents, against egov-documents assembled by its own build function.
    nonisolated static func documentFigures(
        directory: String, pki: DevPKI, identityPort: Int,
        identity: Egov_Identity_V1_IdentityService.Client<HTTP2ClientTransport.Posix>,
        verifier: TokenVerifier, options: Options, logger: Logger
    ) async throws -> [Figures] {
        let committee = "agencies/000.00.00.H41"
        let recipients = (1...10).map { String(format: "agencies/000.00.%02d.H41", $0) }
        for (index, name) in recipients.enumerated() {
            _ = try await identity.createAgency(
                .with {
                    $0.agency = .with {
                        $0.code = String(name.dropFirst("agencies/".count)); $0.displayName = "Sở số \(index + 1)"
                        $0.abbreviation = "S\(index + 1)"; $0.kind = .department; $0.parent = committee
                    }
                })
        }
        let password = "mật khẩu đủ dài 2026"
        func official(_ email: String, _ role: Egov_Identity_V1_Role, _ position: String) async throws -> Metadata {
            _ = try await identity.createOfficial(
                .with {
                    $0.person = .with {
                        $0.displayName = email; $0.email = email; $0.agency = committee; $0.roles = [role]
                        $0.position = position
                    }
                    $0.password = password
                })
            let session = try await identity.login(
                .with {
                    $0.login = email; $0.password = password
                })
            return ["authorization": "Bearer \(session.accessToken)"]
        }
        let drafter = try await official("cv@ubnd.vn", .specialist, "Chuyên viên")
        let chairman = try await official("ct@ubnd.vn", .leader, "Chủ tịch")
        let clerk = try await official("vt@ubnd.vn", .clerk, "Văn thư")

        let files = pki.files(for: "documents")
        let database = "sqlite://\(directory)/documents.sqlite"
        let configuration = try Configuration.load(
            keys: DocumentsApp.keys,
            arguments: [
                "--data_dir=\(directory)/documents", "--listen.port=0", "--admin.port=0", "--tls.dev_pki=false",
                "--tls.ca=\(files.caCertificate)", "--tls.cert=\(files.certificate)", "--tls.key=\(files.privateKey)",
                "--peers.identity=127.0.0.1:\(identityPort)", "--database.url=\(database)",
                "--signing.ca_cert=\(pki.caCertificate)", "--signing.ca_key=\(pki.directory)/ca.key",
            ], environment: [:])
        let process = try await EGovProcess.assemble(
            name: "documents", security: .mutualTLS,
            environment: ProcessEnvironment(
                settings: try ProcessSettings(name: "documents", config: configuration), configuration: configuration,
                logger: logger, verifier: verifier),
            build: DocumentsApp.build)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await process.group.run() }
            defer { group.cancelAll() }
            let port = try await process.server.listeningAddress!.ipv4!.port
            let client = try makePeerClient(
                PeerEndpoint(name: "documents", target: "127.0.0.1:\(port)")!, tls: pki.files(for: "tester"))
            let figures = try await running([client]) {
                let documents = Egov_Documents_V1_DocumentsService.Client(wrapping: client)
                let count = 200
                var signed: [String] = []
                for index in 0..<count {
                    let draft = try await documents.createDocument(
                        .with {
                            $0.parent = committee
                            $0.document = .with {
                                $0.direction = .outgoing; $0.documentType = .decision; $0.recipients = recipients
                                $0.subject = "Về việc triển khai kế hoạch số \(index)"
                            }
                        }, metadata: drafter)
                    for (action, caller) in [
                        (Egov_Documents_V1_DocumentAction.submit, drafter), (.approve, chairman), (.sign, chairman),
                    ] {
                        _ = try await documents.transitionDocument(
                            .with {
                                $0.name = draft.name; $0.action = action
                            }, metadata: caller)
                    }
                    signed.append(draft.name)
                }
                let inFlight = 8
                let ready = signed
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<inFlight {
                        group.addTask {
                            for name in ready.enumerated().filter({ $0.offset % inFlight == worker }).map(\.element) {
                                _ = try await documents.transitionDocument(
                                    .with {
                                        $0.name = name; $0.action = .release
                                    }, metadata: clerk)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let elapsed = ContinuousClock.now - start
                print(
                    String(
                        format:
                            "documents: releases to 10 recipients (signed twice, 10 copies verified): %.1f/s (%d, %d in flight)",
                        Double(count) / (elapsed.milliseconds / 1000), count, inFlight))

                let store = try Store(url: database, logger: logger)
                let generateStart = ContinuousClock.now
                let generated: Int
                do {
                    generated = try await DocumentGenerator.insert(
                        count: options.searchDocuments, agencyCode: "000.00.00.H41", into: store)
                    await store.close()
                } catch {
                    await store.close()
                    throw error
                }
                print(
                    String(
                        format: "documents: %d documents generated for search in %.1f s", generated,
                        (ContinuousClock.now - generateStart).milliseconds / 1000))
                // Access tokens live five minutes: sign in again for the searches.
                let session = try await identity.login(
                    .with {
                        $0.login = "vt@ubnd.vn"; $0.password = password
                    })
                let searcher: Metadata = ["authorization": "Bearer \(session.accessToken)"]
                let queries = [
                    "chuyen doi so", "dau tu cong", "ke hoach tiem chung", "quyet dinh kien toan", "bao ve moi truong",
                ]
                let counter = Counter()
                return [
                    try await measure("documents search over \(options.searchDocuments) (ranked)", options: options) {
                        let query = queries[counter.next() % queries.count]
                        _ = try await documents.searchDocuments(
                            .with {
                                $0.parent = committee; $0.query = query; $0.pageSize = 20
                            }, metadata: searcher)
                    }
                ]
            }
            await process.group.triggerGracefulShutdown()
            return figures
        }
    }

    nonisolated static func oneStopFigures(
        directory: String, pki: DevPKI, identity: GRPCClient<HTTP2ClientTransport.Posix>, agency: String,
        options: Options,
        logger: Logger,
        server: (String, PortSecurity, [any RegistrableRPCService], Bool) -> GRPCServer<HTTP2ServerTransport.Posix>
    ) async throws -> [Figures] {
        let store = try Store(url: "sqlite://\(directory)/procedures.sqlite", logger: logger)
        try await store.migrate(ProceduresApp.migrations)
        let service = ProceduresService(
            store: store, agencies: IdentityAgencyDirectory(client: identity, deadline: .seconds(5)),
            people: IdentityPersonDirectory(client: identity, deadline: .seconds(5)),
            attachments: FileStore(directory: "\(directory)/attachments"))
        let figures = try await serve(server("procedures", .mutualTLS, [service], true)) { port in
            let client = try makePeerClient(
                PeerEndpoint(name: "procedures", target: "127.0.0.1:\(port)")!, tls: pki.files(for: "tester"))
            return try await running([client]) {
                let procedures = Egov_Procedures_V1_ProceduresService.Client(wrapping: client)
                _ = try await procedures.createProcedure(
                    .with {
                        $0.procedure = .with {
                            $0.code = "1.001612.H41"
                            $0.displayName = "Cấp giấy phép hoạt động phòng khám"
                            $0.agency = agency
                            $0.mode = .partialOnline
                            $0.processingDays = 10
                        }
                    })
                let pdf = Data(Array("%PDF-1.7\n".utf8) + [UInt8](repeating: 42, count: 4096))
                let submissions = try await measure("submit dossier + 4 KiB attachment (2 RPCs)", options: options) {
                    let dossier = try await procedures.submitDossier(
                        .with {
                            $0.parent = "procedures/1.001612.H41"
                            $0.dossier = .with {
                                $0.channel = .inPerson; $0.applicant = "people/bench"
                            }
                        })
                    _ = try await procedures.uploadAttachment { writer in
                        try await writer.write(
                            .with {
                                $0.header = .with {
                                    $0.name = dossier.name; $0.fileName = "don.pdf"; $0.contentType = "application/pdf"
                                }
                            })
                        try await writer.write(.with { $0.chunk = pdf })
                    }
                }
                let sample = try await procedures.submitDossier(
                    .with {
                        $0.parent = "procedures/1.001612.H41"
                        $0.dossier = .with {
                            $0.channel = .inPerson; $0.applicant = "people/bench"
                        }
                    })
                let lookups = try await measure("public dossier lookup (code + secret)", options: options) {
                    _ = try await procedures.lookupDossier(
                        .with {
                            $0.code = sample.code; $0.secret = sample.lookupSecret
                        })
                }
                return [submissions, lookups]
            }
        }
        await store.close()
        return figures
    }
}
