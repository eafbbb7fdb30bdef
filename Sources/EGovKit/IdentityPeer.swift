import Crypto
import EGovAPI
import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
public import Logging
public import ServiceLifecycle

/// Keeps a `TokenVerifier`'s keys in step with the identity service's published keys.
public final class SigningKeysRefresher<Transport: ClientTransport>: Service, Sendable {
    let client: Egov_Identity_V1_IdentityService.Client<Transport>
    let verifier: TokenVerifier
    let interval: Duration
    let logger: Logger

    public init(client: GRPCClient<Transport>, verifier: TokenVerifier, interval: Duration = .seconds(30), logger: Logger) {
        self.client = Egov_Identity_V1_IdentityService.Client(wrapping: client)
        self.verifier = verifier
        self.interval = interval
        self.logger = logger
    }

    /// Fetches the keys once; returns how many are trusted now.
    @discardableResult
    public func refresh(timeout: Duration = .seconds(2)) async throws -> Int {
        var options = CallOptions.defaults
        options.timeout = timeout
        let published = try await client.getSigningKeys(.init(), options: options)
        var keys: [String: Curve25519.Signing.PublicKey] = [:]
        for key in published.keys where key.kty == "OKP" && key.crv == "Ed25519" && key.alg == AccessToken.algorithm {
            if let raw = AccessToken.decodeBase64URL(key.x), let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) {
                keys[key.kid] = publicKey
            }
        }
        if Set(keys.keys) != verifier.keyIDs {
            logger.info("token signing keys updated", metadata: ["kids": .string(keys.keys.sorted().joined(separator: ","))])
        }
        verifier.setKeys(keys)
        return keys.count
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await refresh()
                await pauseUnlessShuttingDown(for: interval)
            } catch {
                // Identity not up yet, or restarting: try again soon.
                await pauseUnlessShuttingDown(for: .seconds(1))
            }
        }
    }
}

/// What a process needs of the identity service: a client over mutual TLS, the agency
/// directory, the token keys and a health probe. Add `background` to the process's parts.
public struct IdentityPeer: Sendable {
    public let client: GRPCClient<HTTP2ClientTransport.Posix>
    public let directory: IdentityAgencyDirectory<HTTP2ClientTransport.Posix>
    public let people: IdentityPersonDirectory<HTTP2ClientTransport.Posix>
    public let background: [any Service]
    public let probe: HealthProbe
}

extension ProcessEnvironment {
    public func identityPeer() throws -> IdentityPeer {
        let client = try peerClient("identity")
        return IdentityPeer(
            client: client,
            directory: IdentityAgencyDirectory(client: client, deadline: settings.defaultDeadline),
            people: IdentityPersonDirectory(client: client, deadline: settings.defaultDeadline),
            background: [
                GRPCClientService(client: client),
                SigningKeysRefresher(client: client, verifier: verifier, logger: logger),
            ],
            probe: .peer("identity", client: client)
        )
    }
}
