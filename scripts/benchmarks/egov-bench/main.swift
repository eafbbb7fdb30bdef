import EGovAPI
import EGovKit
import GRPCCore
import GRPCNIOTransportHTTP2

let pki = DevPKI(directory: "data/pki")
let files = try pki.ensure(["documents"])[0]
let client = try makePeerClient(PeerEndpoint(name: "identity", target: "127.0.0.1:7101")!, tls: files)
try await withThrowingDiscardingTaskGroup { group in
    group.addTask { try await client.runConnections() }
    let health = Grpc_Health_V1_Health.Client(wrapping: client)
    do { print(try await health.check(.init())) } catch { print("ERR", error) }
    client.beginGracefulShutdown()
}
