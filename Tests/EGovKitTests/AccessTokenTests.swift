import Crypto
import EGovAPI
import EGovKit
import Foundation
import GRPCProtobuf
import Testing

/// Every way a token can be wrong is refused.
@Suite struct AccessTokenTests {
    let key = Curve25519.Signing.PrivateKey()
    let verifier: TokenVerifier
    let now = Int64(Date().timeIntervalSince1970)

    init() async {
        verifier = TokenVerifier()
        await verifier.setKeys(["k1": key.publicKey])
    }

    func claims(_ change: (inout AccessClaims) -> Void = { _ in }) -> AccessClaims {
        var claims = AccessClaims(
            iss: "egov-identity", aud: "egov", sub: "people/p1", iat: now, nbf: now, exp: now + 300, jti: "j", sid: "s",
            roles: ["ROLE_CITIZEN"], agency: nil)
        change(&claims)
        return claims
    }

    func forge(header: String, payload: AccessClaims, signWith signer: Curve25519.Signing.PrivateKey? = nil) throws
        -> String
    {
        let encoder = JSONEncoder()
        let head = Base64URL.encode(Data(header.utf8))
        let body = Base64URL.encode(try encoder.encode(payload))
        let signature = try (signer ?? key).signature(for: Data("\(head).\(body)".utf8))
        return "\(head).\(body).\(Base64URL.encode(signature))"
    }

    @Test func aGoodTokenIsAccepted() async throws {
        let token = try await AccessToken.sign(claims(), keyID: "k1", key: key)
        #expect(try await verifier.verify(token) == claims())
    }

