import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
public import Logging
import NIOCore
import NIOSSL
public import ServiceLifecycle
import X509

/// How a gRPC port authenticates its clients.
public enum PortSecurity: Sendable {
    /// Service ports: the client must present a certificate of the platform CA.
    case mutualTLS
    /// The gateway's public port: server TLS; users authenticate with tokens.
    case serverTLS
}

extension HTTP2ServerTransport.Posix.Config {
    /// The transport configuration with every limit set from `limits`, the message size guard
    /// on every stream, and, for TLS ports, the minimum TLS version enforced at the handshake.
    public static func egov(_ limits: ServerLimits, minimumTLS: TLSMinimumVersion? = nil, domain: String) -> Self {
        .defaults { config in
            config.channelDebuggingCallbacks = .egovGuards(
                minimumTLS: minimumTLS, maxMessageBytes: limits.maxMessageBytes, domain: domain)
            config.rpc.maxRequestPayloadSize = limits.maxMessageBytes
            config.http2.maxConcurrentStreams = limits.maxConcurrentStreams
            config.connection.keepalive.time = limits.keepaliveTime
            config.connection.keepalive.timeout = limits.keepaliveTimeout
            config.connection.keepalive.clientBehavior.allowWithoutCalls = true
            config.connection.keepalive.clientBehavior.minPingIntervalWithoutCalls = .seconds(10)
            config.connection.maxIdleTime = limits.maxIdleTime
            config.connection.maxAge = limits.maxConnectionAge
            config.connection.maxGraceTime = limits.maxConnectionAgeGrace
        }
    }
}

extension HTTP2ServerTransport.Posix.TransportSecurity {
    /// This process's certificate; for `.mutualTLS`, a client certificate chaining to the
    /// platform CA is required. The transport accepts TLS 1.2 and up; `egov(_:minimumTLS:)`
    /// raises that to the configured minimum (`tls.min_version`, TLS 1.3 by default).
    public static func egov(_ security: PortSecurity, files: TLSFiles) -> Self {
        let chain: [TLSConfig.CertificateSource] = [.file(path: files.certificate, format: .pem)]
        let key: TLSConfig.PrivateKeySource = .file(path: files.privateKey, format: .pem)
        switch security {
        case .mutualTLS:
            return .mTLS(certificateChain: chain, privateKey: key) { config in
                config.trustRoots = .certificates([.file(path: files.caCertificate, format: .pem)])
                config.clientCertificateVerification = .noHostnameVerification
            }
        case .serverTLS:
            return .tls(certificateChain: chain, privateKey: key)
        }
    }
}

/// The interceptors every server runs, outermost first.
/// `extra` interceptors (the gateway's rate limit) run once the user is known.
public func standardInterceptors(
    security: PortSecurity, telemetry: Telemetry, logger: Logger, domain: String, verifier: TokenVerifier? = nil,
    extra: [any ServerInterceptor] = []
) -> [any ServerInterceptor] {
    var interceptors: [any ServerInterceptor] = [
        RequestContextInterceptor(),
        AccessLogInterceptor(logger: logger),
        MetricsInterceptor(telemetry: telemetry),
    ]
    if let verifier { interceptors.append(AuthenticationInterceptor(verifier: verifier, logger: logger)) }
    if security == .mutualTLS { interceptors.append(RequireClientCertificateInterceptor()) }
    interceptors += extra
    interceptors.append(ErrorMappingInterceptor(logger: logger, domain: domain))
    return interceptors
}

/// Runs a gRPC server inside a `ServiceGroup`: on graceful shutdown it stops accepting
/// connections and RPCs and lets the ones in flight finish.
public struct GRPCServerService<Transport: ServerTransport>: Service {
    public let server: GRPCServer<Transport>

    public init(server: GRPCServer<Transport>) { self.server = server }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}

/// Runs a gRPC client's connections inside a `ServiceGroup`.
public struct GRPCClientService<Transport: ClientTransport>: Service {
    public let client: GRPCClient<Transport>

    public init(client: GRPCClient<Transport>) { self.client = client }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await client.runConnections()
        } onGracefulShutdown: {
            client.beginGracefulShutdown()
        }
    }
}

