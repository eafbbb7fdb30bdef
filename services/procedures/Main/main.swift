import EGovKit
import ProceduresService

await EGovProcess.run(name: "procedures", keys: ProceduresApp.keys, build: ProceduresApp.build)
