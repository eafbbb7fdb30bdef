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
                "sms.url", default: "",
                help: "The SMS gateway's send endpoint (https) for telling applicants of their dossiers. Empty: no SMS."
            ),
            ConfigKey("sms.token_file", default: "", help: "A file holding the SMS gateway's bearer token (read at start)."),
            ConfigKey("sms.sender", default: "EGOV", help: "The brand name SMS are sent from."),
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
        var consumers: [String] = []
        var relays: [any Service] = []
        if let portal = try HTTPJSONTransport.configured(environment.configuration, prefix: "portal") {
            let sink = NationalPortalSink(transport: portal, store: store)
            consumers.append("national-portal")
            relays.append(OutboxRelay(store: store, consumer: "national-portal", sink: sink, interval: .seconds(1), logger: environment.logger))
            environment.logger.info("national portal connected", metadata: ["url": .string(environment.configuration.string("portal.url"))])
        }
        if let gateway = try HTTPJSONTransport.configured(environment.configuration, prefix: "sms") {
            let sink = ApplicantNotifier(transport: gateway, people: identity.people, sender: environment.configuration.string("sms.sender"))
            consumers.append("sms")
            relays.append(OutboxRelay(store: store, consumer: "sms", sink: sink, interval: .seconds(1), logger: environment.logger))
            environment.logger.info("SMS gateway connected", metadata: ["url": .string(environment.configuration.string("sms.url"))])
        }
        let background: [any Service] =
            [StoreService(store: store, outboxConsumers: consumers, logger: environment.logger), scanner] + identity.background + relays
        return ProcessParts(
            services: [service],
            serviceNames: [Egov_Procedures_V1_ProceduresService.descriptor.fullyQualifiedService],
            probes: [.database(store), identity.probe],
            background: background
        )
    }


}
