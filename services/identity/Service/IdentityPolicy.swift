import EGovAPI
public import EGovKit

/// Who may do what in identity: every rule the handlers ask, and every RPC's entry.
public enum IdentityPolicy {
    /// Create, change and deactivate agencies; list everyone: system administrators.
    static let manageAgencies = Rule<Void> { user, _ in user.isSystemAdministrator }

    /// Create and manage the officials of an agency (`agencies/{code}`): its administrators.
    static let manageOfficials = Rule<String> { user, agency in user.administers(agency) }

    /// Grant the system administrator role: system administrators (the second factor was
    /// already asked by `manageOfficials`).
    static let grantSystemAdministrator = Rule<Void> { user, _ in user.holds(.systemAdmin) }

    /// Grant a clearance level: nobody grants more than they hold (system administrators and
    /// operators' tooling excepted).
    static let grantClearance = Rule<Egov_Identity_V1_Clearance> { user, level in
        user.isSystemAdministrator || level.rawValue <= user.clearance.rawValue
    }

    /// Read a person's record: themselves, the administrators of an official's agency. The
    /// procedures service reads the officials it hands dossiers to; documents, the signers and
    /// leads of its documents; conferences, the chairs and people it invites.
    static let readPerson = Rule<(person: String, agency: String?)>(
        services: ["egov-procedures", "egov-documents", "egov-conferences"]
    ) {
        user, subject in
        user.sub == subject.person || user.isSystemAdministrator || (subject.agency.map(user.administers) ?? false)
    }

    /// Change a person's record: themselves, the administrators of an official's agency, and
    /// operators' tooling; never a platform service (they only read).
    static let updatePerson = Rule<(person: String, agency: String?)> { user, subject in
        user.sub == subject.person || user.isSystemAdministrator || (subject.agency.map(user.administers) ?? false)
    }

    /// The officials' directory of any agency (names, positions, roles): any official.
    static let readDirectory = Rule<String> { user, _ in user.isOfficial }

    /// Ask whether a delegation is in force: officials of the principal's agency.
    static let checkDelegation = Rule<String?> { user, principalAgency in
        user.isOfficial && user.agency == principalAgency
    }

    /// Every RPC of `egov.identity.v1.IdentityService` and who may call it.
    public static let methods: [String: MethodAccess] = [
        "GetAgency": .anyone, "ListAgencies": .anyone,
        "CreateAgency": .rules(["manageAgencies"]), "UpdateAgency": .rules(["manageAgencies"]),
        "DeactivateAgency": .rules(["manageAgencies"]),
        "RegisterPerson": .anyone, "Login": .anyone, "RefreshSession": .anyone, "Logout": .anyone,
        "GetSigningKeys": .anyone,
        "CreateOfficial": .rules(["manageOfficials", "grantSystemAdministrator", "grantClearance"]),
        "GetPerson": .rules(["readPerson"]),
        "UpdatePerson": .rules(["updatePerson", "manageOfficials", "grantSystemAdministrator", "grantClearance"]),
        "ListPeople": .rules(["manageAgencies", "manageOfficials", "readDirectory"]),
        "DeactivatePerson": .rules(["manageAgencies", "manageOfficials"]),
        "ResetPassword": .rules(["manageAgencies", "manageOfficials"]),
        "ChangePassword": .rules(["self"]), "BeginTotpEnrollment": .rules(["self"]),
        "ConfirmTotpEnrollment": .rules(["self"]), "ListSessions": .rules(["self"]), "RevokeSession": .rules(["self"]),
        "CreateDelegation": .rules(["self", "manageOfficials"]),
        "ListDelegations": .rules(["self", "manageOfficials"]),
        "RevokeDelegation": .rules(["self", "manageOfficials"]),
        "CheckDelegation": .rules(["checkDelegation"]),
        "ListRevokedSessions": .platformOnly,
    ]
}
