import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@Suite struct DelegationTests {
    func official(_ tool: Identity, _ email: String, agency: String, roles: [Egov_Identity_V1_Role]) async throws
        -> Egov_Identity_V1_Person
    {
        try await tool.createOfficial(
            .with {
                $0.person = .with {
                    $0.displayName = email; $0.email = email; $0.agency = agency; $0.roles = roles
                }
                $0.password = goodPassword
            })
    }

    @Test(arguments: TestDatabases.engines)
    func aLeaderDelegatesSigningForATimeAndServicesAskWhetherItHolds(engine: Engine) async throws {
        try await withAccounts(engine: engine) { tool, relay, _ in
            for code in ["000.00.06.H41", "000.00.07.H41"] {
                _ = try await tool.createAgency(.with { $0.agency = agency(code) })
            }
            let leader = try await official(
                tool, "giamdoc@syt.example.vn", agency: "agencies/000.00.06.H41", roles: [.leader])
            let deputy = try await official(
                tool, "phogiamdoc@syt.example.vn", agency: "agencies/000.00.06.H41", roles: [.leader])
            let outsider = try await official(
                tool, "khac@sgd.example.vn", agency: "agencies/000.00.07.H41", roles: [.leader])
            let leaderSession = try await relay.login(
                .with {
                    $0.login = "giamdoc@syt.example.vn"; $0.password = goodPassword
                })
            let deputySession = try await relay.login(
                .with {
                    $0.login = "phogiamdoc@syt.example.vn"; $0.password = goodPassword
                })
            let now = Date()
            let delegation = Egov_Identity_V1_Delegation.with {
                $0.kind = .kt
                $0.delegate = deputy.name
                $0.scopes = [.signDocuments]
                $0.startTime = .init(date: now.addingTimeInterval(-3600))
                $0.endTime = .init(date: now.addingTimeInterval(86_400))
                $0.basis = "Quyết định số 12/QĐ-SYT"
            }
            let created = try await relay.createDelegation(
                .with {
                    $0.parent = leader.name; $0.delegation = delegation
                }, metadata: bearer(leaderSession.accessToken))
            #expect(created.principal == leader.name && created.agency == "agencies/000.00.06.H41")

            func check(_ scope: Egov_Identity_V1_Delegation.Scope, at date: Date = Date()) async throws
                -> Egov_Identity_V1_CheckDelegationResponse
            {
                try await tool.checkDelegation(
                    .with {
                        $0.principal = leader.name
                        $0.delegate = deputy.name
                        $0.scope = scope
                        $0.time = .init(date: date)
                    })
            }
            let allowed = try await check(.signDocuments)
            #expect(allowed.allowed && allowed.kind == .kt && allowed.delegation == created.name)
            #expect(try await check(.approveDossiers).allowed == false)
            #expect(try await check(.signDocuments, at: now.addingTimeInterval(2 * 86_400)).allowed == false)
            #expect(try await check(.signDocuments, at: now.addingTimeInterval(-7200)).allowed == false)

            // Only the principal (or their administrators) delegates their authority.
            #expect(
                await failure {
                    _ = try await relay.createDelegation(
                        .with {
                            $0.parent = leader.name; $0.delegation = delegation
                        }, metadata: bearer(deputySession.accessToken))
                }?.code == .permissionDenied)
            var abroad = delegation
            abroad.delegate = outsider.name
            #expect(
                await failure {
                    _ = try await relay.createDelegation(
                        .with {
                            $0.parent = leader.name; $0.delegation = abroad
                        }, metadata: bearer(leaderSession.accessToken))
                } == Failure(code: .invalidArgument, reason: "INVALID_DELEGATION", field: "delegation.delegate"))
            var backwards = delegation
            backwards.endTime = .init(date: now.addingTimeInterval(-7200))
            #expect(
                await failure {
                    _ = try await relay.createDelegation(
                        .with {
                            $0.parent = leader.name; $0.delegation = backwards
                        }, metadata: bearer(leaderSession.accessToken))
                } == Failure(code: .invalidArgument, reason: "INVALID_DELEGATION", field: "delegation.end_time"))

            let revoked = try await relay.revokeDelegation(
                .with { $0.name = created.name }, metadata: bearer(leaderSession.accessToken))
            #expect(revoked.hasRevokeTime)
            #expect(try await check(.signDocuments).allowed == false)
            let listed = try await relay.listDelegations(
                .with { $0.parent = leader.name }, metadata: bearer(leaderSession.accessToken))
            #expect(listed.delegations.map(\.name) == [created.name])
        }
    }
}
