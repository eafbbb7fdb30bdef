public import EGovAPI
public import EGovKit
public import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
import GRPCProtobuf
public import SwiftProtobuf

/// One `google.api.http` binding: an HTTP method and path template leading to a gRPC method.
struct HTTPBinding: Sendable {
    let route: Route
    let verb: String
    let template: String
    /// `*` (the whole body is the request), a field name, or empty (no body).
    let body: String
    let pattern: NSRegularExpression
    /// The request fields the template's variables fill, in order.
    let variables: [String]

    init?(route: Route, rule: Google_Api_HttpRule) {
        let verb: String
        let template: String
        switch rule.pattern {
        case .get(let path): (verb, template) = ("GET", path)
        case .post(let path): (verb, template) = ("POST", path)
        case .patch(let path): (verb, template) = ("PATCH", path)
        case .put(let path): (verb, template) = ("PUT", path)
        case .delete(let path): (verb, template) = ("DELETE", path)
        default: return nil
        }
        var regex = "^"
        var variables: [String] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            regex += NSRegularExpression.escapedPattern(for: String(rest[..<open]))
            let variable = rest[rest.index(after: open)..<close]
            let parts = variable.split(separator: "=", maxSplits: 1)
            variables.append(String(parts[0]))
            let segments = parts.count == 2 ? parts[1].split(separator: "/").map(String.init) : ["*"]
            regex +=
                "("
                + segments.map { $0 == "**" ? ".+" : $0 == "*" ? "[^/]+" : NSRegularExpression.escapedPattern(for: $0) }
                .joined(separator: "/") + ")"
            rest = rest[rest.index(after: close)...]
        }
        regex += NSRegularExpression.escapedPattern(for: String(rest)) + "$"
        guard let pattern = try? NSRegularExpression(pattern: regex) else { return nil }
        self.route = route
        self.verb = verb
        self.template = template
        self.body = rule.body
        self.pattern = pattern
        self.variables = variables
    }

    /// The variables' values when `path` matches.
    func match(_ path: String) -> [String]? {
        let range = NSRange(path.startIndex..., in: path)
        guard let found = pattern.firstMatch(in: path, range: range) else { return nil }
        return (1..<found.numberOfRanges).map { index in
            Range(found.range(at: index), in: path).map { String(path[$0]) } ?? ""
        }
    }
}

/// An HTTP response: status, headers and body, or a stream of newline-delimited JSON.
public struct HTTPAnswer: Sendable {
    public var status: Int
    public var contentType = "application/json; charset=utf-8"
    public var body: Data
    public var headers: [(String, String)] = []
}

/// HTTP/JSON transcoding of the public API, from the `google.api.http` annotations: what a
/// browser or a script without gRPC calls. A request's JSON body, path variables and query
/// parameters make the gRPC request; the response or error comes back as JSON (errors in
/// the AIP-193 shape with their details). Sign-in, the public-method rule and the rate limit
/// are those of the gRPC port; the backends check the token again.
public struct Transcoder: Sendable {
    let bindings: [HTTPBinding]
    let clients: [String: GRPCClient<HTTP2ClientTransport.Posix>]
    let verifier: TokenVerifier
    let limiter: RateLimiter
    let deadline: Duration
    let index = DescriptorIndex.shared

    public init(
        routes: [Route], clients: [String: GRPCClient<HTTP2ClientTransport.Posix>], verifier: TokenVerifier,
        limiter: RateLimiter,
        deadline: Duration
    ) throws {
        var bindings: [HTTPBinding] = []
        for route in routes {
            for rule in [route.httpRule] + route.httpRule.additionalBindings {
                if let binding = HTTPBinding(route: route, rule: rule) { bindings.append(binding) }
            }
        }
        // Custom verbs (`:watch`) and longer literal paths first, so `.../dossiers/x:watch` is
        // not read as a dossier named `x:watch`.
        self.bindings = bindings.sorted {
            ($0.template.contains("}:") ? 1 : 0, $0.template.count) > (
                $1.template.contains("}:") ? 1 : 0, $1.template.count
            )
        }
        self.clients = clients
        self.verifier = verifier
        self.limiter = limiter
        self.deadline = deadline
    }

