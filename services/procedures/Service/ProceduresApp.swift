import EGovAPI
public import EGovKit
public import EGovStore
import Foundation
import ServiceLifecycle

/// Assembles the egov-procedures process.
public enum ProceduresApp {
    public static let keys: [ConfigKey] =
        ProcessSettings.keys(for: "procedures", peers: ["identity", "documents"]) + [
            ConfigKey(
                "demo.load", .boolean, default: "false",
                help: "Load demo procedures into the catalogue at start (skips those that exist)."
            ),
            ConfigKey(
                "portal.url", default: "",
                help:
                    "The national public-service portal's dossier sync endpoint (https). Empty: not connected; events wait in the outbox."
            ),
            ConfigKey(
                "portal.token_file", default: "",
                help: "A file holding the bearer token the portal issued to the province (read at start)."
            ),
            ConfigKey(
                "sms.url", default: "",
                help: "The SMS gateway's send endpoint (https) for telling applicants of their dossiers. Empty: no SMS."
            ),
            ConfigKey(
                "sms.token_file", default: "", help: "A file holding the SMS gateway's bearer token (read at start)."),
            ConfigKey("sms.sender", default: "EGOV", help: "The brand name SMS are sent from."),
            ConfigKey(
                "calendar.file", default: "",
                help:
                    "A CalendarFile (protobuf JSON) of holiday rules and government decisions to add at start, e.g. services/procedures/calendar/vietnam.json; entries already stored are kept."
            ),
            ConfigKey(
                "overdue.scan_seconds", .integer(1...86_400), default: "60",
                help:
                    "How often open dossiers past their appointment are flagged and announced (procedures.dossier.overdue)."
            ),
        ]

    /// Each repository's migrations; the store applies them in id order.
    public static let migrations =
        SQLProcedureRepository.migrations + CalendarRepository.migrations + DossierRepository.migrations

    @Sendable
    public static func build(_ environment: ProcessEnvironment) async throws -> ProcessParts {
        let store = try await Store.open(for: environment, migrations: migrations)
        if environment.configuration.bool("demo.load") {
            let added = try await DemoCatalogue.load(into: SQLProcedureRepository(store: store), store: store)
            environment.logger.info("demo data loaded", metadata: ["procedures_added": .stringConvertible(added)])
        }
        let calendarFile = environment.configuration.string("calendar.file")
        if !calendarFile.isEmpty {
            let added = try await CalendarFileLoader.load(path: calendarFile, into: CalendarRepository(store: store))
            environment.logger.info(
                "calendar file loaded",
                metadata: [
                    "file": .string(calendarFile), "rules_added": .stringConvertible(added.rules),
                    "adjustments_added": .stringConvertible(added.adjustments),
                ])
        }
        let identity = try environment.identityPeer()
        // Result decisions are drafted there as the official; the one-stop shop works without it.
        let documents = try environment.documentsPeer()
        let service = ProceduresService(
            store: store, agencies: identity.directory, people: identity.people,
            attachments: FileStore(directory: "\(environment.settings.dataDirectory)/attachments/procedures"),
            documentOffice: documents.office)
        let scanner = OverdueScanner(
            service: service, interval: .seconds(environment.configuration.int("overdue.scan_seconds")),
            logger: environment.logger)
        // Each outside system configured (`<prefix>.url`) consumes the outbox through its own relay.
        let relays = try [
            OutboxRelay.outside("national-portal", prefix: "portal", store: store, environment: environment) {
                NationalPortalSink(transport: $0, store: store)
            },
            OutboxRelay.outside("sms", prefix: "sms", store: store, environment: environment) {
                ApplicantNotifier(
                    transport: $0, people: identity.people, sender: environment.configuration.string("sms.sender"),
                    clock: store.clock)
            },
        ].compactMap { $0 }
        let background: [any Service] =
            [StoreService(store: store, outboxConsumers: relays.map(\.consumer), logger: environment.logger), scanner]
            + identity.background + [documents.service] + relays
        return ProcessParts(
            services: [service],
            serviceNames: [Egov_Procedures_V1_ProceduresService.descriptor.fullyQualifiedService],
            probes: [.database(store), identity.probe],
            background: background
        )
    }
}
