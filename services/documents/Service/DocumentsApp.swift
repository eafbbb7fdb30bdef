import EGovAPI
public import EGovKit
public import EGovStore

/// Assembles the egov-documents process.
public enum DocumentsApp {
    public static let keys = ProcessSettings.keys(for: "documents", peers: ["identity"])

    public static let migrations = DocumentRepository.migrations

    @Sendable
    public static func build(_ environment: ProcessEnvironment) async throws -> ProcessParts {
        let store = try await Store.open(for: environment, migrations: migrations)
        let identity = try environment.identityPeer()
        return ProcessParts(
            services: [
                DocumentsService(
                    store: store, agencies: identity.directory, people: identity.people,
                    delegations: identity.directory)
            ],
            serviceNames: [Egov_Documents_V1_DocumentsService.descriptor.fullyQualifiedService],
            probes: [.database(store), identity.probe],
            background: [StoreService(store: store)] + identity.background
        )
    }
}
