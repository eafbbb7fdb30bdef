public import EGovKit
import EGovAPI
public import EGovStore

/// Assembles the egov-procedures process.
public enum ProceduresApp {
    public static let keys: [ConfigKey] =
        ProcessSettings.keys(for: "procedures", peers: ["identity"]) + [
            ConfigKey(
                "demo.load", .boolean, default: "false",
                help: "Load demo procedures into the catalogue at start (skips those that exist)."
            )
        ]

    public static let migrations = SQLProcedureRepository.migrations + CalendarRepository.migrations + DossierRepository.migrations
        + [SQLProcedureRepository.searchMigration, DossierRepository.eventMigration, DossierRepository.worklistMigration]

    @Sendable
    public static func build(_ environment: ProcessEnvironment) async throws -> ProcessParts {
        let store = try await Store.open(for: environment, migrations: migrations)
        try await SQLProcedureRepository(store: store).backfillSearchText()
        if environment.configuration.bool("demo.load") {
            let added = try await DemoCatalogue.load(into: SQLProcedureRepository(store: store), store: store)
            environment.logger.info("demo data loaded", metadata: ["procedures_added": .stringConvertible(added)])
        }
        let identity = try environment.identityPeer()
        return ProcessParts(
            services: [ProceduresService(
                store: store, agencies: identity.directory,
                attachments: AttachmentStore(directory: "\(environment.settings.dataDirectory)/attachments/procedures"))],
            serviceNames: [Egov_Procedures_V1_ProceduresService.descriptor.fullyQualifiedService],
            probes: [.database(store), identity.probe],
            background: [StoreService(store: store)] + identity.background
        )
    }
}
