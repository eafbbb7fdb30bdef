import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

typealias Dossier = Egov_Procedures_V1_Dossier
typealias Role = Egov_Identity_V1_Role
typealias Documents = Egov_Documents_V1_DocumentsService.Client<HTTP2ClientTransport.Posix>
typealias Conferences = Egov_Conferences_V1_ConferencesService.Client<HTTP2ClientTransport.Posix>
typealias OfficialDocument = Egov_Documents_V1_Document

/// The platform seen from outside for one scenario: people sign in at the gateway's public
/// port and act through it, so a scenario reads like the feature it tests:
///
///     let citizen = try await scene.citizen()
///     let dossier = try await citizen.files("1.009994.H41")
///     try await centre.accepts(dossier)
struct Scene {
    let stack: Stack
    let identity: Identity
    let procedures: Procedures
    let documents: Documents
    let conferences: Conferences

    /// A citizen who registers with `id` and signs in.
    func citizen(_ id: String = "001090012345", birthDate: String = "1990-03-04") async throws -> Actor {
        let person = try await identity.registerPerson(
            .with {
                $0.person = ServiceTests.citizen(id, birthDate: birthDate); $0.password = goodPassword
            })
        return try await signIn(id, person: person.name)
    }

    /// An official of `agency` holding `roles` (and `clearance` for classified documents),
    /// created by the platform's tooling, signed in.
    func official(
        _ email: String, of agency: String, _ roles: Role..., position: String = "",
        clearance: Egov_Identity_V1_Clearance = .unspecified
    ) async throws -> Actor {
        let name = try await createOfficial(
            stack, email: email, agency: agency, roles: roles, position: position, clearance: clearance)
        return try await signIn(email, person: name)
    }

    func signIn(_ login: String, person: String) async throws -> Actor {
        Actor(name: person, session: try await ServiceTests.signIn(identity, login), scene: self)
    }
}

/// Runs `body` with the whole platform and a client of the gateway's public port.
func withScene<Result: Sendable>(
    engine: Engine = .sqlite, clock: ManualClock? = nil, documentsArguments: [String] = [],
    conferencesArguments: [String] = [], _ body: (Scene) async throws -> Result
) async throws -> Result {
    try await withStack(
        engine: engine, clock: clock, documentsArguments: documentsArguments,
        conferencesArguments: conferencesArguments
    ) { stack in
        try await withPublicClient(port: stack.gatewayPort) { client in
            try await body(
                Scene(
                    stack: stack, identity: Identity(wrapping: client), procedures: Procedures(wrapping: client),
                    documents: Documents(wrapping: client), conferences: Conferences(wrapping: client)))
        }
    }
}

/// One signed-in person and the things people do with dossiers, each one call through the
/// gateway with their session.
struct Actor: Sendable {
    /// `people/{id}`.
    let name: String
    let session: Metadata
    let scene: Scene

    var procedures: Procedures { scene.procedures }
    var identity: Identity { scene.identity }

    /// Files a dossier online for `procedure` (its code), as the applicant.
    func files(_ procedure: String, _ change: (inout Dossier) -> Void = { _ in }) async throws -> Dossier {
        try await procedures.submitDossier(
            .with {
                $0.parent = "procedures/\(procedure)"
                $0.dossier = .with {
                    $0.channel = .online
                    change(&$0)
                }
            }, metadata: session)
    }

    /// Uploads `content` to `dossier` as the paper `requiredDocument` (or as the result).
    @discardableResult
    func attaches(
        _ content: String, to dossier: Dossier, as requiredDocument: String = "",
        kind: Egov_Procedures_V1_Attachment.Kind = .document
    ) async throws -> Egov_Procedures_V1_Attachment {
        try await upload(
            procedures, dossier: dossier.name, type: "application/pdf", content: Array("%PDF-1.7 \(content)".utf8),
            as: session, kind: kind, requiredDocument: requiredDocument)
    }

    /// Takes `action` on `dossier`, the request changed by `change`.
    @discardableResult
    func does(
        _ action: Egov_Procedures_V1_DossierAction, to dossier: Dossier,
        _ change: (inout Egov_Procedures_V1_TransitionDossierRequest) -> Void = { _ in }
    ) async throws -> Dossier {
        try await act(procedures, on: dossier.name, action, as: session, change)
    }

