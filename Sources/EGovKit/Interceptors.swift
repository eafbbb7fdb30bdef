public import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
public import Logging
import NIOHTTP2
import SwiftProtobuf
import X509

/// Sets `RequestContext.current` for the RPC: the request id (taken from `x-request-id` or
/// made up), the caller from its verified client certificate, the deadline from
/// `grpc-timeout` and the end user's `authorization`. Echoes the request id to the client.
public struct RequestContextInterceptor: ServerInterceptor {
    public init() {}

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let sent = request.metadata[stringValues: RequestContext.requestIDKey].first(where: { _ in true })
        let requestID = sent.flatMap { Self.isAcceptable($0) ? $0 : nil } ?? RequestContext.makeRequestID()
        let timeout = request.metadata[stringValues: "grpc-timeout"].first(where: { _ in true })
            .flatMap(parseGRPCTimeout)
        var requestContext = RequestContext(
            requestID: requestID,
            method: "/\(context.descriptor.service.fullyQualifiedService)/\(context.descriptor.method)",
            caller: Self.caller(context),
            peer: context.remotePeer,
            deadline: timeout.map { ContinuousClock.now + $0 },
            authorization: request.metadata[stringValues: "authorization"].first(where: { _ in true })
        )
        requestContext.clientAddress = RequestContext.address(ofPeer: context.remotePeer)
        if requestContext.caller == Access.gateway,
            let relayed = request.metadata[stringValues: RequestContext.clientAddressKey].first(where: { _ in true }),
            relayed.utf8.count <= 64
        {
            requestContext.clientAddress = relayed
        }
        let established = requestContext
        var response = try await RequestContext.serving(established) { try await next(request, context) }
        response.metadata.replaceOrAddString(requestID, forKey: RequestContext.requestIDKey)
        return response
    }

    /// Request ids end up in logs: accept only short, printable ones.
    static func isAcceptable(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128
            && id.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "=") }
    }

    /// The common name of the client's verified certificate, if it presented one.
    static func caller(_ context: ServerContext) -> String? {
        guard let posix = context.transportSpecific as? HTTP2ServerTransport.Posix.Context else { return nil }
        return posix.peerCertificate?.commonName
    }
}

/// Runs `next` and calls `finished` exactly once with the RPC's final status code, whether
/// the handler threw, rejected the call or failed while streaming its response.
func observingOutcome<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>,
    finished: @escaping @Sendable (_ code: RPCError.Code?, _ message: String?) -> Void
) async throws -> StreamingServerResponse<Output> {
    var response: StreamingServerResponse<Output>
    do {
        response = try await next(request, context)
    } catch {
        let (code, message) = statusOf(error)
        finished(code, message)
        throw error
    }
    switch response.accepted {
    case .success(var contents):
        let producer = contents.producer
        contents.producer = { writer in
            do {
                let trailers = try await producer(writer)
                finished(nil, nil)
                return trailers
            } catch {
                let (code, message) = statusOf(error)
                finished(code, message)
                throw error
            }
        }
        response.accepted = .success(contents)
    case .failure(let error):
        finished(error.code, error.message)
    }
    return response
}

/// The status code (nil for OK) and message an error will reach the client as.
func statusOf(_ error: any Error) -> (RPCError.Code, String) {
    switch error {
    case let error as RPCError: return (error.code, error.message)
    case let error as any RPCErrorConvertible: return (error.rpcErrorCode, error.rpcErrorMessage)
    case is CancellationError: return (.cancelled, "cancelled")
    default: return (.unknown, "\(type(of: error))")
    }
}

/// One structured access log line per RPC: method, status, duration, caller, peer.
public struct AccessLogInterceptor: ServerInterceptor {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let start = ContinuousClock.now
        let logger = self.logger
        let peer = context.remotePeer
        let deadline = RequestContext.current?.deadline
        // Health checks arrive every few seconds from every peer: keep them out of the info log.
        let routine = context.descriptor.service.fullyQualifiedService == "grpc.health.v1.Health"
        return try await observingOutcome(request: request, context: context, next: next) { code, message in
            var (code, message) = (code, message)
            // The client stopped waiting: its deadline passed, or it reset the stream (which
            // cancels the handler, or fails it with a transport error), up to some tens of
            // milliseconds before the deadline as this side counts it (the client's clock
            // started first). The call was abandoned by the client, not failed by us.
            if code == .unknown || code == .cancelled,
                Task.isCancelled || deadline.map({ ContinuousClock.now >= $0 - .milliseconds(250) }) == true
            {
                let atDeadline = deadline.map { ContinuousClock.now >= $0 - .seconds(1) } ?? false
                (code, message) =
                    atDeadline
                    ? (.deadlineExceeded, "the client's deadline passed")
                    : (.cancelled, "the client cancelled the call")
            }
            let elapsed = ContinuousClock.now - start
            var metadata: Logger.Metadata = [
                "grpc.code": .string(code.map { "\($0)" } ?? "ok"),
                "duration_ms": .string(String(format: "%.3f", elapsed.milliseconds)),
                "peer": .string(peer),
            ]
            if let message { metadata["grpc.message"] = .string(message) }
            let failed = code == .internalError || code == .unknown || code == .dataLoss
            let level: Logger.Level = failed ? .error : (routine && code == nil ? .debug : .info)
            logger.log(level: level, "rpc", metadata: metadata)
        }
    }
}

/// Turns errors the service did not classify into `INTERNAL` with an `ErrorInfo`, so clients
/// never see Swift type names, SQL or stack traces; the details go to the log instead.
public struct ErrorMappingInterceptor: ServerInterceptor {
    let logger: Logger
    let domain: String

