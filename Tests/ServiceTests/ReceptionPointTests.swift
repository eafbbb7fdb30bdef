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
    /// A citizen files a Health procedure online; the centre's desk receives it, the department
    /// appraises and approves it, and the centre returns the result: each side acts only on its
    /// part, finds the other's officials in the directory, and keeps the dossier on its worklist.
    @Test func theCentreReceivesForTheDepartmentAndReturnsItsResultThroughTheGateway() async throws {
        try await withStack { stack in
            try await seedCentreAndDepartment(stack)
            var officials: [String: String] = [:]
            for (email, agency, role) in [
                ("tiepnhan@ttpvhcc.vn", serviceCentre, Egov_Identity_V1_Role.receptionOfficer),
                ("tiepnhan@syt.vn", healthDepartment, .receptionOfficer),
                ("giamdoc@syt.vn", healthDepartment, .leader), ("chuyenvien@syt.vn", healthDepartment, .specialist),
            ] {
                officials[email] = try await createOfficial(stack, email: email, agency: agency, roles: [role])
            }
            try await withPublicClient(port: stack.gatewayPort) { client in
                let identity = Identity(wrapping: client)
                _ = try await identity.registerPerson(
                    .with {
                        $0.person = citizen(); $0.password = goodPassword
                    })
                func signIn(_ login: String) async throws -> Metadata { try await ServiceTests.signIn(identity, login) }
                let applicant = try await signIn("001090012345")
                let centre = try await signIn("tiepnhan@ttpvhcc.vn")
                let departmentDesk = try await signIn("tiepnhan@syt.vn")
                let leader = try await signIn("giamdoc@syt.vn")
                let specialist = try await signIn("chuyenvien@syt.vn")
                let procedures = Procedures(wrapping: client)

                // The centre lists what its desk receives.
                let received = try await procedures.listProcedures(.with { $0.receptionPoint = serviceCentre })
                #expect(received.procedures.map(\.code) == ["1.009994.H41"])
                #expect(
                    try await procedures.listProcedures(.with { $0.receptionPoint = healthDepartment }).procedures
                        .isEmpty)

                // Filing at the department's own desk is refused: it is not a reception point.
                #expect(
                    await failure {
                        _ = try await procedures.submitDossier(
                            .with {
                                $0.parent = "procedures/1.009994.H41"
                                $0.dossier = .with {
                                    $0.channel = .online; $0.agency = healthDepartment
                                }
                            }, metadata: applicant)
                    } == Failure(code: .invalidArgument, reason: "INVALID_RECEPTION_POINT", field: "dossier.agency"))
                #expect(
                    await failure {
                        _ = try await procedures.submitDossier(
                            .with {
                                $0.parent = "procedures/1.009994.H41"
                                $0.dossier = .with {
                                    $0.channel = .inPerson; $0.applicant = "people/p1"
                                }
                            }, metadata: departmentDesk)
                    }?.code == .permissionDenied)
                let filed = try await procedures.submitDossier(
                    .with {
                        $0.parent = "procedures/1.009994.H41"
                        $0.dossier = .with { $0.channel = .online }
                    }, metadata: applicant)
                // Received at the centre, numbered by its desk, decided by the department.
                #expect(filed.agency == serviceCentre && filed.decidingAgency == healthDepartment)
                #expect(filed.code.hasPrefix("000.00.14.H41-"))
                _ = try await AttachmentTests().upload(
                    procedures, dossier: filed.name, type: "application/pdf", content: Array("%PDF-1.7 đơn".utf8),
                    as: applicant,
                    requiredDocument: "Đơn đề nghị cấp chứng chỉ hành nghề")

                func act(
                    _ action: Egov_Procedures_V1_DossierAction, as caller: Metadata,
                    _ change: (inout Egov_Procedures_V1_TransitionDossierRequest) -> Void = { _ in }
                ) async throws -> Egov_Procedures_V1_Dossier {
                    try await ServiceTests.act(procedures, on: filed.name, action, as: caller, change)
                }
                // Reception is the centre's: the department's own desk and its leader cannot accept.
                for outsider in [departmentDesk, leader] {
                    #expect(await failure { _ = try await act(.accept, as: outsider) }?.code == .permissionDenied)
                }
                let accepted = try await act(.accept, as: centre)
                #expect(accepted.status == .accepted && accepted.currentStep == 1)
                // Both agencies have it on their worklists.
                for (agency, caller) in [(serviceCentre, centre), (healthDepartment, leader)] {
                    let list = try await procedures.listDossiers(.with { $0.agency = agency }, metadata: caller)
                    #expect(list.dossiers.map(\.code) == [filed.code])
                }
                // Approval is the department's: the centre cannot finish or attach the result.
                #expect(await failure { _ = try await act(.finish, as: centre) }?.code == .permissionDenied)

                // The department's leader finds its specialists and assigns one.
                let specialists = try await identity.listPeople(
                    .with {
                        $0.agency = healthDepartment; $0.role = .specialist
                    }, metadata: leader)
                #expect(specialists.people.map(\.name) == [officials["chuyenvien@syt.vn"]!])
                #expect(
                    await failure {
                        _ = try await act(.assign, as: leader) { $0.assignee = officials["tiepnhan@ttpvhcc.vn"]! }
                    }
                        == Failure(code: .invalidArgument, reason: "INVALID_ASSIGNEE", field: "assignee"))
                _ = try await act(.assign, as: leader) { $0.assignee = specialists.people[0].name }
                let license = Array("%PDF-1.7 chứng chỉ hành nghề".utf8)
                #expect(
                    await failure {
                        _ = try await AttachmentTests().upload(
                            procedures, dossier: filed.name, type: "application/pdf", content: license, as: centre,
                            kind: .result, requiredDocument: "")
                    }?.code == .permissionDenied)
                _ = try await AttachmentTests().upload(
                    procedures, dossier: filed.name, type: "application/pdf", content: license, as: specialist,
                    kind: .result, requiredDocument: "")
                let leaders = try await identity.listPeople(
                    .with {
                        $0.agency = healthDepartment; $0.role = .leader
                    }, metadata: specialist)
                _ = try await act(.handOver, as: specialist) { $0.assignee = leaders.people[0].name }
                #expect(try await act(.finish, as: leader).status == .finished)

                // The leader hands it back to the centre's desk, found in the centre's directory
                // (names and roles, no contact data); the department's desk is not the return step's.
                let desk = try await identity.listPeople(
                    .with {
                        $0.agency = serviceCentre; $0.role = .receptionOfficer
                    }, metadata: leader)
                #expect(desk.people.map(\.name) == [officials["tiepnhan@ttpvhcc.vn"]!] && desk.people[0].email.isEmpty)
                #expect(
                    await failure {
                        _ = try await act(.handOver, as: leader) { $0.assignee = officials["tiepnhan@syt.vn"]! }
                    }
                        == Failure(code: .invalidArgument, reason: "INVALID_ASSIGNEE", field: "assignee"))
                let atDesk = try await act(.handOver, as: leader) { $0.assignee = desk.people[0].name }
                #expect(atDesk.currentStep == 3 && atDesk.assignee == desk.people[0].name)
                #expect(
                    await failure { _ = try await act(.returnResult, as: departmentDesk) }?.code == .permissionDenied)
                let returned = try await act(.returnResult, as: centre)
                #expect(returned.status == .resultReturned)

                let events = try await procedures.listDossierEvents(.with { $0.name = filed.name }, metadata: applicant)
                    .events
                #expect(
                    events.map(\.action) == [
                        .attach, .accept, .assign, .attach, .handOver, .finish, .handOver, .returnResult,
                    ])
                #expect(
                    events[1].actor == officials["tiepnhan@ttpvhcc.vn"]!
                        && events[5].actor == officials["giamdoc@syt.vn"]!)

                // Figures: the department answers for the result; the centre sees what it received,
                // by deciding agency; both ledgers list it.
                let period = { (request: inout Egov_Procedures_V1_GetStatisticsRequest) in
                    request.startTime = .init(date: Date().addingTimeInterval(-3600))
                    request.endTime = .init(date: Date().addingTimeInterval(3600))
                }
                let centreFigures = try await procedures.getStatistics(
                    .with {
                        $0.agency = serviceCentre; period(&$0)
                    }, metadata: centre)
                #expect(centreFigures.total.received == 1 && centreFigures.agencies.map(\.agency) == [healthDepartment])
                let departmentFigures = try await procedures.getStatistics(
                    .with {
                        $0.agency = healthDepartment; period(&$0)
                    }, metadata: leader)
                #expect(departmentFigures.total.received == 1 && departmentFigures.total.finishedEarly == 1)
                for (agency, caller) in [(serviceCentre, centre), (healthDepartment, leader)] {
                    let ledger = try await procedures.exportLedger(
                        .with {
                            $0.agency = agency
                            $0.startTime = .init(date: Date().addingTimeInterval(-3600))
                            $0.endTime = .init(date: Date().addingTimeInterval(3600))
                        }, metadata: caller)
                    #expect(ledger.rows == 1)
                }
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
                _ = try await AttachmentTests().upload(
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
