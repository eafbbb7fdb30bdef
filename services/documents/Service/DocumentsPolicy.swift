import EGovAPI
public import EGovKit

/// Who may do what in documents: every rule the handlers ask, and every RPC's entry.
///
/// Officials work on their own agency's documents; a document sent to another agency reaches
/// it as that agency's incoming copy. Every step and every read of a document is a signed-in
/// official's: operators' tooling may create drafts and list an agency's register, no more. Leaders review, approve, sign and direct; clerks (văn
/// thư) number, release, accept and register; the lead a leader names processes. Citizens
/// see none.
public enum DocumentsPolicy {
    typealias Document = Egov_Documents_V1_Document

    /// Draft and list an agency's documents (`agencies/{code}`): its officials.
    static let handleDocuments = Rule<String> { user, agency in user.worksAt(agency) }

    /// Read one document: its agency's officials. A secret one (Mật and above) only its
    /// leaders and clerks, its drafter, signer, lead and coordinators: clearances are not yet
    /// recorded in identity, so the roles stand in for them.
    static let readDocument = Rule<Document>(usersOnly: true) { user, document in mayRead(user, document) }

    static func mayRead(_ user: AccessClaims, _ document: Document) -> Bool {
        guard user.worksAt(document.agency) else { return false }
        if [.none, .unspecified].contains(document.confidentiality) || user.isSystemAdministrator { return true }
        return user.holds(.leader, at: document.agency) || user.holds(.clerk, at: document.agency)
            || [document.creator, document.signer, document.steering.lead].contains(user.sub)
            || document.steering.coordinators.contains(user.sub)
    }

    /// Change a draft: its agency's officials who may read it.
    static let editDraft = Rule<Document>(usersOnly: true) { user, document in mayRead(user, document) }

    /// Register a paper document that arrived (`agencies/{code}`): the agency's clerks.
    static let registerIncoming = Rule<String>(usersOnly: true) { user, agency in
        user.holds(.clerk, at: agency) || user.isSystemAdministrator
    }

    /// Take `action` on a document: the actors `DocumentWorkflow.steps` names for it. Signing
    /// for someone else (`delegated`) is open to the agency's officials here; the handler
    /// then asks identity for the delegation.
    static func transition(_ action: Egov_Documents_V1_DocumentAction) -> Rule<(Document, delegated: Bool)> {
        let allowed = DocumentWorkflow.steps[action]?.actors ?? []
        return Rule(usersOnly: true) { user, subject in
            let (document, delegated) = subject
            guard mayRead(user, document) else { return false }
            var actors = actors(user, on: document)
            if delegated && action == .sign && user.worksAt(document.agency) { actors.insert(.delegate) }
            return !actors.isDisjoint(with: allowed)
        }
    }

    /// The parts `user` plays on `document`.
    static func actors(_ user: AccessClaims, on document: Document) -> Set<DocumentWorkflow.Actor> {
        var actors: Set<DocumentWorkflow.Actor> = []
        if user.worksAt(document.agency) { actors.insert(.official) }
        if user.holds(.leader, at: document.agency) || user.isSystemAdministrator { actors.insert(.leader) }
        if user.holds(.clerk, at: document.agency) || user.isSystemAdministrator { actors.insert(.clerk) }
        if document.hasSteering && document.steering.lead == user.sub { actors.insert(.lead) }
        return actors
    }

    /// Every RPC of `egov.documents.v1.DocumentsService` and who may call it.
    public static let methods: [String: MethodAccess] = [
        "ListDocumentTypes": .anyone,
        "CreateDocument": .rules(["handleDocuments"]), "GetDocument": .rules(["readDocument"]),
        "ListDocuments": .rules(["handleDocuments", "readDocument"]), "UpdateDocument": .rules(["editDraft"]),
        "TransitionDocument": .rules(["transition"]), "RegisterIncomingDocument": .rules(["registerIncoming"]),
        "ListDocumentEvents": .rules(["readDocument"]), "UploadDocumentAttachment": .rules(["editDraft"]),
        "DownloadDocumentAttachment": .rules(["readDocument"]), "VerifyDocument": .rules(["readDocument"]),
        "ExportSignedDocument": .rules(["readDocument"]),
        "SearchDocuments": .rules(["handleDocuments", "readDocument"]),
        "ExportEdxml": .rules(["readDocument"]), "ImportEdxml": .rules(["registerIncoming"]),
    ]
}
