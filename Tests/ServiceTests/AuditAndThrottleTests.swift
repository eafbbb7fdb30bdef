import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import Testing

@testable import IdentityService

@Suite struct AuditAndThrottleTests {
    @Test(arguments: TestDatabases.engines)
    func securityEventsFormAChainThatRevealsTampering(engine: Engine) async throws {
        try await withIdentity(engine: engine) { port, store in
            try await withTestClient(port: port, as: "gateway") { client in
                let identity = Identity(wrapping: client)
                _ = try await identity.registerPerson(
                    .with {
                        $0.person = citizen(); $0.password = goodPassword
                    })
                let session = try await identity.login(
                    .with {
                        $0.login = "001090012345"; $0.password = goodPassword
                    })
                _ = try await identity.refreshSession(.with { $0.refreshToken = session.refreshToken })
                // Concurrent failures from many logins still extend one chain.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<12 {
                        group.addTask {
                            _ = try? await identity.login(
                                .with {
                                    $0.login = "07919500\(1000 + index)"; $0.password = "wrong password!"
                                })
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let audit = AuditLog(store: store)
            #expect(try await audit.verify() == .intact(records: 15))
            let actions = try await store.read { db in
                try await db.rows("SELECT action, outcome FROM audit_log ORDER BY seq LIMIT 3").map {
                    "\(try $0.decode(column: "action", as: String.self)) \(try $0.decode(column: "outcome", as: String.self))"
                }
            }
            #expect(actions == ["register ok", "login ok", "refresh ok"])

            try await store.write { tx in
                try await tx.database.execute("UPDATE audit_log SET outcome = 'ok' WHERE seq = 5")
            }
            #expect(try await audit.verify() == .broken(seq: 5, reason: "its content was changed"))
        }
    }

    @Test func removingTheLastRecordsIsDetected() async throws {
        try await withIdentity { port, store in
            try await withTestClient(port: port, as: "gateway") { client in
                let identity = Identity(wrapping: client)
                _ = try await identity.registerPerson(
                    .with {
                        $0.person = citizen(); $0.password = goodPassword
                    })
                _ = try await identity.login(
                    .with {
                        $0.login = "001090012345"; $0.password = goodPassword
                    })
            }
            let audit = AuditLog(store: store)
            #expect(try await audit.verify() == .intact(records: 2))
            try await store.write { tx in try await tx.database.execute("DELETE FROM audit_log WHERE seq = 2") }
            #expect(try await audit.verify() == .broken(seq: 2, reason: "records after 1 were removed"))
        }
    }

    @Test(arguments: TestDatabases.engines)
    func repeatedFailuresSlowDownAnAccountWhetherOrNotItExists(engine: Engine) async throws {
        let clock = ManualClock()
        try await withIdentity(engine: engine, clock: clock) { port, _ in
            try await withTestClient(port: port, as: "gateway") { client in
                let identity = Identity(wrapping: client)
                _ = try await identity.registerPerson(
                    .with {
                        $0.person = citizen(); $0.password = goodPassword
                    })
                for login in ["001090012345", "079195000001"] {
                    for _ in 0..<4 {
                        #expect(
                            await failure {
                                _ = try await identity.login(
                                    .with {
                                        $0.login = login; $0.password = "wrong password!"
                                    })
                            }
                                == Failure(code: .unauthenticated, reason: "LOGIN_FAILED", field: nil))
                    }
                    // Locked now: even the right password waits, and the answer is the same for both.
                    #expect(
                        await failure {
                            _ = try await identity.login(
                                .with {
                                    $0.login = login; $0.password = goodPassword
                                })
                        }
                            == Failure(code: .resourceExhausted, reason: "TOO_MANY_ATTEMPTS", field: nil))
                }
                clock.advance(seconds: 2)
                let session = try await identity.login(
                    .with {
                        $0.login = "001090012345"; $0.password = goodPassword
                    })
                #expect(!session.accessToken.isEmpty)
            }
        }
    }
}
