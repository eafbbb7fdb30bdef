import ConferencesService
import EGovKit

await EGovProcess.run(name: "conferences", keys: ConferencesApp.keys, build: ConferencesApp.build)
