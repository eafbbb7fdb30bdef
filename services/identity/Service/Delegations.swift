public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import SQLKit
import SwiftProtobuf

/// Delegations of signing and approving authority, kept in the identity store.
struct DelegationRepository: Sendable {
    let store: Store

    static let migrations: [Migration] = [
        Migration(
            "0008_delegations",
            [
                """
                CREATE TABLE delegations (
                    id TEXT PRIMARY KEY,
                    principal TEXT NOT NULL,
                    delegate TEXT NOT NULL,
                    start_time BIGINT NOT NULL,
                    end_time BIGINT NOT NULL,
                    revoke_time BIGINT,
                    detail TEXT NOT NULL,
                    create_time BIGINT NOT NULL
                )
                """,
                "CREATE INDEX delegations_by_pair ON delegations (principal, delegate, end_time)",
            ]
        )
    ]

    func insert(_ delegation: Egov_Identity_V1_Delegation, in tx: Transaction) async throws
        -> Egov_Identity_V1_Delegation
    {
        var delegation = delegation
        let id = UUID().uuidString.lowercased()
        let now = store.clock.micros
        delegation.name = "\(delegation.principal)/delegations/\(id)"
        delegation.createTime = .init(micros: now)
        try await tx.database.execute(
            """
            INSERT INTO delegations (id, principal, delegate, start_time, end_time, detail, create_time)
            VALUES (\(bind: id), \(bind: delegation.principal), \(bind: delegation.delegate),
                    \(bind: delegation.startTime.micros), \(bind: delegation.endTime.micros),
                    \(bind: try delegation.jsonString()), \(bind: now))
            """)
        return delegation
    }

    func delegations(principal: String) async throws -> [Egov_Identity_V1_Delegation] {
        try await store.read { db in
            try await db.rows(
                "SELECT * FROM delegations WHERE principal = \(bind: principal) ORDER BY create_time DESC LIMIT 1000"
            ).map(Self.decode)
        }
    }

    func delegation(id: String) async throws -> Egov_Identity_V1_Delegation? {
        try await store.read { db in
            try await db.row("SELECT * FROM delegations WHERE id = \(bind: id)").map(Self.decode)
        }
    }

    /// Delegations from `principal` to `delegate` in force at `time`.
    func inForce(principal: String, delegate: String, at time: Int64) async throws -> [Egov_Identity_V1_Delegation] {
        try await store.read { db in
            try await db.rows(
                """
                SELECT * FROM delegations WHERE principal = \(bind: principal) AND delegate = \(bind: delegate)
                AND start_time <= \(bind: time) AND end_time > \(bind: time) AND revoke_time IS NULL
                ORDER BY create_time DESC
                """
            ).map(Self.decode)
        }
    }

    func revoke(id: String, in tx: Transaction) async throws -> Bool {
        let revoked = try await tx.database.rows(
            """
            UPDATE delegations SET revoke_time = \(bind: store.clock.micros)
            WHERE id = \(bind: id) AND revoke_time IS NULL RETURNING id
            """)
        return !revoked.isEmpty
    }

    static func decode(_ row: any SQLRow) throws -> Egov_Identity_V1_Delegation {
        var delegation = try Egov_Identity_V1_Delegation(jsonString: try row.decode(column: "detail", as: String.self))
        if let revoked = try row.decode(column: "revoke_time", as: Int64?.self) {
            delegation.revokeTime = .init(micros: revoked)
        }
        return delegation
    }
}

