public import EGovAPI
public import EGovKit
public import EGovStore
public import GRPCCore
import GRPCProtobuf
public import Logging

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
    /// Seals second-factor secrets in the database.
    let secrets: SecretBox
    static let errors = ErrorBuilder(domain: "identity.egov")

    /// `passwordCost` is scrypt's log2(N): 17 in production (OWASP); lower only in tests.
    public init(
        store: Store, tokens: TokenIssuer, secrets: SecretBox, passwordCost: Int = 17,
        logger: Logger = Logger(label: "egov.identity")
    ) async throws {
        self.store = store
        self.tokens = tokens
        self.secrets = secrets
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
        let code = try Self.errors.agencyCode(fromName: request.name, field: "name")
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
        if let parent { _ = try Self.errors.agencyCode(fromName: parent, field: "parent") }
        if request.query.count > 200 {
            throw Self.errors.invalidArgument("INVALID_QUERY", field: "query", "must be at most 200 characters")
        }
        let filter = "parent=\(parent ?? "*");inactive=\(request.showInactive);query=\(request.query)"
        let after = try PageToken.decode(request.pageToken, filter: filter, errors: Self.errors)
        let page = try await agencies.agencies(
            parent: parent, includeInactive: request.showInactive, query: request.query, after: after, limit: size + 1)
        let result = PageToken.page(page, size: size, filter: filter) { $0.code }
        return .with {
            $0.agencies = result.items
            $0.nextPageToken = result.nextPageToken
        }
    }

    public func createAgency(
        request: Egov_Identity_V1_CreateAgencyRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_Agency {
        try IdentityPolicy.manageAgencies.require(Self.errors, doing: "manage agencies")
        var agency = try Self.validated(request.agency)
        if !agency.parent.isEmpty {
            let parentCode = try Self.errors.agencyCode(fromName: agency.parent, field: "agency.parent")
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
                try await audit.append(
                    .init(actor: Self.actor, action: "create_agency", target: created.name, outcome: "ok"), in: tx)
                return created
            } catch is AgencyExists {
                throw Self.errors.alreadyExists(
                    "AGENCY_EXISTS", resource: toInsert.name, "Agency '\(toInsert.name)' already exists.")
            }
        }
    }

    public func updateAgency(
        request: Egov_Identity_V1_UpdateAgencyRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_Agency {
        try IdentityPolicy.manageAgencies.require(Self.errors, doing: "change agencies")
        let code = try Self.errors.agencyCode(fromName: request.agency.name, field: "agency.name")
        guard let current = try await agencies.agency(code: code) else {
            throw Self.errors.notFound(
                "AGENCY_NOT_FOUND", resource: request.agency.name, "Agency '\(request.agency.name)' does not exist.")
        }
        if !request.agency.etag.isEmpty && request.agency.etag != current.etag {
            throw Self.errors.failedPrecondition(
                "ETAG_MISMATCH", "The agency changed since you read it; read it again.")
        }
        let paths = request.updateMask.paths
        if paths.isEmpty {
            throw Self.errors.invalidArgument("EMPTY_UPDATE_MASK", field: "update_mask", "name the fields to change")
        }
        var changed = current
        for path in paths {
            switch path {
            case "display_name": changed.displayName = request.agency.displayName
            case "abbreviation": changed.abbreviation = request.agency.abbreviation
            case "kind": changed.kind = request.agency.kind
            case "owns_bridge_point": changed.ownsBridgePoint = request.agency.ownsBridgePoint
            case "external": changed.external = request.agency.external
            case "parent": changed.parent = request.agency.parent
            default:
                throw Self.errors.invalidArgument(
                    "UNSUPPORTED_UPDATE_MASK_PATH", field: "update_mask", "'\(path)' cannot be changed")
            }
        }
        var checked = try Self.validated(changed)
        checked.name = current.name
        checked.state = current.state
        if paths.contains("parent") && !checked.parent.isEmpty {
            // Walk up from the new parent: meeting the agency itself would make a cycle.
            var ancestor: String? = checked.parent
            var hops = 0
            while let name = ancestor, hops < 64 {
                guard name != current.name else {
                    throw Self.errors.invalidArgument(
                        "PARENT_CYCLE", field: "agency.parent", "cannot be the agency or one under it")
                }
                let ancestorCode = try Self.errors.agencyCode(fromName: name, field: "agency.parent")
                guard let found = try await agencies.agency(code: ancestorCode) else {
                    throw Self.errors.invalidArgument(
                        "PARENT_NOT_FOUND", field: "agency.parent", "agency '\(name)' does not exist")
                }
                ancestor = found.parent.isEmpty ? nil : found.parent
                hops += 1
            }
        }
        let updated = checked
        try await store.write { tx in
            guard try await agencies.update(updated, version: Int64(current.etag) ?? 0, in: tx) else {
                throw Self.errors.failedPrecondition("ETAG_MISMATCH", "The agency changed meanwhile; read it again.")
            }
            try await audit.append(
                .init(
                    actor: Self.actor, action: paths.contains("parent") ? "move_agency" : "update_agency",
                    target: current.name,
                    outcome: "ok", detail: paths.joined(separator: ",")), in: tx)
        }
        return try await agencies.agency(code: code)!
    }

    public func deactivateAgency(
        request: Egov_Identity_V1_DeactivateAgencyRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_Agency {
        try IdentityPolicy.manageAgencies.require(Self.errors, doing: "deactivate agencies")
        let code = try Self.errors.agencyCode(fromName: request.name, field: "name")
        guard var agency = try await agencies.agency(code: code) else {
            throw Self.errors.notFound(
                "AGENCY_NOT_FOUND", resource: request.name, "Agency '\(request.name)' does not exist.")
        }
        guard agency.state == .active else { return agency }
        let version = Int64(agency.etag) ?? 0
        agency.state = .inactive
        let deactivated = agency
        try await store.write { tx in
            guard try await agencies.update(deactivated, version: version, in: tx) else {
                throw Self.errors.failedPrecondition("ETAG_MISMATCH", "The agency changed meanwhile; try again.")
            }
            try await audit.append(
                .init(
                    actor: Self.actor, action: "deactivate_agency", target: request.name, outcome: "ok",
                    detail: String(request.reason.prefix(500))), in: tx)
        }
        return try await agencies.agency(code: code)!
    }

    /// Checks an agency to create; returns it with output-only fields cleared.
    static func validated(_ input: Egov_Identity_V1_Agency) throws -> Egov_Identity_V1_Agency {
        var violations: [ErrorBuilder.Violation] = []
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
            $0.external = input.external
        }
    }

}
