import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import ProceduresService
import SwiftProtobuf
import Synchronization
import Testing

@Suite struct RepresentativeTests {
    @Test func aRepresentativeFilesForSomeoneAndActsOnTheirPowerOfAttorney() async throws {
        try await withStack { stack in
            try await seedCatalogue(stack)
            let receptionist = try await createOfficial(stack, email: "tiepnhan@syt.vn", roles: [.receptionOfficer])
            try await withPublicClient(port: stack.gatewayPort) { client in
                let identity = Identity(wrapping: client)
                let owner = try await identity.registerPerson(
                    .with {
                        $0.person = citizen(); $0.password = goodPassword
                    })
                var helperRecord = citizen("001095067890", birthDate: "1995-06-07")
                helperRecord.displayName = "Nguyễn Văn An"
                _ = try await identity.registerPerson(
                    .with {
                        $0.person = helperRecord; $0.password = goodPassword
                    })
                _ = try await identity.registerPerson(
                    .with {
                        $0.person = citizen("001088011111", birthDate: "1988-01-01"); $0.password = goodPassword
                    })
                func signIn(_ login: String) async throws -> Metadata { try await ServiceTests.signIn(identity, login) }
                let ownerSession = try await signIn("001090012345")
                let helper = try await signIn("001095067890")
                let stranger = try await signIn("001088011111")
                let reception = try await signIn("tiepnhan@syt.vn")
                let procedures = Procedures(wrapping: client)
                func file(for applicant: String) async throws -> Egov_Procedures_V1_Dossier {
                    try await procedures.submitDossier(
                        .with {
                            $0.parent = "procedures/1.001612.H41"
                            $0.dossier = .with {
                                $0.channel = .online; $0.applicant = applicant
                            }
                        }, metadata: helper)
                }
                // Only citizens and businesses identity knows can be represented.
                for nobody in ["people/khong-ton-tai", receptionist] {
                    #expect(
                        await failure { _ = try await file(for: nobody) }
                            == Failure(
                                code: .invalidArgument, reason: "APPLICANT_NOT_FOUND", field: "dossier.applicant"))
                }
                // A request id is no key to someone else's answer: the owner's own filing replayed
                // by the helper "for the owner" is a different request.
                let own = Egov_Procedures_V1_SubmitDossierRequest.with {
                    $0.parent = "procedures/1.001612.H41"
                    $0.dossier = .with {
                        $0.channel = .online; $0.applicant = owner.name
                    }
                    $0.requestID = "f1d2c3b4-own"
                }
                _ = try await procedures.submitDossier(own, metadata: ownerSession)
                #expect(
                    await failure { _ = try await procedures.submitDossier(own, metadata: helper) }
                        == Failure(code: .invalidArgument, reason: "REQUEST_ID_REUSED", field: "request_id"))
                let filed = try await file(for: owner.name)
                #expect(
                    filed.applicant == owner.name && filed.applicantName == "Trần Thị Bình" && !filed.filedBy.isEmpty)

                // Both the applicant and the representative follow it; nobody else sees it.
                let ownersList = try await procedures.listDossiers(.with { $0.mine = true }, metadata: ownerSession)
                #expect(ownersList.dossiers.count == 2 && ownersList.dossiers.map(\.code).contains(filed.code))
                let helpersList = try await procedures.listDossiers(.with { $0.mine = true }, metadata: helper)
                #expect(helpersList.dossiers.map(\.code) == [filed.code])
                #expect(
                    await failure {
                        _ = try await procedures.getDossier(.with { $0.name = filed.name }, metadata: stranger)
                    }?.code == .notFound)
                #expect(
                    try await procedures.listDossiers(.with { $0.mine = true }, metadata: stranger).dossiers.isEmpty)

                // The form alone is not enough: the representative's authorisation must be on file.
                _ = try await upload(
                    procedures, dossier: filed.name, type: "application/pdf", content: Array("%PDF-1.7 đơn".utf8),
                    as: helper)
                func accept() async throws -> Egov_Procedures_V1_Dossier {
                    try await procedures.transitionDossier(
                        .with {
                            $0.name = filed.name; $0.action = .accept
                        }, metadata: reception)
                }
                #expect(
                    await failure { _ = try await accept() }
                        == Failure(code: .failedPrecondition, reason: "MISSING_POWER_OF_ATTORNEY", field: nil))
                let letter = try await upload(
                    procedures, dossier: filed.name, type: "application/pdf",
                    content: Array("%PDF-1.7 giấy ủy quyền".utf8), as: helper,
                    kind: .powerOfAttorney, requiredDocument: "")
                #expect(letter.kind == .powerOfAttorney)
                #expect(try await accept().status == .accepted)
                // The representative may withdraw it for the applicant; the stranger may not.
                #expect(
                    await failure {
                        _ = try await procedures.transitionDossier(
                            .with {
                                $0.name = filed.name; $0.action = .withdraw; $0.note = "x"
                            }, metadata: stranger)
                    }?.code == .notFound)
                let withdrawn = try await procedures.transitionDossier(
                    .with {
                        $0.name = filed.name; $0.action = .withdraw; $0.note = "Nộp nhầm thủ tục"
                    }, metadata: helper)
                #expect(withdrawn.status == .withdrawn)
            }
        }
    }
}

