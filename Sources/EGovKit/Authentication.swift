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
            current.user = try verifier.verify(String(header.dropFirst("Bearer ".count)))
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

/// What a caller wants to do, with the agency or person it concerns: the one vocabulary every
/// service asks `Permissions.allows` about.
public enum Action: Sendable, Hashable {
    /// Create, move or deactivate agencies.
    case manageAgencies
    /// Create and manage the officials of an agency (`agencies/{code}`).
    case manageOfficials(agency: String)
    /// Read a person's record: `person` is `people/{id}`, `agency` the official's agency.
    case readPerson(person: String, agency: String?)
    /// Draft, register and read an agency's documents.
    case handleDocuments(agency: String)
    /// Maintain the procedure catalogue entries of an agency.
    case manageCatalogue(agency: String)
    /// Register and change an agency's bridge points.
    case manageBridgePoints(agency: String)
    /// Read and work on the dossiers an agency received.
    case handleDossiers(agency: String)
    /// See the figures of every agency of the province (rankings): system administrators.
    case readProvinceFigures
}

/// The permission check, in one place. Services call it with the caller's verified claims.
public enum Permissions {
    static func has(_ claims: AccessClaims, _ role: Egov_Identity_V1_Role) -> Bool {
        claims.roles.contains(role.name)
    }

    /// Administrators act as administrators only in sessions opened with a second factor.
    public static func hasSecondFactor(_ claims: AccessClaims) -> Bool { claims.amr?.contains("otp") == true }

    public static func allows(_ claims: AccessClaims, _ action: Action) -> Bool {
        let strong = hasSecondFactor(claims)
        if has(claims, .systemAdmin) && strong { return true }
        let adminOf: (String) -> Bool = { agency in has(claims, .agencyAdmin) && strong && claims.agency == agency }
        switch action {
        case .manageAgencies, .readProvinceFigures:
            return false
        case .manageOfficials(let agency), .manageCatalogue(let agency), .manageBridgePoints(let agency):
            return adminOf(agency)
        case .readPerson(let person, let agency):
            return claims.sub == person || (agency.map(adminOf) ?? false)
        case .handleDocuments(let agency), .handleDossiers(let agency):
            return claims.agency == agency
                && [.specialist, .clerk, .leader, .receptionOfficer].contains { has(claims, $0) }
        }
    }
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
