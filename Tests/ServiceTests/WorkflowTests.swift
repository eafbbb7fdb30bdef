import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
@testable import ProceduresService
import Testing

@Suite struct WorkflowTests {
    @Test func aSupplementPauseMovesTheAppointmentAcrossAHoliday() {
        let calendar = WorkingDayCalendar()
        let formatter = ISO8601DateFormatter()
        let appointment = formatter.date(from: "2026-04-29T17:00:00+07:00")!
        // Paused Friday 24 April, resumed Tuesday 28: Monday 27 makes up for Hùng Kings' day,
        // so one working day (the 28th) was lost; 30/4 and 1/5 are holidays, so the
        // appointment moves from Wednesday 29 April to Monday 4 May.
        let moved = calendar.extend(
            appointment: appointment, pausedAt: formatter.date(from: "2026-04-24T09:00:00+07:00")!,
            resumedAt: formatter.date(from: "2026-04-28T10:00:00+07:00")!)
        #expect(WorkingDayCalendar.local(moved).day.description == "2026-05-04")
        let sameDay = calendar.extend(
            appointment: appointment, pausedAt: formatter.date(from: "2026-04-28T09:00:00+07:00")!,
            resumedAt: formatter.date(from: "2026-04-28T16:00:00+07:00")!)
        #expect(sameDay == appointment)
    }

    @Test func aDossierGoesFromSubmissionToResultThroughTheGateway() async throws {
        try await withStack { stack in
            try await seedCatalogue(stack)
            try await withTestClient(port: stack.ports["identity"]!) { client in
                let identity = Identity(wrapping: client)
                for (email, role) in [("tiepnhan@syt.vn", Egov_Identity_V1_Role.receptionOfficer), ("giamdoc@syt.vn", .leader),
                                      ("chuyenvien@syt.vn", .specialist)] {
                    _ = try await identity.createOfficial(.with {
                        $0.person = .with { $0.displayName = email; $0.email = email; $0.agency = "agencies/000.00.06.H41"; $0.roles = [role] }
                        $0.password = goodPassword
                    })
                }
            }
            try await withPublicClient(port: stack.gatewayPort) { client in
                let identity = Identity(wrapping: client)
                _ = try await identity.registerPerson(.with { $0.person = citizen(); $0.password = goodPassword })
                func signIn(_ login: String) async throws -> Metadata {
                    bearer(try await identity.login(.with { $0.login = login; $0.password = goodPassword }).accessToken)
                }
                let applicant = try await signIn("001090012345")
                let reception = try await signIn("tiepnhan@syt.vn")
                let leader = try await signIn("giamdoc@syt.vn")
                let specialistSession = try await identity.login(.with { $0.login = "chuyenvien@syt.vn"; $0.password = goodPassword })
                let specialist = bearer(specialistSession.accessToken)

                let procedures = Procedures(wrapping: client)
                let filed = try await procedures.submitDossier(.with {
                    $0.parent = "procedures/1.001612.H41"
                    $0.dossier = .with { $0.channel = .online; $0.applicantName = "Trần Thị Bình" }
                }, metadata: applicant)
                func act(_ action: Egov_Procedures_V1_DossierAction, as caller: Metadata,
                         _ change: (inout Egov_Procedures_V1_TransitionDossierRequest) -> Void = { _ in }) async throws -> Egov_Procedures_V1_Dossier {
                    var request = Egov_Procedures_V1_TransitionDossierRequest.with { $0.name = filed.name; $0.action = action }
                    change(&request)
                    return try await procedures.transitionDossier(request, metadata: caller)
                }
                #expect(await failure { _ = try await act(.accept, as: applicant) }?.code == .permissionDenied)
                #expect(await failure { _ = try await act(.finish, as: leader) }
                    == Failure(code: .failedPrecondition, reason: "ILLEGAL_TRANSITION", field: nil))
                #expect(try await act(.accept, as: reception).status == .accepted)
                #expect(try await act(.assign, as: leader) { $0.assignee = specialistSession.person }.status == .processing)
                let paused = try await act(.requestSupplement, as: specialist) { $0.missingDocuments = ["Bản sao chứng chỉ hành nghề"] }
                #expect(paused.status == .supplementRequested && paused.hasPauseTime)
                #expect(await failure { _ = try await act(.supplement, as: specialist) }?.code == .permissionDenied)
                let resumed = try await act(.supplement, as: applicant) { $0.note = "Đã bổ sung" }
                #expect(resumed.status == .processing && !resumed.hasPauseTime)
                #expect(resumed.appointmentTime.seconds >= filed.appointmentTime.seconds)
                #expect(await failure { _ = try await act(.stop, as: leader) }
                    == Failure(code: .invalidArgument, reason: "REASON_REQUIRED", field: "note"))
                #expect(try await act(.finish, as: leader).status == .finished)
                let returned = try await act(.returnResult, as: reception)
                #expect(returned.status == .resultReturned && returned.hasReturnTime)

                let events = try await procedures.listDossierEvents(.with { $0.name = filed.name }, metadata: applicant).events
                #expect(events.map(\.toStatus) == [.accepted, .processing, .supplementRequested, .processing, .finished, .resultReturned])
                #expect(events.map(\.sequence) == Array(1...6))
                #expect(events[2].note == "Bản sao chứng chỉ hành nghề")
                let progress = try await procedures.lookupDossier(.with { $0.code = filed.code; $0.secret = filed.lookupSecret })
                #expect(progress.status == .resultReturned)
            }
        }
    }
}
