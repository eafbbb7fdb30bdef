public import EGovAPI
import EGovKit
public import EGovStore
public import GRPCCore
public import Logging
import GRPCProtobuf

/// The identity service's RPCs.
public struct IdentityService: Egov_Identity_V1_IdentityService.SimpleServiceProtocol {
    let agencies: any AgencyRepository
    let people: PersonRepository
    let sessions: SessionRepository
    let audit: AuditLog
    let delegations: DelegationRepository
    let throttle: LoginThrottle
    let store: Store
    let tokens: TokenIssuer
    let hasher: PasswordHasher
    let decoyHash: String
    let logger: Logger
    static let errors = APIError(domain: "identity.egov")

    /// `passwordCost` is scrypt's log2(N): 17 in production (OWASP); lower only in tests.
    public init(store: Store, tokens: TokenIssuer, passwordCost: Int = 17, logger: Logger = Logger(label: "egov.identity")) async throws {
        self.store = store
        self.tokens = tokens
        self.agencies = SQLAgencyRepository(store: store)
        self.people = PersonRepository(store: store)
        self.sessions = SessionRepository(store: store)
        self.audit = AuditLog(store: store)
        self.delegations = DelegationRepository(store: store)
        self.throttle = LoginThrottle(store: store)
        self.hasher = PasswordHasher(logN: passwordCost)
        self.decoyHash = try await hasher.decoy()
        self.logger = logger
    }

    public func getAgency(
        request: Egov_Identity_V1_GetAgencyRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_Agency {
        let code = try Self.agencyCode(fromName: request.name, field: "name")
        guard let agency = try await agencies.agency(code: code) else {
            throw Self.errors.notFound(
                "AGENCY_NOT_FOUND", resource: request.name, "Agency '\(request.name)' does not exist.")
        }
        return agency
    }

    public func listAgencies(
        request: Egov_Identity_V1_ListAgenciesRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_ListAgenciesResponse {
        let size = try Self.errors.pageSize(request.pageSize)
        let parent = request.parent.isEmpty ? nil : request.parent
        if let parent { _ = try Self.agencyCode(fromName: parent, field: "parent") }
        let filter = "parent=\(parent ?? "*");inactive=\(request.showInactive)"
        let after = try PageToken.decode(request.pageToken, filter: filter, errors: Self.errors)
        let page = try await agencies.agencies(
            parent: parent, includeInactive: request.showInactive, after: after, limit: size + 1)
        return .with {
            $0.agencies = Array(page.prefix(size))
            if page.count > size, let last = $0.agencies.last {
                $0.nextPageToken = PageToken.encode(after: last.code, filter: filter)
            }
        }
    }

    public func createAgency(
        request: Egov_Identity_V1_CreateAgencyRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_Agency {
        try Access.require(.manageAgencies, Self.errors, doing: "manage agencies")
        var agency = try Self.validated(request.agency)
        if !agency.parent.isEmpty {
            let parentCode = try Self.agencyCode(fromName: agency.parent, field: "agency.parent")
            guard try await agencies.agency(code: parentCode) != nil else {
                throw Self.errors.invalidArgument(
                    "PARENT_NOT_FOUND", field: "agency.parent", "agency '\(agency.parent)' does not exist")
            }
        }
        agency.name = "agencies/\(agency.code)"
        let toInsert = agency
        return try await store.idempotentWrite(
            scope: "CreateAgency", requestID: request.requestID, request: request, errors: Self.errors
        ) { tx in
            do {
                let created = try await agencies.insert(toInsert, in: tx)
                try await audit.append(.init(actor: Self.actor, action: "create_agency", target: created.name, outcome: "ok"), in: tx)
                return created
            } catch is AgencyExists {
                throw Self.errors.alreadyExists(
                    "AGENCY_EXISTS", resource: toInsert.name, "Agency '\(toInsert.name)' already exists.")
            }
        }
    }

    /// Checks an agency to create; returns it with output-only fields cleared.
    static func validated(_ input: Egov_Identity_V1_Agency) throws -> Egov_Identity_V1_Agency {
        var violations: [APIError.Violation] = []
        if !AgencyCode.isValid(input.code) {
            violations.append(.init("agency.code", "must be a QCVN 102:2016 code like 000.00.00.H41"))
        }
        let name = input.displayName.trimmingCharacters(in: .whitespaces)
        if name.isEmpty || name.count > 300 {
            violations.append(.init("agency.display_name", "is required, at most 300 characters"))
        }
        if input.abbreviation.isEmpty || input.abbreviation.count > 20
            || !input.abbreviation.allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "Đ" })
        {
            violations.append(.init("agency.abbreviation", "is required: capital letters and digits, e.g. UBND or SYT"))
        }
        if input.kind == .unspecified || Egov_Identity_V1_Agency.Kind.allCases.contains(input.kind) == false {
            violations.append(.init("agency.kind", "is required"))
        }
        if !violations.isEmpty { throw errors.invalidArgument("INVALID_AGENCY", violations) }
        return .with {
            $0.code = input.code
            $0.displayName = name
            $0.abbreviation = input.abbreviation
            $0.kind = input.kind
            $0.parent = input.parent
            $0.ownsBridgePoint = input.ownsBridgePoint
        }
    }

    /// `agencies/{code}` -> code, or INVALID_ARGUMENT naming `field`.
    static func agencyCode(fromName name: String, field: String) throws -> String {
        guard name.hasPrefix("agencies/"), AgencyCode.isValid(String(name.dropFirst("agencies/".count))) else {
            throw errors.invalidArgument(
                "INVALID_AGENCY_NAME", field: field, "must be agencies/{code} with a QCVN 102 code, got '\(name)'")
        }
        return String(name.dropFirst("agencies/".count))
    }
}
