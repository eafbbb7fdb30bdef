public import EGovAPI
import EGovKit
import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
import SwiftProtobuf

/// Passes message bytes through untouched: the gateway forwards without decoding.
struct RawBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] {
        bytes.withUnsafeBytes { Array($0) }
    }
}

/// One backend method the gateway serves under its own name.
public struct Route: Sendable {
    public var descriptor: MethodDescriptor
    /// Callable without signing in.
    public var isPublic: Bool
    /// Which backend serves it: `identity`, `documents`, ...
    public var backend: String
    /// The client streams messages (uploads).
    public var isClientStreaming = false
    /// The server streams messages (followers, downloads).
    public var isServerStreaming = false
    /// Its `google.api.http` binding, for HTTP/JSON transcoding.
    public var httpRule = Google_Api_HttpRule()
    /// Streams messages one way or both: it gets a long deadline.
    public var isStreaming: Bool { isClientStreaming || isServerStreaming }
    /// `egov.identity.v1.IdentityService/GetAgency`: the method's key in `EGovMethodTypes`.
    public var key: String { "\(descriptor.service.fullyQualifiedService)/\(descriptor.method)" }
}

/// Which backend methods the public edge exposes, and which of them anonymous users may call.
public enum RouteTable {
    /// Reference data anyone may read (the agency directory, the document types, the
    /// procedure catalogue, the bridge points) and the ways in: registering, signing in,
    /// refreshing and the token keys. Everything else needs a signed-in user.
    public static let publicMethods: Set<String> = [
        "egov.identity.v1.IdentityService/RegisterPerson",
        "egov.identity.v1.IdentityService/Login",
        "egov.identity.v1.IdentityService/RefreshSession",
        "egov.identity.v1.IdentityService/Logout",
        "egov.identity.v1.IdentityService/GetSigningKeys",
        "egov.identity.v1.IdentityService/GetAgency",
        "egov.identity.v1.IdentityService/ListAgencies",
        "egov.documents.v1.DocumentsService/ListDocumentTypes",
        "egov.procedures.v1.ProceduresService/GetProcedure",
        "egov.procedures.v1.ProceduresService/ListProcedures",
        "egov.procedures.v1.ProceduresService/GetWorkingDay",
        "egov.procedures.v1.ProceduresService/LookupDossier",
        "egov.procedures.v1.ProceduresService/ComputeAppointment",
        "egov.procedures.v1.ProceduresService/ListCalendarAdjustments",
        "egov.procedures.v1.ProceduresService/ListHolidayRules",
        "egov.conferences.v1.ConferencesService/GetBridgePoint",
        "egov.conferences.v1.ConferencesService/ListBridgePoints",
    ]

    /// The backends and their packages.
    public static let backends = ["identity", "documents", "procedures", "conferences"]

    /// Every method of the backend services in the committed descriptor set that carries a
    /// `google.api.http` annotation, i.e. that the API declares as public-facing.
    public static func routes() throws -> [Route] {
        let set = try Google_Protobuf_FileDescriptorSet.committed()
        var routes: [Route] = []
        for file in set.file {
            guard let backend = backends.first(where: { file.package == "egov.\($0).v1" }) else { continue }
            for service in file.service {
                for method in service.method where method.options.hasExtensionValue(ext: Google_Api_Extensions_http) {
                    let full = "\(file.package).\(service.name)"
                    routes.append(
                        Route(
                            descriptor: MethodDescriptor(fullyQualifiedService: full, method: method.name),
                            isPublic: publicMethods.contains("\(full)/\(method.name)"),
                            backend: backend,
                            isClientStreaming: method.clientStreaming,
                            isServerStreaming: method.serverStreaming,
                            httpRule: method.options.getExtensionValue(ext: Google_Api_Extensions_http)
                                ?? Google_Api_HttpRule()
                        ))
                }
            }
        }
        return routes
    }
}

/// Serves backend methods under their own names and forwards each call, messages and status
/// untouched, to the backend over mutual TLS. The request id, the user's authorization and
/// the remaining deadline travel with it.
public struct ForwardingService: RegistrableRPCService {
    let routes: [Route]
    let clients: [String: GRPCClient<HTTP2ClientTransport.Posix>]
    let defaultDeadline: Duration
    static let errors = ErrorBuilder(domain: "gateway.egov")
    /// The deadline of a streaming call whose client set none: long enough to upload a file
    /// on a slow line or to follow a dossier for a while; the client reconnects after.
    static let streamingDeadline: Duration = .seconds(1800)

    public init(routes: [Route], clients: [String: GRPCClient<HTTP2ClientTransport.Posix>], defaultDeadline: Duration) {
        self.routes = routes
        self.clients = clients
        self.defaultDeadline = defaultDeadline
    }

    /// Transport-level keys the gateway's own transport sets; passing the backend's copies on
    /// would corrupt the response.
    static let hopByHop: Set<String> = [
        "content-type", "grpc-status", "grpc-message", "te", "user-agent", "grpc-encoding", "grpc-accept-encoding",
        "grpc-timeout", "content-length",
    ]

    static func forwardable(_ metadata: Metadata) -> Metadata {
        var result: Metadata = [:]
        for (key, value) in metadata where !key.hasPrefix(":") && !hopByHop.contains(key.lowercased()) {
            switch value {
            case .string(let text): result.addString(text, forKey: key)
            case .binary(let bytes): result.addBinary(bytes, forKey: key)
            }
        }
        return result
    }

    public func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        for route in routes {
            guard let client = clients[route.backend] else { continue }
            let deadline = route.isStreaming ? max(defaultDeadline, Self.streamingDeadline) : defaultDeadline
            router.registerHandler(forMethod: route.descriptor, deserializer: RawBytes(), serializer: RawBytes()) {
                request, context in
                // The gateway's AuthenticationInterceptor has verified the token, if any; the
                // backend verifies it again and checks the permission (zero trust).
                guard route.isPublic || RequestContext.current?.user != nil else {
                    throw Self.errors.unauthenticated(
                        "AUTHENTICATION_REQUIRED",
                        "\(route.descriptor.method) needs a signed-in user: call Login and send the access token.")
                }
                let options = RequestContext.callOptions(fallback: deadline)
                return StreamingServerResponse { writer in
                    // A client hanging up cancels the backend call too.
                    try await cancellingWithRPC {
                        try await Self.forward(request, to: writer, route: route, client: client, options: options)
                    }
                }
            }
        }
    }

    static func forward(
        _ request: StreamingServerRequest<[UInt8]>, to writer: RPCWriter<[UInt8]>, route: Route,
        client: GRPCClient<HTTP2ClientTransport.Posix>, options: CallOptions
    ) async throws -> Metadata {
        try await client.bidirectionalStreaming(
            request: StreamingClientRequest(
                of: [UInt8].self,
                metadata: [RequestContext.clientAddressKey: .string(RequestContext.current?.clientAddress ?? "")]
            ) { upstream in
                for try await message in request.messages { try await upstream.write(message) }
            },
            descriptor: route.descriptor, serializer: RawBytes(), deserializer: RawBytes(), options: options
        ) { response in
            var trailers: Metadata = [:]
            switch response.accepted {
            case .success(let contents):
                for try await part in contents.bodyParts {
                    switch part {
                    case .message(let message): try await writer.write(message)
                    case .trailingMetadata(let metadata): trailers = Self.forwardable(metadata)
                    }
                }
            case .failure(let error):
                throw RPCError(code: error.code, message: error.message, metadata: Self.forwardable(error.metadata))
            }
            return trailers
        }
    }
}