    /// How `action` on `dossier` is refused, or nil when it is not.
    func cannot(
        _ action: Egov_Procedures_V1_DossierAction, _ dossier: Dossier,
        _ change: (inout Egov_Procedures_V1_TransitionDossierRequest) -> Void = { _ in }
    ) async -> Failure? {
        await failure { try await does(action, to: dossier, change) }
    }

    @discardableResult func accepts(_ dossier: Dossier) async throws -> Dossier {
        try await does(.accept, to: dossier)
    }

    @discardableResult func assigns(_ dossier: Dossier, to person: String) async throws -> Dossier {
        try await does(.assign, to: dossier) { $0.assignee = person }
    }

    @discardableResult func handsOver(_ dossier: Dossier, to person: String) async throws -> Dossier {
        try await does(.handOver, to: dossier) { $0.assignee = person }
    }

    @discardableResult func finishes(_ dossier: Dossier) async throws -> Dossier {
        try await does(.finish, to: dossier)
    }

    @discardableResult func returnsResult(_ dossier: Dossier) async throws -> Dossier {
        try await does(.returnResult, to: dossier)
    }

    /// The officials of `agency` holding `role`, from the directory.
    func finds(_ role: Role, at agency: String) async throws -> [Egov_Identity_V1_Person] {
        try await identity.listPeople(
            .with {
                $0.agency = agency; $0.role = role
            }, metadata: session
        ).people
    }

    // MARK: Documents

    var documents: Documents { scene.documents }

    /// Drafts an outgoing document at the official's agency.
    func drafts(
        _ type: Egov_Documents_V1_DocumentType, _ subject: String, at agency: String, to recipients: [String],
        _ change: (inout OfficialDocument) -> Void = { _ in }
    ) async throws -> OfficialDocument {
        try await documents.createDocument(
            .with {
                $0.parent = agency
                $0.document = .with {
                    $0.direction = .outgoing; $0.documentType = type; $0.subject = subject; $0.recipients = recipients
                    change(&$0)
                }
            }, metadata: session)
    }

    /// Takes `action` on `document`, the request changed by `change`.
    @discardableResult
    func does(
        _ action: Egov_Documents_V1_DocumentAction, to document: OfficialDocument,
        _ change: (inout Egov_Documents_V1_TransitionDocumentRequest) -> Void = { _ in }
    ) async throws -> OfficialDocument {
        var request = Egov_Documents_V1_TransitionDocumentRequest.with {
            $0.name = document.name; $0.action = action
        }
        change(&request)
        return try await documents.transitionDocument(request, metadata: session)
    }

    /// How `action` on `document` is refused, or nil when it is not.
    func cannot(
        _ action: Egov_Documents_V1_DocumentAction, _ document: OfficialDocument,
        _ change: (inout Egov_Documents_V1_TransitionDocumentRequest) -> Void = { _ in }
    ) async -> Failure? {
        await failure { try await does(action, to: document, change) }
    }

    /// The agency's documents in `direction`, newest first.
    func documentsOf(_ agency: String, _ direction: OfficialDocument.Direction = .unspecified) async throws
        -> [OfficialDocument]
    {
        try await documents.listDocuments(
            .with {
                $0.parent = agency; $0.direction = direction
            }, metadata: session
        ).documents
    }

    func reads(_ document: OfficialDocument) async throws -> OfficialDocument {
        try await documents.getDocument(.with { $0.name = document.name }, metadata: session)
    }

    /// The dossiers on `agency`'s worklist, as this official sees them.
    func worklist(of agency: String) async throws -> [Dossier] {
        try await procedures.listDossiers(.with { $0.agency = agency }, metadata: session).dossiers
    }
}

/// Uploads `content` to `dossier` in one header message and 1 MiB chunks, as `caller`.
func upload(
    _ procedures: Procedures, dossier: String, type: String, content: [UInt8], as caller: Metadata,
    kind: Egov_Procedures_V1_Attachment.Kind = .document,
    requiredDocument: String = "Đơn đề nghị cấp giấy phép hoạt động"
) async throws -> Egov_Procedures_V1_Attachment {
    try await procedures.uploadAttachment(metadata: caller) { writer in
        try await writer.write(
            .with {
                $0.header = .with {
                    $0.name = dossier
                    $0.fileName = "don-de-nghi.pdf"
                    $0.contentType = type
                    $0.requiredDocument = requiredDocument
                    $0.kind = kind
                }
            })
        var offset = 0
        while offset < content.count {
            let end = min(offset + (1 << 20), content.count)
            try await writer.write(.with { $0.chunk = Data(content[offset..<end]) })
            offset = end
        }
    }
}
