import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A plain-HTTP server on loopback standing in for a system outside the platform (the
/// national portal): it records each request and answers with the status `answer` picks.
public final class RecordingHTTPServer: Sendable {
    /// One request as received.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var headers: [String: String]
        public var body: [UInt8]
    }

    /// What the server saw and what it will answer, shared with the connections' handlers.
    final class Log: Sendable {
        let state = Mutex<(requests: [Request], answers: [Int])>(([], []))
    }

    private let channel: any Channel
    private let log = Log()
    public var port: Int { channel.localAddress?.port ?? 0 }
    public var requests: [Request] { log.state.withLock { $0.requests } }

    /// Serves until `close()`. `answers` are used in order, one per request; 200 after them.
    public init(answers: [Int] = []) async throws {
        let log = self.log
        log.state.withLock { $0.answers = answers }
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    /// Answers the next requests with `statuses`, then 200.
    public func answer(_ statuses: [Int]) { log.state.withLock { $0.answers = statuses } }

    public func close() async throws { try await channel.close() }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let log: Log
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(log: Log) { self.log = log }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let request):
                head = request
                body = []
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let head else { return }
                var headers: [String: String] = [:]
                for (name, value) in head.headers { headers[name.lowercased()] = value }
                let request = Request(method: "\(head.method)", path: head.uri, headers: headers, body: body)
                let status = log.state.withLock { state in
                    state.requests.append(request)
                    return state.answers.isEmpty ? 200 : state.answers.removeFirst()
                }
                var responseHeaders = HTTPHeaders()
                responseHeaders.add(name: "Content-Length", value: "0")
                context.write(
                    wrapOutboundOut(
                        .head(
                            HTTPResponseHead(
                                version: head.version, status: .init(statusCode: status), headers: responseHeaders))),
                    promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
