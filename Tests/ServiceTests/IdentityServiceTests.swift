import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import GRPCCore
import SwiftProtobuf
import Testing

@Suite struct IdentityServiceTests {
    @Test(arguments: TestDatabases.engines)
    func agenciesAreCreatedReadAndListedPageByPage(engine: Engine) async throws {
        try await withIdentity(engine: engine) { port, _ in
            try await withTestClient(port: port) { client in
                let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
                let root = try await identity.createAgency(
                    .with { $0.agency = agency("000.00.00.H41", "UBND tỉnh", abbreviation: "UBND") })
                #expect(root.name == "agencies/000.00.00.H41")
                #expect(root.state == .active)
                #expect(root.hasCreateTime)
                for index in 1...4 {
                    _ = try await identity.createAgency(
                        .with {
                            $0.agency = agency("000.00.0\(index).H41", parent: root.name)
                        })
                }
                #expect(try await identity.getAgency(.with { $0.name = "agencies/000.00.03.H41" }).parent == root.name)

                var names: [String] = []
                var token = ""
                repeat {
                    let page = try await identity.listAgencies(
                        .with {
                            $0.parent = root.name
                            $0.pageSize = 3
                            $0.pageToken = token
                        })
                    names += page.agencies.map(\.name)
                    token = page.nextPageToken
                } while !token.isEmpty
                #expect(names == (1...4).map { "agencies/000.00.0\($0).H41" })
            }
        }
    }

    @Test(arguments: [
        (agency("000.00.00"), "agency.code"),
        (agency("000.00.00.H41", ""), "agency.display_name"),
        (agency("000.00.00.H41", abbreviation: "ubnd"), "agency.abbreviation"),
        (
            Egov_Identity_V1_Agency.with {
                $0.code = "000.00.00.H41"; $0.displayName = "X"; $0.abbreviation = "X"
            }, "agency.kind"
        ),
        (agency("000.00.01.H41", parent: "agencies/000.00.09.H41"), "agency.parent"),
    ])
    func badAgenciesAreRefusedNamingTheFieldAndNothingIsWritten(input: Egov_Identity_V1_Agency, field: String)
        async throws
    {
        try await withIdentity { port, _ in
            try await withTestClient(port: port) { client in
                let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
                let result = await failure { _ = try await identity.createAgency(.with { $0.agency = input }) }
                #expect(result?.code == .invalidArgument)
                #expect(result?.field == field)
                let stored = try await identity.listAgencies(.init()).agencies
                #expect(stored.isEmpty)
            }
        }
    }

    @Test func aDuplicateCodeIsAlreadyExistsButARetryReturnsTheFirst() async throws {
        try await withIdentity { port, _ in
            try await withTestClient(port: port) { client in
                let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
                let first = try await identity.createAgency(
                    .with {
                        $0.agency = agency("000.00.00.H41")
                        $0.requestID = "7f1c9a52-1"
                    })
                let retry = try await identity.createAgency(
                    .with {
                        $0.agency = agency("000.00.00.H41")
                        $0.requestID = "7f1c9a52-1"
                    })
                #expect(retry == first)
                let duplicate = await failure {
                    _ = try await identity.createAgency(.with { $0.agency = agency("000.00.00.H41") })
                }
                #expect(duplicate == Failure(code: .alreadyExists, reason: "AGENCY_EXISTS", field: nil))
                let reused = await failure {
                    _ = try await identity.createAgency(
                        .with {
                            $0.agency = agency("000.00.01.H41")
                            $0.requestID = "7f1c9a52-1"
                        })
                }
                #expect(reused == Failure(code: .invalidArgument, reason: "REQUEST_ID_REUSED", field: "request_id"))
                #expect(try await identity.listAgencies(.init()).agencies.count == 1)
            }
        }
    }

