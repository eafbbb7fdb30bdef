public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import SwiftProtobuf

/// Managing people after they exist: listing, updating, deactivating, resetting passwords,
/// and people's own sessions.
extension IdentityService {
    public func listPeople(
        request: Egov_Identity_V1_ListPeopleRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_ListPeopleResponse {
        let size = try Self.errors.pageSize(request.pageSize)
        // The officials' directory: an official who does not administer the agency sees the
        // directory view of any agency's officials (names, positions, roles), so a reception
        // point hands a dossier to the deciding agency's handler and back.
        var colleagueView = false
        if request.agency.isEmpty {
            if let user = RequestContext.current?.user, !user.holds(.systemAdmin) {
                throw Self.errors.invalidArgument(
                    "AGENCY_REQUIRED", field: "agency", "name the agency whose officials to list")
            }
            try IdentityPolicy.manageAgencies.require(Self.errors, doing: "list everyone")
        } else {
            _ = try Self.errors.agencyCode(fromName: request.agency, field: "agency")
            if RequestContext.current?.user != nil, IdentityPolicy.readDirectory.allows(request.agency),
                !IdentityPolicy.manageOfficials.allows(request.agency)
            {
                colleagueView = true
            } else {
                try IdentityPolicy.manageOfficials.require(
                    request.agency, Self.errors, doing: "list this agency's officials")
            }
        }
        if request.query.count > 200 {
            throw Self.errors.invalidArgument("INVALID_QUERY", field: "query", "must be at most 200 characters")
        }
        if request.role != .unspecified && !Egov_Identity_V1_Role.allCases.contains(request.role) {
            throw Self.errors.invalidArgument("INVALID_ROLE", field: "role", "is not a role")
        }
        let filter =
            "agency=\(request.agency);query=\(request.query);role=\(request.role.rawValue);view=\(colleagueView)"
        var after = try PageToken.decode(request.pageToken, filter: filter, errors: Self.errors)
        // Filters the repository does not index (role, active) are applied here, reading on
        // in pages until the page is full; an agency has hundreds of officials, not millions.
        var found: [Egov_Identity_V1_Person] = []
        // The directory view searches names only: matching e-mail addresses would tell whether
        // an address belongs to someone there, which the view does not show.
        let words = VietnameseText.fold(request.query).split(separator: " ")
        func nameMatches(_ person: Egov_Identity_V1_Person) -> Bool {
            let name = VietnameseText.fold(person.displayName)
            return words.allSatisfy { name.contains($0) }
        }
        while found.count <= size {
            let batch = try await people.people(
                agency: request.agency.isEmpty ? nil : request.agency, query: request.query, after: after, limit: 200)
            found += batch.filter { person in
                (request.role == .unspecified || person.roles.contains(request.role))
                    && (!colleagueView || (person.state == .active && nameMatches(person)))
            }
            guard batch.count == 200, let last = batch.last else { break }
            after = String(last.name.dropFirst("people/".count))
        }
        let result = PageToken.page(Array(found.prefix(size + 1)), size: size, filter: filter) {
            String($0.name.dropFirst("people/".count))
        }
        return .with {
            $0.people = colleagueView ? result.items.map(Self.directoryEntry) : result.items
            $0.nextPageToken = result.nextPageToken
        }
    }

    /// What a colleague may see of an official: who they are and what they do, no contact or
    /// identity data.
    static func directoryEntry(_ person: Egov_Identity_V1_Person) -> Egov_Identity_V1_Person {
        .with {
            $0.name = person.name
            $0.kind = person.kind
            $0.displayName = person.displayName
            $0.agency = person.agency
            $0.position = person.position
            $0.roles = person.roles
            $0.state = person.state
        }
    }

    public func updatePerson(
        request: Egov_Identity_V1_UpdatePersonRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_Person {
        let id = try Self.personID(request.person.name, field: "person.name")
        guard let account = try await people.account(id: id) else {
            try IdentityPolicy.manageAgencies.require(Self.errors, doing: "update this person")
            throw Self.errors.notFound(
                "PERSON_NOT_FOUND", resource: request.person.name, "Person '\(request.person.name)' does not exist.")
        }
        var person = account.person
        let isAdministrator =
            person.kind == .official
            && RequestContext.current?.user != nil && IdentityPolicy.manageOfficials.allows(person.agency)
        try IdentityPolicy.updatePerson.require((person.name, person.agency), Self.errors, doing: "update this person")
        let paths = request.updateMask.paths
        if paths.isEmpty {
            throw Self.errors.invalidArgument("EMPTY_UPDATE_MASK", field: "update_mask", "name the fields to change")
        }
        // Operators' tooling, acting for no user (updatePerson refuses platform services).
        let internalCaller = RequestContext.current?.user == nil
        var roleChange: String?
        var clearanceChange: String?
        var lowered = false
        for path in paths {
            switch path {
            case "display_name":
                let name = request.person.displayName.trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty, name.count <= 200 else {
                    throw Self.errors.invalidArgument(
                        "INVALID_PERSON", field: "person.display_name", "is required, at most 200 characters")
                }
                person.displayName = name
            case "phone":
                guard let phone = request.person.phone.isEmpty ? "" : PhoneNumber.normalized(request.person.phone)
                else {
                    throw Self.errors.invalidArgument(
                        "INVALID_PERSON", field: "person.phone", "is not a Vietnamese phone number")
                }
                person.phone = phone
            case "email":
                guard person.kind != .official else {
                    throw Self.errors.invalidArgument(
                        "IMMUTABLE_FIELD", field: "person.email", "is an official's login and cannot change")
                }
                guard request.person.email.isEmpty || Self.isEmail(request.person.email) else {
                    throw Self.errors.invalidArgument(
                        "INVALID_PERSON", field: "person.email", "is not an e-mail address")
                }
                person.email = request.person.email.lowercased()
            case "position", "roles":
                guard person.kind == .official, isAdministrator || internalCaller else {
                    throw Self.errors.permissionDenied(
                        "PERMISSION_DENIED", "Only the agency's administrators may change an official's \(path).")
                }
                if path == "position" {
                    person.position = request.person.position
                } else {
                    let allowed: Set<Egov_Identity_V1_Role> = [
                        .receptionOfficer, .specialist, .leader, .clerk, .agencyAdmin, .systemAdmin,
                    ]
                    guard !request.person.roles.isEmpty, request.person.roles.allSatisfy(allowed.contains) else {
                        throw Self.errors.invalidArgument(
                            "INVALID_PERSON", field: "person.roles", "must list official roles")
                    }
                    if request.person.roles.contains(.systemAdmin) && !IdentityPolicy.grantSystemAdministrator.allows()
                    {
                        throw Self.errors.permissionDenied(
                            "PERMISSION_DENIED", "Only system administrators grant that role.")
                    }
                    let roles = Array(Set(request.person.roles)).sorted { $0.rawValue < $1.rawValue }
                    roleChange =
                        "\(person.roleNames.joined(separator: ",")) -> \(roles.map(\.name).joined(separator: ","))"
                    person.roles = roles
                }
            case "clearance":
                guard person.kind == .official, isAdministrator || internalCaller else {
                    throw Self.errors.permissionDenied(
                        "PERMISSION_DENIED", "Only the agency's administrators may change an official's clearance.")
                }
                guard Egov_Identity_V1_Clearance.allCases.contains(request.person.clearance) else {
                    throw Self.errors.invalidArgument(
                        "INVALID_PERSON", field: "person.clearance", "is not a known level")
                }
                try IdentityPolicy.grantClearance.require(
                    request.person.clearance, Self.errors, doing: "grant a clearance above your own")
                lowered = request.person.clearance.rawValue < person.clearance.rawValue
                clearanceChange = "clearance \(person.clearance.name) -> \(request.person.clearance.name)"
                person.clearance = request.person.clearance
            default:
                throw Self.errors.invalidArgument(
                    "UNSUPPORTED_UPDATE_MASK_PATH", field: "update_mask", "'\(path)' cannot be changed")
            }
        }
        let updated = person
        let version = Int64(account.person.etag) ?? 0
        if !request.person.etag.isEmpty, request.person.etag != account.person.etag {
            throw Self.errors.failedPrecondition(
                "ETAG_MISMATCH", "The person changed since you read it; read it again.")
        }
        let ended = try await store.write { tx in
            guard try await people.update(updated, id: id, version: version, in: tx) else {
                throw Self.errors.failedPrecondition(
                    "ETAG_MISMATCH", "The person changed since you read it; read it again.")
            }
            let changes = [roleChange, clearanceChange].compactMap { $0 }
            try await audit.append(
                .init(
                    actor: Self.actor,
                    action: clearanceChange != nil
                        ? "change_clearance" : roleChange != nil ? "change_roles" : "update_person",
                    target: updated.name, outcome: "ok",
                    detail: changes.isEmpty ? paths.joined(separator: ",") : changes.joined(separator: "; ")), in: tx)
            // A lowered clearance takes effect now, not when the person's tokens expire.
            guard lowered else { return [String]() }
            return try await sessions.endAll(person: updated.name, keeping: nil, reason: "clearance lowered", in: tx)
        }
        for session in ended { tokens.verifier.revoke(session: session) }
        return try await people.account(id: id)!.person
    }

    public func deactivatePerson(
        request: Egov_Identity_V1_DeactivatePersonRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_Person {
        let account = try await administeredAccount(request.name, doing: "deactivate this person")
        var person = account.person
        guard person.state == .active else { return person }
        person.state = .inactive
        let deactivated = person
        let ended = try await store.write { tx in
            guard
                try await people.update(
                    deactivated, id: String(request.name.dropFirst("people/".count)),
                    version: Int64(account.person.etag) ?? 0, in: tx)
            else { throw Self.errors.failedPrecondition("ETAG_MISMATCH", "The person changed meanwhile; try again.") }
            let ended = try await sessions.endAll(person: request.name, keeping: nil, reason: "deactivated", in: tx)
            try await audit.append(
                .init(
                    actor: Self.actor, action: "deactivate_person", target: request.name, outcome: "ok",
                    detail: "\(request.reason.prefix(500)); \(ended.count) sessions ended"), in: tx)
            return ended
        }
        for session in ended { tokens.verifier.revoke(session: session) }
        return try await people.account(id: String(request.name.dropFirst("people/".count)))!.person
    }

    public func resetPassword(
        request: Egov_Identity_V1_ResetPasswordRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_ResetPasswordResponse {
        let account = try await administeredAccount(request.name, doing: "reset this person's password")
        let person = account.person
        let login =
            person.kind == .official ? person.email : (person.citizenID.isEmpty ? person.taxCode : person.citizenID)
        if let problem = PasswordPolicy.problem(request.newPassword, login: login) {
            throw Self.errors.invalidArgument("WEAK_PASSWORD", field: "new_password", problem)
        }
        let hash = try await hasher.hash(request.newPassword)
        let ended = try await store.write { tx in
            try await people.setPasswordHash(id: String(request.name.dropFirst("people/".count)), hash, in: tx)
            let ended = try await sessions.endAll(person: request.name, keeping: nil, reason: "password reset", in: tx)
            try await audit.append(
                .init(
                    actor: Self.actor, action: "reset_password", target: request.name, outcome: "ok",
                    detail: "\(ended.count) sessions ended"),
                in: tx)
            return ended
        }
        for session in ended { tokens.verifier.revoke(session: session) }
        return .with { $0.endedSessions = Int32(ended.count) }
    }

    public func listSessions(
        request: Egov_Identity_V1_ListSessionsRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_ListSessionsResponse {
        _ = try Self.personID(request.parent, field: "parent")
        let user = try Self.requireSelf(request.parent)
        let open = try await sessions.openSessions(person: request.parent)
        return .with {
            $0.sessions = open.map { session in
                var session = session
                session.current = session.name.hasSuffix("/sessions/\(user.sid)")
                return session
            }
        }
    }

    public func revokeSession(
        request: Egov_Identity_V1_RevokeSessionRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_Session {
        let parts = request.name.split(separator: "/")
        guard parts.count == 4, parts[0] == "people", parts[2] == "sessions" else {
            throw Self.errors.invalidArgument(
                "INVALID_SESSION_NAME", field: "name", "must be people/{person}/sessions/{session}")
        }
        let person = "people/\(parts[1])"
        let user = try Self.requireSelf(person)
        let ended = try await store.write { tx in
            let ended = try await sessions.end(
                session: String(parts[3]), of: person, reason: "revoked by owner", in: tx)
            if ended {
                try await audit.append(
                    .init(actor: user.sub, action: "revoke_session", target: request.name, outcome: "ok"), in: tx)
            }
            return ended
        }
        guard ended else {
            throw Self.errors.notFound(
                "SESSION_NOT_FOUND", resource: request.name, "No open session '\(request.name)'.")
        }
        return .with {
            $0.name = request.name
            $0.endTime = .init(date: store.clock.now)
        }
    }

    /// The signed-in user, who must be `person`.
    static func requireSelf(_ person: String) throws -> AccessClaims {
        guard let user = RequestContext.current?.user else {
            throw errors.unauthenticated("AUTHENTICATION_REQUIRED", "Sign in to see your sessions.")
        }
        guard user.sub == person else {
            throw errors.permissionDenied("PERMISSION_DENIED", "You may manage only your own sessions.")
        }
        return user
    }

    /// The account `name`, if the caller administers it: an official's agency administrators,
    /// system administrators, or platform tooling.
    func administeredAccount(_ name: String, doing description: String) async throws -> PersonRepository.Account {
        let id = try Self.personID(name, field: "name")
        let account = try await people.account(id: id)
        let agency = account?.person.kind == .official ? account?.person.agency ?? "" : ""
        if agency.isEmpty {
            try IdentityPolicy.manageAgencies.require(Self.errors, doing: description)
        } else {
            try IdentityPolicy.manageOfficials.require(agency, Self.errors, doing: description)
        }
        guard let account else {
            throw Self.errors.notFound("PERSON_NOT_FOUND", resource: name, "Person '\(name)' does not exist.")
        }
        return account
    }
}
