public import EGovKit
import EGovAPI
public import EGovStore

/// Assembles the egov-documents process.
public enum DocumentsApp {
    public static let keys = ProcessSettings.keys(for: "documents", peers: ["identity"])

    public static let migrations = SQLDocumentRepository.migrations

    @Sendable
    public static func build(_ environment: ProcessEnvironment) async throws -> ProcessParts {
        let store = try await Store.open(for: environment, migrations: migrations)
        let identity = try environment.peerClient("identity")
        let directory = IdentityAgencyDirectory(client: identity, deadline: environment.settings.defaultDeadline)
        return ProcessParts(
            services: [DocumentsService(store: store, agencies: directory)],
            serviceNames: [Egov_Documents_V1_DocumentsService.descriptor.fullyQualifiedService],
            probes: [.database(store), .peer("identity", client: identity)],
            background: [StoreService(store: store), GRPCClientService(client: identity)]
        )
    }
}
