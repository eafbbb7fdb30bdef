import EGovAPI
import EGovKit
import Foundation

/// One action being taken on a dossier: what was asked, the dossier as it becomes, and the
/// note its event will carry.
struct Transition {
    var dossier: Egov_Procedures_V1_Dossier
    let request: Egov_Procedures_V1_TransitionDossierRequest
    let now: Date
    let from: Egov_Procedures_V1_Dossier.Status
    /// The officer's note, trimmed: the reason of a refusal, stop or withdrawal.
    let note: String
    /// What the event (Mẫu 05) says.
    var detail: String

    init(dossier: Egov_Procedures_V1_Dossier, request: Egov_Procedures_V1_TransitionDossierRequest, now: Date) throws {
        let note = request.note.trimmingCharacters(in: .whitespacesAndNewlines)
        if [.refuse, .stop, .withdraw].contains(request.action) && note.isEmpty {
            throw ProceduresService.errors.invalidArgument("REASON_REQUIRED", field: "note", "give the reason")
        }
        if note.count > 2000 {
            throw ProceduresService.errors.invalidArgument("INVALID_NOTE", field: "note", "at most 2000 characters")
        }
        self.dossier = dossier
        self.request = request
        self.now = now
        self.from = dossier.status
        self.note = note
        self.detail = note
    }

    func event(actor: String) -> Egov_Procedures_V1_DossierEvent {
        .with {
            $0.action = request.action
            $0.fromStatus = from
            $0.toStatus = dossier.status
            $0.actor = actor
            $0.note = detail
            $0.time = .init(date: now)
        }
    }
}

/// Each action's step: what it checks beyond the workflow table, and what it changes.
extension ProceduresService {
    func take(_ change: inout Transition) async throws {
        switch change.request.action {
        case .accept: try await accept(&change)
        case .assign: try await assign(&change)
        case .requestSupplement: try pauseForSupplement(&change)
        case .requestPayment: try pauseForPayment(&change)
        case .supplement, .confirmPayment: try await resume(&change)
        case .handOver: try await handOver(&change)
        case .finish:
            try requireResult(change.dossier)
            try await requireReleasedResultDocument(&change)
        case .refuse, .stop, .withdraw: change.dossier.reason = change.note
        case .returnResult: try await returnResult(&change)
        default: break
        }
    }

    /// The procedure's template (documents, steps) the dossier follows.
    func template(of dossier: Egov_Procedures_V1_Dossier) async throws -> Egov_Procedures_V1_Procedure? {
        try await procedures.procedure(code: String(dossier.procedure.dropFirst("procedures/".count)))
    }

    /// Acceptance: every mandatory document is there (as a file, or on paper at the desk or by
    /// post), a representative's power of attorney too; the second step's clock starts.
    func accept(_ change: inout Transition) async throws {
        let template = try await template(of: change.dossier)
        let dossier = change.dossier
        let required = template?.requiredDocuments.filter(\.mandatory).map(\.title) ?? []
        let provided = Set(dossier.attachments.map(\.requiredDocument) + dossier.receivedDocuments.map(\.title))
        let missing = required.filter { !provided.contains($0) }
        if !missing.isEmpty {
            throw Self.errors.failedPrecondition(
                "MISSING_REQUIRED_DOCUMENTS",
                "The dossier lacks required documents: \(missing.joined(separator: "; ")). Request a supplement instead.",
                metadata: ["missing": missing.joined(separator: "; ")])
        }
        if dossier.channel == .online && !dossier.filedBy.isEmpty
            && !dossier.attachments.contains(where: { $0.kind == .powerOfAttorney })
        {
            throw Self.errors.failedPrecondition(
                "MISSING_POWER_OF_ATTORNEY",
                "The dossier was filed by a representative and has no power of attorney (văn bản ủy quyền). Request a supplement instead."
            )
        }
        if let steps = template?.steps, steps.count > 1 {
            change.dossier.currentStep = 1
            change.dossier.stepDueTime = .init(
                date: try await calendarAdjustments.calendar().officeTimeDue(
                    from: change.now, workingHours: Int(steps[1].workingHours)))
        }
    }

    /// Assignment to an official who holds the current step's role (a specialist by default).
    func assign(_ change: inout Transition) async throws {
        let steps = try await template(of: change.dossier)?.steps ?? []
        let current = Int(change.dossier.currentStep)
        let role = current > 0 && current < steps.count ? steps[current].role : .specialist
        try await requireOfficial(change.request.assignee, of: change.dossier.agency(holding: role), role: role)
        change.dossier.assignee = change.request.assignee
        change.detail = "giao \(change.request.assignee)" + (change.note.isEmpty ? "" : ": \(change.note)")
    }

