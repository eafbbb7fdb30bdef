import ConferencesService
import DocumentsService
import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GatewayService
import ProceduresService
import Testing

/// Every service over real mutual TLS on loopback, the gateway in front on server TLS: what a
/// client of the public edge and the services calling each other see.
@Suite struct PlatformTests {
    @Test func theGatewayServesPublicReadsOfEveryServiceToAnOutsideClient() async throws {
        try await withStack { stack in
            // Platform tooling with a certificate fills the directory and catalogue directly.
            try await withTestClient(port: stack.ports["identity"]!) { client in
                let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
                _ = try await identity.createAgency(
                    .with { $0.agency = agency("000.00.00.H41", "UBND tỉnh", abbreviation: "UBND") })
            }
            try await withTestClient(port: stack.ports["procedures"]!) { client in
                _ = try await Egov_Procedures_V1_ProceduresService.Client(wrapping: client).createProcedure(
                    .with {
                        $0.procedure = .with {
                            $0.code = "2.000889.H41"
                            $0.displayName = "Cấp phiếu lý lịch tư pháp"
                            $0.agency = "agencies/000.00.00.H41"
                            $0.mode = .fullOnline
                            $0.processingDays = 10
                            $0.steps = [
                                .with {
                                    $0.title = "Thẩm định"; $0.role = .specialist; $0.workingHours = 64
                                }
                            ]
                        }
                    })
            }
            try await withTestClient(port: stack.ports["conferences"]!) { client in
                _ = try await Egov_Conferences_V1_ConferencesService.Client(wrapping: client).createBridgePoint(
                    .with {
                        $0.bridgePoint = .with {
                            $0.displayName = "Phòng họp UBND tỉnh"; $0.agency = "agencies/000.00.00.H41"
                        }
                    })
            }

            try await withPublicClient(port: stack.gatewayPort) { client in
                let agencies = try await Egov_Identity_V1_IdentityService.Client(wrapping: client).listAgencies(.init())
                #expect(agencies.agencies.map(\.code) == ["000.00.00.H41"])
                let types = try await Egov_Documents_V1_DocumentsService.Client(wrapping: client).listDocumentTypes(
                    .init())
                #expect(types.documentTypes.count == 29)
                #expect(types.documentTypes.first { $0.documentType == .decision }?.abbreviation == "QĐ")
                let procedure = try await Egov_Procedures_V1_ProceduresService.Client(wrapping: client)
                    .getProcedure(.with { $0.name = "procedures/2.000889.H41" })
                #expect(procedure.processingDays == 10)
                let points = try await Egov_Conferences_V1_ConferencesService.Client(wrapping: client).listBridgePoints(
                    .init())
                #expect(points.bridgePoints.map(\.displayName) == ["Phòng họp UBND tỉnh"])

                // The gateway's view of its peers comes from health checks with short deadlines: on
                // a loaded machine one may miss, and the next one answers.
                func identityServing() async throws -> (Int, Bool) {
                    let status = try await Egov_Gateway_V1_GatewayService.Client(wrapping: client).getPlatformStatus(
                        .init())
                    let identity = status.components.first { $0.target.hasSuffix(":\(stack.ports["identity"]!)") }
                    return (status.components.count, identity?.serving == true)
                }
                var (count, serving) = try await identityServing()
                for _ in 0..<60 where !serving {
                    try await Task.sleep(for: .milliseconds(500))
                    (count, serving) = try await identityServing()
                }
                #expect(count == 4 && serving)
            }
        }
    }

