public import ArgumentParser
import EGovAPI
public import EGovKit
public import EGovStore
import Foundation
import Logging

/// Assembles the egov-identity process.
public enum IdentityApp {
    public static let keys: [ConfigKey] =
        ProcessSettings.keys(for: "identity", peers: []) + [
            ConfigKey(
                "demo.load", .boolean, default: "false",
                help: "Load the demo province's agencies at start (skips those that exist)."
            ),
            ConfigKey(
                "secrets.key_file", default: "",
                help: "The key (32 bytes, base64) sealing signing keys and second-factor secrets in the database; "
                    + "keep it out of the database's backups. Default: data_dir/secrets.key."
            ),
            ConfigKey(
                "secrets.create_key", .boolean, default: "true",
                help: "Make a new key at secrets.key_file when it is missing (development); false in production, "
                    + "where the key comes from the key store."
            ),
            ConfigKey(
                "password.scrypt_log_n", .integer(10...22), default: "17",
                help: "scrypt cost of new password hashes, as log2(N): 17 is OWASP's minimum; below it only in tests. "
                    + "Stored hashes keep the cost they were made with."
            ),
        ]

    /// Each repository's migrations; the store applies them in id order.
    public static let migrations =
        SQLAgencyRepository.migrations + PersonRepository.migrations + SessionRepository.migrations
        + AuditLog.migrations + LoginThrottle.migrations + DelegationRepository.migrations

    @Sendable
    public static func build(_ environment: ProcessEnvironment) async throws -> ProcessParts {
        let store = try await Store.open(for: environment, migrations: migrations)
        if environment.configuration.bool("demo.load") {
            let added = try await DemoProvince.load(into: SQLAgencyRepository(store: store), store: store)
            let accounts = try await DemoProvince.loadAccounts(
                dataDirectory: environment.settings.dataDirectory, people: PersonRepository(store: store), store: store)
            environment.logger.info(
                "demo data loaded",
                metadata: ["agencies_added": .stringConvertible(added), "accounts": .string(accounts)])
        }
        let secrets = try openSecrets(environment)
        if environment.configuration.int("password.scrypt_log_n") < 17 {
            environment.logger.warning(
                "password.scrypt_log_n is below 17: new password hashes are weaker than OWASP's minimum")
        }
        let sealedTotp = try await PersonRepository(store: store).sealPlaintextTotp(secrets: secrets)
        if sealedTotp > 0 {
            environment.logger.notice(
                "second-factor secrets sealed", metadata: ["count": .stringConvertible(sealedTotp)])
        }
        let tokens = try await TokenIssuer.open(
            store: store, verifier: environment.verifier, secrets: secrets, logger: environment.logger)
        return ProcessParts(
            services: [
                try await IdentityService(
                    store: store, tokens: tokens, secrets: secrets,
                    passwordCost: environment.configuration.int("password.scrypt_log_n"), logger: environment.logger)
            ],
            serviceNames: [Egov_Identity_V1_IdentityService.descriptor.fullyQualifiedService],
            probes: [.database(store)],
            background: [
                StoreService(store: store), SigningKeyRotation(issuer: tokens, logger: environment.logger),
                // Identity's own port refuses ended sessions' tokens too, read from its database.
                RevokedSessionsRefresher(verifier: environment.verifier, logger: environment.logger) {
                    Set(
                        try await SessionRepository(store: store).ended(
                            since: RevokedSessions.windowStart(now: store.clock.micros)))
                },
            ]
        )
    }

    /// The secrets key `secrets.key_file` names (by default in the data directory).
    static func openSecrets(_ environment: ProcessEnvironment) throws -> SecretBox {
        var path = environment.configuration.string("secrets.key_file")
        if path.isEmpty { path = "\(environment.settings.dataDirectory)/secrets.key" }
        let (box, created) = try SecretBox.load(
            path: path, create: environment.configuration.bool("secrets.create_key"))
        if created {
            environment.logger.warning(
                "created a new secrets key; in production provide secrets.key_file from the key store",
                metadata: ["path": .string(path)])
        }
        return box
    }
}

/// `egov-identity verify-audit [settings]`: checks the audit log's hash chain, prints the
/// verdict and exits 0 when intact, 1 when a record was changed or removed (naming the first),
/// 2 on bad configuration.
public struct VerifyAudit: AsyncParsableCommand {
    // Run by main.swift with parse() and run(): the server itself takes the other arguments.
    public static let configuration = CommandConfiguration(
        commandName: "egov-identity verify-audit",
        abstract: "Checks the identity audit log's hash chain: exit 0 intact, 1 tampered, 2 bad configuration.")

    @Argument(
        parsing: .allUnrecognized,
        help: "The settings the server takes, e.g. --data_dir DIR or --database.url URL (see egov-identity --help).")
    var settings: [String] = []

    public init() {}

    public func run() async throws { try await verify() }

    /// Checks the chain; always ends by throwing the exit code.
    public func verify() async throws {
        do {
            let configuration = try Configuration.load(
                keys: IdentityApp.keys, arguments: settings, environment: ProcessInfo.processInfo.environment)
            let settings = try ProcessSettings(name: "identity", config: configuration)
            let store = try Store(url: settings.databaseURL, logger: Logger(label: "egov.identity.audit"))
            let verdict: AuditLog.Verdict
            do {
                verdict = try await AuditLog(store: store).verify()
            } catch {
                // Closed on every path: an unclosed SQLite connection traps when released.
                await store.close()
                throw error
            }
            await store.close()
            switch verdict {
            case .intact(let records):
                print("audit log intact: \(records) records")
                throw ExitCode(0)
            case .broken(let seq, let reason):
                print("audit log TAMPERED: record \(seq) \(reason)")
                throw ExitCode(1)
            }
        } catch let code as ExitCode {
            throw code
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("egov-identity verify-audit: configuration error: \(error)\n".utf8))
            throw ExitCode(2)
        } catch {
            FileHandle.standardError.write(Data("egov-identity verify-audit: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