    /// Answers one HTTP request from `address`.
    public func answer(
        method: String, uri: String, headers: [String: String], body: Data, address: String,
        stream: (@Sendable (Data) async throws -> Void)? = nil
    ) async -> HTTPAnswer {
        // The request id travels to the services and comes back in `x-request-id`, as on gRPC.
        let requestID =
            headers[RequestContext.requestIDKey].flatMap {
                $0.isEmpty || $0.count > 128 || !$0.allSatisfy(\.isASCII) ? nil : $0
            }
            ?? RequestContext.makeRequestID()
        var answer: HTTPAnswer
        do {
            answer = try await transcode(
                method: method, uri: uri, headers: headers, body: body, address: address, requestID: requestID,
                stream: stream)
        } catch let status as GoogleRPCStatus {
            answer = Self.errorAnswer(RPCError(status))
        } catch let error as RPCError {
            answer = Self.errorAnswer(error)
        } catch {
            answer = Self.errorAnswer(RPCError(code: .internalError, message: "The request could not be completed."))
        }
        answer.headers.append((RequestContext.requestIDKey, requestID))
        return answer
    }

    static let errors = ErrorBuilder(domain: "gateway.egov")

    func transcode(
        method: String, uri: String, headers: [String: String], body: Data, address: String, requestID: String,
        stream: (@Sendable (Data) async throws -> Void)?
    ) async throws -> HTTPAnswer {
        let (path, query) = try Self.split(uri)
        let (binding, values): (HTTPBinding, [String])
        switch match(method: method, path: path) {
        case .found(let found, let variables): (binding, values) = (found, variables)
        case .wrongMethod(let allowed):
            var answer = Self.errorAnswer(
                RPCError(code: .unimplemented, message: "\(method) is not allowed on \(Clip.text(path, 200))."))
            answer.status = 405
            answer.headers.append(("Allow", allowed.joined(separator: ", ")))
            return answer
        case .none:
            throw Self.noSuchPath(path)
        }
        let route = binding.route
        var user: AccessClaims?
        if let authorization = headers["authorization"] {
            guard authorization.hasPrefix("Bearer "),
                let claims = try? await verifier.verify(String(authorization.dropFirst(7)))
            else {
                throw AuthenticationInterceptor.refused
            }
            user = claims
        }
        guard route.isPublic || user != nil else {
            throw Self.errors.unauthenticated(
                "AUTHENTICATION_REQUIRED",
                "\(route.descriptor.method) needs a signed-in user: call Login and send the access token.")
        }
        if let refusal = limiter.check(user: user?.sub, address: address) { throw refusal }
        guard let types = EGovMethodTypes.all[route.key], let client = clients[route.backend] else {
            throw RPCError(code: .unimplemented, message: "\(route.key) is not served over HTTP.")
        }
        guard !route.isClientStreaming else {
            throw RPCError(
                code: .unimplemented, message: "\(route.descriptor.method) streams from the client: call it over gRPC.")
        }
        let message = try decode(binding: binding, values: values, query: query, body: body, as: types.input)
        var metadata: Metadata = [RequestContext.clientAddressKey: .string(address)]
        if let authorization = headers["authorization"] { metadata.addString(authorization, forKey: "authorization") }
        metadata.addString(requestID, forKey: RequestContext.requestIDKey)
        var options = CallOptions.defaults
        options.timeout = route.isStreaming ? ForwardingService.streamingDeadline : deadline
        let bytes: [UInt8] = try message.serializedBytes()
        let output = types.output
        return try await client.bidirectionalStreaming(
            request: StreamingClientRequest(of: [UInt8].self, metadata: metadata) { try await $0.write(bytes) },
            descriptor: route.descriptor, serializer: RawBytes(), deserializer: RawBytes(), options: options
        ) { response in
            switch response.accepted {
            case .failure(let error):
                throw RPCError(code: error.code, message: error.message, metadata: error.metadata)
            case .success(let contents):
                var answers: [Data] = []
                for try await part in contents.bodyParts {
                    guard case .message(let reply) = part else { continue }
                    let json = try output.init(serializedBytes: reply).jsonUTF8Data()
                    if route.isServerStreaming, let stream {
                        try await stream(json + Data("\n".utf8))
                    } else {
                        answers.append(json)
                    }
                }
                if route.isServerStreaming && stream != nil { return HTTPAnswer(status: 200, body: Data()) }
                return HTTPAnswer(status: 200, body: answers.first ?? Data("{}".utf8))
            }
        }
    }

    enum Match {
        case found(HTTPBinding, [String])
        /// The path is known, with other methods.
        case wrongMethod(allowed: [String])
        case none
    }

