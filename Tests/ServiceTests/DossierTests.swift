import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf
import Testing

@Suite struct DossierTests {
    @Test(arguments: TestDatabases.engines)
    func concurrentSubmissionsGetDistinctGapFreeCodes(engine: Engine) async throws {
        try await withStack(engine: engine) { stack in
            try await seedCatalogue(stack)
            try await withTestClient(port: stack.ports["procedures"]!) { client in
                let procedures = Procedures(wrapping: client)
                let codes = try await withThrowingTaskGroup(of: String.self) { group in
                    for index in 0..<200 {
                        group.addTask {
                            try await procedures.submitDossier(
                                .with {
                                    $0.parent = "procedures/1.001612.H41"
                                    $0.dossier = .with {
                                        $0.channel = .inPerson; $0.applicant = "people/p\(index)";
                                        $0.applicantName = "Người nộp \(index)"
                                    }
                                }
                            ).code
                        }
                    }
                    var all: [String] = []
                    for try await code in group { all.append(code) }
                    return all
                }
                #expect(Set(codes).count == 200)
                let prefixes = Set(codes.map { String($0.dropLast(5)) })
                #expect(prefixes.count == 1 && prefixes.first!.hasPrefix("000.00.06.H41-"))
                #expect(codes.map { Int($0.suffix(4))! }.sorted() == Array(1...200))
            }
        }
    }

    @Test func aCitizenFilesOnlineFollowsItAndOthersSeeNothing() async throws {
        try await withStack { stack in
            try await seedCatalogue(stack)
            try await withPublicClient(port: stack.gatewayPort) { client in
                let identity = Identity(wrapping: client)
                let me = try await identity.registerPerson(
                    .with {
                        $0.person = citizen(); $0.password = goodPassword
                    })
                let session = try await identity.login(
                    .with {
                        $0.login = "001090012345"; $0.password = goodPassword
                    })
                _ = try await identity.registerPerson(
                    .with {
                        $0.person = citizen("079195000001", birthDate: "1995-12-31"); $0.password = goodPassword
                    })
                let other = try await identity.login(
                    .with {
                        $0.login = "079195000001"; $0.password = goodPassword
                    })

                let procedures = Procedures(wrapping: client)
                let request = Egov_Procedures_V1_SubmitDossierRequest.with {
                    $0.parent = "procedures/1.001612.H41"
                    $0.dossier = .with {
                        $0.channel = .online; $0.applicantName = "Trần Thị Bình"
                    }
                    $0.requestID = "3c1f0e9a"
                }
                let dossier = try await procedures.submitDossier(request, metadata: bearer(session.accessToken))
                #expect(dossier.applicant == me.name && dossier.status == .newlyRegistered)
                #expect(dossier.lookupSecret.count == 16)
                #expect(dossier.appointmentTime.seconds > dossier.receiveTime.seconds + 10 * 86_400)
                let retried = try await procedures.submitDossier(request, metadata: bearer(session.accessToken))
                #expect(retried.code == dossier.code && retried.lookupSecret == dossier.lookupSecret)
                var changed = request
                changed.dossier.applicantName = "Người khác"
                #expect(
                    await failure {
                        _ = try await procedures.submitDossier(changed, metadata: bearer(session.accessToken))
                    }
                        == Failure(code: .invalidArgument, reason: "REQUEST_ID_REUSED", field: "request_id"))

                let mine = try await procedures.getDossier(
                    .with { $0.name = dossier.name }, metadata: bearer(session.accessToken))
                #expect(mine.code == dossier.code && mine.lookupSecret.isEmpty)
                #expect(
                    await failure {
                        _ = try await procedures.getDossier(
                            .with { $0.name = dossier.name }, metadata: bearer(other.accessToken))
                    }
                        == Failure(code: .notFound, reason: "DOSSIER_NOT_FOUND", field: nil))

                // Anyone with the receipt follows it; a wrong secret looks like no dossier.
                let progress = try await procedures.lookupDossier(
                    .with {
                        $0.code = dossier.code; $0.secret = dossier.lookupSecret.lowercased()
                    })
                #expect(
                    progress.status == .newlyRegistered
                        && progress.procedureName == "Cấp giấy phép hoạt động phòng khám")
                #expect(
                    await failure {
                        _ = try await procedures.lookupDossier(
                            .with {
                                $0.code = dossier.code; $0.secret = "AAAAAAAAAAAAAAAA"
                            })
                    }
                        == Failure(code: .notFound, reason: "DOSSIER_NOT_FOUND", field: nil))
                #expect(
                    await failure {
                        _ = try await procedures.lookupDossier(
                            .with {
                                $0.code = "000.00.06.H41-990101-0001"; $0.secret = "X"
                            })
                    }
                        == Failure(code: .notFound, reason: "DOSSIER_NOT_FOUND", field: nil))

                // Anonymous users cannot file, and citizens cannot record desk filings.
                #expect(await failure { _ = try await procedures.submitDossier(request) }?.code == .unauthenticated)
                var desk = request
                desk.dossier.channel = .inPerson
                desk.requestID = ""
                #expect(
                    await failure {
                        _ = try await procedures.submitDossier(desk, metadata: bearer(session.accessToken))
                    }?.code
                        == .permissionDenied)
            }
        }
    }
}

