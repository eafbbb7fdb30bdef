import EGovKit
import IdentityService

if CommandLine.arguments.dropFirst().first == "verify-audit" {
    do {
        let command = try VerifyAudit.parse(Array(CommandLine.arguments.dropFirst(2)))
        try await command.verify()
    } catch {
        VerifyAudit.exit(withError: error)
    }
}
await EGovProcess.run(name: "identity", keys: IdentityApp.keys, build: IdentityApp.build)
