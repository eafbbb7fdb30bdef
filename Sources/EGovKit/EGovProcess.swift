import EGovAPI
public import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
public import Logging
public import ServiceLifecycle
public import UnixSignals

/// What a process is made of, handed back by its builder.
public struct ProcessParts: Sendable {
    /// gRPC services served on the process's port, besides health.
    public var services: [any RegistrableRPCService]
    /// Their fully qualified names, for health checks.
    public var serviceNames: [String]
    /// What must be healthy for the process to serve.
    public var probes: [HealthProbe]
    /// Long-running parts started before the server and stopped after it: peer clients,
    /// the store, the outbox relay.
    public var background: [any Service]
    /// Work to do once the group has stopped, e.g. closing the database.
    public var shutdown: @Sendable () async -> Void
    /// Interceptors of this process only (the gateway's rate limit), after authentication.
    public var interceptors: [any ServerInterceptor]

    public init(
        services: [any RegistrableRPCService], serviceNames: [String], probes: [HealthProbe] = [],
        background: [any Service] = [], interceptors: [any ServerInterceptor] = [],
        shutdown: @escaping @Sendable () async -> Void = {}
    ) {
        self.interceptors = interceptors
        self.services = services
        self.serviceNames = serviceNames
        self.probes = probes
        self.background = background
        self.shutdown = shutdown
    }
}

/// What a builder gets to assemble a process from.
public struct ProcessEnvironment: Sendable {
    public let settings: ProcessSettings
    public let configuration: Configuration
    public let logger: Logger
    public let telemetry: Telemetry
    /// Verifies users' access tokens for every RPC of the process.
    public let verifier: TokenVerifier
    /// "Now" for the process's records (the store reads it); tests move it by hand.
    public let clock: WallClock

    public init(
        settings: ProcessSettings, configuration: Configuration, logger: Logger, telemetry: Telemetry = Telemetry(),
        verifier: TokenVerifier = TokenVerifier(), clock: WallClock = .system
    ) {
        self.settings = settings
        self.configuration = configuration
        self.logger = logger
        self.telemetry = telemetry
        self.verifier = verifier
        self.clock = clock
    }

    /// A client for a configured peer over mutual TLS; the caller adds its
    /// `GRPCClientService` to `background` so its connections run.
    public func peerClient(_ name: String) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        try makePeerClient(settings.peer(name), tls: settings.tls, limits: settings.limits)
    }
}

/// Runs one egov process: configuration, logging, dev PKI, the gRPC server with health and
/// the standard interceptors, the admin port, and graceful shutdown on SIGTERM/SIGINT.
public enum EGovProcess {
    /// Never returns normally: exits 0 after a clean shutdown, 2 on bad configuration,
    /// 1 when the process fails.
    public static func run(
        name: String,
        keys: [ConfigKey],
        security: PortSecurity = .mutualTLS,
        arguments: [String] = Array(CommandLine.arguments.dropFirst()),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        build: @Sendable (ProcessEnvironment) async throws -> ProcessParts
    ) async -> Never {
        let program = "egov-\(name)"
        if arguments.contains("--help") || arguments.contains("-h") {
            print(Configuration.help(program: program, keys: keys))
            exit(0)
        }
        let configuration: Configuration
        let settings: ProcessSettings
        do {
            configuration = try Configuration.load(keys: keys, arguments: arguments, environment: environment)
            settings = try ProcessSettings(name: name, config: configuration)
        } catch {
            FileHandle.standardError.write(Data("\(program): configuration error: \(error)\n".utf8))
            exit(2)
        }
        LoggingSystem.bootstrapEGov(process: program, level: settings.logLevel, format: settings.logFormat)
        let logger = Logger(label: "egov.\(name)")
        do {
            try await serve(
                name: name, security: security, configuration: configuration, settings: settings, logger: logger,
                build: build)
            logger.info("stopped")
            exit(0)
        } catch {
            logger.critical("failed", metadata: ["error": .string("\(error)")])
            exit(1)
        }
    }

    static func serve(
        name: String, security: PortSecurity, configuration: Configuration, settings: ProcessSettings,
        logger: Logger, build: @Sendable (ProcessEnvironment) async throws -> ProcessParts
    ) async throws {
        if settings.devPKI {
            try DevPKI(directory: "\(settings.dataDirectory)/pki").ensure([name])
        }
        let process = try await assemble(
            name: name, security: security,
            environment: ProcessEnvironment(settings: settings, configuration: configuration, logger: logger),
            signals: [.sigterm, .sigint], build: build)
        do {
            try await process.group.run()
        } catch {
            await process.parts.shutdown()
            throw error
        }
        await process.parts.shutdown()
    }

