import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import IdentityService
import Logging
import Testing

@Suite struct AccountTests {
    @Test func aCitizenRegistersSignsInAndReadsOnlyTheirOwnRecord() async throws {
        try await withAccounts { tool, relay, verifier in
            let registered = try await relay.registerPerson(
                .with {
                    $0.person = citizen(); $0.password = goodPassword
                })
            #expect(registered.roles == [.citizen])
            #expect(registered.name.hasPrefix("people/") && !registered.name.contains("001090012345"))
            let other = try await relay.registerPerson(
                .with {
                    $0.person = citizen("079195000001", birthDate: "1995-12-31")
                    $0.password = goodPassword
                })

            let session = try await relay.login(
                .with {
                    $0.login = "001090012345"; $0.password = goodPassword
                })
            #expect(session.person == registered.name)
            #expect(!session.accessToken.isEmpty && session.refreshToken.hasPrefix("rt."))

            let me = try await relay.getPerson(
                .with { $0.name = registered.name }, metadata: bearer(session.accessToken))
            #expect(me.citizenID == "001090012345")
            #expect(
                await failure {
                    _ = try await relay.getPerson(.with { $0.name = other.name }, metadata: bearer(session.accessToken))
                } == Failure(code: .permissionDenied, reason: "PERMISSION_DENIED", field: nil))
            #expect(
                await failure { _ = try await relay.getPerson(.with { $0.name = registered.name }) }
                    == Failure(code: .unauthenticated, reason: "AUTHENTICATION_REQUIRED", field: nil))
            #expect(
                await failure {
                    _ = try await relay.getPerson(
                        .with { $0.name = registered.name }, metadata: bearer(session.accessToken + "x"))
                } == Failure(code: .unauthenticated, reason: "INVALID_TOKEN", field: nil))
            // Platform tooling reads records without a user.
            #expect(try await tool.getPerson(.with { $0.name = other.name }).citizenID == "079195000001")
        }
    }

    @Test func aWrongPasswordAndAnUnknownLoginGetTheSameAnswer() async throws {
        try await withAccounts { _, relay, _ in
            _ = try await relay.registerPerson(
                .with {
                    $0.person = citizen(); $0.password = goodPassword
                })
            var answers: [String] = []
            for (login, password) in [("001090012345", "not the password"), ("079195000001", goodPassword)] {
                do {
                    _ = try await relay.login(
                        .with {
                            $0.login = login; $0.password = password
                        })
                } catch let error as RPCError {
                    answers.append("\(error.code) \(error.message)")
                }
            }
            #expect(answers.count == 2 && answers[0] == answers[1])
            #expect(answers.first?.hasPrefix("unauthenticated") == true)
        }
    }

    @Test(arguments: [
        ("001090012345", "1991-03-04", goodPassword, "person.citizen_id"),
        ("999090012345", "1990-03-04", goodPassword, "person.citizen_id"),
        ("001090012345", "1990-03-04", "short", "password"),
        ("001090012345", "1990-03-04", "001090012345", "password"),
    ])
    func badRegistrationsNameTheFieldAndCreateNothing(id: String, birthDate: String, password: String, field: String)
        async throws
    {
        try await withAccounts { _, relay, _ in
            let result = await failure {
                _ = try await relay.registerPerson(
                    .with {
                        $0.person = citizen(id, birthDate: birthDate); $0.password = password
                    })
            }
            #expect(result?.code == .invalidArgument)
            #expect(result?.field == field)
            #expect(
                await failure {
                    _ = try await relay.login(
                        .with {
                            $0.login = id; $0.password = password
                        })
                }?.code
                    == .unauthenticated)
        }
    }

    @Test func businessesRegisterWithAValidTaxCode() async throws {
        try await withAccounts { _, relay, _ in
            let business = try await relay.registerPerson(
                .with {
                    $0.person = .with {
                        $0.kind = .business; $0.displayName = "Công ty Cổ phần Sữa"; $0.taxCode = "0300588569"
                    }
                    $0.password = goodPassword
                })
            #expect(business.roles == [.business])
            #expect(
                await failure {
                    _ = try await relay.registerPerson(
                        .with {
                            $0.person = .with {
                                $0.kind = .business; $0.displayName = "X"; $0.taxCode = "0300588568"
                            }
                            $0.password = goodPassword
                        })
                } == Failure(code: .invalidArgument, reason: "INVALID_PERSON", field: "person.tax_code"))
            #expect(
                await failure {
                    _ = try await relay.registerPerson(
                        .with {
                            $0.person = .with {
                                $0.kind = .business; $0.displayName = "Y"; $0.taxCode = "0300588569"
                            }
                            $0.password = goodPassword
                        })
                }?.code == .alreadyExists)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aRefreshTokenWorksOnceAndReusingItEndsTheSession(engine: Engine) async throws {
        try await withAccounts(engine: engine) { _, relay, _ in
            _ = try await relay.registerPerson(
                .with {
                    $0.person = citizen(); $0.password = goodPassword
                })
            let first = try await relay.login(
                .with {
                    $0.login = "001090012345"; $0.password = goodPassword
                })
            let second = try await relay.refreshSession(.with { $0.refreshToken = first.refreshToken })
            #expect(second.refreshToken != first.refreshToken)
            #expect(
                await failure { _ = try await relay.refreshSession(.with { $0.refreshToken = first.refreshToken }) }
                    == Failure(code: .unauthenticated, reason: "REFRESH_TOKEN_REUSED", field: nil))
            // The thief's reuse ended the family: the legitimate holder's newer token is dead too.
            #expect(
                await failure { _ = try await relay.refreshSession(.with { $0.refreshToken = second.refreshToken }) }
                    == Failure(code: .unauthenticated, reason: "INVALID_REFRESH_TOKEN", field: nil))
        }
    }

    @Test(arguments: TestDatabases.engines)
    func changingThePasswordEndsTheOtherSessions(engine: Engine) async throws {
        try await withAccounts(engine: engine) { _, relay, _ in
            let person = try await relay.registerPerson(
                .with {
                    $0.person = citizen(); $0.password = goodPassword
                })
            let here = try await relay.login(
                .with {
                    $0.login = "001090012345"; $0.password = goodPassword
                })
            let elsewhere = try await relay.login(
                .with {
                    $0.login = "001090012345"; $0.password = goodPassword
                })
            let changed = try await relay.changePassword(
                .with {
                    $0.name = person.name; $0.currentPassword = goodPassword; $0.newPassword = "một mật khẩu mới hơn"
                },
                metadata: bearer(here.accessToken))
            #expect(changed.endedSessions == 1)
            #expect(
                await failure {
                    _ = try await relay.refreshSession(.with { $0.refreshToken = elsewhere.refreshToken })
                }?.code
                    == .unauthenticated)
            _ = try await relay.refreshSession(.with { $0.refreshToken = here.refreshToken })
            #expect(
                await failure {
                    _ = try await relay.login(
                        .with {
                            $0.login = "001090012345"; $0.password = goodPassword
                        })
                }?.code
                    == .unauthenticated)
            _ = try await relay.login(
                .with {
                    $0.login = "001090012345"; $0.password = "một mật khẩu mới hơn"
                })
            _ = try await relay.logout(.with { $0.refreshToken = here.refreshToken })
        }
    }

    @Test(arguments: TestDatabases.engines)
    func agencyAdministratorsManageOnlyTheirOwnAgencysOfficials(engine: Engine) async throws {
        try await withAccounts(engine: engine) { tool, relay, verifier in
            for code in ["000.00.06.H41", "000.00.07.H41"] {
                _ = try await tool.createAgency(.with { $0.agency = agency(code) })
            }
            _ = try await tool.createOfficial(
                .with {
                    $0.person = .with {
                        $0.displayName = "Lê Văn Cường"
                        $0.email = "Cuong.Admin@syt.example.vn"
                        $0.agency = "agencies/000.00.06.H41"
                        $0.roles = [.agencyAdmin]
                    }
                    $0.password = goodPassword
                })
            // Without a second factor an administrator is only a signed-in official.
            let weak = try await relay.login(
                .with {
                    $0.login = "cuong.admin@syt.example.vn"; $0.password = goodPassword
                })
            #expect(
                await failure {
                    _ = try await relay.createOfficial(
                        .with {
                            $0.person = .with {
                                $0.displayName = "X"; $0.email = "x@syt.example.vn";
                                $0.agency = "agencies/000.00.06.H41"; $0.roles = [.clerk]
                            }
                            $0.password = goodPassword
                        }, metadata: bearer(weak.accessToken))
                }?.code == .permissionDenied)
            let admin = try await signInWithSecondFactor(relay, login: "cuong.admin@syt.example.vn")
            #expect(
                await failure {
                    _ = try await relay.login(
                        .with {
                            $0.login = "cuong.admin@syt.example.vn"; $0.password = goodPassword
                        })
                }
                    == Failure(code: .unauthenticated, reason: "TOTP_REQUIRED", field: nil))
            let specialist = Egov_Identity_V1_Person.with {
                $0.displayName = "Phạm Thu Dung"
                $0.email = "dung@syt.example.vn"
                $0.agency = "agencies/000.00.06.H41"
                $0.roles = [.specialist]
            }
            let created = try await relay.createOfficial(
                .with {
                    $0.person = specialist; $0.password = goodPassword
                }, metadata: bearer(admin.accessToken))
            #expect(created.kind == .official && created.roles == [.specialist])
            var elsewhere = specialist
            elsewhere.agency = "agencies/000.00.07.H41"
            elsewhere.email = "dung@sgd.example.vn"
            #expect(
                await failure {
                    _ = try await relay.createOfficial(
                        .with {
                            $0.person = elsewhere; $0.password = goodPassword
                        }, metadata: bearer(admin.accessToken))
                } == Failure(code: .permissionDenied, reason: "PERMISSION_DENIED", field: nil))
            var promoted = specialist
            promoted.email = "root@syt.example.vn"
            promoted.roles = [.systemAdmin]
            #expect(
                await failure {
                    _ = try await relay.createOfficial(
                        .with {
                            $0.person = promoted; $0.password = goodPassword
                        }, metadata: bearer(admin.accessToken))
                }?.code == .permissionDenied)
            // The specialist's token carries the agency and role other services check.
            let session = try await relay.login(
                .with {
                    $0.login = "dung@syt.example.vn"; $0.password = goodPassword
                })
            let claims = try await verifier.verify(session.accessToken)
            #expect(claims.agency == "agencies/000.00.06.H41" && claims.roles == ["ROLE_SPECIALIST"])
            #expect(
                await failure {
                    _ = try await relay.createAgency(
                        .with { $0.agency = agency("000.00.08.H41") }, metadata: bearer(admin.accessToken))
                }?.code == .permissionDenied)
        }
    }

    @Test func otherProcessesLearnTheKeysFromIdentity() async throws {
        try await withIdentity { port, _ in
            try await withTestClient(port: port, as: "documents") { client in
                let verifier = TokenVerifier()
                let refresher = SigningKeysRefresher(client: client, verifier: verifier, logger: Logger(label: "test"))
                #expect(try await refresher.refresh(timeout: .seconds(60)) >= 1)
                let identity = Identity(wrapping: client)
                _ = try await identity.registerPerson(
                    .with {
                        $0.person = citizen(); $0.password = goodPassword
                    })
                let session = try await identity.login(
                    .with {
                        $0.login = "001090012345"; $0.password = goodPassword
                    })
                #expect(try await verifier.verify(session.accessToken).sub == session.person)
            }
        }
    }
}
