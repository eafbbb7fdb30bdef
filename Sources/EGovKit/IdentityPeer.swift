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

    public init(
        client: GRPCClient<Transport>, verifier: TokenVerifier, interval: Duration = .seconds(30), logger: Logger
    ) {
        self.client = Egov_Identity_V1_IdentityService.Client(wrapping: client)
        self.verifier = verifier
        self.interval = interval
        self.logger = logger
    }

    /// Fetches the keys once; returns how many are trusted now.
    @discardableResult
    public func refresh(timeout: Duration = .seconds(10)) async throws -> Int {
        var options = CallOptions.defaults
        options.timeout = timeout
        let published = try await client.getSigningKeys(.init(), options: options)
        var keys: [String: Curve25519.Signing.PublicKey] = [:]
        for key in published.keys where key.kty == "OKP" && key.crv == "Ed25519" && key.alg == AccessToken.algorithm {
            if let raw = Base64URL.decode(key.x),
                let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
            {
                keys[key.kid] = publicKey
            }
        }
        if Set(keys.keys) != verifier.keyIDs {
            logger.info(
                "token signing keys updated", metadata: ["kids": .string(keys.keys.sorted().joined(separator: ","))])
        }
        await verifier.setKeys(keys)
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

/// Keeps a `TokenVerifier`'s list of ended sessions in step with identity's, every
/// `interval` (2 s by default): a signed-out or deactivated user's token is refused within
/// seconds everywhere, without a call to identity per request. Identity lists every session
/// ended within the longest token lifetime, so each refresh replaces the whole list.
public final class RevokedSessionsRefresher: Service, Sendable {
    let fetch: @Sendable () async throws -> Set<String>
    let verifier: TokenVerifier
    let interval: Duration
    let logger: Logger

    public init(
        verifier: TokenVerifier, interval: Duration = .seconds(2), logger: Logger,
        fetch: @escaping @Sendable () async throws -> Set<String>
    ) {
        self.fetch = fetch
        self.verifier = verifier
        self.interval = interval
        self.logger = logger
    }

    /// Polls identity over `client`.
    public convenience init<Transport: ClientTransport>(
        client: GRPCClient<Transport>, verifier: TokenVerifier, interval: Duration = .seconds(2), logger: Logger
    ) {
        let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
        self.init(verifier: verifier, interval: interval, logger: logger) {
            // Long enough that a busy identity answers late rather than never: a call cut at its
            // deadline is a stream reset, and under load those came by the hundred for nothing.
            var options = CallOptions.defaults
            options.timeout = .seconds(10)
            return Set(try await identity.listRevokedSessions(.init(), options: options).sessions)
        }
    }

    /// Fetches the list once and hands it to the verifier.
    public func refresh() async throws {
        verifier.setRevokedSessions(try await fetch())
    }

    public func run() async throws {
        var failing = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await refresh()
                if failing { logger.info("revoked sessions refreshed again") }
                failing = false
            } catch {
                // Tokens live five minutes: a stale list for a few seconds is the bound on harm.
                if !failing {
                    logger.warning(
                        "cannot refresh revoked sessions", metadata: ["error": .string(String(describing: error))])
                }
                failing = true
            }
            await pauseUnlessShuttingDown(for: interval)
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
                RevokedSessionsRefresher(client: client, verifier: verifier, logger: logger),
            ],
            probe: .peer("identity", client: client)
        )
    }
}
