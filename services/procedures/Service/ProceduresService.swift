public import EGovAPI
public import EGovKit
public import EGovStore
public import Foundation
public import GRPCCore

/// The procedures service's RPCs.
public struct ProceduresService: Egov_Procedures_V1_ProceduresService.SimpleServiceProtocol {
    let procedures: any ProcedureRepository
    let calendarAdjustments: CalendarRepository
    let dossiers: DossierRepository
    let attachments: FileStore
    let agencies: any AgencyDirectory
    let people: any PersonDirectory
    let store: Store
    /// Wakes `WatchDossier` streams when a dossier changes in this process.
    let changes = ChangeFeed()
    static let errors = ErrorBuilder(domain: "procedures.egov")

    /// Now, on the store's clock: the one time every part of the service reads (tests move it).
    func clock() -> Date { store.clock.now }

    /// Issues result decisions as official documents; nil without a documents service.
    let documentOffice: (any DocumentOffice)?

    public init(
        store: Store, agencies: any AgencyDirectory, people: any PersonDirectory, attachments: FileStore,
        documentOffice: (any DocumentOffice)? = nil
    ) {
        self.documentOffice = documentOffice
        self.people = people
        self.attachments = attachments
        self.store = store
        self.agencies = agencies
        self.procedures = SQLProcedureRepository(store: store)
        self.calendarAdjustments = CalendarRepository(store: store)
        self.dossiers = DossierRepository(store: store)
    }

