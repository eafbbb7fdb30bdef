public import EGovKit
import EGovAPI
public import EGovStore
import Foundation
import ServiceLifecycle

/// Assembles the egov-procedures process.
public enum ProceduresApp {
    public static let keys: [ConfigKey] =
        ProcessSettings.keys(for: "procedures", peers: ["identity"]) + [
            ConfigKey(
                "demo.load", .boolean, default: "false",
                help: "Load demo procedures into the catalogue at start (skips those that exist)."
            ),
            ConfigKey(
                "portal.url", default: "",
                help: "The national public-service portal's dossier sync endpoint (https). Empty: not connected; events wait in the outbox."
            ),
            ConfigKey(
                "portal.token_file", default: "",
                help: "A file holding the bearer token the portal issued to the province (read at start)."
            ),
            ConfigKey(
                "overdue.scan_seconds", .integer(1...86_400), default: "60",
                help: "How often open dossiers past their appointment are flagged and announced (procedures.dossier.overdue)."
            ),
        ]

    public static let migrations = SQLProcedureRepository.migrations + CalendarRepository.migrations + DossierRepository.migrations
        + [SQLProcedureRepository.searchMigration, DossierRepository.eventMigration, DossierRepository.worklistMigration,
           DossierRepository.representativeAndOverdueMigration, DossierRepository.stepMigration]

    @Sendable
    public static func build(_ environment: ProcessEnvironment) async throws -> ProcessParts {
        let store = try await Store.open(for: environment, migrations: migrations)
        try await SQLProcedureRepository(store: store).backfillSearchText()
        try await DossierRepository(store: store).backfillSteps()
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
        var background: [any Service] = [StoreService(store: store), scanner] + identity.background
        if let portal = try portalSink(environment.configuration, store: store) {
            background.append(OutboxRelay(store: store, consumer: "national-portal", sink: portal, interval: .seconds(1), logger: environment.logger))
            environment.logger.info("national portal connected", metadata: ["url": .string(environment.configuration.string("portal.url"))])
        }
        return ProcessParts(
            services: [service],
            serviceNames: [Egov_Procedures_V1_ProceduresService.descriptor.fullyQualifiedService],
            probes: [.database(store), identity.probe],
            background: background
        )
    }

    /// The national portal adapter `portal.url` and `portal.token_file` describe, if set.
    static func portalSink(_ configuration: Configuration, store: Store) throws -> NationalPortalSink? {
        let address = configuration.string("portal.url")
        guard !address.isEmpty else { return nil }
        guard let url = URL(string: address), url.host != nil else {
            throw ConfigError("portal.url: '\(address)' is not a URL")
        }
        var token = ""
        let tokenFile = configuration.string("portal.token_file")
        if !tokenFile.isEmpty {
            guard let contents = FileManager.default.contents(atPath: tokenFile) else {
                throw ConfigError("portal.token_file: cannot read '\(tokenFile)'")
            }
            token = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return NationalPortalSink(transport: try HTTPPortalTransport(url: url, token: token), store: store)
    }
}