/// A client for a peer service over mutual TLS, presenting this process's certificate.
/// Calls made through it carry the request id and the user's authorization.
public func makePeerClient(
    _ peer: PeerEndpoint, tls: TLSFiles, limits: ServerLimits = ServerLimits()
) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
    // A platform service dialled by address is pinned: its name (`egov-identity`) goes out
    // as SNI and must be among its certificate's names, so a process holding another
    // service's certificate cannot stand in for it. Other names go through DNS and SNI.
    let host = peer.host == "localhost" ? "127.0.0.1" : peer.host
    let isIPv4 = host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." }
    let target: any ResolvableTarget
    if isIPv4 && ProcessSettings.defaultPorts[peer.name] != nil {
        target = PinnedPeerTarget(name: "egov-\(peer.name)", address: .ipv4(host: host, port: peer.port))
    } else if isIPv4 {
        target = .ipv4(address: host, port: peer.port)
    } else {
        target = .dns(host: host, port: peer.port)
    }
    var resolvers = NameResolverRegistry.defaults
    resolvers.registerFactory(PinnedPeerResolver())
    // TLS accepts a certificate whose IP address matches the one dialled whatever its name,
    // so the name is checked here, after the chain is verified against the platform CA.
    let pinned = (target as? PinnedPeerTarget).map(\.name)
    let verification = try pinned.map { try PinnedPeerVerification(caCertificate: tls.caCertificate, expectedName: $0) }
    let transport = try HTTP2ClientTransport.Posix(
        target: target,
        transportSecurity: .mTLS(
            certificateChain: [.file(path: tls.certificate, format: .pem)],
            privateKey: .file(path: tls.privateKey, format: .pem)
        ) { config in
            config.trustRoots = .certificates([.file(path: tls.caCertificate, format: .pem)])
            if let verification { config.customVerificationCallback = verification.verify }
        },
        config: .defaults { config in
            config.connection.keepalive = .init(
                time: limits.keepaliveTime, timeout: limits.keepaliveTimeout, allowWithoutCalls: true)
        },
        resolverRegistry: resolvers
    )
    return GRPCClient(transport: transport, interceptors: [PropagationClientInterceptor()])
}

/// Verifies a pinned peer's certificate: a chain to the platform CA, valid now, whose leaf
/// is the expected service's (`egov-identity` as common name or DNS name).
struct PinnedPeerVerification: Sendable {
    let roots: [Certificate]
    let expectedName: String

    init(caCertificate path: String, expectedName: String) throws {
        let pem = try String(contentsOfFile: path, encoding: .utf8)
        roots = [try Certificate(pemEncoded: pem)]
        self.expectedName = expectedName
    }

    /// Whether `leaf` names the expected service.
    func names(_ leaf: Certificate) -> Bool {
        if leaf.commonName == expectedName { return true }
        let alternatives = (try? leaf.extensions.subjectAlternativeNames) ?? nil
        return alternatives?.contains { name in
            if case .dnsName(let dns) = name { return dns == expectedName }
            return false
        } ?? false
    }

    @Sendable func verify(
        _ presented: [NIOSSLCertificate], _ promise: EventLoopPromise<NIOSSLVerificationResultWithMetadata>
    ) {
        let chain: [Certificate]
        do {
            chain = try presented.map { try Certificate(derEncoded: try $0.toDERBytes()) }
        } catch {
            promise.succeed(.failed)
            return
        }
        guard let leaf = chain.first, names(leaf) else {
            promise.succeed(.failed)
            return
        }
        let roots = self.roots
        promise.completeWithTask {
            var verifier = Verifier(rootCertificates: CertificateStore(roots)) { RFC5280Policy(validationTime: Date()) }
            switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(chain.dropFirst())) {
            case .validCertificate: return .certificateVerified(VerificationMetadata(nil))
            case .couldNotValidate: return .failed
            }
        }
    }
}

/// A platform service at a known address, with the name its certificate must carry.
struct PinnedPeerTarget: ResolvableTarget {
    var name: String
    var address: GRPCNIOTransportCore.SocketAddress
}

/// Resolves a `PinnedPeerTarget` to its address, with its name as the authority (the SNI
/// and the name the TLS handshake checks the certificate against).
struct PinnedPeerResolver: NameResolverFactory {
    func resolver(for target: PinnedPeerTarget) -> NameResolver {
        let result = NameResolutionResult(endpoints: [Endpoint(addresses: [target.address])], serviceConfig: nil)
        return NameResolver(
            names: RPCAsyncSequence(wrapping: Always(result: result)), updateMode: .pull, authority: target.name)
    }

    /// The same answer every time the transport asks.
    struct Always: AsyncSequence, Sendable {
        let result: NameResolutionResult
        struct AsyncIterator: AsyncIteratorProtocol {
            let result: NameResolutionResult
            mutating func next() async throws -> NameResolutionResult? { result }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(result: result) }
    }
}

/// Sleeps for `duration`, waking early when the process starts shutting down, so
/// background loops never hold up a graceful shutdown.
public func pauseUnlessShuttingDown(for duration: Duration) async {
    _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
}

/// Runs `body` in a task that is cancelled when gRPC cancels the RPC being served (the
/// client hung up, its deadline passed, the server is shutting down). gRPC signals that
/// through the RPC's cancellation handle, not by cancelling the handler's task, so handlers
/// that wait (streams that follow changes, calls forwarded to a backend) need this to stop
/// and to pass the cancellation on.
public func cancellingWithRPC<Result: Sendable>(_ body: @escaping @Sendable () async throws -> Result) async throws
    -> Result
{
    let work = Task { try await body() }
    return try await withTaskCancellationHandler {
        try await withRPCCancellationHandler {
            try await work.value
        } onCancelRPC: {
            work.cancel()
        }
    } onCancel: {
        work.cancel()
    }
}