    @Test func readsOfMissingOrMalformedNamesAreClear() async throws {
        try await withIdentity { port, _ in
            try await withTestClient(port: port) { client in
                let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
                #expect(
                    await failure { _ = try await identity.getAgency(.with { $0.name = "agencies/000.00.00.H41" }) }
                        == Failure(code: .notFound, reason: "AGENCY_NOT_FOUND", field: nil))
                #expect(
                    await failure { _ = try await identity.getAgency(.with { $0.name = "000.00.00.H41" }) }
                        == Failure(code: .invalidArgument, reason: "INVALID_AGENCY_NAME", field: "name"))
                #expect(
                    await failure { _ = try await identity.listAgencies(.with { $0.pageSize = -1 }) }
                        == Failure(code: .invalidArgument, reason: "INVALID_PAGE_SIZE", field: "page_size"))
                #expect(
                    await failure { _ = try await identity.listAgencies(.with { $0.pageToken = "bm9wZQ" }) }
                        == Failure(code: .invalidArgument, reason: "INVALID_PAGE_TOKEN", field: "page_token"))
            }
        }
    }

    @Test(arguments: TestDatabases.engines)
    func agenciesAreRenamedMovedSearchedAndDeactivated(engine: Engine) async throws {
        try await withIdentity(engine: engine) { port, _ in
            try await withTestClient(port: port) { client in
                let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
                let root = try await identity.createAgency(
                    .with { $0.agency = agency("000.00.00.H41", "UBND tỉnh", abbreviation: "UBND") })
                let health = try await identity.createAgency(
                    .with {
                        $0.agency = agency("000.00.06.H41", "Sở Y tế", abbreviation: "SYT", parent: root.name)
                    })
                let unit = try await identity.createAgency(
                    .with {
                        $0.agency = agency(
                            "000.00.21.H41", "Trung tâm Kiểm soát bệnh tật", abbreviation: "CDC", parent: root.name)
                    })
                let moved = try await identity.updateAgency(
                    .with {
                        $0.agency = .with {
                            $0.name = unit.name; $0.parent = health.name; $0.etag = unit.etag
                        }
                        $0.updateMask = .init(protoPaths: ["parent"])
                    })
                #expect(moved.parent == health.name && moved.etag != unit.etag)
                #expect(
                    await failure {
                        _ = try await identity.updateAgency(
                            .with {
                                $0.agency = .with {
                                    $0.name = health.name; $0.parent = unit.name
                                }
                                $0.updateMask = .init(protoPaths: ["parent"])
                            })
                    } == Failure(code: .invalidArgument, reason: "PARENT_CYCLE", field: "agency.parent"))
                #expect(
                    await failure {
                        _ = try await identity.updateAgency(
                            .with {
                                $0.agency = .with {
                                    $0.name = unit.name; $0.displayName = "X"; $0.etag = unit.etag
                                }
                                $0.updateMask = .init(protoPaths: ["display_name"])
                            })
                    } == Failure(code: .failedPrecondition, reason: "ETAG_MISMATCH", field: nil))

                let found = try await identity.listAgencies(.with { $0.query = "so y te" }).agencies.map(\.code)
                #expect(found == ["000.00.06.H41"])
                #expect(
                    try await identity.listAgencies(.with { $0.query = "kiem soat benh" }).agencies.map(\.code) == [
                        "000.00.21.H41"
                    ])

                let closed = try await identity.deactivateAgency(
                    .with {
                        $0.name = unit.name; $0.reason = "sáp nhập"
                    })
                #expect(closed.state == .inactive)
                #expect(try await identity.listAgencies(.with { $0.parent = health.name }).agencies.isEmpty)
                #expect(
                    try await identity.listAgencies(
                        .with {
                            $0.parent = health.name; $0.showInactive = true
                        }
                    ).agencies.count == 1)
            }
        }
    }
}

@Suite struct ServiceCallerTests {
    /// A platform service acting for no user makes only the calls it needs; the operators'
    /// tooling makes any.
    @Test func servicesMakeOnlyTheirOwnCallsForNoUser() async throws {
        try await withIdentity { port, _ in
            let newAgency = Egov_Identity_V1_CreateAgencyRequest.with {
                $0.agency = agency("000.00.31.H41", "Sở Nội vụ", abbreviation: "SNV")
            }
            for service in ["conferences", "procedures", "documents"] {
                #expect(
                    await failure {
                        try await withTestClient(port: port, as: service) {
                            _ = try await Identity(wrapping: $0).createAgency(newAgency)
                        }
                    } == Failure(code: .permissionDenied, reason: "PERMISSION_DENIED", field: nil))
            }
            let created = try await withTestClient(port: port, as: "tester") {
                try await Identity(wrapping: $0).createAgency(newAgency)
            }
            // Procedures checks assignees with identity, documents signers and leads; conferences
            // has no need to read people.
            let person = try await withTestClient(port: port) { client in
                try await Identity(wrapping: client).createOfficial(
                    .with {
                        $0.person = .with {
                            $0.displayName = "Vũ Thị Lan"; $0.email = "lan@snv.vn"; $0.agency = created.name;
                            $0.roles = [.specialist]
                        }
                        $0.password = goodPassword
                    })
            }
            let read = try await withTestClient(port: port, as: "procedures") {
                try await Identity(wrapping: $0).getPerson(.with { $0.name = person.name })
            }
            #expect(read.email == "lan@snv.vn")
            // Conferences reads the chairs and people it invites; no service changes anyone.
            let readByConferences = try await withTestClient(port: port, as: "conferences") {
                try await Identity(wrapping: $0).getPerson(.with { $0.name = person.name })
            }
            #expect(readByConferences.name == person.name)
            #expect(
                await failure {
                    try await withTestClient(port: port, as: "conferences") {
                        _ = try await Identity(wrapping: $0).updatePerson(
                            .with {
                                $0.person = .with {
                                    $0.name = person.name; $0.phone = "0912345678"
                                }
                                $0.updateMask = .with { $0.paths = ["phone"] }
                            })
                    }
                }?.code == .permissionDenied)
        }
    }
}
