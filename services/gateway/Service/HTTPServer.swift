public import EGovKit
import Foundation
import GRPCCore
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
public import ServiceLifecycle

/// The gateway's HTTP/JSON port: HTTP/1.1 over TLS (plain HTTP only for loopback tests),
/// answering with a `Transcoder`. Requests are bounded by `RequestLimits`: a body over the
/// limit is answered at once and the connection closed, without reading the rest.
public final class HTTPTranscodingServer: Service, Sendable {
    let host: String
    let port: Int
    let tls: TLSFiles?
    let transcoder: Transcoder
    let logger: Logger
    /// A connection with nothing read or written for this long is closed.
    let idleTimeout: Duration
    /// Web origins whose pages may call the API from a browser (CORS), e.g.
    /// `https://dichvucong.tuyenquang.gov.vn`; `*` for any.
    let corsOrigins: Set<String>
    let proxies: TrustedProxies
    let minimumTLS: TLSMinimumVersion
    private let bound = AsyncStream<Int>.makeStream()

    public init(
        host: String, port: Int, tls: TLSFiles?, transcoder: Transcoder, logger: Logger,
        idleTimeout: Duration = .seconds(300),
        corsOrigins: Set<String> = [], proxies: TrustedProxies = TrustedProxies([]),
        minimumTLS: TLSMinimumVersion = .tls12
    ) {
        self.minimumTLS = minimumTLS
        self.proxies = proxies
        self.idleTimeout = idleTimeout
        self.corsOrigins = corsOrigins
        self.host = host
        self.port = port
        self.tls = tls
        self.transcoder = transcoder
        self.logger = logger
    }

    /// The port bound, once listening (for port 0).
    public func boundPort() async -> Int? {
        var iterator = bound.stream.makeAsyncIterator()
        return await iterator.next()
    }

