import EGovKit
import GatewayService

await EGovProcess.run(name: "gateway", keys: GatewayApp.keys, security: .serverTLS, build: GatewayApp.build)
