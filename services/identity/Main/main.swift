import EGovKit
import IdentityService

await EGovProcess.run(name: "identity", keys: IdentityApp.keys, build: IdentityApp.build)
