import EGovAPI
public import EGovKit
public import EGovStore

/// Assembles the egov-documents process.
public enum DocumentsApp {
    public static let keys =
        ProcessSettings.keys(for: "documents", peers: ["identity"]) + [
            ConfigKey(
                "signing.ca_cert", default: "",
                help: "The certificate (PEM) of the CA that issues signers' and agencies' document-signing "
                    + "certificates: the province's. Default: the dev CA, data_dir/pki/ca.pem."),
            ConfigKey(
                "signing.ca_key", default: "",
                help: "That CA's private key (PEM, P-256). Default: data_dir/pki/ca.key. Without both files "
                    + "documents can be written but not signed."),
            ConfigKey(
                "exchange.url", default: "",
                help: "The national document exchange's endpoint (https) that takes edXML envelopes for agencies "
                    + "outside the platform. Empty: not connected; their documents wait in the outbox."),
            ConfigKey(
                "exchange.token_file", default: "",
                help: "A file holding the bearer token the exchange issued to the province (read at start)."),
        ]

    public static let migrations = DocumentRepository.migrations + DocumentSigner.migrations

    @Sendable
    public static func build(_ environment: ProcessEnvironment) async throws -> ProcessParts {
        let store = try await Store.open(for: environment, migrations: migrations)
        let identity = try environment.identityPeer()
        let data = environment.settings.dataDirectory
        let caCertificate = environment.configuration.string("signing.ca_cert")
        let caKey = environment.configuration.string("signing.ca_key")
        let signer = try DocumentSigner.load(
            caCertificate: caCertificate.isEmpty ? "\(data)/pki/ca.pem" : caCertificate,
            caKey: caKey.isEmpty ? "\(data)/pki/ca.key" : caKey, keyDirectory: "\(data)/signing/keys", store: store)
        if signer == nil {
            environment.logger.warning("no signing CA (signing.ca_cert, signing.ca_key): documents cannot be signed")
        }
        let service = DocumentsService(
            store: store, agencies: identity.directory, people: identity.people, delegations: identity.directory,
            signer: signer,
            files: FileStore(
                directory: "\(environment.settings.dataDirectory)/attachments/documents", maxBytes: 20 << 20))
        let relays = try [
            OutboxRelay.outside(
                "document-exchange", prefix: "exchange", contentType: ExchangeSink.contentType, store: store,
                environment: environment
            ) { ExchangeSink(service: service, transport: $0) }
        ].compactMap { $0 }
        return ProcessParts(
            services: [service],
            serviceNames: [Egov_Documents_V1_DocumentsService.descriptor.fullyQualifiedService],
            probes: [.database(store), identity.probe],
            background: [
                StoreService(store: store, outboxConsumers: relays.map(\.consumer), logger: environment.logger)
            ]
                + identity.background + relays
        )
    }
}
