import EGovAPI
public import EGovKit
public import EGovStore
import ServiceLifecycle

/// Assembles the egov-conferences process.
public enum ConferencesApp {
    public static let keys: [ConfigKey] =
        ProcessSettings.keys(for: "conferences", peers: ["identity", "documents"]) + [
            ConfigKey(
                "demo.load", .boolean, default: "false",
                help: "Register the demo province's bridge points at start (skips those that exist)."
            ),
            ConfigKey(
                "janus.url", default: "",
                help: "Janus's HTTP API (e.g. http://127.0.0.1:8088/janus) for conference media rooms. Empty: "
                    + "conferences are planned without media, and health reports media unavailable."),
            ConfigKey(
                "janus.public_url", default: "",
                help: "Janus's HTTP API as participants reach it, named in join grants. Default: janus.url."),
            ConfigKey(
                "janus.admin_key_file", default: "",
                help: "A file holding the VideoRoom plugin's admin_key (only its holders create rooms)."),
            ConfigKey(
                "janus.token_secret_file", default: "",
                help: "A file holding Janus's token_auth_secret: join grants carry tokens signed with it."),
            ConfigKey(
                "janus.events_password_file", default: "",
                help: "A file holding the password Janus's event handler sends (basic auth, user janus)."),
            ConfigKey(
                "janus.events_port", .integer(1...65535), default: "9204",
                help: "The loopback port Janus posts its events to (POST /janus/events)."),
            ConfigKey(
                "travel.delegates_per_bridge_point", .integer(1...1000), default: "3",
                help: "Delegates a bridge point would send to meet in person, for the travel saved."),
            ConfigKey(
                "travel.cost_per_hour_vnd", .integer(0...100_000_000), default: "120000",
                help: "What an hour of a delegate's travel is worth in đồng, for the cost saved."),
        ]

    public static let migrations =
        SQLBridgePointRepository.migrations + ConferenceRepository.migrations + MediaRepository.migrations
        + ConferencesService.taskMigrations

    @Sendable
    public static func build(_ environment: ProcessEnvironment) async throws -> ProcessParts {
        let store = try await Store.open(for: environment, migrations: migrations)
        if environment.configuration.bool("demo.load") {
            let added = try await DemoBridgePoints.load(into: SQLBridgePointRepository(store: store), store: store)
            environment.logger.info("demo data loaded", metadata: ["bridge_points_added": .stringConvertible(added)])
        }
        let identity = try environment.identityPeer()
        let janus = try JanusSettings.configured(environment.configuration)
        // The conference's official documents are drafted there; the rest works without it.
        let documents = try environment.documentsPeer()
        let service = ConferencesService(
            store: store, agencies: identity.directory, people: identity.people, janus: janus,
            travel: TravelValuation(
                delegates: Int64(environment.configuration.int("travel.delegates_per_bridge_point")),
                costPerHourVnd: Int64(environment.configuration.int("travel.cost_per_hour_vnd"))),
            documentOffice: documents.office, logger: environment.logger)
        var background: [any Service] = [StoreService(store: store)] + identity.background + [documents.service]
        // Media is optional: without Janus conferences are still planned and run, health says so.
        let mediaProbe: HealthProbe
        if let janus, let client = service.janusClient {
            background += [
                MediaKeeper(service: service, client: client, logger: environment.logger),
                JanusEventsListener.application(service: service, settings: janus, logger: environment.logger),
            ]
            mediaProbe = HealthProbe(name: "media", required: false) { await client.problem() }
        } else {
            mediaProbe = HealthProbe(name: "media", required: false) { "no media server configured (janus.url)" }
        }
        return ProcessParts(
            services: [service],
            serviceNames: [Egov_Conferences_V1_ConferencesService.descriptor.fullyQualifiedService],
            probes: [.database(store), identity.probe, mediaProbe],
            background: background
        )
    }
}
