import EGovAPI
public import EGovKit
import GRPCCore
import GRPCNIOTransportHTTP2
import ServiceLifecycle

/// Assembles the egov-gateway process: the public TLS port serving every backend's public
/// methods and the gateway's own.
public enum GatewayApp {
    public static let version = "0.1.0"

    public static let keys =
        ProcessSettings.keys(for: "gateway", peers: RouteTable.backends, database: false) + [
            ConfigKey(
                "ratelimit.anonymous_per_second", .integer(0...1_000_000), default: "50",
                help: "Calls a second one address may make without signing in (bursts of twice as many); 0: unlimited."
            ),
            ConfigKey(
                "http.enabled", .boolean, default: "true",
                help: "Serve the API as HTTP/JSON too (from its google.api.http annotations)."),
            ConfigKey(
                "http.port", .integer(0...65535), default: "8443",
                help: "HTTP/JSON port (TLS, with the gRPC port's certificate)."),
            ConfigKey(
                "http.min_tls_version", .choice(TLSMinimumVersion.allCases.map(\.rawValue)), default: "1.2",
                help: "Lowest TLS version the HTTP/JSON port accepts (1.2 keeps older browsers and partner systems; "
                    + "only ECDHE key exchange with AEAD ciphers is offered there)."
            ),
            ConfigKey(
                "net.trusted_proxies", default: "",
                help: "Comma-separated addresses of the proxies or load balancers in front of the gateway, whose "
                    + "X-Forwarded-For names the user's address (for rate limits and sign-in throttling)."
            ),
            ConfigKey(
                "http.cors_origins", default: "",
                help: "Comma-separated web origins whose pages may call the HTTP/JSON API from a browser; * for any."
            ),
            ConfigKey(
                "ratelimit.user_per_second", .integer(0...1_000_000), default: "20",
                help: "Calls a second one signed-in user may make (bursts of twice as many); 0: unlimited."
            ),
        ]

    @Sendable
    public static func build(_ environment: ProcessEnvironment) async throws -> ProcessParts {
        var clients: [String: GRPCClient<HTTP2ClientTransport.Posix>] = [:]
        var backends: [GatewayService.Backend] = []
        let services = [
            "identity": Egov_Identity_V1_IdentityService.descriptor.fullyQualifiedService,
            "documents": Egov_Documents_V1_DocumentsService.descriptor.fullyQualifiedService,
            "procedures": Egov_Procedures_V1_ProceduresService.descriptor.fullyQualifiedService,
            "conferences": Egov_Conferences_V1_ConferencesService.descriptor.fullyQualifiedService,
        ]
        for name in RouteTable.backends {
            let client = try environment.peerClient(name)
            clients[name] = client
            backends.append(
                .init(service: services[name]!, target: environment.settings.peer(name).target, client: client))
        }
        let routes = try RouteTable.routes()
        let limiter = RateLimiter(
            anonymousPerSecond: Double(environment.configuration.int("ratelimit.anonymous_per_second")),
            userPerSecond: Double(environment.configuration.int("ratelimit.user_per_second")))
        let proxies = TrustedProxies(Set(environment.configuration.list("net.trusted_proxies")))
        var http: [any Service] = []
        if environment.configuration.bool("http.enabled") {
            let transcoder = try Transcoder(
                routes: routes, clients: clients, verifier: environment.verifier, limiter: limiter,
                deadline: environment.settings.defaultDeadline)
            http.append(
                HTTPTranscodingServer(
                    host: environment.settings.listenHost, port: environment.configuration.int("http.port"),
                    tls: environment.settings.tls,
                    transcoder: transcoder, logger: environment.logger,
                    idleTimeout: environment.settings.limits.maxIdleTime,
                    corsOrigins: Set(environment.configuration.list("http.cors_origins")), proxies: proxies,
                    minimumTLS: TLSMinimumVersion(rawValue: environment.configuration.string("http.min_tls_version"))
                        ?? .tls12))
        }
        environment.logger.info(
            "routes",
            metadata: [
                "forwarded": .stringConvertible(routes.count),
                "public": .stringConvertible(routes.filter(\.isPublic).count),
            ])
        return ProcessParts(
            services: [
                ForwardingService(
                    routes: routes, clients: clients, defaultDeadline: environment.settings.defaultDeadline),
                GatewayService(backends: backends, version: version),
            ],
            serviceNames: [Egov_Gateway_V1_GatewayService.descriptor.fullyQualifiedService] + services.values.sorted(),
            // Sign-in and every user's first call go through identity: without it the edge is down.
            probes: [.peer("identity", client: clients["identity"]!)],
            background: clients.keys.sorted().map { GRPCClientService(client: clients[$0]!) }
                + [
                    SigningKeysRefresher(
                        client: clients["identity"]!, verifier: environment.verifier, logger: environment.logger),
                    RevokedSessionsRefresher(
                        client: clients["identity"]!, verifier: environment.verifier, logger: environment.logger),
                ] + http,
            interceptors: [ForwardedForInterceptor(proxies), RateLimitInterceptor(limiter)]
        )
    }
}
