import EGovAPI
public import EGovKit
public import EGovStore

/// Assembles the egov-conferences process.
public enum ConferencesApp {
    public static let keys: [ConfigKey] =
        ProcessSettings.keys(for: "conferences", peers: ["identity"]) + [
            ConfigKey(
                "demo.load", .boolean, default: "false",
                help: "Register the demo province's bridge points at start (skips those that exist)."
            )
        ]

    public static let migrations = SQLBridgePointRepository.migrations + ConferenceRepository.migrations

    @Sendable
    public static func build(_ environment: ProcessEnvironment) async throws -> ProcessParts {
        let store = try await Store.open(for: environment, migrations: migrations)
        if environment.configuration.bool("demo.load") {
            let added = try await DemoBridgePoints.load(into: SQLBridgePointRepository(store: store), store: store)
            environment.logger.info("demo data loaded", metadata: ["bridge_points_added": .stringConvertible(added)])
        }
        let identity = try environment.identityPeer()
        return ProcessParts(
            services: [ConferencesService(store: store, agencies: identity.directory, people: identity.people)],
            serviceNames: [Egov_Conferences_V1_ConferencesService.descriptor.fullyQualifiedService],
            probes: [.database(store), identity.probe],
            background: [StoreService(store: store)] + identity.background
        )
    }
}