    /// The binding for `method` on `path`, and the values of its variables.
    func match(method: String, path: String) -> Match {
        var allowed: Set<String> = []
        for binding in bindings {
            guard let values = binding.match(path) else { continue }
            if binding.verb == method { return .found(binding, values) }
            allowed.insert(binding.verb)
        }
        return allowed.isEmpty ? .none : .wrongMethod(allowed: allowed.sorted())
    }

    /// The request message an HTTP request makes, from its path, query and body, with every
    /// limit of `RequestLimits` checked first.
    func decode(
        binding: HTTPBinding, values: [String], query: [(String, String)], body: Data,
        as type: any SwiftProtobuf.Message.Type
    ) throws -> any SwiftProtobuf.Message {
        let request = try requestJSON(
            binding: binding, values: values, query: query, body: body, type: type.protoMessageName)
        do {
            return try type.init(jsonUTF8Bytes: request, extensions: nil, options: JSONDecodingOptions())
        } catch {
            throw Self.errors.invalidArgument(
                "MALFORMED_JSON", field: "body", "is not a valid \(type.protoMessageName): \(error)")
        }
    }

    /// The request message of an HTTP request, or the error its caller would get; for the
    /// fuzz targets, which feed the edge's parsing everything without a network.
    public func parse(method: String, uri: String, body: Data) throws -> any SwiftProtobuf.Message {
        let (path, query) = try Self.split(uri)
        guard case .found(let binding, let values) = match(method: method, path: path) else {
            throw Self.noSuchPath(path)
        }
        guard let types = EGovMethodTypes.all[binding.route.key] else {
            throw RPCError(code: .unimplemented, message: binding.route.key)
        }
        return try decode(binding: binding, values: values, query: query, body: body, as: types.input)
    }

    static func noSuchPath(_ path: String) -> GoogleRPCStatus {
        errors.notFound("NO_SUCH_PATH", resource: path, "No API method is at \(Clip.text(path, 200)).")
    }

    /// The request as JSON: the body (all of it, or one field of it), then the query
    /// parameters, then the path variables, each set at its field path.
    func requestJSON(binding: HTTPBinding, values: [String], query: [(String, String)], body: Data, type: String) throws
        -> Data
    {
        var object: [String: Any] = [:]
        if let depth = JSONNesting.depth(of: body, over: RequestLimits.maxJSONDepth) {
            throw Self.errors.invalidArgument(
                "JSON_TOO_DEEP", field: "body", "nests deeper than \(RequestLimits.maxJSONDepth) levels (\(depth) seen)"
            )
        }
        let text = body.isEmpty ? nil : try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        if !body.isEmpty && text == nil {
            throw Self.errors.invalidArgument("MALFORMED_JSON", field: "body", "is not JSON")
        }
        switch binding.body {
        case "*":
            guard text == nil || text is [String: Any] else {
                throw Self.errors.invalidArgument("MALFORMED_JSON", field: "body", "must be a JSON object")
            }
            object = text as? [String: Any] ?? [:]
        case "":
            break
        default:
            if let text { Self.set(&object, path: binding.body.split(separator: ".").map(String.init), value: text) }
        }
        for (name, value) in query {
            let path = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard path.count <= RequestLimits.maxFieldPathDepth, path.allSatisfy({ !$0.isEmpty }) else {
                throw Self.errors.invalidArgument(
                    "FIELD_PATH_TOO_DEEP", field: String(name.prefix(64)),
                    "a query parameter names a field at most \(RequestLimits.maxFieldPathDepth) levels deep, "
                        + "as dotted non-empty names")
            }
            let field = fieldDescriptor(type: type, path: path)
            let typed: Any = field?.type == .bool ? (value == "true" || value == "1") : value
            Self.set(&object, path: path, value: typed, appending: field?.label == .repeated)
        }
        for (variable, value) in zip(binding.variables, values) {
            Self.set(
                &object, path: variable.split(separator: ".").map(String.init),
                value: value.removingPercentEncoding ?? value)
        }
        return try JSONSerialization.data(withJSONObject: object)
    }

    /// The descriptor of the field at `path` in message `type`.
    func fieldDescriptor(type: String, path: [String]) -> Google_Protobuf_FieldDescriptorProto? {
        var message = index.messages[type]
        var field: Google_Protobuf_FieldDescriptorProto?
        for name in path {
            field = message?.field.first { $0.name == name || $0.jsonName == name }
            message = field.flatMap { index.messages[String($0.typeName.drop { $0 == "." })] }
        }
        return field
    }

