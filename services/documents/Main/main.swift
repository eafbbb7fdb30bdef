import DocumentsService
import EGovKit

await EGovProcess.run(name: "documents", keys: DocumentsApp.keys, build: DocumentsApp.build)