extension IdentityService {
    public func createDelegation(
        request: Egov_Identity_V1_CreateDelegationRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_Delegation {
        let principal = try await officialAccount(request.parent, field: "parent")
        try requirePrincipalOrAdministrator(principal.person, doing: "delegate this official's authority")
        var input = request.delegation
        var violations: [ErrorBuilder.Violation] = []
        if input.kind == .unspecified || !Egov_Identity_V1_Delegation.Kind.allCases.contains(input.kind) {
            violations.append(.init("delegation.kind", "is required: KIND_KT, KIND_TL, KIND_TUQ, KIND_TM or KIND_Q"))
        }
        if input.scopes.isEmpty
            || input.scopes.contains(where: {
                $0 == .unspecified || !Egov_Identity_V1_Delegation.Scope.allCases.contains($0)
            })
        {
            violations.append(.init("delegation.scopes", "must list what the delegate may do"))
        }
        if !input.startTime.isAccepted || !input.endTime.isAccepted {
            violations.append(
                .init("delegation.start_time", "start_time and end_time must be times between 1900 and 2199"))
        } else if !input.hasStartTime || !input.hasEndTime || input.endTime.micros <= input.startTime.micros {
            violations.append(.init("delegation.end_time", "must be after start_time; both are required"))
        }
        if input.delegate == request.parent {
            violations.append(.init("delegation.delegate", "must be someone other than the principal"))
        }
        let delegateAccount = try? await officialAccount(input.delegate, field: "delegation.delegate")
        if delegateAccount == nil {
            violations.append(.init("delegation.delegate", "must be an active official"))
        } else if delegateAccount?.person.agency != principal.person.agency {
            violations.append(.init("delegation.delegate", "must be an official of the principal's agency"))
        }
        if !violations.isEmpty { throw Self.errors.invalidArgument("INVALID_DELEGATION", violations) }
        input.principal = request.parent
        input.agency = principal.person.agency
        input.name = ""
        input.clearRevokeTime()
        input.basis = String(input.basis.prefix(500))
        let delegation = input
        return try await store.idempotentWrite(
            scope: "CreateDelegation", requestID: request.requestID, request: request, errors: Self.errors
        ) { tx in
            let created = try await delegations.insert(delegation, in: tx)
            try await audit.append(
                .init(
                    actor: Self.actor, action: "create_delegation", target: created.name, outcome: "ok",
                    detail: "\(created.kind) to \(created.delegate)"), in: tx)
            return created
        }
    }

    public func listDelegations(
        request: Egov_Identity_V1_ListDelegationsRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_ListDelegationsResponse {
        let principal = try await officialAccount(request.parent, field: "parent")
        try requirePrincipalOrAdministrator(principal.person, doing: "see this official's delegations")
        let all = try await delegations.delegations(principal: request.parent)
        return .with { $0.delegations = all }
    }

    public func revokeDelegation(
        request: Egov_Identity_V1_RevokeDelegationRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_Delegation {
        let parts = request.name.split(separator: "/")
        guard parts.count == 4, parts[0] == "people", parts[2] == "delegations" else {
            throw Self.errors.invalidArgument(
                "INVALID_DELEGATION_NAME", field: "name", "must be people/{person}/delegations/{id}")
        }
        let principal = try await officialAccount("people/\(parts[1])", field: "name")
        try requirePrincipalOrAdministrator(principal.person, doing: "revoke this delegation")
        let id = String(parts[3])
        guard let existing = try await delegations.delegation(id: id), existing.principal == principal.person.name
        else {
            throw Self.errors.notFound(
                "DELEGATION_NOT_FOUND", resource: request.name, "Delegation '\(request.name)' does not exist.")
        }
        try await store.write { tx in
            if try await delegations.revoke(id: id, in: tx) {
                try await audit.append(
                    .init(actor: Self.actor, action: "revoke_delegation", target: request.name, outcome: "ok"), in: tx)
            }
        }
        return try await delegations.delegation(id: id) ?? existing
    }

    public func checkDelegation(
        request: Egov_Identity_V1_CheckDelegationRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_CheckDelegationResponse {
        _ = try Self.personID(request.principal, field: "principal")
        _ = try Self.personID(request.delegate, field: "delegate")
        if request.scope == .unspecified {
            throw Self.errors.invalidArgument("INVALID_SCOPE", field: "scope", "is required")
        }
        let principal = try await people.account(id: String(request.principal.dropFirst("people/".count)))
        try IdentityPolicy.checkDelegation.require(
            principal?.person.agency, Self.errors, doing: "ask about delegations outside your own agency")
        let time =
            request.hasTime ? try Self.errors.acceptedTime(request.time, field: "time").micros : store.clock.micros
        let found = try await delegations.inForce(principal: request.principal, delegate: request.delegate, at: time)
            .first { $0.scopes.contains(request.scope) }
        return .with {
            $0.allowed = found != nil
            $0.delegation = found?.name ?? ""
            $0.kind = found?.kind ?? .unspecified
        }
    }

    /// An active official's account, or INVALID_ARGUMENT naming `field`.
    func officialAccount(_ name: String, field: String) async throws -> PersonRepository.Account {
        let id = try Self.personID(name, field: field)
        guard let account = try await people.account(id: id), account.person.kind == .official,
            account.person.state == .active
        else {
            throw Self.errors.invalidArgument("NOT_AN_OFFICIAL", field: field, "'\(name)' is not an active official")
        }
        return account
    }

    func requirePrincipalOrAdministrator(_ principal: Egov_Identity_V1_Person, doing description: String) throws {
        if RequestContext.current?.user?.sub == principal.name { return }
        try IdentityPolicy.manageOfficials.require(principal.agency, Self.errors, doing: description)
    }
}
