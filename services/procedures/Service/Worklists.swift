public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import SQLKit
import SwiftProtobuf

/// Officials' worklists and applicants' own dossiers, and following one dossier live.
extension ProceduresService {
    public func listDossiers(
        request: Egov_Procedures_V1_ListDossiersRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_ListDossiersResponse {
        let size = try Self.errors.pageSize(request.pageSize)
        var query = SQLQueryString("SELECT * FROM dossiers WHERE 1 = 1")
        if request.mine {
            guard let user = RequestContext.current?.user else {
                throw Self.errors.unauthenticated("AUTHENTICATION_REQUIRED", "Sign in to see your dossiers.")
            }
            // Theirs, and those they filed online as someone's representative.
            query.appendInterpolation(unsafeRaw: " AND (applicant = ")
            query.appendInterpolation(bind: user.sub)
            query.appendInterpolation(unsafeRaw: " OR (filed_by = ")
            query.appendInterpolation(bind: user.sub)
            query.appendInterpolation(unsafeRaw: " AND channel = \(Egov_Procedures_V1_Channel.online.rawValue)))")
        } else {
            guard AgencyCode.code(fromName: request.agency) != nil else {
                throw Self.errors.invalidArgument(
                    "INVALID_AGENCY_NAME", field: "agency", "must be agencies/{code}, or set mine")
            }
            try ProceduresPolicy.handleDossiers.require(
                request.agency, Self.errors, doing: "see this agency's dossiers")
            // What the agency received at its desk, and what it decides.
            query.appendInterpolation(unsafeRaw: " AND (agency = ")
            query.appendInterpolation(bind: request.agency)
            query.appendInterpolation(unsafeRaw: " OR deciding_agency = ")
            query.appendInterpolation(bind: request.agency)
            query.appendInterpolation(unsafeRaw: ")")
            if !request.statuses.isEmpty {
                let statuses = request.statuses.map { String($0.rawValue) }.filter { Int($0) != nil }.joined(
                    separator: ",")
                query.appendInterpolation(unsafeRaw: " AND status IN (\(statuses))")
            }
            if request.hasCurrentStep {
                query.appendInterpolation(unsafeRaw: " AND current_step = ")
                query.appendInterpolation(bind: Int64(request.currentStep))
            }
            if !request.assignee.isEmpty {
                query.appendInterpolation(unsafeRaw: " AND assignee = ")
                query.appendInterpolation(bind: request.assignee)
            }
            let open = DossierRepository.openStatusList
            let now = Timestamps.nowMicros()
            if request.overdueOnly {
                query.appendInterpolation(unsafeRaw: " AND status IN (\(open)) AND appointment_time < ")
                query.appendInterpolation(bind: now)
            }
            if request.dueWithinDays > 0 {
                query.appendInterpolation(unsafeRaw: " AND status IN (\(open)) AND appointment_time < ")
                query.appendInterpolation(bind: now + Int64(request.dueWithinDays) * 86_400_000_000)
            }
        }
        let filter =
            "mine=\(request.mine);agency=\(request.agency);statuses=\(request.statuses.map(\.rawValue));"
            + "assignee=\(request.assignee);due=\(request.dueWithinDays);overdue=\(request.overdueOnly);"
            + "step=\(request.hasCurrentStep ? String(request.currentStep) : "")"
        if let key = try PageToken.decode(request.pageToken, filter: filter, errors: Self.errors) {
            let parts = key.split(separator: " ")
            guard parts.count == 2, let time = Int64(parts[0]) else {
                throw Self.errors.invalidArgument(
                    "INVALID_PAGE_TOKEN", field: "page_token", "is not a token this service issued")
            }
            query.appendInterpolation(unsafeRaw: " AND (appointment_time > ")
            query.appendInterpolation(bind: time)
            query.appendInterpolation(unsafeRaw: " OR (appointment_time = ")
            query.appendInterpolation(bind: time)
            query.appendInterpolation(unsafeRaw: " AND code > ")
            query.appendInterpolation(bind: String(parts[1]))
            query.appendInterpolation(unsafeRaw: "))")
        }
        query.appendInterpolation(unsafeRaw: " ORDER BY appointment_time, code LIMIT \(size + 1)")
        let rows = try await store.read { db in try await db.rows(query).map(DossierRepository.decode) }
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
