public import EGovAPI
public import GRPCCore
import GRPCProtobuf

/// Answers whether an agency exists and is active: the identity service, asked over gRPC.
/// Services that record an agency's name check it here first.
public protocol AgencyDirectory: Sendable {
    /// The agency named `agencies/{code}`, or nil when identity does not know it.
    func agency(named name: String) async throws -> Egov_Identity_V1_Agency?
}

/// Who a person is, asked of the identity service by the calling service itself (not on
/// behalf of the user, who may not read other people's records): for checks such as
/// "is this assignee an official of the agency with the step's role".
public protocol PersonDirectory: Sendable {
    /// The person named `people/{id}`, or nil when identity does not know them.
    func person(named name: String) async throws -> Egov_Identity_V1_Person?
}

/// Delegations of authority, as identity records them.
public protocol DelegationDirectory: Sendable {
    /// How `delegate` may sign documents for `principal` now (`KT.`, `TL.`, ...), or nil when
    /// no delegation in force allows it. Asked as the signed-in user.
    func signingDelegation(principal: String, delegate: String) async throws -> Egov_Identity_V1_Delegation.Kind?
}

/// `AgencyDirectory`, `PersonDirectory` and `DelegationDirectory` over the identity service's
/// client.
public struct IdentityDirectory<Transport: ClientTransport>: AgencyDirectory, PersonDirectory, DelegationDirectory {
    let client: Egov_Identity_V1_IdentityService.Client<Transport>
    let deadline: Duration

    public init(client: GRPCClient<Transport>, deadline: Duration) {
        self.client = Egov_Identity_V1_IdentityService.Client(wrapping: client)
        self.deadline = deadline
    }

    public func agency(named name: String) async throws -> Egov_Identity_V1_Agency? {
        let options = RequestContext.callOptions(fallback: deadline)
        return try await lookup(name) { try await client.getAgency(.with { $0.name = name }, options: options) }
    }

    public func person(named name: String) async throws -> Egov_Identity_V1_Person? {
        let options = RequestContext.callOptions(fallback: deadline)
        return try await lookup(name) {
            try await RequestContext.actingAsService {
                try await client.getPerson(.with { $0.name = name }, options: options)
            }
        }
    }

    public func signingDelegation(principal: String, delegate: String) async throws
        -> Egov_Identity_V1_Delegation.Kind?
    {
        let options = RequestContext.callOptions(fallback: deadline)
        let answer = try await lookup(principal) {
            try await client.checkDelegation(
                .with {
                    $0.principal = principal; $0.delegate = delegate; $0.scope = .signDocuments
                }, options: options)
        }
        guard let answer, answer.allowed else { return nil }
        return answer.kind
    }

    /// What identity answers about `name`: nil when it does not know it (or the name is not
    /// one), UNAVAILABLE when it cannot be asked.
    func lookup<Found: Sendable>(_ name: String, _ ask: () async throws -> Found) async throws -> Found? {
        do {
            return try await ask()
        } catch let error as RPCError where error.code == .notFound || error.code == .invalidArgument {
            return nil
        } catch let error as RPCError {
            throw ErrorBuilder(domain: "egov").unavailable(
                "IDENTITY_UNAVAILABLE", "The identity service could not be asked about '\(name)'; try again.",
                metadata: ["upstream_code": "\(error.code)"])
        }
    }
}

/// The agency directory of a process: identity.
public typealias IdentityAgencyDirectory<Transport: ClientTransport> = IdentityDirectory<Transport>
/// The person directory of a process: identity.
public typealias IdentityPersonDirectory<Transport: ClientTransport> = IdentityDirectory<Transport>

extension AgencyDirectory {
    /// The active agency `name` refers to, or the error the request should get: NOT_FOUND when
    /// it is the request's `parent`, INVALID_ARGUMENT naming `field` when a field refers to
    /// it; FAILED_PRECONDITION when it was deactivated.
    public func requireActive(
        _ name: String, field: String, isParent: Bool = false, errors: ErrorBuilder
    ) async throws -> Egov_Identity_V1_Agency {
        guard let agency = try await agency(named: name) else {
            if isParent {
                throw errors.notFound("AGENCY_NOT_FOUND", resource: name, "Agency '\(name)' does not exist.")
            }
            throw errors.invalidArgument("AGENCY_NOT_FOUND", field: field, "agency '\(name)' does not exist")
        }
        guard agency.state == .active else {
            throw errors.failedPrecondition(
                "AGENCY_INACTIVE", "Agency '\(name)' is deactivated.", metadata: ["field": field])
        }
        return agency
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
