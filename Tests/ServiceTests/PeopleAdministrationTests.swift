import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

/// An agency with an administrator and a specialist, signed in through the gateway's certificate.
struct AgencyFixture {
    var admin: Egov_Identity_V1_SessionTokens
    var specialist: Egov_Identity_V1_Person
    var specialistSession: Egov_Identity_V1_SessionTokens
}

func makeAgencyFixture(tool: Identity, relay: Identity) async throws -> AgencyFixture {
    for code in ["000.00.06.H41", "000.00.07.H41"] {
        _ = try await tool.createAgency(.with { $0.agency = agency(code) })
    }
    for (email, role) in [
        ("admin@syt.example.vn", Egov_Identity_V1_Role.agencyAdmin), ("dung@syt.example.vn", .specialist),
    ] {
        _ = try await tool.createOfficial(
            .with {
                $0.person = .with {
                    $0.displayName = email
                    $0.email = email
                    $0.agency = "agencies/000.00.06.H41"
                    $0.roles = [role]
                }
                $0.password = goodPassword
            })
    }
    let admin = try await signInWithSecondFactor(relay, login: "admin@syt.example.vn")
    let specialistSession = try await relay.login(
        .with {
            $0.login = "dung@syt.example.vn"; $0.password = goodPassword
        })
    let specialist = try await relay.getPerson(
        .with { $0.name = specialistSession.person }, metadata: bearer(admin.accessToken))
    return AgencyFixture(admin: admin, specialist: specialist, specialistSession: specialistSession)
}

