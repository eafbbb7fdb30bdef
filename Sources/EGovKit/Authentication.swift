public import EGovAPI
public import GRPCCore
public import GRPCProtobuf
public import Logging

/// Verifies the bearer token of every call that carries one and records the user in
/// `RequestContext.current`. A call without a token goes on anonymous; a call with a bad
/// token is refused, with one message whatever was wrong with it.
public struct AuthenticationInterceptor: ServerInterceptor {
    let verifier: TokenVerifier
    let logger: Logger

    public init(verifier: TokenVerifier, logger: Logger) {
        self.verifier = verifier
        self.logger = logger
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard var current = RequestContext.current, let header = current.authorization else {
            return try await next(request, context)
        }
        guard header.hasPrefix("Bearer ") else { throw Self.refused }
        do {
            current.user = try await verifier.verify(String(header.dropFirst("Bearer ".count)))
        } catch {
            logger.info("access token refused", metadata: ["problem": .string("\(error)")])
            throw Self.refused
        }
        return try await RequestContext.serving(current) { try await next(request, context) }
    }

    public static let refused = GoogleRPCStatus(
        code: .unauthenticated, message: "The access token is not valid; sign in again or refresh the session.",
        details: [.errorInfo(reason: "INVALID_TOKEN", domain: "egov", metadata: [:])]
    )
}

extension Egov_Identity_V1_Role {
    /// The proto name, e.g. `ROLE_SPECIALIST`, as tokens carry it.
    public var name: String {
        switch self {
        case .unspecified: "ROLE_UNSPECIFIED"
        case .citizen: "ROLE_CITIZEN"
        case .business: "ROLE_BUSINESS"
        case .receptionOfficer: "ROLE_RECEPTION_OFFICER"
        case .specialist: "ROLE_SPECIALIST"
        case .leader: "ROLE_LEADER"
        case .clerk: "ROLE_CLERK"
        case .agencyAdmin: "ROLE_AGENCY_ADMIN"
        case .systemAdmin: "ROLE_SYSTEM_ADMIN"
        case .UNRECOGNIZED(let value): "ROLE_\(value)"
        }
    }
}

extension Egov_Identity_V1_Clearance {
    /// The proto name, e.g. `CLEARANCE_SECRET`, as tokens carry it.
    public var name: String {
        switch self {
        case .unspecified: "CLEARANCE_UNSPECIFIED"
        case .confidential: "CLEARANCE_CONFIDENTIAL"
        case .secret: "CLEARANCE_SECRET"
        case .topSecret: "CLEARANCE_TOP_SECRET"
        case .UNRECOGNIZED(let value): "CLEARANCE_\(value)"
        }
    }
}
