public import EGovAPI
import GRPCCore
public import GRPCProtobuf

/// Who may do one thing to one subject (an agency, a person, a dossier): the single mechanism
/// every service writes its policy file in (`<Service>Policy.swift` beside the service), and
/// the one question handlers ask (`rule.require(subject, ...)`).
///
/// Services judge every call themselves (zero trust: the gateway is not the only guard):
/// - a signed-in user, relayed with a verified access token, by `users`;
/// - a platform service acting for no user, by its certificate: only where `services` names
///   it (least privilege, as X-Road's access rights); a service acting for a user passes the
///   user's token and is judged as the user;
/// - operators' tooling (a platform certificate of no service) may act for no user;
/// - anyone else (no certificate of ours, or the public gateway relaying an anonymous
///   caller) is UNAUTHENTICATED.
public struct Rule<Subject>: Sendable {
    let users: @Sendable (AccessClaims, Subject) -> Bool
    let services: Set<String>
    /// Only signed-in users: nobody acts for no user (rating a service, one's own account).
    let usersOnly: Bool

    public init(
        usersOnly: Bool = false, services: Set<String> = [], users: @escaping @Sendable (AccessClaims, Subject) -> Bool
    ) {
        self.users = users
        self.services = services
        self.usersOnly = usersOnly
    }

    /// Throws unless the current caller may do it to `subject`: UNAUTHENTICATED (reason
    /// AUTHENTICATION_REQUIRED) without a user or a platform certificate, PERMISSION_DENIED
    /// otherwise. `description` completes "You may not ...".
    public func require(_ subject: Subject, _ errors: ErrorBuilder, doing description: String) throws {
        switch Access.verdict(self, subject) {
        case .allowed: return
        case .anonymous:
            throw errors.unauthenticated("AUTHENTICATION_REQUIRED", "Signing in is required to \(description).")
        case .denied: throw errors.permissionDenied("PERMISSION_DENIED", "You may not \(description).")
        }
    }

    /// Whether the current caller may do it to `subject` (to choose a view or filter a list).
    public func allows(_ subject: Subject) -> Bool { Access.verdict(self, subject) == .allowed }
}

extension Rule where Subject == Void {
    public func require(_ errors: ErrorBuilder, doing description: String) throws {
        try require((), errors, doing: description)
    }
    public func allows() -> Bool { allows(()) }
}

/// The callers the transport names.
public enum Access {
    /// The common name of the public gateway's certificate: it relays users, never acts itself.
    public static let gateway = "egov-gateway"

    /// The platform's services: acting for no user, each may do only what the callee's policy
    /// names it for.
    public static let platformServices: Set<String> = [
        "egov-identity", "egov-documents", "egov-procedures", "egov-conferences",
    ]

    enum Verdict { case allowed, denied, anonymous }

    static func verdict<Subject>(_ rule: Rule<Subject>, _ subject: Subject) -> Verdict {
        let current = RequestContext.current
        if let user = current?.user { return rule.users(user, subject) ? .allowed : .denied }
        guard let caller = current?.caller, caller != gateway else { return .anonymous }
        if rule.usersOnly { return .denied }
        if platformServices.contains(caller) { return rule.services.contains(caller) ? .allowed : .denied }
        return .allowed
    }
}

extension AccessClaims {
    /// Whether the token grants `role`.
    public func holds(_ role: Egov_Identity_V1_Role) -> Bool { roles.contains(role.name) }

    /// Administrators act as administrators only in sessions opened with a second factor.
    public var hasSecondFactor: Bool { amr?.contains("otp") == true }

    /// A system administrator in a session opened with a second factor: may do anything.
    public var isSystemAdministrator: Bool { holds(.systemAdmin) && hasSecondFactor }

    /// Administers `agency`'s officials and settings (its agency administrators, with the
    /// second factor), or the whole platform.
    public func administers(_ agency: String) -> Bool {
        isSystemAdministrator || (holds(.agencyAdmin) && hasSecondFactor && self.agency == agency)
    }

    /// Works on `agency`'s files (documents, dossiers): its specialists, clerks, leaders and
    /// reception officers; system administrators too.
    public func worksAt(_ agency: String) -> Bool {
        isSystemAdministrator
            || (self.agency == agency && [.specialist, .clerk, .leader, .receptionOfficer].contains { holds($0) })
    }

    /// Holds `role` in `agency`.
    public func holds(_ role: Egov_Identity_V1_Role, at agency: String) -> Bool { self.agency == agency && holds(role) }

    /// The clearance the token carries; none when absent or unknown.
    public var clearance: Egov_Identity_V1_Clearance {
        clr.flatMap { name in Egov_Identity_V1_Clearance.allCases.first { $0.name == name } } ?? .unspecified
    }

    /// An official of some agency (any role in one), as opposed to a citizen or business.
    public var isOfficial: Bool { agency?.isEmpty == false }
}

extension ErrorBuilder {
    public func unauthenticated(_ reason: String, _ message: String) -> GoogleRPCStatus {
        GoogleRPCStatus(
            code: .unauthenticated, message: message,
            details: [.errorInfo(reason: reason, domain: domain, metadata: [:])]
        )
    }
}
