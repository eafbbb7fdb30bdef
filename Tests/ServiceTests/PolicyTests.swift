import EGovAPI
import EGovKit
import GRPCCore
import GRPCProtobuf
import GatewayService
import SwiftProtobuf
import Testing

@testable import ConferencesService
@testable import DocumentsService
@testable import IdentityService
@testable import ProceduresService

/// Every service's policy table: each RPC has an entry, the public ones are exactly those the
/// gateway lets through without a token, and each rule admits and refuses the callers listed
/// for it.
@Suite struct PolicyTests {
    static let tables: [(service: String, methods: [String: MethodAccess])] = [
        ("egov.identity.v1.IdentityService", IdentityPolicy.methods),
        ("egov.procedures.v1.ProceduresService", ProceduresPolicy.methods),
        ("egov.documents.v1.DocumentsService", DocumentsPolicy.methods),
        ("egov.conferences.v1.ConferencesService", ConferencesPolicy.methods),
    ]

    @Test func everyMethodHasAnEntryAndPublicMeansPublicAtTheGateway() throws {
        let files = try Google_Protobuf_FileDescriptorSet.committed().file
        for (service, methods) in Self.tables {
            let name = String(service.split(separator: ".").last!)
            let package = service.split(separator: ".").dropLast().joined(separator: ".")
            let declared = files.filter { $0.package == package }.flatMap(\.service).filter { $0.name == name }
                .flatMap(\.method).map(\.name)
            #expect(
                Set(declared) == Set(methods.keys), "\(service): methods without an entry or entries without a method")
            let open = Set(methods.filter { $0.value == .anyone }.keys.map { "\(service)/\($0)" })
            #expect(open == RouteTable.publicMethods.filter { $0.hasPrefix(service + "/") }, "\(service)")
        }
    }

    // MARK: The rules, caller by caller

    static let health = "agencies/000.00.06.H41"
    static let centre = "agencies/000.00.14.H41"

    static func user(
        _ roles: [Egov_Identity_V1_Role], agency: String? = nil, sub: String = "people/u", secondFactor: Bool = true
    )
        -> AccessClaims
    {
        AccessClaims(
            iss: "i", aud: "a", sub: sub, iat: 0, nbf: 0, exp: 0, jti: "", sid: "", roles: roles.map(\.name),
            agency: agency,
            amr: secondFactor ? ["pwd", "otp"] : ["pwd"])
    }

    static let citizen = user([.citizen], sub: "people/citizen")
    static let business = user([.business], sub: "people/business")
    static let centreDesk = user([.receptionOfficer], agency: centre, sub: "people/desk")
    static let specialist = user([.specialist], agency: health, sub: "people/specialist")
    static let otherSpecialist = user([.specialist], agency: health, sub: "people/other")
    static let leader = user([.leader], agency: health, sub: "people/leader")
    static let healthAdmin = user([.agencyAdmin], agency: health, sub: "people/admin")
    static let healthAdminWithoutOTP = user([.agencyAdmin], agency: health, sub: "people/admin", secondFactor: false)
    static let systemAdmin = user([.systemAdmin], agency: "agencies/000.00.00.H41", sub: "people/root")
    static let clerkElsewhere = user([.clerk], agency: "agencies/000.00.07.H41", sub: "people/clerk")

    /// Whether `rule` admits `user` for `subject`, asked as a handler asks it.
    static func admits<Subject>(_ rule: Rule<Subject>, _ subject: Subject, _ user: AccessClaims) -> Bool {
        var context = RequestContext(requestID: "r", method: "m", caller: Access.gateway)
        context.user = user
        return RequestContext.$current.withValue(context) { rule.allows(subject) }
    }

    static func check<Subject>(
        _ name: String, _ rule: Rule<Subject>, _ subject: Subject, allowed: [AccessClaims], denied: [AccessClaims]
    ) {
        for user in allowed { #expect(admits(rule, subject, user), "\(name) should admit \(user.sub)") }
        for user in denied { #expect(!admits(rule, subject, user), "\(name) should refuse \(user.sub)") }
    }

    @Test func identity() {
        let everyone = [
            Self.citizen, Self.business, Self.centreDesk, Self.specialist, Self.leader, Self.healthAdmin,
            Self.healthAdminWithoutOTP, Self.systemAdmin, Self.clerkElsewhere,
        ]
        func others(_ allowed: [AccessClaims]) -> [AccessClaims] {
            everyone.filter { user in !allowed.contains { $0.sub == user.sub && $0.amr == user.amr } }
        }
        Self.check(
            "manageAgencies", IdentityPolicy.manageAgencies, (), allowed: [Self.systemAdmin],
            denied: others([Self.systemAdmin]))
        Self.check(
            "manageOfficials", IdentityPolicy.manageOfficials, Self.health,
            allowed: [Self.healthAdmin, Self.systemAdmin],
            denied: others([Self.healthAdmin, Self.systemAdmin]))
        Self.check(
            "readPerson (an official of Health)", IdentityPolicy.readPerson, ("people/specialist", Self.health),
            allowed: [Self.specialist, Self.healthAdmin, Self.systemAdmin],
            denied: others([Self.specialist, Self.healthAdmin, Self.systemAdmin]))
        Self.check(
            "readPerson (a citizen)", IdentityPolicy.readPerson, ("people/citizen", nil),
            allowed: [Self.citizen, Self.systemAdmin],
            denied: others([Self.citizen, Self.systemAdmin]))
        Self.check(
            "readDirectory", IdentityPolicy.readDirectory, Self.health,
            allowed: [
                Self.centreDesk, Self.specialist, Self.leader, Self.healthAdmin, Self.clerkElsewhere, Self.systemAdmin,
            ],
            denied: [Self.citizen, Self.business])
        Self.check(
            "checkDelegation", IdentityPolicy.checkDelegation, Self.health,
            allowed: [Self.specialist, Self.leader, Self.healthAdmin],
            denied: [Self.citizen, Self.centreDesk, Self.clerkElsewhere])
    }

    @Test func procedures() {
        let dossier = Egov_Procedures_V1_Dossier.with {
            $0.agency = Self.centre
            $0.decidingAgency = Self.health
            $0.applicant = "people/citizen"
            $0.channel = .online
            $0.assignee = "people/specialist"
        }
        Self.check(
            "fileOnline", ProceduresPolicy.fileOnline, (), allowed: [Self.citizen, Self.business],
            denied: [Self.centreDesk, Self.specialist, Self.systemAdmin])
        Self.check(
            "fileAtDesk", ProceduresPolicy.fileAtDesk, [Self.centre], allowed: [Self.centreDesk],
            denied: [Self.citizen, Self.specialist, Self.leader, Self.user([.receptionOfficer], agency: Self.health)])
        Self.check(
            "readDossier", ProceduresPolicy.readDossier, dossier,
            allowed: [
                Self.citizen, Self.centreDesk, Self.specialist, Self.otherSpecialist, Self.leader, Self.systemAdmin,
            ],
            denied: [Self.business, Self.clerkElsewhere, Self.healthAdmin])
        Self.check(
            "attachResult", ProceduresPolicy.attachResult, dossier, allowed: [Self.specialist, Self.leader],
            denied: [Self.citizen, Self.centreDesk, Self.clerkElsewhere])
        Self.check(
            "issueApology", ProceduresPolicy.issueApology, dossier, allowed: [Self.centreDesk, Self.leader],
            denied: [Self.citizen, Self.clerkElsewhere])
        Self.check(
            "rateDossier", ProceduresPolicy.rateDossier, dossier, allowed: [Self.citizen],
            denied: [Self.centreDesk, Self.leader, Self.systemAdmin])
        Self.check(
            "manageCatalogue", ProceduresPolicy.manageCatalogue, Self.health,
            allowed: [Self.healthAdmin, Self.systemAdmin],
            denied: [Self.healthAdminWithoutOTP, Self.leader, Self.citizen])
        Self.check(
            "manageCalendar", ProceduresPolicy.manageCalendar, (), allowed: [Self.systemAdmin],
            denied: [Self.healthAdmin, Self.leader, Self.citizen])
        Self.check(
            "readProvinceFigures", ProceduresPolicy.readProvinceFigures, (), allowed: [Self.systemAdmin],
            denied: [Self.leader, Self.healthAdmin])
        Self.check(
            "handleDossiers", ProceduresPolicy.handleDossiers, Self.centre,
            allowed: [Self.centreDesk, Self.systemAdmin],
            denied: [Self.leader, Self.citizen])
        // The workflow: who takes which action on this dossier (received at the centre, decided by Health).
        let table: [(Egov_Procedures_V1_DossierAction, allowed: [AccessClaims], denied: [AccessClaims])] = [
            (
                .accept, [Self.centreDesk],
                [Self.leader, Self.specialist, Self.citizen, Self.user([.receptionOfficer], agency: Self.health)]
            ),
            (.assign, [Self.leader], [Self.centreDesk, Self.specialist, Self.citizen]),
            (
                .requestSupplement, [Self.centreDesk, Self.specialist, Self.leader],
                [Self.otherSpecialist, Self.citizen]
            ),
            (.supplement, [Self.citizen], [Self.centreDesk, Self.leader]),
            (.finish, [Self.leader], [Self.specialist, Self.centreDesk, Self.systemAdmin]),
            (.returnResult, [Self.centreDesk], [Self.leader, Self.specialist]),
            (.withdraw, [Self.citizen], [Self.leader, Self.centreDesk]),
            (.stop, [Self.leader], [Self.centreDesk, Self.specialist, Self.citizen]),
            (.handOver, [Self.specialist, Self.leader], [Self.centreDesk, Self.otherSpecialist, Self.citizen]),
        ]
        for (action, allowed, denied) in table {
            Self.check("\(action)", ProceduresPolicy.transition(action), dossier, allowed: allowed, denied: denied)
        }
        // Where an agency receives its own dossiers, its reception officers assign too.
        var own = dossier
        own.agency = Self.health
        let healthDesk = Self.user([.receptionOfficer], agency: Self.health)
        Self.check(
            "assign (own desk)", ProceduresPolicy.transition(.assign), own, allowed: [healthDesk, Self.leader],
            denied: [Self.centreDesk])
        // Actions the platform records itself are nobody's to take.
        Self.check(
            "markOverdue", ProceduresPolicy.transition(.markOverdue), dossier, allowed: [],
            denied: [Self.centreDesk, Self.leader, Self.systemAdmin])
    }

    static func user(_ roles: [Egov_Identity_V1_Role], agency: String?) -> AccessClaims {
        user(roles, agency: agency, sub: "people/\(roles.first.map { $0.name } ?? "x")")
    }

    /// Platform services acting for no user: procedures reads persons, and changes nobody.
    @Test func servicesActingForNoUserDoOnlyWhatTheCalleeAllows() {
        func allows<Subject>(_ rule: Rule<Subject>, _ subject: Subject, caller: String) -> Bool {
            RequestContext.$current.withValue(RequestContext(requestID: "r", method: "m", caller: caller)) {
                rule.allows(subject)
            }
        }
        let official = ("people/specialist", Optional(Self.health))
        #expect(allows(IdentityPolicy.readPerson, official, caller: "egov-procedures"))
        #expect(allows(IdentityPolicy.readPerson, official, caller: "egov-documents"))
        #expect(allows(IdentityPolicy.readPerson, official, caller: "egov-conferences"))
        #expect(!allows(IdentityPolicy.updatePerson, official, caller: "egov-procedures"))
        #expect(!allows(IdentityPolicy.updatePerson, official, caller: "egov-conferences"))
        #expect(allows(IdentityPolicy.updatePerson, official, caller: "egov-tester"))
        #expect(!allows(ProceduresPolicy.rateDossier, Egov_Procedures_V1_Dossier(), caller: "egov-tester"))
    }

    @Test func documentsAndConferences() {
        Self.check(
            "handleDocuments", DocumentsPolicy.handleDocuments, Self.health,
            allowed: [Self.specialist, Self.leader, Self.systemAdmin],
            denied: [Self.healthAdmin, Self.clerkElsewhere, Self.citizen, Self.centreDesk])
        // Who takes each step of a document's life at the Department of Health.
        let healthClerk = Self.user([.clerk], agency: Self.health, sub: "people/healthclerk")
        let draft = Egov_Documents_V1_Document.with {
            $0.agency = Self.health; $0.creator = Self.specialist.sub; $0.confidentiality = .none
        }
        Self.check(
            "transition(approve)", DocumentsPolicy.transition(.approve), (draft, delegated: false),
            allowed: [Self.leader, Self.systemAdmin], denied: [Self.specialist, healthClerk, Self.healthAdmin])
        Self.check(
            "transition(sign) for a leader", DocumentsPolicy.transition(.sign), (draft, delegated: true),
            allowed: [Self.leader, Self.specialist], denied: [Self.clerkElsewhere, Self.citizen])
        Self.check(
            "transition(sign)", DocumentsPolicy.transition(.sign), (draft, delegated: false),
            allowed: [Self.leader], denied: [Self.specialist, healthClerk])
        Self.check(
            "transition(release)", DocumentsPolicy.transition(.release), (draft, delegated: false),
            allowed: [healthClerk], denied: [Self.specialist, Self.leader, Self.clerkElsewhere])
        var directed = draft
        directed.steering = .with { $0.lead = Self.otherSpecialist.sub }
        Self.check(
            "transition(start)", DocumentsPolicy.transition(.start), (directed, delegated: false),
            allowed: [Self.otherSpecialist], denied: [Self.specialist, Self.leader])
        Self.check(
            "transition(finish)", DocumentsPolicy.transition(.finish), (directed, delegated: false),
            allowed: [Self.otherSpecialist, Self.leader], denied: [Self.specialist, healthClerk])
        // Classified documents: the clearance decides, not the role or a part in the document.
        var secret = draft
        secret.confidentiality = .secret
        func cleared(_ user: AccessClaims, _ level: Egov_Identity_V1_Clearance) -> AccessClaims {
            var user = user
            user.clr = level.name
            return user
        }
        Self.check(
            "readDocument(secret)", DocumentsPolicy.readDocument, secret,
            allowed: [cleared(Self.otherSpecialist, .secret), cleared(healthClerk, .topSecret)],
            denied: [
                Self.specialist, Self.leader, healthClerk, Self.systemAdmin, cleared(Self.leader, .confidential),
                cleared(Self.clerkElsewhere, .topSecret),
            ])
        Self.check(
            "classify(secret)", DocumentsPolicy.classify, .secret, allowed: [cleared(Self.specialist, .secret)],
            denied: [Self.leader, cleared(Self.leader, .confidential)])
        Self.check(
            "registerIncoming", DocumentsPolicy.registerIncoming, Self.health,
            allowed: [healthClerk, Self.systemAdmin], denied: [Self.specialist, Self.leader, Self.clerkElsewhere])
        Self.check(
            "manageBridgePoints", ConferencesPolicy.manageBridgePoints, Self.health,
            allowed: [Self.healthAdmin, Self.systemAdmin],
            denied: [Self.healthAdminWithoutOTP, Self.leader, Self.citizen])
    }
}