    @Test func algNoneIsRefused() async throws {
        let head = Base64URL.encode(Data(#"{"alg":"none","typ":"at+jwt","kid":"k1"}"#.utf8))
        let body = Base64URL.encode(try JSONEncoder().encode(claims()))
        await #expect(throws: TokenProblem.algorithm) { try await verifier.verify("\(head).\(body).") }
    }

    @Test func anotherAlgorithmIsRefused() async throws {
        let token = try forge(header: #"{"alg":"HS256","typ":"at+jwt","kid":"k1"}"#, payload: claims())
        await #expect(throws: TokenProblem.algorithm) { try await verifier.verify(token) }
    }

    @Test func anotherTypeIsRefused() async throws {
        let token = try forge(header: #"{"alg":"EdDSA","typ":"JWT","kid":"k1"}"#, payload: claims())
        await #expect(throws: TokenProblem.type) { try await verifier.verify(token) }
    }

    @Test func anUnknownKeyIsRefused() async throws {
        let token = try await AccessToken.sign(claims(), keyID: "k9", key: key)
        await #expect(throws: TokenProblem.unknownKey) { try await verifier.verify(token) }
    }

    @Test func aRotationTrustsTheNewKeyAndDropsTheOld() async throws {
        let next = Curve25519.Signing.PrivateKey()
        let old = try await AccessToken.sign(claims(), keyID: "k1", key: key)
        await verifier.setKeys(["k2": next.publicKey])
        await #expect(throws: TokenProblem.unknownKey) { try await verifier.verify(old) }
        let new = try await AccessToken.sign(claims(), keyID: "k2", key: next)
        #expect(try await verifier.verify(new) == claims())
    }

    @Test func aSignatureByAnotherKeyIsRefused() async throws {
        let token = try await AccessToken.sign(claims(), keyID: "k1", key: Curve25519.Signing.PrivateKey())
        await #expect(throws: TokenProblem.signature) { try await verifier.verify(token) }
    }

    @Test func aTamperedPayloadIsRefused() async throws {
        let token = try await AccessToken.sign(claims(), keyID: "k1", key: key)
        let parts = token.split(separator: ".")
        let forged = Base64URL.encode(try JSONEncoder().encode(claims { $0.roles = ["ROLE_SYSTEM_ADMIN"] }))
        await #expect(throws: TokenProblem.signature) { try await verifier.verify("\(parts[0]).\(forged).\(parts[2])") }
    }

    @Test(arguments: [
        ("expired", TokenProblem.expired),
        ("future", .notYetValid),
        ("audience", .audience),
        ("issuer", .issuer),
        ("lifetime", .lifetime),
    ])
    func claimsOutsideTheRulesAreRefused(case name: String, problem: TokenProblem) async throws {
        let bad = claims { claims in
            switch name {
            case "expired": claims.iat = now - 1000; claims.nbf = now - 1000; claims.exp = now - 700
            case "future": claims.iat = now + 600; claims.nbf = now + 600; claims.exp = now + 900
            case "audience": claims.aud = "another-platform"
            case "issuer": claims.iss = "someone-else"
            default: claims.exp = now + 86_400
            }
        }
        let token = try await AccessToken.sign(bad, keyID: "k1", key: key)
        await #expect(throws: problem) { try await verifier.verify(token) }
    }

    @Test(arguments: ["", "a.b", "a.b.c.d", "!!.??.##", String(repeating: "a", count: 9000)])
    func malformedTokensAreRefused(token: String) async {
        await #expect(throws: TokenProblem.self) { try await verifier.verify(token) }
    }
}

/// The kit's part of authorization: how a rule judges each kind of caller, and what the
/// claims' helpers say about roles, agencies and the second factor. The services' own rules
/// are tabled in Tests/ServiceTests/PolicyTests.swift.
@Suite struct RuleTests {
    func user(_ roles: [String], agency: String? = nil, sub: String = "people/u", amr: [String] = ["pwd", "otp"])
        -> AccessClaims
    {
        AccessClaims(
            iss: "i", aud: "a", sub: sub, iat: 0, nbf: 0, exp: 0, jti: "", sid: "", roles: roles, agency: agency,
            amr: amr)
    }

    /// The verdict of `rule` on `subject` for a call from `caller` (a certificate name) with `user`.
    func verdict<Subject>(_ rule: Rule<Subject>, _ subject: Subject, caller: String?, user: AccessClaims? = nil)
        -> String
    {
        var context = RequestContext(requestID: "r", method: "/egov.test.v1.Thing/Do", caller: caller)
        context.user = user
        return RequestContext.$current.withValue(context) {
            do {
                try rule.require(subject, ErrorBuilder(domain: "test"), doing: "do this")
                return "allowed"
            } catch let status as GoogleRPCStatus {
                return "\(status.code)"
            } catch {
                return "\(error)"
            }
        }
    }

    @Test func eachKindOfCallerIsJudgedItsOwnWay() {
        let rule = Rule<String>(services: ["egov-procedures"]) { user, agency in user.worksAt(agency) }
        let agency = "agencies/000.00.06.H41"
        let specialist = user(["ROLE_SPECIALIST"], agency: agency)
        #expect(verdict(rule, agency, caller: Access.gateway, user: specialist) == "allowed")
        #expect(verdict(rule, "agencies/000.00.07.H41", caller: Access.gateway, user: specialist) == "permissionDenied")
        // Nobody signed in: through the gateway or with no certificate, sign in first.
        #expect(verdict(rule, agency, caller: Access.gateway) == "unauthenticated")
        #expect(verdict(rule, agency, caller: nil) == "unauthenticated")
        // Services acting for no user only where named; operators' tooling always.
        #expect(verdict(rule, agency, caller: "egov-procedures") == "allowed")
        #expect(verdict(rule, agency, caller: "egov-documents") == "permissionDenied")
        #expect(verdict(rule, agency, caller: "egov-tester") == "allowed")
        let usersOnly = Rule<Void>(usersOnly: true) { _, _ in true }
        #expect(verdict(usersOnly, (), caller: "egov-tester") == "permissionDenied")
        #expect(verdict(usersOnly, (), caller: Access.gateway, user: specialist) == "allowed")
    }

    @Test func agencyAdministratorsAdministerOnlyTheirAgency() {
        let admin = user(["ROLE_AGENCY_ADMIN"], agency: "agencies/000.00.06.H41")
        #expect(admin.administers("agencies/000.00.06.H41"))
        #expect(!admin.administers("agencies/000.00.07.H41"))
        #expect(!admin.isSystemAdministrator && !admin.worksAt("agencies/000.00.06.H41"))
    }

    @Test func officialsWorkOnlyAtTheirOwnAgency() {
        let specialist = user(["ROLE_SPECIALIST"], agency: "agencies/000.00.06.H41")
        #expect(specialist.worksAt("agencies/000.00.06.H41"))
        #expect(!specialist.worksAt("agencies/000.00.07.H41"))
        #expect(!user(["ROLE_CITIZEN"]).worksAt("agencies/000.00.06.H41") && !user(["ROLE_CITIZEN"]).isOfficial)
        #expect(specialist.holds(.specialist, at: "agencies/000.00.06.H41") && !specialist.holds(.leader))
    }

    @Test func systemAdministratorsMayDoEverything() {
        let admin = user(["ROLE_SYSTEM_ADMIN"])
        #expect(admin.isSystemAdministrator && admin.administers("agencies/x") && admin.worksAt("agencies/x"))
    }

    @Test func administratorsWithoutASecondFactorAreNotAdministrators() {
        #expect(!user(["ROLE_SYSTEM_ADMIN"], amr: ["pwd"]).isSystemAdministrator)
        let admin = user(["ROLE_AGENCY_ADMIN"], agency: "agencies/000.00.06.H41", amr: ["pwd"])
        #expect(!admin.administers("agencies/000.00.06.H41") && !admin.hasSecondFactor)
    }
}