    public init(logger: Logger, domain: String) {
        self.logger = logger
        self.domain = domain
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        do {
            var response = try await next(request, context)
            if case .success(var contents) = response.accepted {
                let producer = contents.producer
                contents.producer = { writer in
                    do { return try await producer(writer) } catch { throw Self.bounded(self.map(error)) }
                }
                response.accepted = .success(contents)
            }
            return response
        } catch {
            throw Self.bounded(map(error))
        }
    }

    /// The longest status message sent, and the most status metadata (the
    /// `grpc-status-details-bin` trailer above all): a peer's HTTP/2 header limit is 16 KiB,
    /// and a trailer block over it makes the peer close the whole connection, failing every
    /// other call on it. `ErrorBuilder` clips what it quotes; this is the backstop for the rest.
    static let maxStatusMessage = 1024
    static let maxStatusMetadata = 4096

    /// `error` with its message and metadata cut to the bounds above. Oversized details are
    /// replaced by their first ErrorInfo, clipped.
    static func bounded(_ error: any Error) -> any Error {
        let rpc: RPCError
        if let error = error as? RPCError {
            rpc = error
        } else if let convertible = error as? any RPCErrorConvertible {
            rpc = RPCError(convertible)
        } else {
            return error
        }
        let metadataBytes = rpc.metadata.reduce(0) { total, entry in
            switch entry.value {
            case .string(let text): total + entry.key.utf8.count + text.utf8.count
            case .binary(let bytes): total + entry.key.utf8.count + bytes.count * 4 / 3
            }
        }
        guard rpc.message.utf8.count > maxStatusMessage || metadataBytes > maxStatusMetadata else { return error }
        let message = Clip.text(rpc.message, maxStatusMessage)
        guard metadataBytes > maxStatusMetadata else {
            return RPCError(code: rpc.code, message: message, metadata: rpc.metadata, cause: rpc.cause)
        }
        let info = (try? rpc.unpackGoogleRPCStatus())?.details.lazy.compactMap(\.errorInfo).first
        let details: [ErrorDetails] =
            info.map {
                [.errorInfo(reason: $0.reason, domain: $0.domain, metadata: Clip.metadata($0.metadata))]
            } ?? []
        return RPCError(GoogleRPCStatus(code: rpc.code, message: message, details: details))
    }

    func map(_ error: any Error) -> any Error {
        switch error {
        case let error as RPCError
        where error.cause is BinaryDecodingError || (error.cause as? RPCError)?.cause is BinaryDecodingError:
            // The request bytes are not a valid message: the caller's fault, not ours.
            return GoogleRPCStatus(
                code: .invalidArgument,
                message: "The request message could not be decoded; check that the client uses this service's proto.",
                details: [.errorInfo(reason: "MALFORMED_MESSAGE", domain: domain, metadata: [:])]
            )
        case is RPCError, is any RPCErrorConvertible:
            return error
        case is CancellationError:
            return RPCError(code: .cancelled, message: "The call was cancelled.")
        case is NIOHTTP2Errors.StreamClosed:
            // The client reset the stream, or the message size guard ended it after answering.
            return RPCError(code: .cancelled, message: "The stream was closed before the call completed.")
        default:
            if let deadline = RequestContext.current?.deadline, ContinuousClock.now >= deadline {
                // Whatever broke, it broke because the client stopped waiting.
                return RPCError(code: .deadlineExceeded, message: "The call's deadline passed.")
            }
            logger.error("unhandled error", metadata: ["error": .string(String(reflecting: error))])
            let requestID = RequestContext.current?.requestID ?? ""
            return GoogleRPCStatus(
                code: .internalError,
                message: "Internal error. Quote request id \(requestID) when reporting it.",
                details: [.errorInfo(reason: "INTERNAL", domain: domain, metadata: ["request_id": requestID])]
            )
        }
    }
}

/// Requires a verified client certificate on every call (the service ports). The transport
/// already refuses TLS handshakes without one; this is the second lock, should a port ever be
/// configured without mutual TLS by mistake.
public struct RequireClientCertificateInterceptor: ServerInterceptor {
    public init() {}

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard RequestContext.current?.caller != nil else {
            throw GoogleRPCStatus(
                code: .unauthenticated,
                message: "Service ports accept only callers with a client certificate of the platform CA.",
                details: [.errorInfo(reason: "CLIENT_CERTIFICATE_REQUIRED", domain: "egov", metadata: [:])]
            )
        }
        return try await next(request, context)
    }
}

/// Adds the request id and the end user's authorization to calls made to peers, so one
/// request can be followed across processes and every service can check the user itself.
public struct PropagationClientInterceptor: ClientInterceptor {
    public init() {}

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>,
        context: ClientContext,
        next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        var request = request
        if let current = RequestContext.current {
            if request.metadata[stringValues: RequestContext.requestIDKey].first(where: { _ in true }) == nil {
                request.metadata.addString(current.requestID, forKey: RequestContext.requestIDKey)
            }
            if let authorization = current.authorization,
                request.metadata[stringValues: "authorization"].first(where: { _ in true }) == nil
            {
                request.metadata.addString(authorization, forKey: "authorization")
            }
        }
        return try await next(request, context)
    }
}

extension Duration {
    /// The duration in milliseconds, for logs and benchmarks.
    public var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

extension Certificate {
    /// The subject's common name: a platform process's is `egov-<name>`.
    var commonName: String? {
        for rdn in subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                return String(describing: attribute.value)
            }
        }
        return nil
    }
}
