import DocumentsService
import EGovKit

if CommandLine.arguments.dropFirst().first == "import-signing-certificate" {
    do {
        var command = try ImportSigningCertificate.parse(Array(CommandLine.arguments.dropFirst(2)))
        try await command.run()
        ImportSigningCertificate.exit()
    } catch {
        ImportSigningCertificate.exit(withError: error)
    }
}
await EGovProcess.run(name: "documents", keys: DocumentsApp.keys, build: DocumentsApp.build)
