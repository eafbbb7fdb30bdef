public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
public import ServiceLifecycle

/// The admin HTTP port: `/metrics` in Prometheus text format and `/healthz` (200 when
/// serving, 503 with the failing probes otherwise). Bound to loopback by default.
public final class AdminServer: Service, Sendable {
    let host: String
    let port: Int
    let telemetry: Telemetry
    let health: HealthMonitor
    let logger: Logger

    public init(host: String, port: Int, telemetry: Telemetry, health: HealthMonitor, logger: Logger) {
        self.host = host
        self.port = port
        self.telemetry = telemetry
        self.health = health
        self.logger = logger
    }

    public func run() async throws {
        let telemetry = self.telemetry
        let health = self.health
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(AdminHandler(telemetry: telemetry, health: health))
                }
            }
            .bind(host: host, port: port).get()
        logger.info(
            "admin listening", metadata: ["address": .string("http://\(host):\(channel.localAddress?.port ?? port)")])
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }
}

private final class AdminHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let telemetry: Telemetry
    let health: HealthMonitor

    init(telemetry: Telemetry, health: HealthMonitor) {
        self.telemetry = telemetry
        self.health = health
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        let status: HTTPResponseStatus
        let body: String
        var contentType = "text/plain; charset=utf-8"
        switch (request.method, request.uri.split(separator: "?").first.map(String.init) ?? request.uri) {
        case (.GET, "/metrics"):
            status = .ok
            body = telemetry.exposition()
            contentType = "text/plain; version=0.0.4; charset=utf-8"
        case (.GET, "/healthz"):
            let snapshot = health.snapshot
            status = snapshot.serving ? .ok : .serviceUnavailable
            body =
                snapshot.serving
                ? "serving\n"
                : "not serving\n" + snapshot.failures.map { "\($0.key): \($0.value)\n" }.sorted().joined()
        default:
            status = .notFound
            body = "not found: try /metrics or /healthz\n"
        }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: String(body.utf8.count))
        headers.add(name: "connection", value: "close")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))),
            promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
