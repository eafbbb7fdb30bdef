public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import SQLKit
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

extension DossierRepository {
    static let eventMigration = Migration(
        "0005_dossier_events",
        [
            """
            CREATE TABLE dossier_events (
                dossier TEXT NOT NULL,
                seq BIGINT NOT NULL,
                action BIGINT NOT NULL,
                from_status BIGINT NOT NULL,
                to_status BIGINT NOT NULL,
                actor TEXT NOT NULL,
                note TEXT NOT NULL,
                event_time BIGINT NOT NULL,
                PRIMARY KEY (dossier, seq)
            )
            """
        ])

    static let worklistMigration = Migration(
        "0006_dossier_worklists",
        [
            "ALTER TABLE dossiers ADD COLUMN assignee TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE dossiers ADD COLUMN channel BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE dossiers ADD COLUMN finish_time BIGINT",
            "ALTER TABLE dossiers ADD COLUMN rating BIGINT NOT NULL DEFAULT 0",
            "CREATE INDEX dossiers_worklist ON dossiers (agency, appointment_time, code)",
        ])

    /// Saves the changed dossier if nobody changed it since `version`, and records the event.
    func apply(
        _ dossier: Egov_Procedures_V1_Dossier, version: Int64, event: Egov_Procedures_V1_DossierEvent,
        in tx: Transaction
    ) async throws -> Bool {
        let updated = try await tx.database.rows(
            """
            UPDATE dossiers SET status = \(bind: dossier.status.rawValue), appointment_time = \(bind: dossier.appointmentTime.micros),
                detail = \(bind: try dossier.jsonString()), update_time = \(bind: Timestamps.nowMicros()), version = version + 1,
                assignee = \(bind: dossier.assignee), rating = \(bind: Int64(dossier.rating)),
                current_step = \(bind: Int64(dossier.currentStep)),
                overdue_time = \(bind: dossier.hasOverdueTime ? dossier.overdueTime.micros : nil as Int64?),
                finish_time = COALESCE(finish_time, \(bind: event.toStatus == .finished && event.fromStatus != .finished ? event.time.micros : nil as Int64?))
            WHERE code = \(bind: dossier.code) AND version = \(bind: version) RETURNING code
            """)
        guard !updated.isEmpty else { return false }
        let next = try await tx.database.row(
            "SELECT COUNT(*) AS n FROM dossier_events WHERE dossier = \(bind: dossier.code)")
        let seq = (try next?.decode(column: "n", as: Int64.self) ?? 0) + 1
        try await tx.database.execute(
            """
            INSERT INTO dossier_events (dossier, seq, action, from_status, to_status, actor, note, event_time)
            VALUES (\(bind: dossier.code), \(bind: seq), \(bind: event.action.rawValue), \(bind: event.fromStatus.rawValue),
                    \(bind: event.toStatus.rawValue), \(bind: event.actor), \(bind: event.note), \(bind: event.time.micros))
            """)
        return true
    }

    func events(code: String) async throws -> [Egov_Procedures_V1_DossierEvent] {
        try await store.read { db in
            try await db.rows("SELECT * FROM dossier_events WHERE dossier = \(bind: code) ORDER BY seq").map { row in
                try .with {
                    $0.sequence = try row.decode(column: "seq", as: Int64.self)
                    $0.action = .init(rawValue: Int(try row.decode(column: "action", as: Int64.self))) ?? .unspecified
                    $0.fromStatus =
                        .init(rawValue: Int(try row.decode(column: "from_status", as: Int64.self))) ?? .unspecified
                    $0.toStatus =
                        .init(rawValue: Int(try row.decode(column: "to_status", as: Int64.self))) ?? .unspecified
                    $0.actor = try row.decode(column: "actor", as: String.self)
                    $0.note = try row.decode(column: "note", as: String.self)
                    $0.time = .init(micros: try row.decode(column: "event_time", as: Int64.self))
                }
            }
        }
    }
}

