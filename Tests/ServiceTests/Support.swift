import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import IdentityService
import Logging
import SwiftProtobuf
import Synchronization
import Testing

@testable import ProceduresService

typealias Agency = Egov_Identity_V1_Agency

func agency(_ code: String, _ name: String = "Sở Thử nghiệm", abbreviation: String = "STN", parent: String = "")
    -> Agency
{
    .with {
        $0.code = code
        $0.displayName = name
        $0.abbreviation = abbreviation
        $0.kind = parent.isEmpty ? .provincialPeoplesCommittee : .department
        $0.parent = parent
    }
}

/// The error details a call failed with: status code, `ErrorInfo.reason` and the first bad field.
struct Failure: Equatable, CustomStringConvertible {
    var code: RPCError.Code
    var reason: String?
    var field: String?
    var description: String { "\(code) \(reason ?? "-") \(field ?? "-")" }
}

func failure(_ body: () async throws -> Void) async -> Failure? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        let status = try? error.unpackGoogleRPCStatus()
        return Failure(
            code: error.code, reason: status?.details.compactMap(\.errorInfo).first?.reason,
            field: status?.details.compactMap(\.badRequest).first?.violations.first?.field)
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

func healthService(for services: [String]) async -> HealthService {
    let monitor = HealthMonitor(services: services, probes: [], logger: Logger(label: "test"))
    await monitor.refresh()
    return HealthService(monitor: monitor)
}

/// A time that moves only when told, for rules that depend on waiting.
final class ManualClock: Sendable {
    private let micros = Mutex(WallClock.system.micros)
    var now: Int64 { micros.withLock { $0 } }
    func advance(seconds: Int64) { micros.withLock { $0 += seconds * 1_000_000 } }
    var date: Date { Date(timeIntervalSince1970: Double(now) / 1e6) }
    /// This clock, as the stores and services read it.
    var wallClock: WallClock { WallClock { self.date } }
    /// Sets the time to `iso`, e.g. `2026-02-13T09:00:00+07:00`.
    func set(_ iso: String) {
        let date = ISO8601DateFormatter().date(from: iso)!
        micros.withLock { $0 = Int64(date.timeIntervalSince1970 * 1e6) }
    }
}

/// The key sealing identity's secrets in the tests' own stores: made once per test run.
let testSecrets = SecretBox.ephemeral()

