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

    /// Read one document: its agency's officials; a classified one (Mật and above) only those
    /// of them whose clearance in identity reaches its level, whatever their role.
    static let readDocument = Rule<Document>(usersOnly: true) { user, document in mayRead(user, document) }

    static func mayRead(_ user: AccessClaims, _ document: Document) -> Bool {
        guard cleared(user, for: document.confidentiality) else { return false }
        return user.worksAt(document.agency) || isAddressee(user, of: document)
    }

    /// Named among a released document's `recipient_people`: they read it wherever they work.
    static func isAddressee(_ user: AccessClaims, of document: Document) -> Bool {
        document.direction == .outgoing && [.released, .recalled].contains(document.state)
            && document.recipientPeople.contains(user.sub)
    }

    /// List the documents addressed to a person (`people/{id}`): the person.
    static let readAddressed = Rule<String>(usersOnly: true) { user, person in user.sub == person }

    /// Open, list and fill an agency's work files (`agencies/{code}`): its officials.
    static let handleFiles = Rule<String> { user, agency in user.worksAt(agency) }

    /// Close a work file: its keeper, or the agency's leaders.
    static let closeFile = Rule<Egov_Documents_V1_CaseFile>(usersOnly: true) { user, file in
        let agency = DocumentRepository.agency(ofCaseFile: file.name)
        return user.worksAt(agency) && (file.keeper == user.sub || user.holds(.leader, at: agency))
    }

    /// Whether `user`'s clearance reaches `level`: Mật needs CLEARANCE_CONFIDENTIAL, Tối mật
    /// CLEARANCE_SECRET, Tuyệt mật CLEARANCE_TOP_SECRET.
    static func cleared(_ user: AccessClaims, for level: Egov_Documents_V1_Confidentiality) -> Bool {
        switch level {
        case .unspecified, .none: true
        case .confidential: user.clearance.rawValue >= Egov_Identity_V1_Clearance.confidential.rawValue
        case .secret: user.clearance.rawValue >= Egov_Identity_V1_Clearance.secret.rawValue
        case .topSecret, .UNRECOGNIZED: user.clearance.rawValue >= Egov_Identity_V1_Clearance.topSecret.rawValue
        }
    }

    /// Mark a document with a confidentiality level (drafting or registering it): someone
    /// cleared for that level, so nobody writes what they could not read back; operators'
    /// tooling too.
    static let classify = Rule<Egov_Documents_V1_Confidentiality> { user, level in cleared(user, for: level) }

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
        "ListAddressedDocuments": .rules(["readAddressed", "readDocument"]),
        "CreateCaseFile": .rules(["handleFiles"]), "GetCaseFile": .rules(["handleFiles", "readDocument"]),
        "ListCaseFiles": .rules(["handleFiles", "readDocument"]),
        "AddCaseFileDocument": .rules(["handleFiles", "readDocument"]), "CloseCaseFile": .rules(["closeFile"]),
    ]
}
