import Foundation
public import GRPCCore
public import Logging

/// What an RPC carries that every layer below it needs: the request id (for logs and
/// downstream calls), the caller's identity from its client certificate, the deadline the
/// client set and the end user's credentials to pass on.
public struct RequestContext: Sendable {
    /// The `x-request-id` the client sent, or one made up when it sent none.
    public var requestID: String
    /// `/package.Service/Method`.
    public var method: String
    /// The calling process, from the common name of its verified client certificate
    /// (`egov-gateway`); nil on the public port, where clients have no certificate.
    public var caller: String?
    /// The remote address.
    public var peer: String
    /// When the client gives up, from `grpc-timeout`.
    public var deadline: ContinuousClock.Instant?
    /// The end user's `authorization` metadata, passed on to peers untouched.
    public var authorization: String?
    /// The signed-in user, once `AuthenticationInterceptor` verified their access token.
    public var user: AccessClaims?
    /// The end user's network address: the peer's, or for calls the gateway relays, the
    /// address the gateway saw (`x-egov-client-address`, trusted from the gateway only).
    public var clientAddress: String = ""

    /// Metadata key the gateway passes the end user's address in.
    public static let clientAddressKey = "x-egov-client-address"

    /// `ipv4:127.0.0.1:5000` -> `127.0.0.1`; `ipv6:[::1]:5000` -> `::1`.
    public static func address(ofPeer peer: String) -> String {
        var text = Substring(peer)
        for prefix in ["ipv4:", "ipv6:", "unix:"] where text.hasPrefix(prefix) { text = text.dropFirst(prefix.count) }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            return String(text[text.index(after: text.startIndex)..<close])
        }
        if let colon = text.lastIndex(of: ":"), text.filter({ $0 == ":" }).count == 1 { return String(text[..<colon]) }
        return String(text)
    }

    public init(
        requestID: String, method: String, caller: String? = nil, peer: String = "",
        deadline: ContinuousClock.Instant? = nil, authorization: String? = nil
    ) {
        self.requestID = requestID
        self.method = method
        self.caller = caller
        self.peer = peer
        self.deadline = deadline
        self.authorization = authorization
    }

    /// Who acts in the current call, as records name them: the signed-in user
    /// (`people/{id}`), or the platform process calling for no user (`services/egov-procedures`).
    public static var actor: String {
        current?.user?.sub ?? "services/\(current?.caller ?? "unknown")"
    }

    /// Runs `body` as the service itself rather than for the signed-in user: peers called
    /// inside it get the request id and deadline but not the user's token, so they answer
    /// the service (which they trust by its certificate). For checks the user may not make.
    public static func actingAsService<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        guard var context = current else { return try await body() }
        context.authorization = nil
        context.user = nil
        return try await $current.withValue(context) { try await body() }
    }

    /// The context of the RPC this task serves, if any.
    @TaskLocal public static var current: RequestContext?

    /// Adds `request_id`, `rpc.method` and `caller` to every log line written inside an RPC.
    public static let metadataProvider = Logger.MetadataProvider {
        guard let context = RequestContext.current else { return [:] }
        var metadata: Logger.Metadata = [
            "request_id": .string(context.requestID), "rpc.method": .string(context.method),
        ]
        if let caller = context.caller { metadata["caller"] = .string(caller) }
        if let user = context.user { metadata["user"] = .string(user.sub) }
        return metadata
    }

    /// Metadata key of the request id.
    public static let requestIDKey = "x-request-id"

    /// A fresh request id.
    public static func makeRequestID() -> String { UUID().uuidString.lowercased() }

    /// Call options for a downstream call: the caller's remaining time, capped by `fallback`
    /// (the configured default) so a peer is never waited on forever.
    public static func callOptions(fallback: Duration) -> CallOptions {
        var options = CallOptions.defaults
        var timeout = fallback
        if let deadline = current?.deadline {
            let remaining = deadline - ContinuousClock.now
            timeout = min(timeout, max(remaining, .milliseconds(1)))
        }
        options.timeout = timeout
        return options
    }
}

/// Parses a `grpc-timeout` header value: digits and a unit (H, M, S, m, u, n).
func parseGRPCTimeout(_ value: String) -> Duration? {
    guard let unit = value.last, let amount = Int64(value.dropLast()), amount >= 0, value.count <= 9 else {
        return nil
    }
    switch unit {
    case "H": return .seconds(amount * 3600)
    case "M": return .seconds(amount * 60)
    case "S": return .seconds(amount)
    case "m": return .milliseconds(amount)
    case "u": return .microseconds(amount)
    case "n": return .nanoseconds(amount)
    default: return nil
    }
}

extension RequestContext {
    /// Runs an RPC's handler with `context` current, and its response producer too: the
    /// producer runs after the handler has returned, outside the first task-local scope.
    public static func serving<Output: Sendable>(
        _ context: RequestContext, _ handler: () async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        var response = try await $current.withValue(context) { try await handler() }
        if case .success(var contents) = response.accepted {
            let producer = contents.producer
            contents.producer = { writer in try await $current.withValue(context) { try await producer(writer) } }
            response.accepted = .success(contents)
        }
        return response
    }
}
