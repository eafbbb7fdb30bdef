import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import ProceduresService

@Suite struct ReceptionPointTests {
    /// The department's result decision is an official document: drafted in documents from
    /// the dossier as the handling specialist, signed and released there (to the centre that
    /// returns it), and the dossier finishes only once it is released, carrying its number.
    @Test func theResultDecisionIsIssuedAsAnOfficialDocument() async throws {
        try await withScene { scene in
            try await seedCentreAndDepartment(scene.stack)
            let centre = try await scene.official("tiepnhan@ttpvhcc.vn", of: serviceCentre, .receptionOfficer)
            let director = try await scene.official(
                "giamdoc@syt.vn", of: healthDepartment, .leader, position: "Giám đốc")
            let specialist = try await scene.official("chuyenvien@syt.vn", of: healthDepartment, .specialist)
            let clerk = try await scene.official("vanthu@syt.vn", of: healthDepartment, .clerk)
            let applicant = try await scene.citizen()
            let filed = try await applicant.files("1.009994.H41")
            try await applicant.attaches("đơn", to: filed, as: "Đơn đề nghị cấp chứng chỉ hành nghề")
            try await centre.accepts(filed)
            func drafting(as actor: Actor) async throws -> Dossier {
                try await scene.procedures.draftResultDocument(
                    .with {
                        $0.name = filed.name; $0.content = "Điều 1. Cấp chứng chỉ hành nghề cho bà Lê Thị Hoa."
                    }, metadata: actor.session)
            }
            // Only the deciding agency's handler or leader, while the dossier is processed.
            #expect(await failure { _ = try await drafting(as: centre) }?.code == .permissionDenied)
            #expect(await failure { _ = try await drafting(as: director) }?.reason == "ILLEGAL_TRANSITION")
            try await director.assigns(filed, to: specialist.name)
            let drafted = try await drafting(as: specialist)
            #expect(drafted.resultDocument.hasPrefix("\(healthDepartment)/documents/"))
            #expect(try await drafting(as: specialist).resultDocument == drafted.resultDocument)

            // The draft is the specialist's own, at the department, naming the dossier.
            let decision = try await specialist.documents.getDocument(
                .with { $0.name = drafted.resultDocument }, metadata: specialist.session)
            #expect(
                decision.creator == specialist.name && decision.state == .draft && decision.documentType == .decision)
            #expect(decision.dossier == filed.name && decision.recipients == [serviceCentre])
            #expect(decision.subject.hasPrefix("Về việc Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh"))

            try await specialist.attaches("chứng chỉ", to: filed, kind: .result)
            try await specialist.handsOver(filed, to: director.name)
            #expect(await director.cannot(.finish, filed)?.reason == "RESULT_DOCUMENT_NOT_RELEASED")
            try await specialist.does(.submit, to: decision)
            try await director.does(.approve, to: decision)
            try await director.does(.sign, to: decision)
            let released = try await clerk.does(.release, to: decision)
            #expect(released.code == "01/QĐ-SYT")
            let finished = try await director.finishes(filed)
            #expect(finished.status == .finished && finished.resultDocumentCode == "01/QĐ-SYT")
            let events = try await scene.procedures.listDossierEvents(
                .with { $0.name = filed.name }, metadata: applicant.session
            ).events
            #expect(events.contains { $0.action == .draftResultDocument && $0.actor == specialist.name })
            #expect(events.last?.note.contains("Quyết định số 01/QĐ-SYT") == true)
        }
    }

    /// A citizen files a Health procedure online; the centre's desk receives it, the department
    /// appraises and approves it, and the centre returns the result: each side acts only on its
    /// part, finds the other's officials in the directory, and keeps the dossier on its worklist.
    @Test func theCentreReceivesForTheDepartmentAndReturnsItsResultThroughTheGateway() async throws {
        try await withScene { scene in
            try await seedCentreAndDepartment(scene.stack)
            let centre = try await scene.official("tiepnhan@ttpvhcc.vn", of: serviceCentre, .receptionOfficer)
            let departmentDesk = try await scene.official("tiepnhan@syt.vn", of: healthDepartment, .receptionOfficer)
            let director = try await scene.official("giamdoc@syt.vn", of: healthDepartment, .leader)
            let specialist = try await scene.official("chuyenvien@syt.vn", of: healthDepartment, .specialist)
            let applicant = try await scene.citizen()
            let procedures = scene.procedures

            // The centre lists what its desk receives.
            let received = try await procedures.listProcedures(.with { $0.receptionPoint = serviceCentre })
            #expect(received.procedures.map(\.code) == ["1.009994.H41"])
            #expect(
                try await procedures.listProcedures(.with { $0.receptionPoint = healthDepartment }).procedures.isEmpty)

            // Filing at the department's own desk is refused: it is not a reception point.
            #expect(
                await failure { _ = try await applicant.files("1.009994.H41") { $0.agency = healthDepartment } }
                    == Failure(code: .invalidArgument, reason: "INVALID_RECEPTION_POINT", field: "dossier.agency"))
            #expect(
                await failure {
                    _ = try await departmentDesk.files("1.009994.H41") {
                        $0.channel = .inPerson; $0.applicant = "people/p1"
                    }
                }?.code == .permissionDenied)
            let filed = try await applicant.files("1.009994.H41")
            // Received at the centre, numbered by its desk, decided by the department.
            #expect(filed.agency == serviceCentre && filed.decidingAgency == healthDepartment)
            #expect(filed.code.hasPrefix("000.00.14.H41-"))
            try await applicant.attaches("đơn", to: filed, as: "Đơn đề nghị cấp chứng chỉ hành nghề")

            // Reception is the centre's: the department's own desk and its director cannot accept.
            for outsider in [departmentDesk, director] {
                #expect(await outsider.cannot(.accept, filed)?.code == .permissionDenied)
            }
            let accepted = try await centre.accepts(filed)
            #expect(accepted.status == .accepted && accepted.currentStep == 1)
            // Both agencies have it on their worklists.
            #expect(try await centre.worklist(of: serviceCentre).map(\.code) == [filed.code])
            #expect(try await director.worklist(of: healthDepartment).map(\.code) == [filed.code])
            // Approval is the department's: the centre cannot finish or attach the result.
            #expect(await centre.cannot(.finish, filed)?.code == .permissionDenied)

            // The director finds the department's specialists and assigns one.
            let specialists = try await director.finds(.specialist, at: healthDepartment)
            #expect(specialists.map(\.name) == [specialist.name])
            #expect(
                await director.cannot(.assign, filed) { $0.assignee = centre.name }
                    == Failure(code: .invalidArgument, reason: "INVALID_ASSIGNEE", field: "assignee"))
            try await director.assigns(filed, to: specialists[0].name)
            #expect(
                await failure { try await centre.attaches("chứng chỉ", to: filed, kind: .result) }?.code
                    == .permissionDenied)
            try await specialist.attaches("chứng chỉ", to: filed, kind: .result)
            let leaders = try await specialist.finds(.leader, at: healthDepartment)
            try await specialist.handsOver(filed, to: leaders[0].name)
            #expect(try await director.finishes(filed).status == .finished)

            // The director hands it back to the centre's desk, found in the centre's directory
            // (names and roles, no contact data); the department's desk is not the return step's.
            let desk = try await director.finds(.receptionOfficer, at: serviceCentre)
            #expect(desk.map(\.name) == [centre.name] && desk[0].email.isEmpty)
            #expect(
                await director.cannot(.handOver, filed) { $0.assignee = departmentDesk.name }
                    == Failure(code: .invalidArgument, reason: "INVALID_ASSIGNEE", field: "assignee"))
            let atDesk = try await director.handsOver(filed, to: desk[0].name)
            #expect(atDesk.currentStep == 3 && atDesk.assignee == centre.name)
            #expect(await departmentDesk.cannot(.returnResult, filed)?.code == .permissionDenied)
            #expect(try await centre.returnsResult(filed).status == .resultReturned)

            let events = try await procedures.listDossierEvents(
                .with { $0.name = filed.name }, metadata: applicant.session
            ).events
            #expect(
                events.map(\.action) == [
                    .attach, .accept, .assign, .attach, .handOver, .finish, .handOver, .returnResult,
                ]
            )
            #expect(events[1].actor == centre.name && events[5].actor == director.name)

            // Figures: the department answers for the result; the centre sees what it received,
            // by deciding agency; both ledgers list it.
            let (hourAgo, inAnHour) = (
                Google_Protobuf_Timestamp(date: Date().addingTimeInterval(-3600)),
                Google_Protobuf_Timestamp(date: Date().addingTimeInterval(3600))
            )
            let centreFigures = try await procedures.getStatistics(
                .with {
                    $0.agency = serviceCentre; $0.startTime = hourAgo; $0.endTime = inAnHour
                }, metadata: centre.session)
            #expect(centreFigures.total.received == 1 && centreFigures.agencies.map(\.agency) == [healthDepartment])
            let departmentFigures = try await procedures.getStatistics(
                .with {
                    $0.agency = healthDepartment; $0.startTime = hourAgo; $0.endTime = inAnHour
                }, metadata: director.session)
            #expect(departmentFigures.total.received == 1 && departmentFigures.total.finishedEarly == 1)
            for (agency, official) in [(serviceCentre, centre), (healthDepartment, director)] {
                let ledger = try await procedures.exportLedger(
                    .with {
                        $0.agency = agency; $0.startTime = hourAgo; $0.endTime = inAnHour
                    }, metadata: official.session)
                #expect(ledger.rows == 1)
            }
        }
    }

    /// Reception points are checked when a procedure is defined.
    @Test func aProcedureNamesOnlyRealReceptionPoints() async throws {
        try await withStack { stack in
            try await seedCentreAndDepartment(stack)
            try await withTestClient(port: stack.ports["procedures"]!) { client in
                let procedures = Procedures(wrapping: client)
                func define(_ points: [String]) async -> Failure? {
                    await failure {
                        _ = try await procedures.createProcedure(
                            .with {
                                $0.procedure = .with {
                                    $0.code = "1.000656.H41"
                                    $0.displayName = "Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm"
                                    $0.agency = healthDepartment
                                    $0.mode = .partialOnline
                                    $0.processingDays = 20
                                    $0.receptionPoints = points
                                }
                            })
                    }
                }
                #expect(
                    await define(["ttpvhcc"])
                        == Failure(
                            code: .invalidArgument, reason: "INVALID_PROCEDURE", field: "procedure.reception_points[0]")
                )
                #expect(
                    await define([serviceCentre, serviceCentre])
                        == Failure(
                            code: .invalidArgument, reason: "INVALID_PROCEDURE", field: "procedure.reception_points[1]")
                )
                #expect(
                    await define(["agencies/000.01.09.H41"])
                        == Failure(
                            code: .invalidArgument, reason: "AGENCY_NOT_FOUND", field: "procedure.reception_points[0]"))
                #expect(await define([serviceCentre]) == nil)
                // Changing them later is checked the same way.
                let changed = try await procedures.updateProcedure(
                    .with {
                        $0.procedure = .with {
                            $0.name = "procedures/1.000656.H41"; $0.receptionPoints = [serviceCentre, healthDepartment]
                        }
                        $0.updateMask = .init(protoPaths: ["reception_points"])
                    })
                #expect(changed.receptionPoints == [serviceCentre, healthDepartment])
                #expect(
                    try await procedures.listProcedures(.with { $0.receptionPoint = healthDepartment }).procedures.map(
                        \.code) == ["1.000656.H41"])
            }
        }
    }

    /// The clock of the procedures service is the test's: a supplement requested on the Friday
    /// before Tết 2026 and supplied the Monday after it cost one working day, a payment pause
    /// over a weekend four; the appointment moves by exactly that, seen through the gateway.
    @Test func pausesAcrossTetAndAWeekendMoveTheAppointmentThroughTheGateway() async throws {
        let clock = ManualClock()
        clock.set("2026-02-13T09:00:00+07:00")
        try await withStack(clock: clock) { stack in
            try await seedCentreAndDepartment(stack, processingDays: 5)
            _ = try await createOfficial(
                stack, email: "tiepnhan@ttpvhcc.vn", agency: serviceCentre, roles: [.receptionOfficer])
            try await withPublicClient(port: stack.gatewayPort) { client in
                let identity = Identity(wrapping: client)
                _ = try await identity.registerPerson(
                    .with {
                        $0.person = citizen(); $0.password = goodPassword
                    })
                let applicant = bearer(
                    try await identity.login(
                        .with {
                            $0.login = "001090012345"; $0.password = goodPassword
                        }
                    ).accessToken)
                let centre = bearer(
                    try await identity.login(
                        .with {
                            $0.login = "tiepnhan@ttpvhcc.vn"; $0.password = goodPassword
                        }
                    ).accessToken)
                let procedures = Procedures(wrapping: client)
                func local(_ timestamp: Google_Protobuf_Timestamp) -> String {
                    DateFormatter.vietnam("yyyy-MM-dd HH:mm").string(from: timestamp.date)
                }
                let tet = try await procedures.getWorkingDay(.with { $0.date = "2026-02-17" })
                #expect(!tet.workingDay && tet.reason.contains("Tết"))

                // Friday 13 February 2026, 09:00: five working days after Tết (16-20 February).
                let filed = try await procedures.submitDossier(
                    .with {
                        $0.parent = "procedures/1.009994.H41"
                        $0.dossier = .with { $0.channel = .online }
                    }, metadata: applicant)
                #expect(local(filed.appointmentTime) == "2026-02-27 17:00")
                func act(
                    _ action: Egov_Procedures_V1_DossierAction, as caller: Metadata,
                    _ change: (inout Egov_Procedures_V1_TransitionDossierRequest) -> Void = { _ in }
                ) async throws -> Egov_Procedures_V1_Dossier {
                    try await ServiceTests.act(procedures, on: filed.name, action, as: caller, change)
                }
                clock.set("2026-02-13T10:00:00+07:00")
                _ = try await act(.requestSupplement, as: centre) {
                    $0.missingDocuments = ["Đơn đề nghị cấp chứng chỉ hành nghề"]
                }
                // Supplied on Monday 23 February: Tết and the weekend cost nothing, the 23rd one day.
                clock.set("2026-02-23T09:00:00+07:00")
                _ = try await upload(
                    procedures, dossier: filed.name, type: "application/pdf", content: Array("%PDF-1.7 đơn".utf8),
                    as: applicant,
                    requiredDocument: "Đơn đề nghị cấp chứng chỉ hành nghề")
                let supplied = try await act(.supplement, as: applicant)
                #expect(supplied.status == .newlyRegistered && local(supplied.appointmentTime) == "2026-03-02 17:00")
                clock.set("2026-02-23T10:00:00+07:00")
                let accepted = try await act(.accept, as: centre)
                // The appraisal step's 16 office hours run from Monday 10:00 to Wednesday 10:00.
                #expect(local(accepted.stepDueTime) == "2026-02-25 10:00")
                // Payment asked Tuesday 24 February 15:00, confirmed Monday 2 March 09:00: the
                // 25th, 26th, 27th and 2nd were lost, Saturday and Sunday were not.
                clock.set("2026-02-24T15:00:00+07:00")
                _ = try await act(.requestPayment, as: centre) { $0.paymentAmountVnd = 360_000 }
                clock.set("2026-03-02T09:00:00+07:00")
                let paid = try await act(.confirmPayment, as: centre)
                #expect(paid.status == .accepted && local(paid.appointmentTime) == "2026-03-06 17:00")
                #expect(local(paid.stepDueTime) == "2026-03-03 10:00")
                let events = try await procedures.listDossierEvents(.with { $0.name = filed.name }, metadata: applicant)
                    .events
                #expect(local(events.last!.time) == "2026-03-02 09:00")
            }
        }
    }
}
