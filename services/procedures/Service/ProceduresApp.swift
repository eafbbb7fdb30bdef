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
            ),
            ConfigKey(
                "overdue.scan_seconds", .integer(1...86_400), default: "60",
                help: "How often open dossiers past their appointment are flagged and announced (procedures.dossier.overdue)."
            ),
        ]

    public static let migrations = SQLProcedureRepository.migrations + CalendarRepository.migrations + DossierRepository.migrations
        + [SQLProcedureRepository.searchMigration, DossierRepository.eventMigration, DossierRepository.worklistMigration,
           DossierRepository.representativeAndOverdueMigration]

    @Sendable
    public static func build(_ environment: ProcessEnvironment) async throws -> ProcessParts {
        let store = try await Store.open(for: environment, migrations: migrations)
        try await SQLProcedureRepository(store: store).backfillSearchText()
        if environment.configuration.bool("demo.load") {
            let added = try await DemoCatalogue.load(into: SQLProcedureRepository(store: store), store: store)
            environment.logger.info("demo data loaded", metadata: ["procedures_added": .stringConvertible(added)])
        }
        let identity = try environment.identityPeer()
        let service = ProceduresService(
            store: store, agencies: identity.directory, people: identity.people,
            attachments: AttachmentStore(directory: "\(environment.settings.dataDirectory)/attachments/procedures"))
        let scanner = OverdueScanner(
            service: service, interval: .seconds(environment.configuration.int("overdue.scan_seconds")), logger: environment.logger)
        return ProcessParts(
            services: [service],
            serviceNames: [Egov_Procedures_V1_ProceduresService.descriptor.fullyQualifiedService],
            probes: [.database(store), identity.probe],
            background: [StoreService(store: store), scanner] + identity.background
        )
    }
}
