public import Crypto
public import Foundation
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

    public init(
        iss: String, aud: String, sub: String, iat: Int64, nbf: Int64, exp: Int64, jti: String, sid: String,
        roles: [String], agency: String?, amr: [String]? = nil
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
    }
}

/// Why a token was refused. Callers get one message for all of them (no oracle); the case is
/// for logs and tests.
public enum TokenProblem: Error, Equatable, Sendable {
    case malformed, algorithm, type, unknownKey, signature, issuer, audience, expired, notYetValid, lifetime, revoked
}

/// JWTs signed with Ed25519 (`alg` EdDSA, `typ` at+jwt, `kid`), encoded and checked here
/// with no choice left to the token: the algorithm, type, issuer and audience are fixed.
public enum AccessToken {
    public static let type = "at+jwt"
    public static let algorithm = "EdDSA"

    struct Header: Codable {
        var alg: String
        var typ: String
        var kid: String
    }

    public static func sign(_ claims: AccessClaims, keyID: String, key: Curve25519.Signing.PrivateKey) throws -> String
    {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let header = Base64URL.encode(try encoder.encode(Header(alg: algorithm, typ: type, kid: keyID)))
        let payload = Base64URL.encode(try encoder.encode(claims))
        let signature = try key.signature(for: Data("\(header).\(payload)".utf8))
        return "\(header).\(payload).\(Base64URL.encode(signature))"
    }
}

/// Checks access tokens against the identity service's published keys. Shared by every
/// process; the keys are refreshed from identity (`TokenKeysRefresher`).
public final class TokenVerifier: Sendable {
    public let issuer: String
    public let audience: String
    public let leeway: Int64
    /// The longest lifetime a token may claim (exp - iat), in seconds.
    public let maxLifetime: Int64
    private let keys = Mutex<[String: Curve25519.Signing.PublicKey]>([:])
    /// Sessions ended before their tokens expire (signed out, revoked, person deactivated),
    /// kept up to date from identity (`RevokedSessionsRefresher`).
    private let revoked = Mutex<Set<String>>([])

    public init(
        issuer: String = "egov-identity", audience: String = "egov", leeway: Int64 = 30, maxLifetime: Int64 = 300
    ) {
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.maxLifetime = maxLifetime
    }

    /// Replaces the trusted keys.
    public func setKeys(_ new: [String: Curve25519.Signing.PublicKey]) {
        keys.withLock { $0 = new }
    }

    public var keyIDs: Set<String> { keys.withLock { Set($0.keys) } }

    /// Replaces the ended sessions whose tokens are refused.
    public func setRevokedSessions(_ sessions: Set<String>) {
        revoked.withLock { $0 = sessions }
    }

    /// Refuses the tokens of `session` from now on (the process that ended it knows first).
    public func revoke(session: String) {
        _ = revoked.withLock { $0.insert(session) }
    }

    public func verify(_ token: String, now: Date = Date()) throws(TokenProblem) -> AccessClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count < 8192, parts.count == 3,
            let headerData = Base64URL.decode(parts[0]),
            let payloadData = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2]),
            let header = try? JSONDecoder().decode(AccessToken.Header.self, from: headerData)
        else { throw .malformed }
        guard header.alg == AccessToken.algorithm else { throw .algorithm }
        guard header.typ == AccessToken.type else { throw .type }
        guard let key = keys.withLock({ $0[header.kid] }) else { throw .unknownKey }
        guard key.isValidSignature(signature, for: Data("\(parts[0]).\(parts[1])".utf8)) else { throw .signature }
        guard let claims = try? JSONDecoder().decode(AccessClaims.self, from: payloadData) else { throw .malformed }
        guard claims.iss == issuer else { throw .issuer }
        guard claims.aud == audience else { throw .audience }
        let seconds = Int64(now.timeIntervalSince1970)
        guard claims.exp + leeway > seconds else { throw .expired }
        guard claims.nbf - leeway <= seconds else { throw .notYetValid }
        guard claims.exp - claims.iat <= maxLifetime, claims.exp > claims.iat else { throw .lifetime }
        guard !revoked.withLock({ $0.contains(claims.sid) }) else { throw .revoked }
        return claims
    }
}