    /// Puts `value` at the dotted field `path` of `object`, creating the objects on the way;
    /// `appending` adds it to a list there (a repeated field) instead. Paths are at most
    /// `RequestLimits.maxFieldPathDepth` long (checked by the callers), so the recursion is shallow.
    static func set(_ object: inout [String: Any], path: some Collection<String>, value: Any, appending: Bool = false) {
        guard let first = path.first else { return }
        if path.count == 1 {
            object[first] = appending ? (object[first] as? [Any] ?? []) + [value] : value
            return
        }
        var inner = object[first] as? [String: Any] ?? [:]
        set(&inner, path: path.dropFirst(), value: value, appending: appending)
        object[first] = inner
    }

    /// The path and the decoded query parameters of `uri`, refusing a URI longer than
    /// `RequestLimits.maxURIBytes` or with more than `RequestLimits.maxQueryParameters` parameters.
    static func split(_ uri: String) throws -> (String, [(String, String)]) {
        guard uri.utf8.count <= RequestLimits.maxURIBytes else {
            throw errors.invalidArgument(
                "URI_TOO_LONG", field: "uri", "is longer than \(RequestLimits.maxURIBytes) bytes")
        }
        let parts = uri.split(separator: "?", maxSplits: 1)
        let path = String(parts.first ?? "")
        guard parts.count == 2 else { return (path, []) }
        let pairs = parts[1].split(separator: "&", maxSplits: RequestLimits.maxQueryParameters)
        guard pairs.count <= RequestLimits.maxQueryParameters else {
            throw errors.invalidArgument(
                "TOO_MANY_PARAMETERS", field: "query", "has more than \(RequestLimits.maxQueryParameters) parameters")
        }
        let query = pairs.compactMap { pair -> (String, String)? in
            let kv = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            guard let key = kv.first, !key.isEmpty else { return nil }
            return (key, kv.count == 2 ? kv[1] : "")
        }
        return (path, query)
    }

    /// The HTTP status of a gRPC status code (google.rpc.Code's mapping).
    static func httpStatus(_ code: RPCError.Code) -> Int {
        switch code {
        case .invalidArgument, .failedPrecondition, .outOfRange: 400
        case .unauthenticated: 401
        case .permissionDenied: 403
        case .notFound: 404
        case .alreadyExists, .aborted: 409
        case .resourceExhausted: 429
        case .cancelled: 499
        case .unimplemented: 501
        case .unavailable: 503
        case .deadlineExceeded: 504
        default: 500
        }
    }

    /// `{"error": {"code", "message", "status", "details"}}`, with the details of the
    /// `google.rpc.Status` the service sent (ErrorInfo, BadRequest, RetryInfo).
    static func errorAnswer(_ error: RPCError) -> HTTPAnswer {
        var details: [[String: Any]] = []
        var retryAfter: String?
        if let status = try? error.unpackGoogleRPCStatus() {
            for detail in status.details {
                if let info = detail.errorInfo {
                    details.append([
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": info.reason,
                        "domain": info.domain,
                        "metadata": info.metadata,
                    ])
                } else if let request = detail.badRequest {
                    details.append([
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": request.violations.map {
                            ["field": $0.field, "description": $0.violationDescription]
                        },
                    ])
                } else if let retry = detail.retryInfo {
                    let seconds = retry.delay.components.seconds + (retry.delay.components.attoseconds > 0 ? 1 : 0)
                    retryAfter = String(seconds)
                    details.append(["@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "\(seconds)s"])
                }
            }
        }
        let status = httpStatus(error.code)
        let body: [String: Any] = [
            "error": ["code": status, "message": error.message, "status": statusName(error.code), "details": details]
        ]
        var answer = HTTPAnswer(
            status: status,
            body: (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes]))
                ?? Data())
        if let retryAfter { answer.headers.append(("Retry-After", retryAfter)) }
        return answer
    }

    /// `INVALID_ARGUMENT` for `.invalidArgument`, as google.rpc.Code names it.
    static func statusName(_ code: RPCError.Code) -> String {
        var name = ""
        for character in String(describing: code) {
            if character.isUppercase { name += "_" }
            name += character.uppercased()
        }
        return name == "INTERNAL_ERROR" ? "INTERNAL" : name
    }
}