/// Runs egov-identity on `engine` for `body`, with its port and a store of its own on the
/// same database (for looking at or tampering with what identity wrote). Passwords are hashed
/// at a low scrypt cost so tests stay quick.
func withIdentity<Result: Sendable>(
    engine: Engine = .sqlite, verifier: TokenVerifier = TokenVerifier(), clock: ManualClock? = nil,
    _ body: (Int, Store) async throws -> Result
) async throws -> Result {
    let wallClock = clock?.wallClock ?? .system
    return try await withProcess(
        "identity", keys: IdentityApp.keys, engine: engine, arguments: ["--password.scrypt_log_n=10"],
        verifier: verifier, clock: wallClock, build: IdentityApp.build
    ) { identity in
        let store = try Store(url: identity.databaseURL, logger: Logger(label: "test"), poolSize: 2, clock: wallClock)
        do {
            let result = try await body(identity.port, store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }
}

/// Creates an official of `agency` holding `roles` through identity's tooling port; returns
/// their resource name. Their password is `goodPassword` and they sign in with `email`.
func createOfficial(
    _ stack: Stack, email: String, agency: String = "agencies/000.00.06.H41", roles: [Egov_Identity_V1_Role],
    position: String = "", clearance: Egov_Identity_V1_Clearance = .unspecified
) async throws -> String {
    try await withTestClient(port: stack.ports["identity"]!) { client in
        try await Identity(wrapping: client).createOfficial(
            .with {
                $0.person = .with {
                    $0.displayName = email; $0.email = email; $0.agency = agency; $0.roles = roles
                    $0.position = position; $0.clearance = clearance
                }
                $0.password = goodPassword
            }
        ).name
    }
}

/// Signs `login` in with `goodPassword`; the bearer metadata of the session.
func signIn(_ identity: Identity, _ login: String) async throws -> Metadata {
    bearer(
        try await identity.login(
            .with {
                $0.login = login; $0.password = goodPassword
            }
        ).accessToken)
}

/// Takes `action` on the dossier `name` as `caller`, the request changed by `change`.
func act(
    _ procedures: Procedures, on name: String, _ action: Egov_Procedures_V1_DossierAction, as caller: Metadata,
    _ change: (inout Egov_Procedures_V1_TransitionDossierRequest) -> Void = { _ in }
) async throws -> Egov_Procedures_V1_Dossier {
    var request = Egov_Procedures_V1_TransitionDossierRequest.with {
        $0.name = name; $0.action = action
    }
    change(&request)
    return try await procedures.transitionDossier(request, metadata: caller)
}

// MARK: People and sessions

typealias Identity = Egov_Identity_V1_IdentityService.Client<HTTP2ClientTransport.Posix>

func bearer(_ token: String) -> Metadata { ["authorization": "Bearer \(token)"] }

func citizen(_ id: String = "001090012345", birthDate: String = "1990-03-04") -> Egov_Identity_V1_Person {
    .with {
        $0.kind = .citizen
        $0.displayName = "Trần Thị Bình"
        $0.citizenID = id
        $0.birthDate = birthDate
    }
}

let goodPassword = "một mật khẩu dài 2026"

/// Signs in, enrolls an authenticator (computing its codes as the app would) and signs in
/// again with a code: the session administrators need.
func signInWithSecondFactor(_ identity: Identity, login: String, password: String = goodPassword) async throws
    -> Egov_Identity_V1_SessionTokens
{
    let first = try await identity.login(
        .with {
            $0.login = login; $0.password = password
        })
    let enrollment = try await identity.beginTotpEnrollment(
        .with { $0.name = first.person }, metadata: bearer(first.accessToken))
    let secret = try #require(TOTP.decodeBase32(enrollment.secret))
    let step = TOTP.step(at: Date())
    _ = try await identity.confirmTotpEnrollment(
        .with {
            $0.name = first.person; $0.code = TOTP.code(secret: secret, step: step)
        }, metadata: bearer(first.accessToken))
    return try await identity.login(
        .with {
            $0.login = login
            $0.password = password
            $0.totpCode = TOTP.code(secret: secret, step: step + 1)
        })
}

/// Runs `body` with a client as the platform tool (no user) and one as the gateway (which
/// relays users' tokens), against a fresh identity service.
func withAccounts(
    engine: Engine = .sqlite,
    _ body: (_ internal: Identity, _ relay: Identity, _ verifier: TokenVerifier) async throws -> Void
) async throws {
    let verifier = TokenVerifier()
    try await withIdentity(engine: engine, verifier: verifier) { port, _ in
        try await withTestClient(port: port) { tool in
            try await withTestClient(port: port, as: "gateway") { gateway in
                try await body(Identity(wrapping: tool), Identity(wrapping: gateway), verifier)
            }
        }
    }
}

// MARK: The catalogue

typealias Procedures = Egov_Procedures_V1_ProceduresService.Client<HTTP2ClientTransport.Posix>

/// The Department of Health and one of its procedures (10 working days), created by tooling.
func seedCatalogue(_ stack: Stack) async throws {
    try await withTestClient(port: stack.ports["identity"]!) { client in
        _ = try await Identity(wrapping: client).createAgency(
            .with { $0.agency = agency("000.00.06.H41", "Sở Y tế", abbreviation: "SYT") })
    }
    try await withTestClient(port: stack.ports["procedures"]!) { client in
        _ = try await Procedures(wrapping: client).createProcedure(
            .with {
                $0.procedure = .with {
                    $0.code = "1.001612.H41"
                    $0.displayName = "Cấp giấy phép hoạt động phòng khám"
                    $0.agency = "agencies/000.00.06.H41"
                    $0.mode = .partialOnline
                    $0.processingDays = 10
                    $0.requiredDocuments = [
                        .with {
                            $0.title = "Đơn đề nghị cấp giấy phép hoạt động"; $0.form = .electronic; $0.mandatory = true
                        }
                    ]
                }
            })
    }
}

let serviceCentre = "agencies/000.00.14.H41"
let healthDepartment = "agencies/000.00.06.H41"

/// The province's service centre and the Department of Health, and a Health procedure received
/// at the centre with the standard four steps (reception, appraisal, approval, return).
func seedCentreAndDepartment(_ stack: Stack, processingDays: Int32 = 10) async throws {
    try await withTestClient(port: stack.ports["identity"]!) { client in
        let identity = Identity(wrapping: client)
        _ = try await identity.createAgency(
            .with { $0.agency = agency("000.00.06.H41", "Sở Y tế", abbreviation: "SYT") })
        _ = try await identity.createAgency(
            .with {
                $0.agency = agency("000.00.14.H41", "Trung tâm Phục vụ hành chính công tỉnh", abbreviation: "TTPVHCC")
            })
    }
    try await withTestClient(port: stack.ports["procedures"]!) { client in
        _ = try await Procedures(wrapping: client).createProcedure(
            .with {
                $0.procedure = .with {
                    $0.code = "1.009994.H41"
                    $0.displayName = "Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh"
                    $0.agency = healthDepartment
                    $0.receptionPoints = [serviceCentre]
                    $0.mode = .partialOnline
                    $0.processingDays = processingDays
                    $0.requiredDocuments = [
                        .with {
                            $0.title = "Đơn đề nghị cấp chứng chỉ hành nghề"; $0.form = .electronic; $0.mandatory = true
                        }
                    ]
                    $0.steps = [
                        DemoCatalogue.step("Tiếp nhận hồ sơ", .receptionOfficer, hours: 4),
                        DemoCatalogue.step("Thẩm định hồ sơ", .specialist, hours: 16),
                        DemoCatalogue.step("Phê duyệt kết quả", .leader, hours: 4),
                        DemoCatalogue.step("Trả kết quả", .receptionOfficer, hours: 4),
                    ]
                }
            })
    }
}