extension ProceduresService {
    public func transitionDossier(
        request: Egov_Procedures_V1_TransitionDossierRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Dossier {
        var dossier = try await visibleDossier(request.name)
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
        // Only acceptance, assignments and hand-overs need the procedure's template: read it once for them.
        let template =
            [.accept, .assign, .handOver, .returnResult].contains(request.action)
            ? try await procedures.procedure(code: String(dossier.procedure.dropFirst("procedures/".count))) : nil
        if request.action == .accept {
            // Every mandatory document must be there: as a file, or on paper at the desk or by post.
            let required = template?.requiredDocuments.filter(\.mandatory).map(\.title) ?? []
            let provided = Set(dossier.attachments.map(\.requiredDocument) + dossier.receivedDocuments.map(\.title))
            let missing = required.filter { !provided.contains($0) }
            if !missing.isEmpty {
                throw Self.errors.failedPrecondition(
                    "MISSING_REQUIRED_DOCUMENTS",
                    "The dossier lacks required documents: \(missing.joined(separator: "; ")). Request a supplement instead.",
                    metadata: ["missing": missing.joined(separator: "; ")])
            }
            // A representative acts on the applicant's authorisation, which must be on file.
            if dossier.channel == .online && !dossier.filedBy.isEmpty
                && !dossier.attachments.contains(where: { $0.kind == .powerOfAttorney })
            {
                throw Self.errors.failedPrecondition(
                    "MISSING_POWER_OF_ATTORNEY",
                    "The dossier was filed by a representative and has no power of attorney (văn bản ủy quyền). Request a supplement instead."
                )
            }
        }
        if request.action == .finish && !dossier.attachments.contains(where: { $0.kind == .result }) {
            throw Self.errors.failedPrecondition(
                "RESULT_REQUIRED",
                "Attach the result (KIND_RESULT) before finishing: the applicant receives it from the dossier.")
        }
        let note = request.note.trimmingCharacters(in: .whitespacesAndNewlines)
        if [.refuse, .stop, .withdraw].contains(request.action) && note.isEmpty {
            throw Self.errors.invalidArgument("REASON_REQUIRED", field: "note", "give the reason")
        }
        if note.count > 2000 {
            throw Self.errors.invalidArgument("INVALID_NOTE", field: "note", "at most 2000 characters")
        }
        let now = clock()
        let from = dossier.status
        var detail = note
        switch request.action {
        case .assign:
            let steps = template?.steps ?? []
            let role =
                dossier.currentStep > 0 && Int(dossier.currentStep) < steps.count
                ? steps[Int(dossier.currentStep)].role : .specialist
            try await requireOfficial(request.assignee, of: dossier.agency(holding: role), role: role)
            dossier.assignee = request.assignee
            detail = "giao \(request.assignee)" + (note.isEmpty ? "" : ": \(note)")
        case .requestSupplement:
            let missing = request.missingDocuments.map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
            guard !missing.isEmpty else {
                throw Self.errors.invalidArgument(
                    "MISSING_DOCUMENTS_REQUIRED", field: "missing_documents", "list what is missing")
            }
            dossier.missingDocuments = missing
            dossier.pauseTime = .init(date: now)
            dossier.pausedStatus = from
            detail = missing.joined(separator: "; ")
        case .requestPayment:
            guard request.paymentAmountVnd > 0 else {
                throw Self.errors.invalidArgument("INVALID_AMOUNT", field: "payment_amount_vnd", "must be positive")
            }
            dossier.paymentAmountVnd = request.paymentAmountVnd
            dossier.pauseTime = .init(date: now)
            dossier.pausedStatus = from
            detail = "\(request.paymentAmountVnd) VND"
        case .supplement, .confirmPayment:
            // The clock stood still: the appointment and the current step's due time move on.
            let calendar = try await calendarAdjustments.calendar()
            dossier.appointmentTime = .init(
                date: calendar.extend(
                    appointment: dossier.appointmentTime.date, pausedAt: dossier.pauseTime.date, resumedAt: now))
            if dossier.hasStepDueTime {
                dossier.stepDueTime = .init(
                    date: calendar.extend(
                        appointment: dossier.stepDueTime.date, pausedAt: dossier.pauseTime.date, resumedAt: now))
            }
            dossier.clearPauseTime()
            dossier.missingDocuments = []
            dossier.paymentAmountVnd = 0
        case .accept:
            if let steps = template?.steps, steps.count > 1 {
                dossier.currentStep = 1
                dossier.stepDueTime = .init(
                    date: try await calendarAdjustments.calendar().officeTimeDue(
                        from: now, workingHours: Int(steps[1].workingHours)))
            }
        case .handOver:
            let steps = template?.steps ?? []
            let next = Int(dossier.currentStep) + 1
            guard next < steps.count else {
                throw Self.errors.failedPrecondition(
                    "NO_NEXT_STEP", "The dossier is at the last step of its procedure; finish or return it instead.")
            }
            let returnStep = DossierWorkflow.returnStep(of: steps)
            if next == returnStep && dossier.status != .finished {
                throw Self.errors.failedPrecondition(
                    "FINISH_FIRST",
                    "The next step returns the result: the leader finishes (approves) the dossier first.")
            }
            if dossier.status == .finished && next != returnStep {
                throw Self.errors.failedPrecondition(
                    "ILLEGAL_TRANSITION", "A finished dossier is handed over only to its procedure's return step.")
            }
            try await requireOfficial(
                request.assignee, of: dossier.agency(holding: steps[next].role), role: steps[next].role)
            dossier.currentStep = Int32(next)
            dossier.assignee = request.assignee
            dossier.stepDueTime = .init(
                date: try await calendarAdjustments.calendar().officeTimeDue(
                    from: now, workingHours: Int(steps[next].workingHours)))
            detail =
                "bước \(next + 1) \(steps[next].title): giao \(request.assignee)" + (note.isEmpty ? "" : " (\(note))")
        case .refuse, .stop, .withdraw:
            dossier.reason = note
        case .returnResult:
            if let returnStep = DossierWorkflow.returnStep(of: template?.steps ?? []), dossier.currentStep != returnStep
            {
                throw Self.errors.failedPrecondition(
                    "RETURN_STEP_FIRST",
                    "Hand the dossier over to the return step (\(template!.steps[returnStep].title)) first: the receiving point returns the result."
                )
            }
            dossier.returnTime = .init(date: now)
        default:
            break
        }
        dossier.status = DossierWorkflow.target(of: request.action, on: dossier)
        if [.supplement, .confirmPayment].contains(request.action) { dossier.pausedStatus = .unspecified }
        let actor = RequestContext.actor
        let event = Egov_Procedures_V1_DossierEvent.with {
            $0.action = request.action
            $0.fromStatus = from
            $0.toStatus = dossier.status
            $0.actor = actor
            $0.note = detail
            $0.time = .init(date: now)
        }
        return try await save(
            dossier, event: event,
            topic: dossier.status == .finished ? "procedures.dossier.finished" : "procedures.dossier.status_changed")
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
