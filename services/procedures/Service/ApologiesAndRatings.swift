public import EGovAPI
import EGovKit
import Foundation
public import GRPCCore

/// Apology slips for late dossiers (Mẫu 04) and the applicants' ratings.
extension ProceduresService {
    public func issueApology(
        request: Egov_Procedures_V1_IssueApologyRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Dossier {
        var dossier = try await visibleDossier(request.name)
        try ProceduresPolicy.issueApology.require(
            dossier, Self.errors, doing: "issue apology slips: the receiving and the deciding agency's officials do")
        guard
            DossierRepository.openStatuses.contains(dossier.status)
                || [.supplementRequested, .paymentRequested].contains(dossier.status)
        else {
            throw Self.errors.failedPrecondition(
                "ILLEGAL_TRANSITION",
                "The dossier is in status \(DossierWorkflow.statusName(dossier.status)); it is no longer being processed."
            )
        }
        let reason = request.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty, reason.count <= 2000 else {
            throw Self.errors.invalidArgument(
                "REASON_REQUIRED", field: "reason", "give the reason, at most 2000 characters")
        }
        _ = try Self.errors.acceptedTime(request.newAppointmentTime, field: "new_appointment_time")
        guard request.hasNewAppointmentTime, request.newAppointmentTime.micros > dossier.appointmentTime.micros else {
            throw Self.errors.invalidArgument(
                "INVALID_APPOINTMENT", field: "new_appointment_time", "must be after the current appointment")
        }
        let now = clock()
        let actor = RequestContext.actor
        dossier.apologies.append(
            .with {
                $0.reason = reason
                $0.previousAppointmentTime = dossier.appointmentTime
                $0.newAppointmentTime = request.newAppointmentTime
                $0.issuedBy = actor
                $0.issueTime = .init(date: now)
            })
        dossier.appointmentTime = request.newAppointmentTime
        // A new appointment: the overdue scan watches it afresh.
        dossier.clearOverdueTime()
        let event = Egov_Procedures_V1_DossierEvent.noted(
            .issueApology, on: dossier, by: actor, "Phiếu xin lỗi và hẹn lại: \(reason)", at: .init(date: now))
        return try await save(dossier, event: event, topic: "procedures.dossier.apology_issued")
    }

    public func rateDossier(
        request: Egov_Procedures_V1_RateDossierRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Dossier {
        var dossier = try await visibleDossier(request.name)
        try ProceduresPolicy.rateDossier.require(dossier, Self.errors, doing: "rate this dossier: its applicant does")
        guard dossier.status == .resultReturned else {
            throw Self.errors.failedPrecondition(
                "ILLEGAL_TRANSITION",
                "The dossier is in status \(DossierWorkflow.statusName(dossier.status)); rate it once the result is returned."
            )
        }
        guard (1...5).contains(request.rating) else {
            throw Self.errors.invalidArgument("INVALID_RATING", field: "rating", "must be 1 to 5")
        }
        guard request.comment.count <= 2000 else {
            throw Self.errors.invalidArgument("INVALID_RATING", field: "comment", "at most 2000 characters")
        }
        dossier.rating = request.rating
        dossier.ratingComment = request.comment
        let event = Egov_Procedures_V1_DossierEvent.noted(
            .rate, on: dossier, by: RequestContext.actor, "Đánh giá \(request.rating)/5", at: .init(date: clock()))
        return try await save(dossier, event: event)
    }
}
