public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import SwiftProtobuf

/// The dossier state machine: which action is allowed from which status, by whom, and where it leads.
enum DossierWorkflow {
    typealias Status = Egov_Procedures_V1_Dossier.Status
    typealias Action = Egov_Procedures_V1_DossierAction

    enum Actor: Sendable { case reception, handler, leader, applicant }

    struct Rule: Sendable {
        var from: Set<Status>
        var actors: Set<Actor>
    }

    static let rules: [Action: Rule] = [
        .accept: Rule(from: [.newlyRegistered], actors: [.reception]),
        .refuse: Rule(from: [.newlyRegistered], actors: [.reception]),
        .assign: Rule(from: [.accepted, .processing], actors: [.reception, .leader]),
        .requestSupplement: Rule(
            from: [.newlyRegistered, .accepted, .processing], actors: [.reception, .handler, .leader]),
        .supplement: Rule(from: [.supplementRequested], actors: [.applicant]),
        .requestPayment: Rule(from: [.accepted, .processing], actors: [.reception, .handler, .leader]),
        .confirmPayment: Rule(from: [.paymentRequested], actors: [.reception, .handler]),
        .finish: Rule(from: [.processing], actors: [.leader]),
        .returnResult: Rule(from: [.finished], actors: [.reception]),
        .withdraw: Rule(
            from: [.newlyRegistered, .accepted, .processing, .supplementRequested, .paymentRequested],
            actors: [.applicant]),
        .stop: Rule(from: [.accepted, .processing, .supplementRequested, .paymentRequested], actors: [.leader]),
        // After FINISH, only to the template's return step (see `returnStep`).
        .handOver: Rule(from: [.accepted, .processing, .finished], actors: [.reception, .handler, .leader]),
    ]

    /// The index of the template's return step: a last step, after others, held by reception
    /// (returning the result at the one-stop desk). It is reached after FINISH, by a hand-over
    /// recorded like any other (Mẫu 05), and RETURN_RESULT waits for it.
    static func returnStep(of steps: [Egov_Procedures_V1_ProcedureStep]) -> Int? {
        guard steps.count > 2, steps[steps.count - 1].role == .receptionOfficer else { return nil }
        return steps.count - 1
    }

    /// The status after `action` on `dossier`.
    static func target(of action: Action, on dossier: Egov_Procedures_V1_Dossier) -> Status {
        switch action {
        case .accept: .accepted
        case .refuse: .notAccepted
        case .assign: .processing
        case .handOver: dossier.status == .finished ? .finished : .processing
        case .requestSupplement: .supplementRequested
        case .requestPayment: .paymentRequested
        // Back where the pause found it: waiting for acceptance, accepted, or in its step.
        case .supplement, .confirmPayment:
            dossier.pausedStatus != .unspecified
                ? dossier.pausedStatus : dossier.assignee.isEmpty ? .accepted : .processing
        case .finish: .finished
        case .returnResult: .resultReturned
        case .withdraw: .withdrawn
        case .stop: .stopped
        default: dossier.status
        }
    }

    static func statusName(_ status: Status) -> String {
        let name =
            switch status {
            case .newlyRegistered: "newly registered"
            case .accepted: "accepted"
            case .notAccepted: "not accepted"
            case .processing: "processing"
            case .supplementRequested: "supplement requested"
            case .paymentRequested: "payment requested"
            case .withdrawn: "withdrawn"
            case .stopped: "stopped"
            case .finished: "finished"
            case .resultReturned: "result returned"
            default: "unknown"
            }
        return "\(status.rawValue) (\(name))"
    }
}

extension WorkingDayCalendar {
    /// A deadline (the appointment, a step's due time) moved by the working days a pause from
    /// `pausedAt` to `resumedAt` took: every working day after the pause's day up to and
    /// including the resumption's day. The time of day stays.
    func extend(appointment: Date, pausedAt: Date, resumedAt: Date) -> Date {
        let from = Self.local(pausedAt).day
        let to = Self.local(resumedAt).day
        var paused = 0
        var day = from
        while day < to {
            day = day.adding(days: 1)
            if isWorkingDay(day) { paused += 1 }
        }
        guard paused > 0 else { return appointment }
        let local = appointment.timeIntervalSince1970 + Self.offset
        let minute = Int((local - floor(local / 86_400) * 86_400) / 60)
        return Self.instant(of: adding(workingDays: paused, to: Self.local(appointment).day), minute: minute)
    }
}

extension ProceduresService {
    /// Takes an action on a dossier: the workflow's table says from which statuses and by whom
    /// (`DossierWorkflow.rules`, `ProceduresPolicy.transition`), each action's step
    /// (DossierTransitions.swift) what it checks and changes; the change and its event (Mẫu
    /// 05) are saved together, against the version read.
    public func transitionDossier(
        request: Egov_Procedures_V1_TransitionDossierRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Dossier {
        let dossier = try await visibleDossier(request.name)
        guard let rule = DossierWorkflow.rules[request.action] else {
            throw Self.errors.invalidArgument(
                "INVALID_ACTION", field: "action",
                request.action == .unspecified
                    ? "is required" : "\(request.action) is recorded by the platform or its own method, not taken here")
        }
        try ProceduresPolicy.transition(request.action).require(
            dossier, Self.errors, doing: "\(request.action) this dossier")
        guard rule.from.contains(dossier.status) else {
            throw Self.errors.failedPrecondition(
                "ILLEGAL_TRANSITION",
                "The dossier is in status \(DossierWorkflow.statusName(dossier.status)); \(request.action) is not allowed now.",
                metadata: ["status": "\(dossier.status.rawValue)"])
        }
        if !request.etag.isEmpty && request.etag != dossier.etag {
            throw Self.errors.failedPrecondition(
                "ETAG_MISMATCH", "The dossier changed since you read it; read it again.")
        }
        var change = try Transition(dossier: dossier, request: request, now: clock())
        try await take(&change)
        change.dossier.status = DossierWorkflow.target(of: request.action, on: change.dossier)
        if [.supplement, .confirmPayment].contains(request.action) { change.dossier.pausedStatus = .unspecified }
        let event = change.event(actor: RequestContext.actor)
        return try await save(
            change.dossier, event: event,
            topic: change.dossier.status == .finished
                ? "procedures.dossier.finished" : "procedures.dossier.status_changed")
    }

    /// Checks with identity that `assignee` is an active official of `agency` holding `role`:
    /// a dossier is never handed to someone who cannot act on it.
    func requireOfficial(_ assignee: String, of agency: String, role: Egov_Identity_V1_Role) async throws {
        guard assignee.hasPrefix("people/"), assignee.count > 7, assignee.count <= 71 else {
            throw Self.errors.invalidArgument("INVALID_ASSIGNEE", field: "assignee", "must be people/{person}")
        }
        guard let person = try await people.person(named: assignee), person.state == .active, person.kind == .official,
            person.agency == agency, person.roles.contains(role)
        else {
            throw Self.errors.invalidArgument(
                "INVALID_ASSIGNEE", field: "assignee",
                "'\(assignee)' is not an active official of \(agency) with \(role.name)")
        }
    }

    public func listDossierEvents(
        request: Egov_Procedures_V1_ListDossierEventsRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_ListDossierEventsResponse {
        let dossier = try await visibleDossier(request.name)
        let events = try await dossiers.events(code: dossier.code)
        return .with { $0.events = events }
    }
}
