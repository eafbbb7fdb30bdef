import Crypto
import EGovAPI
public import EGovKit
public import EGovStore
import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// Signs access tokens with the newest signing key and rotates keys. The published keys are
/// the newest two: tokens live five minutes and keys rotate daily, so every unexpired token's
/// key is among them.
public final class TokenIssuer: Sendable {
    public static let issuer = "egov-identity"
    public static let audience = "egov"
    public let accessLifetime: Int64 = 300
    public let refreshLifetime: Duration
    let rotation: Duration
    let repository: SessionRepository
    let secrets: SecretBox
    let logger: Logger
    private let keys = Mutex<[SessionRepository.SigningKey]>([])
    /// The verifier this process uses, kept in step with the keys.
    public let verifier: TokenVerifier

    /// `secrets` seals the signing keys in the database.
    public static func open(
        store: Store, verifier: TokenVerifier, secrets: SecretBox, refreshLifetime: Duration = .seconds(30 * 24 * 3600),
        rotation: Duration = .seconds(24 * 3600), logger: Logger = Logger(label: "egov.identity")
    ) async throws -> TokenIssuer {
        let issuer = TokenIssuer(
            store: store, verifier: verifier, secrets: secrets, refreshLifetime: refreshLifetime, rotation: rotation,
            logger: logger)
        let sealed = try await issuer.repository.sealPlaintextKeys(secrets: secrets)
        if sealed > 0 { logger.notice("signing keys sealed", metadata: ["count": .stringConvertible(sealed)]) }
        try await issuer.rotateIfDue()
        return issuer
    }

    private init(
        store: Store, verifier: TokenVerifier, secrets: SecretBox, refreshLifetime: Duration, rotation: Duration,
        logger: Logger
    ) {
        self.secrets = secrets
        self.logger = logger
        self.repository = SessionRepository(store: store)
        self.verifier = verifier
        self.refreshLifetime = refreshLifetime
        self.rotation = rotation
    }

    /// Adds a key when the newest is older than the rotation period (or none exists).
    func rotateIfDue() async throws {
        var (all, unreadable) = try await repository.signingKeys(secrets: secrets)
        if !unreadable.isEmpty {
            logger.error(
                "signing keys sealed with another secrets key are not used; check secrets.key_file",
                metadata: ["kids": .string(unreadable.joined(separator: ","))])
        }
        // Tokens and their keys live on the system clock (see WallClock).
        let age = WallClock.system.micros - (all.first?.createTime ?? 0)
        if all.isEmpty || age > Int64(rotation.components.seconds) * 1_000_000 {
            all.insert(try await repository.addSigningKey(secrets: secrets), at: 0)
        }
        let published = Array(all.prefix(2))
        keys.withLock { $0 = published }
        await verifier.setKeys(Dictionary(uniqueKeysWithValues: published.map { ($0.kid, $0.key.publicKey) }))
    }

    var publishedKeys: [(kid: String, key: Curve25519.Signing.PublicKey)] {
        keys.withLock { $0.map { ($0.kid, $0.key.publicKey) } }
    }

    /// An access token for `person` in `session`.
    func accessToken(for person: Egov_Identity_V1_Person, session: String, amr: [String]) async throws -> (
        token: String, expire: Int64
    ) {
        guard let key = keys.withLock({ $0.first }) else { throw StoreError("no signing key") }
        let now = Int64(Date().timeIntervalSince1970)
        let claims = AccessClaims(
            iss: Self.issuer, aud: Self.audience, sub: person.name, iat: now, nbf: now, exp: now + accessLifetime,
            jti: UUID().uuidString.lowercased(), sid: session, roles: person.roleNames,
            agency: person.agency.isEmpty ? nil : person.agency, amr: amr,
            clr: person.clearance == .unspecified ? nil : person.clearance.name)
        return (try await AccessToken.sign(claims, keyID: key.kid, key: key.key), now + accessLifetime)
    }
}

extension Egov_Identity_V1_Person {
    var roleNames: [String] { roles.map(\.name) }
}

/// Rotates the signing key when it is due (checked hourly).
public struct SigningKeyRotation: Service {
    let issuer: TokenIssuer
    let logger: Logger

    public init(issuer: TokenIssuer, logger: Logger) {
        self.issuer = issuer
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await pauseUnlessShuttingDown(for: .seconds(3600))
            do { try await issuer.rotateIfDue() } catch {
                logger.error("signing key rotation failed", metadata: ["error": .string("\(error)")])
            }
        }
    }
}
