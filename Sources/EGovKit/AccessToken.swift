public import Crypto
public import Foundation
public import JWTKit
import Synchronization

/// What an access token says about its bearer.
public struct AccessClaims: Codable, Sendable, Equatable {
    /// Issuer: the identity service, e.g. `egov-identity`.
    public var iss: String
    /// Audience: the platform, e.g. `egov`.
    public var aud: String
    /// The person's resource name, `people/{id}`.
    public var sub: String
    public var iat: Int64
    public var nbf: Int64
    public var exp: Int64
    /// Token id.
    public var jti: String
    /// The session (refresh token family) the token was issued in.
    public var sid: String
    /// Role names, e.g. `ROLE_SPECIALIST`.
    public var roles: [String]
    /// The official's agency, `agencies/{code}`; absent for citizens and businesses.
    public var agency: String?
    /// How the user proved who they are (RFC 8176): `pwd`, and `otp` after a TOTP code.
    public var amr: [String]?
    /// The official's clearance for classified documents, e.g. `CLEARANCE_SECRET`; absent
    /// without one.
    public var clr: String?

    public init(
        iss: String, aud: String, sub: String, iat: Int64, nbf: Int64, exp: Int64, jti: String, sid: String,
        roles: [String], agency: String?, amr: [String]? = nil, clr: String? = nil
    ) {
        self.iss = iss
        self.aud = aud
        self.sub = sub
        self.iat = iat
        self.nbf = nbf
        self.exp = exp
        self.jti = jti
        self.sid = sid
        self.roles = roles
        self.agency = agency
        self.amr = amr
        self.clr = clr
    }
}

/// Why a token was refused. Callers get one message for all of them (no oracle); the case is
/// for logs and tests.
public enum TokenProblem: Error, Equatable, Sendable {
    case malformed, algorithm, type, unknownKey, signature, issuer, audience, expired, notYetValid, lifetime, revoked
}

/// JWTs signed with Ed25519 (`alg` EdDSA, `typ` at+jwt, `kid`) through jwt-kit, with no
/// choice left to the token: the algorithm, type, key, issuer and audience are fixed.
public enum AccessToken {
    public static let type = "at+jwt"
    public static let algorithm = "EdDSA"

    public static func sign(_ claims: AccessClaims, keyID: String, key: Curve25519.Signing.PrivateKey) async throws
        -> String
    {
        let keys = await JWTKeyCollection().add(
            eddsa: EdDSA.PrivateKey(backing: key), kid: JWKIdentifier(string: keyID))
        var header = JWTHeader()
        header.typ = type
        return try await keys.sign(claims, kid: JWKIdentifier(string: keyID), header: header)
    }
}

extension AccessClaims: JWTPayload {
    /// The claims are checked by `TokenVerifier.verify`, which needs the time and names each
    /// problem; jwt-kit checks only the signature.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Checks access tokens against the identity service's published keys. Shared by every
/// process; the keys are refreshed from identity (`TokenKeysRefresher`).
public final class TokenVerifier: Sendable {
    public let issuer: String
    public let audience: String
    public let leeway: Int64
    /// The longest lifetime a token may claim (exp - iat), in seconds.
    public let maxLifetime: Int64
    /// The keys in force, by `kid`; jwt-kit verifies signatures with them.
    private let keys = JWTKeyCollection()
    /// The same keys' ids, read before each verification: jwt-kit would try its default key
    /// for an unknown `kid`, and this refuses it by name first.
    private let kids = Mutex<Set<String>>([])
    /// Sessions ended before their tokens expire (signed out, revoked, person deactivated):
    /// identity's list (`RevokedSessionsRefresher`), and those this process ended itself,
    /// kept for as long as identity lists an ended session (so a list fetched just before the
    /// session ended cannot bring its tokens back).
    private let revoked = Mutex<(listed: Set<String>, local: [String: ContinuousClock.Instant])>(([], [:]))

    public init(
        issuer: String = "egov-identity", audience: String = "egov", leeway: Int64 = 30, maxLifetime: Int64 = 300
    ) {
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.maxLifetime = maxLifetime
    }

    /// Replaces the trusted keys: new ones are added before old ones go, so a rotation never
    /// refuses a good token.
    public func setKeys(_ new: [String: Curve25519.Signing.PublicKey]) async {
        for (kid, key) in new {
            await keys.add(eddsa: EdDSA.PublicKey(backing: key), kid: JWKIdentifier(string: kid))
        }
        await keys.clearDefault()
        let old = kids.withLock { kids in
            defer { kids = Set(new.keys) }
            return kids
        }
        for kid in old.subtracting(new.keys) { await keys.remove(kid: JWKIdentifier(string: kid)) }
    }

    public var keyIDs: Set<String> { kids.withLock { $0 } }

    /// Replaces identity's list of ended sessions whose tokens are refused.
    public func setRevokedSessions(_ sessions: Set<String>) {
        let oldest = ContinuousClock.now - .seconds(600)
        revoked.withLock { revoked in
            revoked.listed = sessions
            revoked.local = revoked.local.filter { $0.value > oldest }
        }
    }

    /// Refuses the tokens of `session` from now on (the process that ended it knows first).
    public func revoke(session: String) {
        revoked.withLock { $0.local[session] = .now }
    }

    /// The header of `token` when it names our algorithm, type and a key in force; what is
    /// checked before any signature.
    public func checkedHeader(_ token: String) throws(TokenProblem) -> JWTHeader {
        guard token.utf8.count < 8192, let dot = token.firstIndex(of: "."),
            let headerData = Base64URL.decode(token[..<dot]),
            let header = try? JSONDecoder().decode(JWTHeader.self, from: headerData)
        else { throw .malformed }
        guard header.alg == AccessToken.algorithm else { throw .algorithm }
        guard header.typ == AccessToken.type else { throw .type }
        guard let kid = header.kid, kids.withLock({ $0.contains(kid) }) else { throw .unknownKey }
        return header
    }

    public func verify(_ token: String, now: Date = Date()) async throws(TokenProblem) -> AccessClaims {
        _ = try checkedHeader(token)
        let claims: AccessClaims
        do {
            claims = try await keys.verify(token, as: AccessClaims.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw .signature
        } catch let error as JWTError where error.errorType == .noKeyProvided {
            throw .unknownKey  // the keys changed between the two reads
        } catch {
            throw .malformed
        }
        guard claims.iss == issuer else { throw .issuer }
        guard claims.aud == audience else { throw .audience }
        let seconds = Int64(now.timeIntervalSince1970)
        guard claims.exp + leeway > seconds else { throw .expired }
        guard claims.nbf - leeway <= seconds else { throw .notYetValid }
        guard claims.exp - claims.iat <= maxLifetime, claims.exp > claims.iat else { throw .lifetime }
        guard !revoked.withLock({ $0.listed.contains(claims.sid) || $0.local[claims.sid] != nil }) else {
            throw .revoked
        }
        return claims
    }
}
