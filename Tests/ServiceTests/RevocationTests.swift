import EGovAPI
import EGovKit
import EGovTestSupport
import GRPCCore
import Testing

/// A signed-out or superseded session's access token stops working within one refresh of
/// the ended-sessions list (2 s in the processes), not when it expires five minutes later.
@Suite struct RevocationTests {
    @Test func endedSessionsTokensAreRefusedByEveryProcessAfterOneRefresh() async throws {
        try await withStack { stack in
            // Another process's verifier (the gateway's, say), fed by polling identity.
            let elsewhere = TokenVerifier()
            try await withTestClient(port: stack.ports["identity"]!, as: "gateway") { peer in
                _ = try await SigningKeysRefresher(client: peer, verifier: elsewhere, logger: .init(label: "test"))
                    .refresh(timeout: .seconds(60))
                let revocations = RevokedSessionsRefresher(
                    client: peer, verifier: elsewhere, logger: .init(label: "test"))
                try await withPublicClient(port: stack.gatewayPort) { client in
                    let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
                    let me = try await identity.registerPerson(
                        .with {
                            $0.person = citizen(); $0.password = goodPassword
                        })
                    let phone = try await identity.login(
                        .with {
                            $0.login = "001090012345"; $0.password = goodPassword
                        })
                    let laptop = try await identity.login(
                        .with {
                            $0.login = "001090012345"; $0.password = goodPassword
                        })
                    try await revocations.refresh()
                    #expect((try? await elsewhere.verify(phone.accessToken)) != nil)
                    #expect((try? await elsewhere.verify(laptop.accessToken)) != nil)

                    // Signing out on the phone: its token is refused at once through the
                    // gateway (identity knows first) and by the other process after one refresh.
                    _ = try await identity.logout(.with { $0.refreshToken = phone.refreshToken })
                    #expect(
                        await failure {
                            _ = try await identity.getPerson(
                                .with { $0.name = me.name }, metadata: bearer(phone.accessToken))
                        }?.code == .unauthenticated)
                    try await revocations.refresh()
                    await #expect(throws: TokenProblem.revoked) { try await elsewhere.verify(phone.accessToken) }
                    #expect((try? await elsewhere.verify(laptop.accessToken)) != nil)

                    // A password change ends the person's other sessions: the laptop's token too.
                    let desk = try await identity.login(
                        .with {
                            $0.login = "001090012345"; $0.password = goodPassword
                        })
                    _ = try await identity.changePassword(
                        .with {
                            $0.name = me.name
                            $0.currentPassword = goodPassword
                            $0.newPassword = goodPassword + " mới"
                        }, metadata: bearer(desk.accessToken))
                    try await revocations.refresh()
                    await #expect(throws: TokenProblem.revoked) { try await elsewhere.verify(laptop.accessToken) }
                    #expect((try? await elsewhere.verify(desk.accessToken)) != nil)

                    // The list is for platform services: not for users, not for anonymous callers.
                    #expect(
                        await failure {
                            _ = try await identity.listRevokedSessions(.init(), metadata: bearer(desk.accessToken))
                        }?.code == .permissionDenied)
                    #expect(
                        await failure { _ = try await identity.listRevokedSessions(.init()) }?.code == .unauthenticated)
                }
            }
        }
    }
}