    public func run() async throws {
        let context = try tls.map { files in
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(files.certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: files.privateKey, format: .pem)))
            configuration.minimumTLSVersion = minimumTLS == .tls13 ? .tlsv13 : .tlsv12
            // TLS 1.2 only with forward secrecy and AEAD (TLS 1.3's suites are all of that kind).
            configuration.cipherSuiteValues = [
                .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            ]
            return try NIOSSLContext(configuration: configuration)
        }
        let idle = TimeAmount.seconds(max(1, idleTimeout.components.seconds))
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: idle))
                    try channel.pipeline.syncOperations.addHandler(CloseWhenIdle())
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        let port = server.channel.localAddress?.port ?? port
        logger.info(
            "HTTP/JSON listening", metadata: ["address": .string("\(tls == nil ? "http" : "https")://\(host):\(port)")])
        bound.continuation.yield(port)
        bound.continuation.finish()
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        let address = connection.channel.remoteAddress?.ipAddress ?? ""
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body = Data()
                for try await part in inbound {
                    switch part {
                    case .head(let request):
                        head = request
                        body = Data()
                    case .body(var buffer):
                        guard body.count + buffer.readableBytes <= RequestLimits.maxBodyBytes else {
                            // Answered now, and the connection closed: the rest is never read.
                            guard var request = head else { return }
                            request.headers.replaceOrAdd(name: "connection", value: "close")
                            try await respond(
                                to: request, body: Data(), tooLarge: true, address: address, outbound: outbound)
                            return
                        }
                        body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
                    case .end:
                        guard let request = head else { continue }
                        try await respond(
                            to: request, body: body, tooLarge: false, address: address, outbound: outbound)
                        if !request.isKeepAlive { return }
                    }
                }
            }
        } catch {
            logger.debug("HTTP connection ended", metadata: ["error": .string(String(describing: error))])
        }
    }

    func respond(
        to request: HTTPRequestHead, body: Data, tooLarge: Bool, address: String,
        outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var headers: [String: String] = [:]
        var headerBytes = 0
        for (name, value) in request.headers {
            headers[name.lowercased()] = value
            headerBytes += name.utf8.count + value.utf8.count
        }
        let address = proxies.clientAddress(peer: address, forwardedFor: headers["x-forwarded-for"])
        let started = ContinuousClock.now
        // Browsers ask first (a preflight) and read answers only for the origins allowed.
        let cors: [(String, String)]
        if let origin = headers["origin"], corsOrigins.contains(origin) || corsOrigins.contains("*") {
            cors = [
                ("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
                ("Access-Control-Expose-Headers", "Retry-After, x-request-id"),
            ]
        } else {
            cors = []
        }
        var answer: HTTPAnswer
        if request.method == .OPTIONS {
            answer = HTTPAnswer(status: 204, body: Data())
            if !cors.isEmpty {
                answer.headers =
                    cors + [
                        ("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE"),
                        ("Access-Control-Allow-Headers", "Authorization, Content-Type, x-request-id"),
                        ("Access-Control-Max-Age", "600"),
                    ]
            }
        } else if tooLarge {
            answer = Transcoder.errorAnswer(
                RPCError(
                    Transcoder.errors.resourceExhausted(
                        "BODY_TOO_LARGE", limit: "max_body_bytes", RequestLimits.maxBodyBytes,
                        "The request body is larger than \(RequestLimits.maxBodyBytes) bytes.")))
            answer.status = 413
        } else if headerBytes > RequestLimits.maxHeaderBytes {
            answer = Transcoder.errorAnswer(
                RPCError(
                    Transcoder.errors.invalidArgument(
                        "HEADERS_TOO_LARGE", field: "headers",
                        "are larger than \(RequestLimits.maxHeaderBytes) bytes in all")))
            answer.status = 431
        } else {
            // Server-streaming methods answer newline-delimited JSON, one object per message.
            let streamed = StreamedHead()
            answer = await transcoder.answer(
                method: request.method.rawValue, uri: request.uri, headers: headers, body: body, address: address
            ) { chunk in
                if await streamed.begin() {
                    var head = HTTPResponseHead(version: request.version, status: .ok)
                    for (name, value) in cors { head.headers.add(name: name, value: value) }
                    head.headers.add(name: "Content-Type", value: "application/x-ndjson; charset=utf-8")
                    head.headers.add(name: "Transfer-Encoding", value: "chunked")
                    try await outbound.write(.head(head))
                }
                try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: chunk))))
            }
            if await streamed.began {
                // A stream that failed after it began ends with the error as its last line.
                if answer.status != 200 {
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: answer.body + Data("\n".utf8)))))
                }
                try await outbound.write(.end(nil))
                return
            }
        }
        var head = HTTPResponseHead(version: request.version, status: HTTPResponseStatus(statusCode: answer.status))
        head.headers.add(name: "Content-Type", value: answer.contentType)
        head.headers.add(name: "Content-Length", value: String(answer.body.count))
        for (name, value) in answer.headers + (request.method == .OPTIONS ? [] : cors) {
            head.headers.add(name: name, value: value)
        }
        if !request.isKeepAlive { head.headers.add(name: "Connection", value: "close") }
        try await outbound.write(.head(head))
        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: answer.body))))
        try await outbound.write(.end(nil))
        logger.info(
            "http",
            metadata: [
                // The path only: query strings carry secrets (a dossier's lookup code) that logs must not keep.
                "method": .string(request.method.rawValue),
                "path": .string(String((request.uri.split(separator: "?", maxSplits: 1).first ?? "").prefix(200))),
                "request_id": .string(answer.headers.first { $0.0 == RequestContext.requestIDKey }?.1 ?? ""),
                "status": .stringConvertible(answer.status),
                "duration_ms": .string(String(format: "%.3f", started.duration(to: .now).milliseconds)),
            ])
    }
}

/// Closes a connection its `IdleStateHandler` found idle: a client that opens connections
/// and sends nothing does not hold them for ever.
final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// Whether a streamed answer's head was written.
actor StreamedHead {
    private(set) var began = false
    /// True the first time: the caller writes the head.
    func begin() -> Bool {
        defer { began = true }
        return !began
    }
}
