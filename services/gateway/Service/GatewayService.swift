public import EGovAPI
import EGovKit
import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
import SwiftProtobuf

/// The gateway's own RPCs.
public struct GatewayService: Egov_Gateway_V1_GatewayService.SimpleServiceProtocol {
    /// One backend to report on.
    public struct Backend: Sendable {
        public var service: String
        public var target: String
        public var client: GRPCClient<HTTP2ClientTransport.Posix>

        public init(service: String, target: String, client: GRPCClient<HTTP2ClientTransport.Posix>) {
            self.service = service
            self.target = target
            self.client = client
        }
    }

    let backends: [Backend]
    let version: String

    public init(backends: [Backend], version: String) {
        self.backends = backends
        self.version = version
    }

    public func getPlatformStatus(
        request: Egov_Gateway_V1_GetPlatformStatusRequest, context: ServerContext
    ) async throws -> Egov_Gateway_V1_PlatformStatus {
        let components = await withTaskGroup(of: (Int, Egov_Gateway_V1_PlatformStatus.Component).self) { group in
            for (index, backend) in backends.enumerated() {
                group.addTask { (index, await Self.check(backend)) }
            }
            var results: [(Int, Egov_Gateway_V1_PlatformStatus.Component)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        return .with {
            $0.components = components
            $0.allServing = components.allSatisfy(\.serving)
            $0.version = version
            $0.checkTime = Google_Protobuf_Timestamp(date: Date())
        }
    }

    static func check(_ backend: Backend) async -> Egov_Gateway_V1_PlatformStatus.Component {
        let health = Grpc_Health_V1_Health.Client(wrapping: backend.client)
        var options = CallOptions.defaults
        options.timeout = .seconds(1)
        let start = ContinuousClock.now
        var component = Egov_Gateway_V1_PlatformStatus.Component.with {
            $0.service = backend.service
            $0.target = backend.target
        }
        do {
            let response = try await health.check(.with { $0.service = backend.service }, options: options)
            component.serving = response.status == .serving
            if !component.serving { component.detail = "health: \(response.status)" }
        } catch let error as RPCError {
            component.detail = "\(error.code): \(error.message)"
        } catch {
            component.detail = "unreachable"
        }
        component.latencyMs = (ContinuousClock.now - start).milliseconds
        return component
    }
}