@Suite struct PeopleAdministrationTests {
    @Test func administratorsSeeWholeRecordsOnlyOfTheirAgencysOfficials() async throws {
        try await withAccounts { tool, relay, _ in
            let fixture = try await makeAgencyFixture(tool: tool, relay: relay)
            let page = try await relay.listPeople(
                .with { $0.agency = "agencies/000.00.06.H41" }, metadata: bearer(fixture.admin.accessToken))
            #expect(page.people.count == 2 && page.people.allSatisfy { !$0.email.isEmpty })
            // Another agency's officials: the directory view only, as for any official.
            _ = try await tool.createOfficial(
                .with {
                    $0.person = .with {
                        $0.displayName = "Đào Văn Học"; $0.email = "hoc@sgd.example.vn";
                        $0.agency = "agencies/000.00.07.H41"; $0.roles = [.specialist]
                    }
                    $0.password = goodPassword
                })
            let other = try await relay.listPeople(
                .with { $0.agency = "agencies/000.00.07.H41" }, metadata: bearer(fixture.admin.accessToken))
            #expect(
                other.people.map(\.displayName) == ["Đào Văn Học"]
                    && other.people.allSatisfy { $0.email.isEmpty && $0.phone.isEmpty })
            #expect(
                await failure { _ = try await relay.listPeople(.init(), metadata: bearer(fixture.admin.accessToken)) }
                    == Failure(code: .invalidArgument, reason: "AGENCY_REQUIRED", field: "agency"))
        }
    }

    /// Officials find the colleagues they assign and hand dossiers to (in their agency or the
    /// one they hand over to), by role, seeing who they are and what they do, but no contact or
    /// identity data; citizens see no directory.
    @Test func officialsListTheirAgencysColleaguesByRole() async throws {
        try await withAccounts { tool, relay, _ in
            let fixture = try await makeAgencyFixture(tool: tool, relay: relay)
            let leader = try await tool.createOfficial(
                .with {
                    $0.person = .with {
                        $0.displayName = "Lê Văn Chánh"
                        $0.email = "chanh@syt.example.vn"
                        $0.phone = "0912345678"
                        $0.position = "Phó Giám đốc"
                        $0.agency = "agencies/000.00.06.H41"
                        $0.roles = [.leader]
                    }
                    $0.password = goodPassword
                })
            let specialist = bearer(fixture.specialistSession.accessToken)
            let leaders = try await relay.listPeople(
                .with {
                    $0.agency = "agencies/000.00.06.H41"; $0.role = .leader
                }, metadata: specialist)
            #expect(leaders.people.map(\.name) == [leader.name])
            let entry = try #require(leaders.people.first)
            #expect(entry.displayName == "Lê Văn Chánh" && entry.position == "Phó Giám đốc" && entry.roles == [.leader])
            #expect(entry.email.isEmpty && entry.phone.isEmpty && entry.citizenID.isEmpty)
            // The directory searches names, never e-mail addresses.
            let byName = try await relay.listPeople(
                .with {
                    $0.agency = "agencies/000.00.06.H41"; $0.query = "chanh"
                }, metadata: specialist)
            #expect(byName.people.map(\.name) == [leader.name])
            let byEmail = try await relay.listPeople(
                .with {
                    $0.agency = "agencies/000.00.06.H41"; $0.query = "chanh@syt"
                }, metadata: specialist)
            #expect(byEmail.people.isEmpty)
            let everyone = try await relay.listPeople(
                .with {
                    $0.agency = "agencies/000.00.06.H41"; $0.pageSize = 1
                }, metadata: specialist)
            #expect(everyone.people.count == 1 && !everyone.nextPageToken.isEmpty)
            // Administrators still see the whole record, and may filter by role too.
            let full = try await relay.listPeople(
                .with {
                    $0.agency = "agencies/000.00.06.H41"; $0.role = .leader
                }, metadata: bearer(fixture.admin.accessToken))
            #expect(full.people.first?.email == "chanh@syt.example.vn")
            // Citizens see no directory.
            _ = try await relay.registerPerson(
                .with {
                    $0.person = citizen(); $0.password = goodPassword
                })
            let citizenSession = try await relay.login(
                .with {
                    $0.login = "001090012345"; $0.password = goodPassword
                })
            #expect(
                await failure {
                    _ = try await relay.listPeople(
                        .with { $0.agency = "agencies/000.00.06.H41" }, metadata: bearer(citizenSession.accessToken))
                }?.code == .permissionDenied)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func administratorsSearchNamesWithOrWithoutDiacritics(engine: Engine) async throws {
        try await withAccounts(engine: engine) { tool, relay, _ in
            let fixture = try await makeAgencyFixture(tool: tool, relay: relay)
            for (name, email) in [("Nguyễn Văn Đức", "duc@syt.example.vn"), ("Trần Thị Bình", "binh@syt.example.vn")] {
                _ = try await tool.createOfficial(
                    .with {
                        $0.person = .with {
                            $0.displayName = name; $0.email = email; $0.agency = "agencies/000.00.06.H41";
                            $0.roles = [.clerk]
                        }
                        $0.password = goodPassword
                    })
            }
            func search(_ query: String) async throws -> [String] {
                try await relay.listPeople(
                    .with {
                        $0.agency = "agencies/000.00.06.H41"; $0.query = query
                    }, metadata: bearer(fixture.admin.accessToken)
                ).people.map(\.displayName)
            }
            #expect(try await search("nguyen van duc") == ["Nguyễn Văn Đức"])
            #expect(try await search("ĐỨC") == ["Nguyễn Văn Đức"])
            #expect(try await search("binh") == ["Trần Thị Bình"])
            #expect(try await search("100%").isEmpty)
        }
    }

    @Test func peopleEditThemselvesAndAdministratorsChangeRoles() async throws {
        try await withAccounts { tool, relay, verifier in
            let fixture = try await makeAgencyFixture(tool: tool, relay: relay)
            let renamed = try await relay.updatePerson(
                .with {
                    $0.person = .with {
                        $0.name = fixture.specialist.name; $0.displayName = "Phạm Thu Dung"
                    }
                    $0.updateMask = .init(protoPaths: ["display_name"])
                }, metadata: bearer(fixture.specialistSession.accessToken))
            #expect(renamed.displayName == "Phạm Thu Dung")
            #expect(renamed.etag != fixture.specialist.etag)
            // Promoting oneself is not possible.
            #expect(
                await failure {
                    _ = try await relay.updatePerson(
                        .with {
                            $0.person = .with {
                                $0.name = fixture.specialist.name; $0.roles = [.leader]
                            }
                            $0.updateMask = .init(protoPaths: ["roles"])
                        }, metadata: bearer(fixture.specialistSession.accessToken))
                }?.code == .permissionDenied)
            let promoted = try await relay.updatePerson(
                .with {
                    $0.person = .with {
                        $0.name = fixture.specialist.name; $0.roles = [.leader, .specialist]
                    }
                    $0.updateMask = .init(protoPaths: ["roles"])
                }, metadata: bearer(fixture.admin.accessToken))
            #expect(promoted.roles == [.specialist, .leader])
            #expect(
                await failure {
                    _ = try await relay.updatePerson(
                        .with {
                            $0.person = .with {
                                $0.name = fixture.specialist.name; $0.displayName = "X";
                                $0.etag = fixture.specialist.etag
                            }
                            $0.updateMask = .init(protoPaths: ["display_name"])
                        }, metadata: bearer(fixture.admin.accessToken))
                } == Failure(code: .failedPrecondition, reason: "ETAG_MISMATCH", field: nil))
            #expect(
                await failure {
                    _ = try await relay.updatePerson(
                        .with {
                            $0.person = .with {
                                $0.name = fixture.specialist.name; $0.citizenID = "001090012345"
                            }
                            $0.updateMask = .init(protoPaths: ["citizen_id"])
                        }, metadata: bearer(fixture.admin.accessToken))
                } == Failure(code: .invalidArgument, reason: "UNSUPPORTED_UPDATE_MASK_PATH", field: "update_mask"))
            // The next token carries the new roles.
            let session = try await relay.login(
                .with {
                    $0.login = "dung@syt.example.vn"; $0.password = goodPassword
                })
            #expect(try await verifier.verify(session.accessToken).roles == ["ROLE_SPECIALIST", "ROLE_LEADER"])
        }
    }

    @Test(arguments: TestDatabases.engines)
    func deactivatingEndsSessionsAndSignInAndResetReplacesThePassword(engine: Engine) async throws {
        try await withAccounts(engine: engine) { tool, relay, _ in
            let fixture = try await makeAgencyFixture(tool: tool, relay: relay)
            let reset = try await relay.resetPassword(
                .with {
                    $0.name = fixture.specialist.name; $0.newPassword = "mật khẩu được cấp lại"
                },
                metadata: bearer(fixture.admin.accessToken))
            #expect(reset.endedSessions == 1)
            #expect(
                await failure {
                    _ = try await relay.refreshSession(
                        .with { $0.refreshToken = fixture.specialistSession.refreshToken })
                }?.code
                    == .unauthenticated)
            let again = try await relay.login(
                .with {
                    $0.login = "dung@syt.example.vn"; $0.password = "mật khẩu được cấp lại"
                })

            let deactivated = try await relay.deactivatePerson(
                .with {
                    $0.name = fixture.specialist.name; $0.reason = "nghỉ hưu"
                }, metadata: bearer(fixture.admin.accessToken))
            #expect(deactivated.state == .inactive)
            #expect(
                await failure { _ = try await relay.refreshSession(.with { $0.refreshToken = again.refreshToken }) }?
                    .code
                    == .unauthenticated)
            #expect(
                await failure {
                    _ = try await relay.login(
                        .with {
                            $0.login = "dung@syt.example.vn"; $0.password = "mật khẩu được cấp lại"
                        })
                }?.code
                    == .unauthenticated)
            // The deactivated specialist's last access token is refused: as an ended session's
            // once identity's revocation refresher has run, as a non-administrator's before.
            let late = await failure {
                _ = try await relay.deactivatePerson(
                    .with { $0.name = fixture.admin.person }, metadata: bearer(again.accessToken))
            }
            #expect(late?.code == .unauthenticated || late?.code == .permissionDenied)
        }
    }

    @Test func peopleSeeAndEndOnlyTheirOwnSessions() async throws {
        try await withAccounts { tool, relay, _ in
            let fixture = try await makeAgencyFixture(tool: tool, relay: relay)
            let phone = try await relay.login(
                .with {
                    $0.login = "dung@syt.example.vn"; $0.password = goodPassword
                })
            let listed = try await relay.listSessions(
                .with { $0.parent = fixture.specialist.name }, metadata: bearer(fixture.specialistSession.accessToken))
            #expect(listed.sessions.count == 2)
            #expect(listed.sessions.filter(\.current).count == 1)
            let other = try #require(listed.sessions.first { !$0.current })
            #expect(
                await failure {
                    _ = try await relay.revokeSession(
                        .with { $0.name = other.name }, metadata: bearer(fixture.admin.accessToken))
                }?.code == .permissionDenied)
            _ = try await relay.revokeSession(
                .with { $0.name = other.name }, metadata: bearer(fixture.specialistSession.accessToken))
            #expect(
                await failure { _ = try await relay.refreshSession(.with { $0.refreshToken = phone.refreshToken }) }?
                    .code
                    == .unauthenticated)
            #expect(
                await failure {
                    _ = try await relay.revokeSession(
                        .with { $0.name = other.name }, metadata: bearer(fixture.specialistSession.accessToken))
                } == Failure(code: .notFound, reason: "SESSION_NOT_FOUND", field: nil))
        }
    }
}