@Suite struct CatalogueSearchTests {
    @Test func theCatalogueIsSearchedWithOrWithoutDiacritics() async throws {
        try await withStack { stack in
            try await seedCatalogue(stack)
            try await withPublicClient(port: stack.gatewayPort) { client in
                let procedures = Procedures(wrapping: client)
                let folded = try await procedures.listProcedures(.with { $0.query = "giay phep phong kham" }).procedures
                let accented = try await procedures.listProcedures(.with { $0.query = "GIẤY PHÉP" }).procedures
                let none = try await procedures.listProcedures(.with { $0.query = "xay dung" }).procedures
                #expect(folded.map(\.code) == ["1.001612.H41"])
                #expect(accented.count == 1)
                #expect(none.isEmpty)
            }
        }
    }
}

@Suite struct CatalogueManagementTests {
    @Test func proceduresAreChangedAndTakenOutOfService() async throws {
        try await withStack { stack in
            try await seedCatalogue(stack)
            try await withTestClient(port: stack.ports["procedures"]!) { client in
                let procedures = Procedures(wrapping: client)
                let current = try await procedures.getProcedure(.with { $0.name = "procedures/1.001612.H41" })
                let changed = try await procedures.updateProcedure(
                    .with {
                        $0.procedure = .with {
                            $0.name = current.name; $0.processingDays = 15; $0.etag = current.etag
                        }
                        $0.updateMask = .init(protoPaths: ["processing_days"])
                    })
                #expect(
                    changed.processingDays == 15 && changed.etag != current.etag
                        && changed.displayName == current.displayName)
                #expect(
                    await failure {
                        _ = try await procedures.updateProcedure(
                            .with {
                                $0.procedure = .with {
                                    $0.name = current.name; $0.processingDays = 400
                                }
                                $0.updateMask = .init(protoPaths: ["processing_days"])
                            })
                    }
                        == Failure(
                            code: .invalidArgument, reason: "INVALID_PROCEDURE", field: "procedure.processing_days"))
                #expect(
                    await failure {
                        _ = try await procedures.updateProcedure(
                            .with {
                                $0.procedure = .with {
                                    $0.name = current.name; $0.displayName = "X"; $0.etag = current.etag
                                }
                                $0.updateMask = .init(protoPaths: ["display_name"])
                            })
                    } == Failure(code: .failedPrecondition, reason: "ETAG_MISMATCH", field: nil))
                let retired = try await procedures.deactivateProcedure(.with { $0.name = current.name })
                #expect(retired.state == .inactive)
                #expect(
                    await failure {
                        _ = try await procedures.submitDossier(
                            .with {
                                $0.parent = current.name
                                $0.dossier = .with {
                                    $0.channel = .inPerson; $0.applicant = "people/p"
                                }
                            })
                    }?.code == .notFound)
            }
        }
    }
}
