public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import GRPCProtobuf
import SwiftProtobuf

/// People, passwords and sessions: the sign-in half of the identity service.
extension IdentityService {
    public func registerPerson(
        request: Egov_Identity_V1_RegisterPersonRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_Person {
        let (person, login) = try Self.validatedApplicant(request.person)
        if let problem = PasswordPolicy.problem(request.password, login: login) {
            throw Self.errors.invalidArgument("WEAK_PASSWORD", field: "password", problem)
        }
        let hash = try await hasher.hash(request.password)
        // The idempotency record keeps a digest of the request: never of the password.
        var fingerprint = request
        fingerprint.password = ""
        return try await store.idempotentWrite(
            scope: "RegisterPerson", requestID: request.requestID, request: fingerprint, errors: Self.errors
        ) { tx in
            do {
                let created = try await people.insert(person, login: login, passwordHash: hash, in: tx)
                try await audit.append(
                    .init(actor: created.name, action: "register", target: created.name, outcome: "ok"), in: tx)
                return created
            } catch is LoginTaken {
                throw Self.errors.alreadyExists(
                    "PERSON_EXISTS", resource: "people",
                    "Someone is already registered with this \(login.contains("@") ? "e-mail" : "identifier"); sign in instead."
                )
            }
        }
    }

    public func createOfficial(
        request: Egov_Identity_V1_CreateOfficialRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_Person {
        let person = request.person
        try IdentityPolicy.manageOfficials.require(
            person.agency, Self.errors, doing: "create officials of \(person.agency)")
        var violations: [ErrorBuilder.Violation] = []
        if let agencyCode = AgencyCode.code(fromName: person.agency) {
            let agency = try await agencies.agency(code: agencyCode)
            if agency?.state != .active {
                violations.append(.init("person.agency", "agency '\(person.agency)' does not exist or is deactivated"))
            } else if agency?.external == true {
                violations.append(.init("person.agency", "agency '\(person.agency)' works outside the platform"))
            }
        } else {
            violations.append(.init("person.agency", "must be agencies/{code}"))
        }
        if person.displayName.trimmingCharacters(in: .whitespaces).isEmpty || person.displayName.count > 200 {
            violations.append(.init("person.display_name", "is required, at most 200 characters"))
        }
        let login = person.email.trimmingCharacters(in: .whitespaces).lowercased()
        if !Self.isEmail(login) {
            violations.append(.init("person.email", "must be an e-mail address: officials sign in with it"))
        }
        let allowed: Set<Egov_Identity_V1_Role> = [
            .receptionOfficer, .specialist, .leader, .clerk, .agencyAdmin, .systemAdmin,
        ]
        if person.roles.isEmpty || !person.roles.allSatisfy(allowed.contains) {
            violations.append(.init("person.roles", "must list official roles, e.g. ROLE_SPECIALIST"))
        }
        if person.roles.contains(.systemAdmin) && !IdentityPolicy.grantSystemAdministrator.allows() {
            throw Self.errors.permissionDenied(
                "PERMISSION_DENIED", "Only system administrators may create system administrators.")
        }
        if !Egov_Identity_V1_Clearance.allCases.contains(person.clearance) {
            violations.append(.init("person.clearance", "is not a known level"))
        }
        try IdentityPolicy.grantClearance.require(
            person.clearance, Self.errors, doing: "grant a clearance above your own")
        if !person.citizenID.isEmpty {
            do { _ = try CitizenID.validate(person.citizenID, birthDate: person.birthDate) } catch {
                violations.append(.init("person.citizen_id", "\(error)"))
            }
        }
        if let problem = PasswordPolicy.problem(request.password, login: login) {
            violations.append(.init("password", problem))
        }
        let phone = person.phone.isEmpty ? "" : PhoneNumber.normalized(person.phone)
        if phone == nil { violations.append(.init("person.phone", "is not a Vietnamese phone number")) }
        if !violations.isEmpty { throw Self.errors.invalidArgument("INVALID_PERSON", violations) }
        let official = Egov_Identity_V1_Person.with {
            $0.kind = .official
            $0.displayName = person.displayName.trimmingCharacters(in: .whitespaces)
            $0.citizenID = person.citizenID
            $0.birthDate = person.birthDate
            $0.agency = person.agency
            $0.position = person.position
            $0.roles = Array(Set(person.roles)).sorted { $0.rawValue < $1.rawValue }
            $0.clearance = person.clearance
            $0.email = login
            $0.phone = phone ?? ""
        }
        let hash = try await hasher.hash(request.password)
        var fingerprint = request
        fingerprint.password = ""
        return try await store.idempotentWrite(
            scope: "CreateOfficial", requestID: request.requestID, request: fingerprint, errors: Self.errors
        ) { tx in
            do {
                let created = try await people.insert(official, login: login, passwordHash: hash, in: tx)
                try await audit.append(
                    .init(
                        actor: Self.actor, action: "create_official", target: created.name, outcome: "ok",
                        detail:
                            "agency \(created.agency); roles \(created.roleNames.joined(separator: ","))"
                            + "; clearance \(created.clearance.name)"), in: tx)
                return created
            } catch is LoginTaken {
                throw Self.errors.alreadyExists(
                    "PERSON_EXISTS", resource: "people", "An official already signs in with \(login).")
            }
        }
    }

    public func getPerson(
        request: Egov_Identity_V1_GetPersonRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_Person {
        let id = try Self.personID(request.name, field: "name")
        let account = try await people.account(id: id)
        // Unknown and forbidden look the same to users, so ids cannot be probed.
        try IdentityPolicy.readPerson.require(
            (request.name, account?.person.agency), Self.errors, doing: "read this person")
        guard let account else {
            throw Self.errors.notFound(
                "PERSON_NOT_FOUND", resource: request.name, "Person '\(request.name)' does not exist.")
        }
        return account.person
    }

    public func login(request: Egov_Identity_V1_LoginRequest, context: ServerContext) async throws
        -> Egov_Identity_V1_SessionTokens
    {
        let login = Self.normalizedLogin(request.login)
        let address = RequestContext.current?.clientAddress ?? ""
        let accountKey = LoginThrottle.accountKey(login)
        let addressKey = LoginThrottle.addressKey(address)
        if let wait = try await throttle.wait([accountKey, addressKey]) {
            try await audit.record(.init(actor: "anonymous", action: "login", target: accountKey, outcome: "throttled"))
            throw GoogleRPCStatus(
                code: .resourceExhausted, message: "Too many sign-in attempts; try again in \(wait) seconds.",
                details: [
                    .errorInfo(
                        reason: "TOO_MANY_ATTEMPTS", domain: Self.errors.domain,
                        metadata: ["retry_after_seconds": "\(wait)"]),
                    .retryInfo(delay: .seconds(wait)),
                ])
        }
        let account = login.isEmpty ? nil : try await people.account(login: login)
        // Spend the same time whether or not the account exists.
        let matches = try await hasher.verify(request.password, against: account?.passwordHash ?? decoyHash)
        guard let account, matches, account.person.state == .active else {
            try await throttle.recordFailure(key: accountKey, rule: LoginThrottle.account)
            try await throttle.recordFailure(key: addressKey, rule: LoginThrottle.address)
            try await audit.record(
                .init(
                    actor: account?.person.name ?? "anonymous", action: "login",
                    target: account?.person.name ?? accountKey,
                    outcome: "failed"))
            throw Self.loginFailed
        }
        var amr = ["pwd"]
        if !account.totpSecret.isEmpty {
            guard !request.totpCode.isEmpty else {
                throw Self.errors.unauthenticated("TOTP_REQUIRED", "Enter the code from your authenticator app.")
            }
            let id = String(account.person.name.dropFirst("people/".count))
            let accepted: Bool
            if let step = TOTP.matchingStep(request.totpCode, secret: try totpSecret(account.totpSecret, of: id)) {
                accepted = try await store.write { tx in try await people.useTotpStep(id: id, step: step, in: tx) }
            } else {
                accepted = false
            }
            guard accepted else {
                try await throttle.recordFailure(key: accountKey, rule: LoginThrottle.account)
                try await audit.record(
                    .init(
                        actor: account.person.name, action: "login", target: account.person.name,
                        outcome: "wrong TOTP code"))
                throw Self.loginFailed
            }
            amr.append("otp")
        }
        try await throttle.recordSuccess(key: accountKey)
        let person = account.person
        let signedInWith = amr
        let started = try await store.write { tx in
            let started = try await sessions.start(
                person: person.name, lifetime: tokens.refreshLifetime, amr: signedInWith, in: tx)
            try await audit.append(
                .init(
                    actor: person.name, action: "login", target: person.name, outcome: "ok",
                    detail: "session \(started.session)"), in: tx)
            return started
        }
        return try await session(
            for: person, session: started.session, refreshToken: started.token, refreshExpire: started.expire, amr: amr)
    }

    public func refreshSession(
        request: Egov_Identity_V1_RefreshSessionRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_SessionTokens {
        let outcome = try await store.write { tx in
            let outcome = try await sessions.rotate(request.refreshToken, in: tx)
            switch outcome {
            case .rotated(let session, let person, _, _, _):
                try await audit.append(.init(actor: person, action: "refresh", target: session, outcome: "ok"), in: tx)
            case .reused(let session, let person):
                try await audit.append(
                    .init(actor: person, action: "refresh", target: session, outcome: "reuse detected: session ended"),
                    in: tx)
            case .invalid:
                break
            }
            return outcome
        }
        switch outcome {
        case .invalid:
            throw Self.errors.unauthenticated("INVALID_REFRESH_TOKEN", "The refresh token is not valid; sign in again.")
        case .reused(let session, let person):
            logger.warning(
                "refresh token reused: session ended",
                metadata: ["session": .string(session), "person": .string(person)])
            throw Self.errors.unauthenticated(
                "REFRESH_TOKEN_REUSED",
                "This refresh token was already used; the session has been ended. Sign in again.")
        case .rotated(let session, let personName, let token, let expire, let amr):
            guard let account = try await people.account(id: String(personName.dropFirst("people/".count))),
                account.person.state == .active
            else {
                throw Self.errors.unauthenticated(
                    "INVALID_REFRESH_TOKEN", "The refresh token is not valid; sign in again.")
            }
            return try await self.session(
                for: account.person, session: session, refreshToken: token, refreshExpire: expire, amr: amr)
        }
    }

    public func logout(request: Egov_Identity_V1_LogoutRequest, context: ServerContext) async throws
        -> Egov_Identity_V1_LogoutResponse
    {
        guard let found = try await sessions.session(ofToken: request.refreshToken) else {
            throw Self.errors.unauthenticated("INVALID_REFRESH_TOKEN", "The refresh token is not valid.")
        }
        try await store.write { tx in
            try await sessions.end(session: found.session, reason: "logout", in: tx)
            try await audit.append(
                .init(actor: found.person, action: "logout", target: found.session, outcome: "ok"), in: tx)
        }
        tokens.verifier.revoke(session: found.session)
        return .init()
    }

    public func changePassword(
        request: Egov_Identity_V1_ChangePasswordRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_ChangePasswordResponse {
        guard let user = RequestContext.current?.user else {
            throw Self.errors.unauthenticated("AUTHENTICATION_REQUIRED", "Sign in to change your password.")
        }
        guard user.sub == request.name else {
            throw Self.errors.permissionDenied("PERMISSION_DENIED", "You may change only your own password.")
        }
        let id = try Self.personID(request.name, field: "name")
        guard let account = try await people.account(id: id),
            try await hasher.verify(request.currentPassword, against: account.passwordHash)
        else {
            throw Self.errors.invalidArgument(
                "WRONG_PASSWORD", field: "current_password", "is not your current password")
        }
        let login =
            account.person.kind == .official
            ? account.person.email
            : (account.person.citizenID.isEmpty ? account.person.taxCode : account.person.citizenID)
        if let problem = PasswordPolicy.problem(request.newPassword, login: login) {
            throw Self.errors.invalidArgument("WEAK_PASSWORD", field: "new_password", problem)
        }
        let hash = try await hasher.hash(request.newPassword)
        let ended = try await store.write { tx in
            try await people.setPasswordHash(id: id, hash, in: tx)
            let ended = try await sessions.endAll(
                person: request.name, keeping: user.sid, reason: "password changed", in: tx)
            try await audit.append(
                .init(
                    actor: user.sub, action: "change_password", target: request.name, outcome: "ok",
                    detail: "\(ended.count) sessions ended"), in: tx)
            return ended
        }
        for session in ended { tokens.verifier.revoke(session: session) }
        return .with { $0.endedSessions = Int32(ended.count) }
    }

    public func beginTotpEnrollment(
        request: Egov_Identity_V1_BeginTotpEnrollmentRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_TotpEnrollment {
        let user = try Self.requireSelf(request.name)
        let id = try Self.personID(request.name, field: "name")
        guard let account = try await people.account(id: id) else {
            throw Self.errors.notFound(
                "PERSON_NOT_FOUND", resource: request.name, "Person '\(request.name)' does not exist.")
        }
        if account.person.twoFactorEnabled && !user.hasSecondFactor {
            throw Self.errors.permissionDenied(
                "TOTP_REQUIRED", "Sign in with your current authenticator code to enroll a new one.")
        }
        let secret = TOTP.base32(TOTP.newSecret())
        let sealed = try secrets.seal(secret, for: PersonRepository.totpContext(id: id))
        try await store.write { tx in try await people.setPendingTotp(id: id, secret: sealed, in: tx) }
        let label =
            (account.person.email.isEmpty ? account.person.name : account.person.email)
            .addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? ""
        return .with {
            $0.secret = secret
            $0.otpauthUri =
                "otpauth://totp/egov:\(label)?secret=\(secret)&issuer=egov&algorithm=SHA1&digits=6&period=30"
        }
    }

    /// The TOTP secret stored (sealed) for person `id`; empty, so no code matches, when it
    /// cannot be opened (sealed with another secrets key), which is logged for the operators.
    func totpSecret(_ stored: String, of id: String) throws -> [UInt8] {
        do {
            return TOTP.decodeBase32(try secrets.open(stored, for: PersonRepository.totpContext(id: id))) ?? []
        } catch {
            logger.error(
                "a second-factor secret cannot be opened; check secrets.key_file", metadata: ["person": .string(id)])
            return []
        }
    }

    public func confirmTotpEnrollment(
        request: Egov_Identity_V1_ConfirmTotpEnrollmentRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_Person {
        let user = try Self.requireSelf(request.name)
        let id = try Self.personID(request.name, field: "name")
        guard let account = try await people.account(id: id), !account.totpPending.isEmpty else {
            throw Self.errors.failedPrecondition("NO_ENROLLMENT", "Call BeginTotpEnrollment first.")
        }
        guard let step = TOTP.matchingStep(request.code, secret: try totpSecret(account.totpPending, of: id)) else {
            throw Self.errors.invalidArgument(
                "WRONG_CODE", field: "code", "does not match the new secret; check the app's clock")
        }
        try await store.write { tx in
            try await people.enableTotp(id: id, step: step, in: tx)
            try await audit.append(
                .init(actor: user.sub, action: "enable_totp", target: request.name, outcome: "ok"), in: tx)
        }
        return try await people.account(id: id)!.person
    }

    public func getSigningKeys(
        request: Egov_Identity_V1_GetSigningKeysRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_SigningKeys {
        .with {
            $0.keys = tokens.publishedKeys.map { published in
                .with {
                    $0.kid = published.kid
                    $0.kty = "OKP"
                    $0.crv = "Ed25519"
                    $0.x = Base64URL.encode(published.key.rawRepresentation)
                    $0.alg = AccessToken.algorithm
                    $0.use = "sig"
                }
            }
        }
    }

    public func listRevokedSessions(
        request: Egov_Identity_V1_ListRevokedSessionsRequest, context: ServerContext
    ) async throws -> Egov_Identity_V1_ListRevokedSessionsResponse {
        // Every platform process polls this for itself (the gateway too), never for a user.
        guard let current = RequestContext.current, current.user == nil, current.caller?.hasPrefix("egov-") == true
        else {
            throw Self.errors.permissionDenied("PERMISSION_DENIED", "Only platform services list revoked sessions.")
        }
        let since = RevokedSessions.windowStart(now: store.clock.micros)
        let ended = try await sessions.ended(since: since)
        return .with {
            $0.sessions = ended
            $0.since = .init(micros: since)
        }
    }

    // MARK: Helpers

    /// Who is acting, for the audit log: the user, or the platform process calling.
    static var actor: String { RequestContext.actor }

    static let loginFailed = errors.unauthenticated("LOGIN_FAILED", "The login or the password is wrong.")

    func session(
        for person: Egov_Identity_V1_Person, session: String, refreshToken: String, refreshExpire: Int64, amr: [String]
    ) async throws -> Egov_Identity_V1_SessionTokens {
        let access = try await tokens.accessToken(for: person, session: session, amr: amr)
        return .with {
            $0.accessToken = access.token
            $0.accessTokenExpireTime = Google_Protobuf_Timestamp(seconds: access.expire)
            $0.refreshToken = refreshToken
            $0.refreshTokenExpireTime = Google_Protobuf_Timestamp(micros: refreshExpire)
            $0.person = person.name
        }
    }

    /// Citizen ids and tax codes as typed; e-mail addresses in lower case.
    static func normalizedLogin(_ login: String) -> String {
        let trimmed = login.trimmingCharacters(in: .whitespaces)
        return trimmed.contains("@") ? trimmed.lowercased() : trimmed
    }

    static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !text.contains(" ")
            && text.count <= 254
    }

    static func personID(_ name: String, field: String) throws -> String {
        let id = name.hasPrefix("people/") ? String(name.dropFirst("people/".count)) : ""
        guard !id.isEmpty, id.count <= 64, !id.contains("/") else {
            throw errors.invalidArgument("INVALID_PERSON_NAME", field: field, "must be people/{id}, got '\(name)'")
        }
        return id
    }

    /// Checks a self-registration; returns the person to store and their login.
    static func validatedApplicant(_ input: Egov_Identity_V1_Person) throws -> (Egov_Identity_V1_Person, String) {
        var violations: [ErrorBuilder.Violation] = []
        var login = ""
        var role = Egov_Identity_V1_Role.citizen
        switch input.kind {
        case .citizen:
            do {
                _ = try CitizenID.validate(input.citizenID, birthDate: input.birthDate)
                login = input.citizenID
            } catch {
                violations.append(.init("person.citizen_id", "\(error)"))
            }
        case .business, .householdBusiness:
            role = .business
            if TaxCode.isValid(input.taxCode) {
                login = input.taxCode
            } else {
                violations.append(
                    .init("person.tax_code", "must be a tax code with a valid check digit (10 digits, or 10-3)"))
            }
        default:
            violations.append(.init("person.kind", "must be KIND_CITIZEN, KIND_BUSINESS or KIND_HOUSEHOLD_BUSINESS"))
        }
        let name = input.displayName.trimmingCharacters(in: .whitespaces)
        if name.isEmpty || name.count > 200 {
            violations.append(.init("person.display_name", "is required, at most 200 characters"))
        }
        if !input.email.isEmpty && !isEmail(input.email) {
            violations.append(.init("person.email", "is not an e-mail address"))
        }
        let phone = input.phone.isEmpty ? "" : PhoneNumber.normalized(input.phone)
        if phone == nil { violations.append(.init("person.phone", "is not a Vietnamese phone number")) }
        if !violations.isEmpty { throw errors.invalidArgument("INVALID_PERSON", violations) }
        let person = Egov_Identity_V1_Person.with {
            $0.kind = input.kind
            $0.displayName = name
            $0.citizenID = input.kind == .citizen ? input.citizenID : ""
            $0.birthDate = input.kind == .citizen ? input.birthDate : ""
            $0.taxCode = input.kind == .citizen ? "" : input.taxCode
            $0.roles = [role]
            $0.email = input.email.lowercased()
            $0.phone = phone ?? ""
        }
        return (person, login)
    }
}
