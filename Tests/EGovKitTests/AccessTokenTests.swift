import Crypto
import EGovKit
import Foundation
import Testing

/// Every way a token can be wrong is refused.
@Suite struct AccessTokenTests {
    let key = Curve25519.Signing.PrivateKey()
    let verifier: TokenVerifier
    let now = Int64(Date().timeIntervalSince1970)

    init() {
        verifier = TokenVerifier()
        verifier.setKeys(["k1": key.publicKey])
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
        let head = AccessToken.base64URL(Data(header.utf8))
        let body = AccessToken.base64URL(try encoder.encode(payload))
        let signature = try (signer ?? key).signature(for: Data("\(head).\(body)".utf8))
        return "\(head).\(body).\(AccessToken.base64URL(signature))"
    }

    @Test func aGoodTokenIsAccepted() throws {
        let token = try AccessToken.sign(claims(), keyID: "k1", key: key)
        #expect(try verifier.verify(token) == claims())
    }

    @Test func algNoneIsRefused() throws {
        let head = AccessToken.base64URL(Data(#"{"alg":"none","typ":"at+jwt","kid":"k1"}"#.utf8))
        let body = AccessToken.base64URL(try JSONEncoder().encode(claims()))
        #expect(throws: TokenProblem.algorithm) { try verifier.verify("\(head).\(body).") }
    }

    @Test func anotherAlgorithmIsRefused() throws {
        let token = try forge(header: #"{"alg":"HS256","typ":"at+jwt","kid":"k1"}"#, payload: claims())
        #expect(throws: TokenProblem.algorithm) { try verifier.verify(token) }
    }

    @Test func anotherTypeIsRefused() throws {
        let token = try forge(header: #"{"alg":"EdDSA","typ":"JWT","kid":"k1"}"#, payload: claims())
        #expect(throws: TokenProblem.type) { try verifier.verify(token) }
    }

    @Test func anUnknownKeyIsRefused() throws {
        let token = try AccessToken.sign(claims(), keyID: "k9", key: key)
        #expect(throws: TokenProblem.unknownKey) { try verifier.verify(token) }
    }

    @Test func aSignatureByAnotherKeyIsRefused() throws {
        let token = try AccessToken.sign(claims(), keyID: "k1", key: Curve25519.Signing.PrivateKey())
        #expect(throws: TokenProblem.signature) { try verifier.verify(token) }
    }

    @Test func aTamperedPayloadIsRefused() throws {
        let token = try AccessToken.sign(claims(), keyID: "k1", key: key)
        let parts = token.split(separator: ".")
        let forged = AccessToken.base64URL(try JSONEncoder().encode(claims { $0.roles = ["ROLE_SYSTEM_ADMIN"] }))
        #expect(throws: TokenProblem.signature) { try verifier.verify("\(parts[0]).\(forged).\(parts[2])") }
    }

    @Test(arguments: [
        ("expired", TokenProblem.expired),
        ("future", .notYetValid),
        ("audience", .audience),
        ("issuer", .issuer),
        ("lifetime", .lifetime),
    ])
    func claimsOutsideTheRulesAreRefused(case name: String, problem: TokenProblem) throws {
        let bad = claims { claims in
            switch name {
            case "expired": claims.iat = now - 1000; claims.nbf = now - 1000; claims.exp = now - 700
            case "future": claims.iat = now + 600; claims.nbf = now + 600; claims.exp = now + 900
            case "audience": claims.aud = "another-platform"
            case "issuer": claims.iss = "someone-else"
            default: claims.exp = now + 86_400
            }
        }
        let token = try AccessToken.sign(bad, keyID: "k1", key: key)
        #expect(throws: problem) { try verifier.verify(token) }
    }

    @Test(arguments: ["", "a.b", "a.b.c.d", "!!.??.##", String(repeating: "a", count: 9000)])
    func malformedTokensAreRefused(token: String) {
        #expect(throws: TokenProblem.self) { try verifier.verify(token) }
    }
}

@Suite struct PermissionTests {
    func user(_ roles: [String], agency: String? = nil, sub: String = "people/u", amr: [String] = ["pwd", "otp"])
        -> AccessClaims
    {
        AccessClaims(
            iss: "i", aud: "a", sub: sub, iat: 0, nbf: 0, exp: 0, jti: "", sid: "", roles: roles, agency: agency,
            amr: amr)
    }

    @Test func citizensReadOnlyThemselves() {
        let citizen = user(["ROLE_CITIZEN"], sub: "people/a")
        #expect(Permissions.allows(citizen, .readPerson(person: "people/a", agency: nil)))
        #expect(!Permissions.allows(citizen, .readPerson(person: "people/b", agency: nil)))
        #expect(!Permissions.allows(citizen, .manageAgencies))
    }

    @Test func agencyAdministratorsActOnlyInTheirAgency() {
        let admin = user(["ROLE_AGENCY_ADMIN"], agency: "agencies/000.00.06.H41")
        #expect(Permissions.allows(admin, .manageOfficials(agency: "agencies/000.00.06.H41")))
        #expect(!Permissions.allows(admin, .manageOfficials(agency: "agencies/000.00.07.H41")))
        #expect(Permissions.allows(admin, .readPerson(person: "people/x", agency: "agencies/000.00.06.H41")))
        #expect(!Permissions.allows(admin, .readPerson(person: "people/x", agency: "agencies/000.00.07.H41")))
        #expect(!Permissions.allows(admin, .manageAgencies))
    }

    @Test func officialsHandleTheirOwnAgencysDocuments() {
        let specialist = user(["ROLE_SPECIALIST"], agency: "agencies/000.00.06.H41")
        #expect(Permissions.allows(specialist, .handleDocuments(agency: "agencies/000.00.06.H41")))
        #expect(!Permissions.allows(specialist, .handleDocuments(agency: "agencies/000.00.07.H41")))
        #expect(!Permissions.allows(user(["ROLE_CITIZEN"]), .handleDocuments(agency: "agencies/000.00.06.H41")))
    }

    @Test func systemAdministratorsMayDoEverything() {
        #expect(Permissions.allows(user(["ROLE_SYSTEM_ADMIN"]), .manageAgencies))
    }

    @Test func administratorsWithoutASecondFactorAreNotAdministrators() {
        #expect(!Permissions.allows(user(["ROLE_SYSTEM_ADMIN"], amr: ["pwd"]), .manageAgencies))
        let admin = user(["ROLE_AGENCY_ADMIN"], agency: "agencies/000.00.06.H41", amr: ["pwd"])
        #expect(!Permissions.allows(admin, .manageOfficials(agency: "agencies/000.00.06.H41")))
        #expect(Permissions.allows(admin, .readPerson(person: "people/u", agency: nil)))
    }
}