    public func createProcedure(
        request: Egov_Procedures_V1_CreateProcedureRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Procedure {
        let procedure = try Self.validated(request.procedure)
        try ProceduresPolicy.manageCatalogue.require(
            procedure.agency, Self.errors, doing: "manage this agency's procedures")
        _ = try await agencies.requireActive(procedure.agency, field: "procedure.agency", errors: Self.errors)
        try await requireActiveReceptionPoints(procedure)
        return try await store.idempotentWrite(
            scope: "CreateProcedure", requestID: request.requestID, request: request, errors: Self.errors
        ) { tx in
            do {
                return try await procedures.insert(procedure, in: tx)
            } catch is ProcedureExists {
                throw Self.errors.alreadyExists(
                    "PROCEDURE_EXISTS", resource: "procedures/\(procedure.code)",
                    "Procedure '\(procedure.code)' is already in the catalogue.")
            }
        }
    }

    public func updateProcedure(
        request: Egov_Procedures_V1_UpdateProcedureRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Procedure {
        let current = try await getProcedure(request: .with { $0.name = request.procedure.name }, context: context)
        try ProceduresPolicy.manageCatalogue.require(
            current.agency, Self.errors, doing: "change this agency's procedures")
        if !request.procedure.etag.isEmpty && request.procedure.etag != current.etag {
            throw Self.errors.failedPrecondition(
                "ETAG_MISMATCH", "The procedure changed since you read it; read it again.")
        }
        let paths = request.updateMask.paths
        if paths.isEmpty {
            throw Self.errors.invalidArgument("EMPTY_UPDATE_MASK", field: "update_mask", "name the fields to change")
        }
        var changed = current
        let input = request.procedure
        for path in paths {
            switch path {
            case "display_name": changed.displayName = input.displayName
            case "sector": changed.sector = input.sector
            case "mode": changed.mode = input.mode
            case "processing_days": changed.processingDays = input.processingDays
            case "fees": changed.fees = input.fees
            case "required_documents": changed.requiredDocuments = input.requiredDocuments
            case "legal_basis": changed.legalBasis = input.legalBasis
            case "steps": changed.steps = input.steps
            case "reception_points": changed.receptionPoints = input.receptionPoints
            default:
                throw Self.errors.invalidArgument(
                    "UNSUPPORTED_UPDATE_MASK_PATH", field: "update_mask", "'\(path)' cannot be changed")
            }
        }
        var checked = try Self.validated(changed)
        if paths.contains("reception_points") { try await requireActiveReceptionPoints(checked) }
        checked.name = current.name
        checked.state = current.state
        checked.createTime = current.createTime
        guard try await procedures.update(checked, version: Int64(current.etag) ?? 0) else {
            throw Self.errors.failedPrecondition("ETAG_MISMATCH", "The procedure changed meanwhile; read it again.")
        }
        return try await getProcedure(request: .with { $0.name = current.name }, context: context)
    }

    public func deactivateProcedure(
        request: Egov_Procedures_V1_DeactivateProcedureRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Procedure {
        var procedure = try await getProcedure(request: .with { $0.name = request.name }, context: context)
        try ProceduresPolicy.manageCatalogue.require(
            procedure.agency, Self.errors, doing: "change this agency's procedures")
        guard procedure.state == .active else { return procedure }
        let version = Int64(procedure.etag) ?? 0
        procedure.state = .inactive
        guard try await procedures.update(procedure, version: version) else {
            throw Self.errors.failedPrecondition("ETAG_MISMATCH", "The procedure changed meanwhile; try again.")
        }
        return try await getProcedure(request: .with { $0.name = request.name }, context: context)
    }

    public func getProcedure(
        request: Egov_Procedures_V1_GetProcedureRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Procedure {
        let code = request.name.hasPrefix("procedures/") ? String(request.name.dropFirst("procedures/".count)) : ""
        guard ProcedureCode.isValid(code) else {
            throw Self.errors.invalidArgument(
                "INVALID_PROCEDURE_NAME", field: "name", "must be procedures/{code}, e.g. procedures/1.000948.H38")
        }
        guard let procedure = try await procedures.procedure(code: code) else {
            throw Self.errors.notFound(
                "PROCEDURE_NOT_FOUND", resource: request.name, "Procedure '\(request.name)' is not in the catalogue.")
        }
        return procedure
    }

    public func listProcedures(
        request: Egov_Procedures_V1_ListProceduresRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_ListProceduresResponse {
        let size = try Self.errors.pageSize(request.pageSize)
        if !request.agency.isEmpty { _ = try Self.errors.agencyCode(fromName: request.agency, field: "agency") }
        if !request.receptionPoint.isEmpty {
            _ = try Self.errors.agencyCode(fromName: request.receptionPoint, field: "reception_point")
        }
        if request.query.count > 200 {
            throw Self.errors.invalidArgument("INVALID_QUERY", field: "query", "must be at most 200 characters")
        }
        let filter = "agency=\(request.agency);point=\(request.receptionPoint);query=\(request.query)"
        let after = try PageToken.decode(request.pageToken, filter: filter, errors: Self.errors)
        let page = try await procedures.procedures(
            agency: request.agency.isEmpty ? nil : request.agency,
            receptionPoint: request.receptionPoint.isEmpty ? nil : request.receptionPoint,
            query: request.query, after: after, limit: size + 1)
        let result = PageToken.page(page, size: size, filter: filter) { $0.code }
        return .with {
            $0.procedures = result.items
            $0.nextPageToken = result.nextPageToken
        }
    }

    /// Checks with identity that every reception point is an active agency.
    func requireActiveReceptionPoints(_ procedure: Egov_Procedures_V1_Procedure) async throws {
        for (index, point) in procedure.receptionPoints.enumerated() {
            _ = try await agencies.requireActive(
                point, field: "procedure.reception_points[\(index)]", errors: Self.errors)
        }
    }

    /// Checks a procedure to add; returns it with output-only fields cleared.
    static func validated(_ input: Egov_Procedures_V1_Procedure) throws -> Egov_Procedures_V1_Procedure {
        var violations: [ErrorBuilder.Violation] = []
        if !ProcedureCode.isValid(input.code) {
            violations.append(
                .init("procedure.code", "must be a national procedure code like 1.000948.H38 or 2.001234"))
        }
        if input.displayName.trimmingCharacters(in: .whitespaces).isEmpty || input.displayName.count > 500 {
            violations.append(.init("procedure.display_name", "is required, at most 500 characters"))
        }
        if AgencyCode.code(fromName: input.agency) == nil {
            violations.append(.init("procedure.agency", "must be agencies/{code}"))
        }
        if input.mode == .unspecified || !Egov_Procedures_V1_ServiceMode.allCases.contains(input.mode) {
            violations.append(.init("procedure.mode", "is required"))
        }
        if !(0...365).contains(input.processingDays) {
            violations.append(.init("procedure.processing_days", "must be between 0 and 365 working days"))
        }
        for (index, fee) in input.fees.enumerated() {
            if fee.description_p.isEmpty {
                violations.append(.init("procedure.fees[\(index)].description", "is required"))
            }
            if fee.amountVnd < 0 {
                violations.append(.init("procedure.fees[\(index)].amount_vnd", "must not be negative"))
            }
        }
        for (index, document) in input.requiredDocuments.enumerated() {
            if document.title.isEmpty {
                violations.append(.init("procedure.required_documents[\(index)].title", "is required"))
            }
            if document.quantity < 0 {
                violations.append(.init("procedure.required_documents[\(index)].quantity", "must not be negative"))
            }
        }
        for (index, step) in input.steps.enumerated() {
            if step.title.isEmpty { violations.append(.init("procedure.steps[\(index)].title", "is required")) }
            if step.role == .unspecified || !Egov_Identity_V1_Role.allCases.contains(step.role) {
                violations.append(.init("procedure.steps[\(index)].role", "must be a role such as ROLE_SPECIALIST"))
            }
            if step.workingHours <= 0 {
                violations.append(.init("procedure.steps[\(index)].working_hours", "must be positive"))
            }
        }
        violations += ReceptionPoints.violations(input.receptionPoints)
        if !violations.isEmpty { throw errors.invalidArgument("INVALID_PROCEDURE", violations) }
        var procedure = input
        procedure.name = ""
        procedure.state = .unspecified
        procedure.clearCreateTime()
        procedure.clearUpdateTime()
        procedure.etag = ""
        return procedure
    }
}

/// National procedure codes: `1.000948.H38` (a digit, six digits, then optionally a local
/// suffix) or `2.001234`.
enum ProcedureCode {
    static func isValid(_ code: String) -> Bool {
        let parts = code.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts[0].count == 1, parts[1].count == 6,
            (parts[0] + parts[1]).allSatisfy({ $0.isASCII && $0.isNumber })
        else { return false }
        if parts.count == 3 {
            return (1...8).contains(parts[2].count)
                && parts[2].allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber) }
        }
        return true
    }
}
