import GRPCCore
public import GRPCProtobuf

/// Who is calling, as far as a service can tell on its own (zero trust: the gateway is not
/// the only guard).
public enum Access {
    /// The common name of the public gateway's certificate.
    public static let gateway = "egov-gateway"

    /// Allows only platform-internal callers: processes holding a certificate of the
    /// platform CA other than the public gateway. Signed-in users, relayed by the gateway
    /// with a verified access token, are admitted once the identity service issues tokens;
    /// until then, anything the gateway relays for an anonymous user is refused here.
    public static func requireInternalCaller(_ errors: ErrorBuilder, action: String) throws {
        guard let caller = RequestContext.current?.caller, caller != gateway else {
            throw errors.unauthenticated(
                "AUTHENTICATION_REQUIRED", "Signing in is required to \(action).")
        }
        // A platform service acting for no user may only make the calls it needs; other
        // platform certificates are the operators' tooling.
        if let allowed = serviceCalls[caller], !allowed.contains(RequestContext.current?.method ?? "") {
            throw errors.permissionDenied(
                "PERMISSION_DENIED", "\(caller) may not \(action) for no user; the call must carry the user's token.")
        }
    }

    /// What each platform service may call on the others acting for no user (least
    /// privilege, as X-Road's access rights): the directory lookups behind its own checks.
    /// A service acting for a user passes the user's token and is judged as the user.
    public static let serviceCalls: [String: Set<String>] = [
        "egov-documents": ["/egov.identity.v1.IdentityService/GetAgency"],
        "egov-procedures": [
            "/egov.identity.v1.IdentityService/GetAgency", "/egov.identity.v1.IdentityService/GetPerson",
        ],
        "egov-conferences": ["/egov.identity.v1.IdentityService/GetAgency"],
        "egov-identity": [],
    ]

    /// Allows platform-internal callers acting for no user, and signed-in users whom
    /// `Permissions` allow `action`. Anonymous calls are UNAUTHENTICATED, users without the
    /// permission PERMISSION_DENIED.
    public static func require(_ action: Action, _ errors: ErrorBuilder, doing description: String) throws {
        let current = RequestContext.current
        if let user = current?.user {
            guard Permissions.allows(user, action) else {
                throw errors.permissionDenied("PERMISSION_DENIED", "You may not \(description).")
            }
            return
        }
        try requireInternalCaller(errors, action: description)
    }
}

extension ErrorBuilder {
    public func unauthenticated(_ reason: String, _ message: String) -> GoogleRPCStatus {
        GoogleRPCStatus(
            code: .unauthenticated, message: message,
            details: [.errorInfo(reason: reason, domain: domain, metadata: [:])])
    }
}
