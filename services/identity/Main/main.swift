import EGovKit
import IdentityService

if CommandLine.arguments.dropFirst().first == "verify-audit" {
    await IdentityApp.verifyAudit(arguments: Array(CommandLine.arguments.dropFirst(2)))
}
await EGovProcess.run(name: "identity", keys: IdentityApp.keys, build: IdentityApp.build)