    /// The process as `run` serves it (its parts, the gRPC server with health, reflection and
    /// the standard interceptors, the admin port), not yet running: `group.run()` starts it,
    /// `group.triggerGracefulShutdown()` stops it, then call `parts.shutdown()`. Tests embed
    /// processes this way, so they exercise what ships.
    /// `cancellationLimit` bounds how long cancelled services may take after the grace period
    /// before ServiceLifecycle ends the process (fatalError); nil waits for them, which a
    /// process embedded in another (tests) needs, as that would end its host.
    public static func assemble(
        name: String, security: PortSecurity, environment: ProcessEnvironment, signals: [UnixSignal] = [],
        cancellationLimit: Duration? = .seconds(5),
        build: @Sendable (ProcessEnvironment) async throws -> ProcessParts
    ) async throws -> AssembledProcess {
        let settings = environment.settings
        for path in [settings.tls.caCertificate, settings.tls.certificate, settings.tls.privateKey]
        where !FileManager.default.fileExists(atPath: path) {
            throw ConfigError("TLS file \(path) does not exist (set tls.* or enable tls.dev_pki)")
        }
        let logger = environment.logger
        let parts = try await build(environment)
        let health = HealthMonitor(services: parts.serviceNames, probes: parts.probes, logger: logger)
        let reflection = ReflectionService(
            serviceNames: parts.serviceNames + [Grpc_Health_V1_Health.descriptor.fullyQualifiedService])
        let server = GRPCServer(
            transport: HTTP2ServerTransport.Posix(
                address: .ipv4(host: settings.listenHost, port: settings.listenPort),
                transportSecurity: .egov(security, files: settings.tls),
                config: .egov(settings.limits, minimumTLS: settings.minimumTLSVersion, domain: "\(name).egov")
            ),
            services: parts.services + [
                HealthService(monitor: health), reflection, ReflectionV1AlphaService(reflection),
            ],
            interceptors: standardInterceptors(
                security: security, telemetry: environment.telemetry, logger: logger, domain: "\(name).egov",
                verifier: environment.verifier, extra: parts.interceptors
            )
        )
        let admin = AdminServer(
            host: settings.adminHost, port: settings.adminPort, telemetry: environment.telemetry, health: health,
            logger: logger
        )
        let announce = AnnounceListening(server: server, logger: logger, security: security, settings: settings)
        var configuration = ServiceGroupConfiguration(
            services: (parts.background + [health, GRPCServerService(server: server), admin, announce]).map {
                .init(
                    service: $0, successTerminationBehavior: .ignore,
                    failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: signals,
            cancellationSignals: [],
            logger: logger
        )
        // In-flight RPCs get this long to finish; then whatever is left is cancelled.
        configuration.maximumGracefulShutdownDuration = settings.shutdownGrace
        configuration.maximumCancellationDuration = cancellationLimit
        return AssembledProcess(parts: parts, server: server, group: ServiceGroup(configuration: configuration))
    }
}

/// One process put together by `EGovProcess.assemble`.
public struct AssembledProcess: Sendable {
    public let parts: ProcessParts
    /// Its gRPC server; `listeningAddress` gives the port once the group runs.
    public let server: GRPCServer<HTTP2ServerTransport.Posix>
    /// Everything the process runs, the server included.
    public let group: ServiceGroup
}

/// Logs the bound address once the server listens (useful with port 0).
private struct AnnounceListening<Transport: ListeningServerTransport>: Service {
    let server: GRPCServer<Transport>
    let logger: Logger
    let security: PortSecurity
    let settings: ProcessSettings

    func run() async throws {
        if let address = try await server.listeningAddress {
            logger.info(
                "listening",
                metadata: [
                    "address": .string("\(address)"),
                    "tls": .string(security == .mutualTLS ? "mutual" : "server"),
                    "database": .string(settings.databaseURL.redactingPassword),
                    "ca": .string(settings.tls.caCertificate),
                ]
            )
        }
    }
}

extension String {
    /// The URL with any password replaced by `***`, for logs.
    public var redactingPassword: String {
        guard var components = URLComponents(string: self), components.password != nil else { return self }
        components.password = "***"
        return components.string ?? self
    }
}