/// Collects what the outbox relay delivers.
final class RecordingSink: OutboxSink {
    let messages = Mutex<[OutboxMessage]>([])
    func deliver(_ message: OutboxMessage) async throws { messages.withLock { $0.append(message) } }
}

@Suite struct OverdueScanTests {
    @Test(arguments: TestDatabases.engines)
    func theScanFlagsLateDossiersOnceAndAnnouncesThem(engine: Engine) async throws {
        try await withStack(engine: engine) { stack in
            try await seedCatalogue(stack)
            let service = stack.procedures
            let store = stack.proceduresStore
            try await withTestClient(port: stack.ports["procedures"]!) { client in
                let procedures = Procedures(wrapping: client)
                var filed: [Egov_Procedures_V1_Dossier] = []
                for index in 0..<3 {
                    filed.append(
                        try await procedures.submitDossier(
                            .with {
                                $0.parent = "procedures/1.001612.H41"
                                $0.dossier = .with {
                                    $0.channel = .inPerson; $0.applicant = "people/p\(index)"
                                }
                            }))
                }
                // One is closed before its appointment passes: closed dossiers are never late.
                _ = try await procedures.transitionDossier(
                    .with {
                        $0.name = filed[2].name; $0.action = .refuse; $0.note = "Sai thủ tục"
                    })
                let early = filed[0].appointmentTime.date.addingTimeInterval(-60)
                #expect(try await service.scanOverdue(now: early) == 0)
                let late = filed[1].appointmentTime.date.addingTimeInterval(3600)
                #expect(try await service.scanOverdue(now: late) == 2)
                #expect(try await service.scanOverdue(now: late.addingTimeInterval(86_400)) == 0)

                let flagged = try await procedures.getDossier(.with { $0.name = filed[0].name })
                #expect(flagged.overdue && flagged.overdueTime.date == late)
                let events = try await procedures.listDossierEvents(.with { $0.name = filed[0].name }).events
                #expect(events.last?.action == .markOverdue && events.last?.actor == "services/egov-procedures")

                // An apology slip sets a new date: the scan watches that one afresh.
                let apologised = try await procedures.issueApology(
                    .with {
                        $0.name = filed[0].name
                        $0.reason = "Chờ kết quả thẩm định thực tế"
                        $0.newAppointmentTime = .init(date: late.addingTimeInterval(7 * 86_400))
                    })
                #expect(!apologised.hasOverdueTime)
                #expect(try await service.scanOverdue(now: late.addingTimeInterval(86_400)) == 0)
                #expect(try await service.scanOverdue(now: late.addingTimeInterval(8 * 86_400)) == 1)

                // The events reach the outbox's consumers, in order, once each.
                let sink = RecordingSink()
                let relay = OutboxRelay(store: store, consumer: "test", sink: sink, logger: .init(label: "test"))
                _ = try await relay.deliverPending()
                #expect(try await relay.deliverPending() == 0)
                let overdue = sink.messages.withLock {
                    $0.filter { $0.topic == "procedures.dossier.overdue" }.map(\.key)
                }
                #expect(overdue == [filed[0].name, filed[1].name, filed[0].name])
                let announced = try Egov_Procedures_V1_Dossier(
                    serializedBytes: sink.messages.withLock { $0.last!.payload })
                #expect(announced.code == filed[0].code && announced.hasOverdueTime)
            }
        }
    }
}