    @Test func aUserSignsInAtTheGatewayAndTheirTokenOpensWhatTheyMayRead() async throws {
        try await withStack { stack in
            try await withPublicClient(port: stack.gatewayPort) { client in
                let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
                let me = try await identity.registerPerson(
                    .with {
                        $0.person = citizen(); $0.password = goodPassword
                    })
                let session = try await identity.login(
                    .with {
                        $0.login = "001090012345"; $0.password = goodPassword
                    })
                let record = try await identity.getPerson(
                    .with { $0.name = me.name }, metadata: bearer(session.accessToken))
                #expect(record.name == me.name)
                // Signed in is not enough to read an agency's documents: the documents service
                // checks the role and the agency itself.
                let documents = Egov_Documents_V1_DocumentsService.Client(wrapping: client)
                #expect(
                    await failure {
                        _ = try await documents.listDocuments(
                            .with { $0.parent = "agencies/000.00.00.H41" }, metadata: bearer(session.accessToken))
                    } == Failure(code: .permissionDenied, reason: "PERMISSION_DENIED", field: nil))
            }
        }
    }

    @Test func anOfficialDraftsDocumentsOnlyInTheirOwnAgencyThroughTheGateway() async throws {
        try await withStack { stack in
            try await withTestClient(port: stack.ports["identity"]!) { client in
                let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
                for code in ["000.00.06.H41", "000.00.07.H41"] {
                    _ = try await identity.createAgency(.with { $0.agency = agency(code) })
                }
                _ = try await identity.createOfficial(
                    .with {
                        $0.person = .with {
                            $0.displayName = "Phạm Thu Dung"
                            $0.email = "dung@syt.example.vn"
                            $0.agency = "agencies/000.00.06.H41"
                            $0.roles = [.specialist]
                        }
                        $0.password = goodPassword
                    })
            }
            try await withPublicClient(port: stack.gatewayPort) { client in
                let session = try await Egov_Identity_V1_IdentityService.Client(wrapping: client)
                    .login(
                        .with {
                            $0.login = "dung@syt.example.vn"; $0.password = goodPassword
                        })
                let documents = Egov_Documents_V1_DocumentsService.Client(wrapping: client)
                let draft = Egov_Documents_V1_Document.with {
                    $0.direction = .outgoing
                    $0.documentType = .officialLetter
                    $0.subject = "Về việc triển khai tiêm chủng mở rộng"
                }
                let created = try await documents.createDocument(
                    .with {
                        $0.parent = "agencies/000.00.06.H41"; $0.document = draft
                    }, metadata: bearer(session.accessToken))
                #expect(created.creator == session.person)
                #expect(
                    await failure {
                        _ = try await documents.createDocument(
                            .with {
                                $0.parent = "agencies/000.00.07.H41"; $0.document = draft
                            }, metadata: bearer(session.accessToken))
                    } == Failure(code: .permissionDenied, reason: "PERMISSION_DENIED", field: nil))
                let listed = try await documents.listDocuments(
                    .with { $0.parent = "agencies/000.00.06.H41" }, metadata: bearer(session.accessToken))
                #expect(listed.documents.map(\.name) == [created.name])
            }
        }
    }

    @Test func errorsKeepTheirDetailsThroughTheGateway() async throws {
        try await withStack { stack in
            try await withPublicClient(port: stack.gatewayPort) { client in
                let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
                #expect(
                    await failure { _ = try await identity.getAgency(.with { $0.name = "agencies/x" }) }
                        == Failure(code: .invalidArgument, reason: "INVALID_AGENCY_NAME", field: "name"))
                #expect(
                    await failure { _ = try await identity.getAgency(.with { $0.name = "agencies/000.00.07.H41" }) }
                        == Failure(code: .notFound, reason: "AGENCY_NOT_FOUND", field: nil))
            }
        }
    }

    @Test func writesAndPrivateReadsNeedASignedInUserAtTheGatewayAndAtTheService() async throws {
        try await withStack { stack in
            try await withPublicClient(port: stack.gatewayPort) { client in
                let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
                #expect(
                    await failure { _ = try await identity.createAgency(.with { $0.agency = agency("000.00.00.H41") }) }
                        == Failure(code: .unauthenticated, reason: "AUTHENTICATION_REQUIRED", field: nil))
                let documents = Egov_Documents_V1_DocumentsService.Client(wrapping: client)
                #expect(
                    await failure {
                        _ = try await documents.listDocuments(.with { $0.parent = "agencies/000.00.00.H41" })
                    }?.code
                        == .unauthenticated)
                let agencies = try await identity.listAgencies(.init())
                #expect(agencies.agencies.isEmpty)
            }
            // Zero trust: the documents service itself refuses the gateway's certificate
            // when no signed-in user comes with the call.
            try await withTestClient(port: stack.ports["documents"]!, as: "gateway") { client in
                let documents = Egov_Documents_V1_DocumentsService.Client(wrapping: client)
                #expect(
                    await failure {
                        _ = try await documents.listDocuments(.with { $0.parent = "agencies/000.00.00.H41" })
                    }
                        == Failure(code: .unauthenticated, reason: "AUTHENTICATION_REQUIRED", field: nil))
            }
        }
    }

    @Test func documentsAreCreatedOnlyForAgenciesIdentityKnows() async throws {
        try await withStack { stack in
            try await withTestClient(port: stack.ports["identity"]!) { client in
                _ = try await Egov_Identity_V1_IdentityService.Client(wrapping: client)
                    .createAgency(.with { $0.agency = agency("000.00.00.H41", "UBND tỉnh", abbreviation: "UBND") })
            }
            try await withTestClient(port: stack.ports["documents"]!) { client in
                let documents = Egov_Documents_V1_DocumentsService.Client(wrapping: client)
                let draft = Egov_Documents_V1_Document.with {
                    $0.direction = .outgoing
                    $0.documentType = .decision
                    $0.subject = "Về việc ban hành quy chế làm việc"
                }
                let created = try await documents.createDocument(
                    .with {
                        $0.parent = "agencies/000.00.00.H41"
                        $0.document = draft
                        $0.requestID = "doc-1"
                    })
                #expect(created.state == .draft)
                #expect(created.name.hasPrefix("agencies/000.00.00.H41/documents/"))
                #expect(created.creator == "services/egov-tester")
                // Tooling drafts, but a document's contents are for signed-in officials only.
                #expect(
                    await failure { _ = try await documents.getDocument(.with { $0.name = created.name }) }?.code
                        == .notFound)
                let retried = try await documents.createDocument(
                    .with {
                        $0.parent = "agencies/000.00.00.H41"
                        $0.document = draft
                        $0.requestID = "doc-1"
                    })
                #expect(retried.name == created.name)

                #expect(
                    await failure {
                        _ = try await documents.createDocument(
                            .with {
                                $0.parent = "agencies/000.00.09.H41"; $0.document = draft
                            })
                    } == Failure(code: .notFound, reason: "AGENCY_NOT_FOUND", field: nil))
                #expect(
                    await failure {
                        _ = try await documents.createDocument(
                            .with {
                                $0.parent = "agencies/000.00.00.H41"
                                $0.document = draft
                                $0.document.subject = "  "
                            })
                    } == Failure(code: .invalidArgument, reason: "INVALID_DOCUMENT", field: "document.subject"))
                let listed = try await documents.listDocuments(.with { $0.parent = "agencies/000.00.00.H41" })
                #expect(listed.documents.isEmpty)
            }
        }
    }

    @Test func proceduresAndBridgePointsAreValidated() async throws {
        try await withStack { stack in
            try await withTestClient(port: stack.ports["procedures"]!) { client in
                let procedures = Egov_Procedures_V1_ProceduresService.Client(wrapping: client)
                #expect(
                    await failure {
                        _ = try await procedures.createProcedure(
                            .with {
                                $0.procedure = .with {
                                    $0.code = "1.0009"
                                    $0.displayName = "X"
                                    $0.agency = "agencies/000.00.00.H41"
                                    $0.mode = .fullOnline
                                }
                            })
                    } == Failure(code: .invalidArgument, reason: "INVALID_PROCEDURE", field: "procedure.code"))
                #expect(
                    await failure {
                        _ = try await procedures.createProcedure(
                            .with {
                                $0.procedure = .with {
                                    $0.code = "1.000948.H41"
                                    $0.displayName = "X"
                                    $0.agency = "agencies/000.00.00.H41"
                                    $0.mode = .fullOnline
                                }
                            })
                    } == Failure(code: .invalidArgument, reason: "AGENCY_NOT_FOUND", field: "procedure.agency"))
            }
            try await withTestClient(port: stack.ports["conferences"]!) { client in
                let conferences = Egov_Conferences_V1_ConferencesService.Client(wrapping: client)
                #expect(
                    await failure {
                        _ = try await conferences.createBridgePoint(
                            .with {
                                $0.bridgePoint = .with {
                                    $0.displayName = "Phòng họp"; $0.agency = "agencies/000.00.00.H41";
                                    $0.travelMinutes = -5
                                }
                            })
                    }
                        == Failure(
                            code: .invalidArgument, reason: "INVALID_BRIDGE_POINT", field: "bridge_point.travel_minutes"
                        ))
                let points = try await conferences.listBridgePoints(.init())
                #expect(points.bridgePoints.isEmpty)
            }
        }
    }
}
