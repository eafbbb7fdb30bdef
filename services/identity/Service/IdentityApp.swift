public import EGovKit
import EGovAPI
public import EGovStore
import Logging

/// Assembles the egov-identity process.
public enum IdentityApp {
    public static let keys: [ConfigKey] =
        ProcessSettings.keys(for: "identity", peers: []) + [
            ConfigKey(
                "demo.load", .boolean, default: "false",
                help: "Load the demo province's agencies at start (skips those that exist)."
            )
        ]

    public static let migrations =
        SQLAgencyRepository.migrations + PersonRepository.migrations + SessionRepository.migrations

    @Sendable
    public static func build(_ environment: ProcessEnvironment) async throws -> ProcessParts {
        let store = try await Store.open(for: environment, migrations: migrations)
        if environment.configuration.bool("demo.load") {
            let added = try await DemoProvince.load(into: SQLAgencyRepository(store: store), store: store)
            environment.logger.info("demo data loaded", metadata: ["agencies_added": .stringConvertible(added)])
        }
        let tokens = try await TokenIssuer.open(store: store, verifier: environment.verifier)
        return ProcessParts(
            services: [try await IdentityService(store: store, tokens: tokens, logger: environment.logger)],
            serviceNames: [Egov_Identity_V1_IdentityService.descriptor.fullyQualifiedService],
            probes: [.database(store)],
            background: [StoreService(store: store), SigningKeyRotation(issuer: tokens, logger: environment.logger)]
        )
    }
}
