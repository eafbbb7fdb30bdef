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
        return ProcessParts(
            services: [
                DocumentsService(
                    store: store, agencies: identity.directory, people: identity.people,
                    delegations: identity.directory, signer: signer,
                    files: FileStore(
                        directory: "\(environment.settings.dataDirectory)/attachments/documents", maxBytes: 20 << 20))
            ],
            serviceNames: [Egov_Documents_V1_DocumentsService.descriptor.fullyQualifiedService],
            probes: [.database(store), identity.probe],
            background: [StoreService(store: store)] + identity.background
        )
    }
}