    /// A supplement asked for (Mẫu 02): what is missing; the clock pauses.
    func pauseForSupplement(_ change: inout Transition) throws {
        let missing = change.request.missingDocuments.map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
        guard !missing.isEmpty else {
            throw Self.errors.invalidArgument(
                "MISSING_DOCUMENTS_REQUIRED", field: "missing_documents", "list what is missing")
        }
        change.dossier.missingDocuments = missing
        pause(&change)
        change.detail = missing.joined(separator: "; ")
    }

    /// A payment asked for: the amount; the clock pauses.
    func pauseForPayment(_ change: inout Transition) throws {
        guard change.request.paymentAmountVnd > 0 else {
            throw Self.errors.invalidArgument("INVALID_AMOUNT", field: "payment_amount_vnd", "must be positive")
        }
        change.dossier.paymentAmountVnd = change.request.paymentAmountVnd
        pause(&change)
        change.detail = "\(change.request.paymentAmountVnd) VND"
    }

    func pause(_ change: inout Transition) {
        change.dossier.pauseTime = .init(date: change.now)
        change.dossier.pausedStatus = change.from
    }

    /// Supplied or paid: the clock stood still, so the appointment and the current step's due
    /// time move on by the working days the pause took.
    func resume(_ change: inout Transition) async throws {
        let calendar = try await calendarAdjustments.calendar()
        let pausedAt = change.dossier.pauseTime.date
        change.dossier.appointmentTime = .init(
            date: calendar.extend(
                appointment: change.dossier.appointmentTime.date, pausedAt: pausedAt, resumedAt: change.now))
        if change.dossier.hasStepDueTime {
            change.dossier.stepDueTime = .init(
                date: calendar.extend(
                    appointment: change.dossier.stepDueTime.date, pausedAt: pausedAt, resumedAt: change.now))
        }
        change.dossier.clearPauseTime()
        change.dossier.missingDocuments = []
        change.dossier.paymentAmountVnd = 0
    }

    /// A hand-over to the next step of the template and an official holding its role; the
    /// return step only after approval, and only to it once approved.
    func handOver(_ change: inout Transition) async throws {
        let steps = try await template(of: change.dossier)?.steps ?? []
        let next = Int(change.dossier.currentStep) + 1
        guard next < steps.count else {
            throw Self.errors.failedPrecondition(
                "NO_NEXT_STEP", "The dossier is at the last step of its procedure; finish or return it instead.")
        }
        let returnStep = DossierWorkflow.returnStep(of: steps)
        if next == returnStep && change.dossier.status != .finished {
            throw Self.errors.failedPrecondition(
                "FINISH_FIRST", "The next step returns the result: the leader finishes (approves) the dossier first.")
        }
        if change.dossier.status == .finished && next != returnStep {
            throw Self.errors.failedPrecondition(
                "ILLEGAL_TRANSITION", "A finished dossier is handed over only to its procedure's return step.")
        }
        let step = steps[next]
        try await requireOfficial(
            change.request.assignee, of: change.dossier.agency(holding: step.role), role: step.role)
        change.dossier.currentStep = Int32(next)
        change.dossier.assignee = change.request.assignee
        change.dossier.stepDueTime = .init(
            date: try await calendarAdjustments.calendar().officeTimeDue(
                from: change.now, workingHours: Int(step.workingHours)))
        change.detail =
            "bước \(next + 1) \(step.title): giao \(change.request.assignee)"
            + (change.note.isEmpty ? "" : " (\(change.note))")
    }

    /// Approval needs the result on file: the applicant receives it from the dossier.
    func requireResult(_ dossier: Egov_Procedures_V1_Dossier) throws {
        guard dossier.attachments.contains(where: { $0.kind == .result }) else {
            throw Self.errors.failedPrecondition(
                "RESULT_REQUIRED",
                "Attach the result (KIND_RESULT) before finishing: the applicant receives it from the dossier.")
        }
    }

    /// The result returned at the receiving point, from the template's return step.
    func returnResult(_ change: inout Transition) async throws {
        let steps = try await template(of: change.dossier)?.steps ?? []
        if let returnStep = DossierWorkflow.returnStep(of: steps), change.dossier.currentStep != returnStep {
            throw Self.errors.failedPrecondition(
                "RETURN_STEP_FIRST",
                "Hand the dossier over to the return step (\(steps[returnStep].title)) first: the receiving point returns the result."
            )
        }
        change.dossier.returnTime = .init(date: change.now)
    }
}
