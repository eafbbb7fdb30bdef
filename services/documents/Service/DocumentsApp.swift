public import ArgumentParser
import EGovAPI
public import EGovKit
public import EGovStore
import Foundation
import Logging
import X509

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
                help: "That CA's private key (PEM). Default: data_dir/pki/ca.key. Without it only certificates "
                    + "imported with import-signing-certificate sign; without either file documents cannot be signed."),
            ConfigKey(
                "exchange.url", default: "",
                help: "The national document exchange's endpoint (https) that takes edXML envelopes for agencies "
                    + "outside the platform. Empty: not connected; their documents wait in the outbox."),
            ConfigKey(
                "exchange.token_file", default: "",
                help: "A file holding the bearer token the exchange issued to the province (read at start)."),
        ]

    public static let migrations = DocumentRepository.migrations + DocumentSigner.migrations

    /// The signer the settings describe (see `DocumentSigner.load`).
    static func signer(_ environment: ProcessEnvironment, store: Store) throws -> DocumentSigner? {
        let data = environment.settings.dataDirectory
        let caCertificate = environment.configuration.string("signing.ca_cert")
        let caKey = environment.configuration.string("signing.ca_key")
        return try DocumentSigner.load(
            caCertificate: caCertificate.isEmpty ? "\(data)/pki/ca.pem" : caCertificate,
            caKey: caKey.isEmpty ? "\(data)/pki/ca.key" : caKey, keyDirectory: "\(data)/signing/keys", store: store)
    }

    @Sendable
    public static func build(_ environment: ProcessEnvironment) async throws -> ProcessParts {
        let store = try await Store.open(for: environment, migrations: migrations)
        let identity = try environment.identityPeer()
        let signer = try signer(environment, store: store)
        if signer == nil {
            environment.logger.warning("no signing CA certificate (signing.ca_cert): documents cannot be signed")
        } else if signer?.caKey == nil {
            environment.logger.info("no signing CA key (signing.ca_key): only imported certificates sign")
        }
        let service = DocumentsService(
            store: store, agencies: identity.directory, people: identity.people, delegations: identity.directory,
            signer: signer,
            files: FileStore(
                directory: "\(environment.settings.dataDirectory)/attachments/documents", maxBytes: 20 << 20))
        // The exchange's consumer is always counted: without `exchange.url` its events wait in
        // the outbox (not purged) for the day it is connected.
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
                StoreService(store: store, outboxConsumers: ["document-exchange"], logger: environment.logger)
            ]
                + identity.background + relays
        )
    }
}

/// `egov-documents import-signing-certificate --subject S --certificate C --key K [settings]`:
/// makes the certificate the province's authority issued to an agency or a signer (PEM, with
/// its PEM private key) the one it signs with. Run on the server, so the key never crosses the
/// network. Exit 0 when imported, 1 when refused (saying why), 2 on bad configuration.
public struct ImportSigningCertificate: AsyncParsableCommand {
    // Run by main.swift with parse() and run(): the server itself takes the other arguments.
    public static let configuration = CommandConfiguration(
        commandName: "egov-documents import-signing-certificate",
        abstract: "Imports an agency's or a signer's signing certificate and key issued by the province's CA.")

    @Option(help: "Whose certificate: agencies/{code} or people/{id}.") var subject: String
    @Option(help: "The certificate, PEM, issued by the CA that signing.ca_cert names.") var certificate: String
    @Option(help: "Its private key, PEM (PKCS #8, SEC1 or PKCS #1). Kept under data_dir/signing/keys, mode 0600.")
    var key: String
    @Argument(
        parsing: .allUnrecognized,
        help: "The settings the server takes, e.g. --data_dir DIR or --database.url URL (see egov-documents --help).")
    var settings: [String] = []

    public init() {}

    public func run() async throws {
        let name = Self.configuration.commandName ?? "import-signing-certificate"
        func fail(_ message: String, code: Int32) -> ExitCode {
            FileHandle.standardError.write(Data("\(name): \(message)\n".utf8))
            return ExitCode(code)
        }
        let configuration: Configuration
        let settings: ProcessSettings
        do {
            configuration = try Configuration.load(
                keys: DocumentsApp.keys, arguments: self.settings, environment: ProcessInfo.processInfo.environment)
            settings = try ProcessSettings(name: "documents", config: configuration)
        } catch { throw fail("configuration error: \(error)", code: 2) }
        guard let certificatePEM = FileManager.default.contents(atPath: certificate),
            let keyPEM = FileManager.default.contents(atPath: key)
        else { throw fail("cannot read \(certificate) or \(key)", code: 2) }
        let environment = ProcessEnvironment(
            settings: settings, configuration: configuration, logger: Logger(label: "egov.documents.import"))
        let store = try await Store.open(for: environment, migrations: DocumentsApp.migrations)
        let outcome: Result<Certificate, any Error>
        do {
            guard let signer = try DocumentsApp.signer(environment, store: store) else {
                throw DocumentSigner.ImportRefused(
                    description: "no CA certificate (signing.ca_cert) to check it against")
            }
            outcome = .success(
                try await signer.importCertificate(
                    subject: subject, certificatePEM: String(decoding: certificatePEM, as: UTF8.self),
                    keyPEM: String(decoding: keyPEM, as: UTF8.self)))
        } catch {
            outcome = .failure(error)
        }
        // Closed on every path: an unclosed SQLite connection traps when released.
        await store.close()
        switch outcome {
        case .success(let imported):
            print("imported: \(subject) signs with \(imported.subject), valid until \(imported.notValidAfter)")
        case .failure(let refusal as DocumentSigner.ImportRefused): throw fail("refused: \(refusal)", code: 1)
        case .failure(let error): throw fail("\(error)", code: 2)
        }
    }
}
