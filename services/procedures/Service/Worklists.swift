public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore

/// Officials' worklists and applicants' own dossiers, and following one dossier live.
extension ProceduresService {
    public func listDossiers(
        request: Egov_Procedures_V1_ListDossiersRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_ListDossiersResponse {
        let size = try Self.errors.pageSize(request.pageSize)
        var query: DossierQuery
        if request.mine {
            guard let user = RequestContext.current?.user else {
                throw Self.errors.unauthenticated("AUTHENTICATION_REQUIRED", "Sign in to see your dossiers.")
            }
            query = DossierQuery(scope: .applicantSide(person: user.sub))
        } else {
            guard AgencyCode.code(fromName: request.agency) != nil else {
                throw Self.errors.invalidArgument(
                    "INVALID_AGENCY_NAME", field: "agency", "must be agencies/{code}, or set mine")
            }
            try ProceduresPolicy.handleDossiers.require(
                request.agency, Self.errors, doing: "see this agency's dossiers")
            query = DossierQuery(scope: .agency(request.agency))
            query.statuses = request.statuses
            query.currentStep = request.hasCurrentStep ? request.currentStep : nil
            query.assignee = request.assignee
            query.overdueOnly = request.overdueOnly
            guard (0...366).contains(request.dueWithinDays) else {
                throw Self.errors.invalidArgument("INVALID_FILTER", field: "due_within_days", "must be 0 to 366 days")
            }
            query.dueWithinDays = request.dueWithinDays
        }
        let filter =
            "mine=\(request.mine);agency=\(request.agency);statuses=\(request.statuses.map(\.rawValue));"
            + "assignee=\(request.assignee);due=\(request.dueWithinDays);overdue=\(request.overdueOnly);"
            + "step=\(request.hasCurrentStep ? String(request.currentStep) : "")"
        var after: (time: Int64, code: String)?
        if let key = try PageToken.decode(request.pageToken, filter: filter, errors: Self.errors) {
            let parts = key.split(separator: " ")
            guard parts.count == 2, let time = Int64(parts[0]) else {
                throw Self.errors.invalidArgument(
                    "INVALID_PAGE_TOKEN", field: "page_token", "is not a token this service issued")
            }
            after = (time, String(parts[1]))
        }
        let rows = try await dossiers.list(query, now: store.clock.micros, after: after, limit: size + 1)
        let result = PageToken.page(rows, size: size, filter: filter) { "\($0.appointmentTime.micros) \($0.code)" }
        return .with {
            $0.dossiers = result.items
            $0.nextPageToken = result.nextPageToken
        }
    }
}

extension ProceduresService {
    static let closedStatuses: Set<Egov_Procedures_V1_Dossier.Status> = [
        .resultReturned, .notAccepted, .withdrawn, .stopped,
    ]

    public func watchDossier(
        request: Egov_Procedures_V1_WatchDossierRequest,
        response: RPCWriter<Egov_Procedures_V1_Dossier>,
        context: ServerContext
    ) async throws {
        // Listen before the first read, so no change falls between the two. Woken at once by
        // changes committed here; another replica's changes are seen on the periodic re-read,
        // since the store is the one place every replica writes.
        let code = request.name.split(separator: "/").last.map(String.init) ?? ""
        // Until the dossier is closed or gRPC cancels the call (hang-up, deadline, shutdown).
        try await cancellingWithRPC { try await follow(request.name, code: code, to: response) }
    }

    private func follow(_ name: String, code: String, to response: RPCWriter<Egov_Procedures_V1_Dossier>) async throws {
        try await changes.watch(code, fallback: .seconds(2)) { signals in
            var dossier = try await visibleDossier(name)
            try await response.write(dossier)
            var lastEtag = dossier.etag
            guard !Self.closedStatuses.contains(dossier.status) else { return }
            for await _ in signals {
                dossier = try await visibleDossier(name)
                if dossier.etag != lastEtag {
                    try await response.write(dossier)
                    lastEtag = dossier.etag
                }
                if Self.closedStatuses.contains(dossier.status) { break }
            }
        }
    }
}
