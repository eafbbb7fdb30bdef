public import EGovAPI
public import GRPCCore
import GRPCProtobuf

/// Answers whether an agency exists and is active: the identity service, asked over gRPC.
/// Services that record an agency's name check it here first.
public protocol AgencyDirectory: Sendable {
    /// The agency named `agencies/{code}`, or nil when identity does not know it.
    func agency(named name: String) async throws -> Egov_Identity_V1_Agency?
}

/// `AgencyDirectory` over the identity service's client.
public struct IdentityAgencyDirectory<Transport: ClientTransport>: AgencyDirectory {
    let client: Egov_Identity_V1_IdentityService.Client<Transport>
    let deadline: Duration

    public init(client: GRPCClient<Transport>, deadline: Duration) {
        self.client = Egov_Identity_V1_IdentityService.Client(wrapping: client)
        self.deadline = deadline
    }

    public func agency(named name: String) async throws -> Egov_Identity_V1_Agency? {
        do {
            return try await client.getAgency(
                .with { $0.name = name }, options: RequestContext.callOptions(fallback: deadline))
        } catch let error as RPCError where error.code == .notFound {
            return nil
        } catch let error as RPCError {
            throw APIError(domain: "egov").unavailable(
                "IDENTITY_UNAVAILABLE", "The identity service could not be asked about '\(name)'; try again.",
                metadata: ["upstream_code": "\(error.code)"])
        }
    }
}

extension HealthProbe {
    /// Healthy while the peer's `grpc.health.v1.Health/Check` answers SERVING within a second.
    public static func peer<Transport: ClientTransport>(_ name: String, client: GRPCClient<Transport>) -> HealthProbe {
        let health = Grpc_Health_V1_Health.Client(wrapping: client)
        return HealthProbe(name: name) {
            var options = CallOptions.defaults
            options.timeout = .seconds(1)
            do {
                let response = try await health.check(.init(), options: options)
                return response.status == .serving ? nil : "\(name) is \(response.status)"
            } catch let error as RPCError {
                return "\(name) unreachable: \(error.code)"
            } catch {
                return "\(name) unreachable"
            }
        }
    }
}
