public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import GRPCProtobuf
import SwiftProtobuf

/// The documents service's RPCs.
public struct DocumentsService: Egov_Documents_V1_DocumentsService.SimpleServiceProtocol {
    public typealias Document = Egov_Documents_V1_Document
    let documents: DocumentRepository
    let caseFiles: CaseFileRepository
    let agencies: any AgencyDirectory
    let people: any PersonDirectory
    let delegations: any DelegationDirectory
    /// The documents' files, by SHA-256.
    let files: FileStore
    /// Signs and checks signatures; nil when no signing CA is configured.
    let signer: DocumentSigner?
    let store: Store
    static let errors = ErrorBuilder(domain: "documents.egov")
    /// The most agencies one document is released to.
    static let maxRecipients = 200

    init(
        store: Store, agencies: any AgencyDirectory, people: any PersonDirectory,
        delegations: any DelegationDirectory, signer: DocumentSigner?, files: FileStore
    ) {
        self.store = store
        self.signer = signer
        self.files = files
        self.agencies = agencies
        self.people = people
        self.delegations = delegations
        self.documents = DocumentRepository(store: store)
        self.caseFiles = CaseFileRepository(store: store)
    }

    public func createDocument(
        request: Egov_Documents_V1_CreateDocumentRequest, context: ServerContext
    ) async throws -> Document {
        let agencyCode = try Self.errors.agencyCode(fromName: request.parent, field: "parent")
        try DocumentsPolicy.handleDocuments.require(
            request.parent, Self.errors, doing: "create documents of \(request.parent)")
        var document = try Self.validated(request.document)
        try Self.requireClassifiable(document.confidentiality, field: "document.confidentiality")
        _ = try await agencies.requireActive(request.parent, field: "parent", isParent: true, errors: Self.errors)
        try await requireRecipients(document.recipients, sender: request.parent, field: "document.recipients")
        try await requireReplaceable(document.replaces, at: request.parent, field: "document.replaces")
        try await requireAnswerable(document.inReplyTo, at: request.parent, field: "document.in_reply_to")
        try await requirePeople(document.recipientPeople, field: "document.recipient_people")
        if !document.copyOf.isEmpty { document = try await copy(of: document, at: request.parent) }
        document.creator = RequestContext.actor
        let draft = document
        return try await store.idempotentWrite(
            scope: "CreateDocument", requestID: request.requestID, request: request, errors: Self.errors
        ) { tx in
            try await documents.insert(draft, agencyCode: agencyCode, id: UUID().uuidString.lowercased(), in: tx)
        }
    }

    public func getDocument(
        request: Egov_Documents_V1_GetDocumentRequest, context: ServerContext
    ) async throws -> Document {
        var document = try await visibleDocument(request.name, field: "name")
        if DocumentsPolicy.handleFiles.allows(document.agency) {
            let (agencyCode, id) = DocumentRepository.parts(document.name)
            document.caseFiles = try await caseFiles.files(holding: id, agencyCode: agencyCode)
        }
        return document
    }

    public func listAddressedDocuments(
        request: Egov_Documents_V1_ListAddressedDocumentsRequest, context: ServerContext
    ) async throws -> Egov_Documents_V1_ListDocumentsResponse {
        guard request.parent.hasPrefix("people/"), request.parent.count > "people/".count,
            request.parent.utf8.count <= 100
        else { throw Self.errors.invalidArgument("INVALID_PARENT", field: "parent", "must be people/{person}") }
        try DocumentsPolicy.readAddressed.require(
            request.parent, Self.errors, doing: "list the documents addressed to \(request.parent)")
        let size = try Self.errors.pageSize(request.pageSize)
        var query = DocumentRepository.Query(agencyCode: "", addressedTo: request.parent, limit: size + 1)
        return try await page(of: &query, token: request.pageToken, filter: "addressed=\(request.parent)", size: size)
    }

    public func listDocuments(
        request: Egov_Documents_V1_ListDocumentsRequest, context: ServerContext
    ) async throws -> Egov_Documents_V1_ListDocumentsResponse {
        let agencyCode = try Self.errors.agencyCode(fromName: request.parent, field: "parent")
        try DocumentsPolicy.handleDocuments.require(request.parent, Self.errors, doing: "list this agency's documents")
        let size = try Self.errors.pageSize(request.pageSize)
        if !Document.Direction.allCases.contains(request.direction) {
            throw Self.errors.invalidArgument("INVALID_DIRECTION", field: "direction", "is not a known direction")
        }
        if let index = request.states.firstIndex(where: { !Document.State.allCases.contains($0) || $0 == .unspecified })
        {
            throw Self.errors.invalidArgument("INVALID_STATE", field: "states[\(index)]", "is not a known state")
        }
        let filter =
            "parent=\(request.parent) direction=\(request.direction.rawValue) "
            + "states=\(request.states.map { String($0.rawValue) }.joined(separator: ",")) overdue=\(request.overdueOnly)"
        var query = DocumentRepository.Query(
            agencyCode: agencyCode, direction: request.direction, states: request.states, limit: size + 1)
        if request.overdueOnly { query.overdueAt = store.clock.micros }
        return try await page(of: &query, token: request.pageToken, filter: filter, size: size)
    }

    /// One page of `query` (newest first) after `token`, leaving out what the caller may not read.
    func page(of query: inout DocumentRepository.Query, token: String, filter: String, size: Int) async throws
        -> Egov_Documents_V1_ListDocumentsResponse
    {
        if let key = try PageToken.decode(token, filter: filter, errors: Self.errors) {
            let pieces = key.split(separator: " ")
            guard pieces.count == 2, let time = Int64(pieces[0]) else {
                throw Self.errors.invalidArgument(
                    "INVALID_PAGE_TOKEN", field: "page_token", "is not a token this service issued")
            }
            query.after = (time, String(pieces[1]))
        }
        let page = try await documents.documents(query)
        return .with {
            // Secret documents the caller may not read are left out, as if they were not there.
            $0.documents = page.prefix(size).map(\.0).filter { DocumentsPolicy.readDocument.allows($0) }
            if page.count > size {
                let (last, time) = page[size - 1]
                $0.nextPageToken = PageToken.encode(
                    after: "\(time) \(DocumentRepository.parts(last.name).1)", filter: filter)
            }
        }
    }

    public func updateDocument(
        request: Egov_Documents_V1_UpdateDocumentRequest, context: ServerContext
    ) async throws -> Document {
        let current = try await visibleDocument(request.document.name, field: "document.name")
        try DocumentsPolicy.editDraft.require(current, Self.errors, doing: "change this draft")
        let editable = [
            "document_type", "subject", "content", "urgency", "confidentiality", "recipients", "unit_abbreviation",
            "replaces", "in_reply_to", "recipient_people",
        ]
        guard !request.updateMask.paths.isEmpty else {
            throw Self.errors.invalidArgument("INVALID_UPDATE_MASK", field: "update_mask", "name the fields to change")
        }
        if let path = request.updateMask.paths.first(where: { !editable.contains($0) }) {
            throw Self.errors.invalidArgument(
                "INVALID_UPDATE_MASK", field: "update_mask",
                "'\(Clip.text(path, 64))' cannot be changed; changeable: \(editable.joined(separator: ", "))")
        }
        let fromOriginal = ["document_type", "subject", "urgency", "confidentiality", "replaces"]
        if current.copyKind != .unspecified,
            let path = request.updateMask.paths.first(where: {
                fromOriginal.contains($0) || ($0 == "content" && current.copyKind != .excerpt)
            })
        {
            throw Self.errors.invalidArgument(
                "INVALID_UPDATE_MASK", field: "update_mask", "a copy keeps the original's \(path)")
        }
        // The masked fields, checked on the draft as read; applied in the transaction to the
        // draft as it is then, so edits of other fields by someone else are kept.
        func apply(_ paths: [String], to document: inout Document) {
            for path in paths {
                switch path {
                case "document_type": document.documentType = request.document.documentType
                case "subject": document.subject = request.document.subject
                case "content": document.content = request.document.content
                case "urgency": document.urgency = request.document.urgency
                case "confidentiality": document.confidentiality = request.document.confidentiality
                case "recipients": document.recipients = request.document.recipients
                case "replaces": document.replaces = request.document.replaces
                case "in_reply_to": document.inReplyTo = request.document.inReplyTo
                case "recipient_people": document.recipientPeople = request.document.recipientPeople
                default: document.unitAbbreviation = request.document.unitAbbreviation
                }
            }
        }
        var changed = current
        apply(request.updateMask.paths, to: &changed)
        let valid = try Self.validated(changed, field: "document")
        try Self.requireClassifiable(valid.confidentiality, field: "document.confidentiality")
        try await requireRecipients(valid.recipients, sender: current.agency, field: "document.recipients")
        try await requireReplaceable(valid.replaces, at: current.agency, field: "document.replaces")
        try await requireAnswerable(valid.inReplyTo, at: current.agency, field: "document.in_reply_to")
        try await requirePeople(valid.recipientPeople, field: "document.recipient_people")
        let (agencyCode, id) = DocumentRepository.parts(current.name)
        return try await store.write { tx in
            guard let (found, version) = try await documents.documentForUpdate(agencyCode: agencyCode, id: id, in: tx)
            else { throw Self.notFound(current.name) }
            try Self.requireDraft(found)
            if !request.document.etag.isEmpty && request.document.etag != found.etag {
                throw Self.errors.failedPrecondition(
                    "ETAG_MISMATCH", "The document changed since you read it; read it again.")
            }
            var document = found
            apply(request.updateMask.paths, to: &document)
            let checked = try Self.validated(document, field: "document")
            document.subject = checked.subject
            document.urgency = checked.urgency
            document.confidentiality = checked.confidentiality
            document.unitAbbreviation = checked.unitAbbreviation
            document = try await save(document, over: version, in: tx)
            return document
        }
    }

    public func registerIncomingDocument(
        request: Egov_Documents_V1_RegisterIncomingDocumentRequest, context: ServerContext
    ) async throws -> Document {
        let agencyCode = try Self.errors.agencyCode(fromName: request.parent, field: "parent")
        try DocumentsPolicy.registerIncoming.require(
            request.parent, Self.errors, doing: "register documents that reached \(request.parent)")
        var input = request.document
        input.direction = .outgoing  // validated as a draft's fields, then made incoming
        var document = try Self.validated(input, field: "document")
        try Self.requireClassifiable(document.confidentiality, field: "document.confidentiality")
        var violations: [ErrorBuilder.Violation] = []
        let sender = request.senderName.trimmingCharacters(in: .whitespacesAndNewlines)
        if sender.isEmpty || sender.count > 300 || sender.unicodeScalars.contains(where: Self.isControl) {
            violations.append(.init("sender_name", "is required, at most 300 characters"))
        }
        let code = request.code.trimmingCharacters(in: .whitespacesAndNewlines)
        if code.isEmpty || code.count > 100 || code.unicodeScalars.contains(where: Self.isControl) {
            violations.append(.init("code", "is required, at most 100 characters"))
        }
        if !request.hasPromulgationTime { violations.append(.init("promulgation_time", "is required")) }
        if !violations.isEmpty { throw Self.errors.invalidArgument("INVALID_DOCUMENT", violations) }
        let promulgated = try Self.errors.acceptedTime(request.promulgationTime, field: "promulgation_time")
        _ = try await agencies.requireActive(request.parent, field: "parent", isParent: true, errors: Self.errors)
        document.direction = .incoming
        document.recipients = []
        document.unitAbbreviation = ""
        document.replaces = ""
        document.creator = RequestContext.actor
        document.senderName = sender
        document.code = code
        document.promulgationTime = promulgated
        let paper = document
        return try await store.idempotentWrite(
            scope: "RegisterIncomingDocument", requestID: request.requestID, request: request, errors: Self.errors
        ) { tx in
            // Registered and accepted at once: the clerk holds the paper.
            var entry = paper
            try await register(&entry, at: agencyCode, in: tx)
            entry.state = .accepted
            return try await insertArrival(
                entry, at: agencyCode,
                event: .with {
                    $0.action = .accept; $0.actor = RequestContext.actor; $0.state = .accepted
                    $0.comment = "Văn bản giấy đến từ \(sender)"
                }, in: tx)
        }
    }

    public func listDocumentEvents(
        request: Egov_Documents_V1_ListDocumentEventsRequest, context: ServerContext
    ) async throws -> Egov_Documents_V1_ListDocumentEventsResponse {
        let document = try await visibleDocument(request.name, field: "name")
        // The steps (review comments, returns, directions) are the agency's own: people addressed
        // by name from elsewhere read the document, not how it was made.
        try DocumentsPolicy.handleDocuments.require(
            document.agency, Self.errors, doing: "read how this agency handled the document")
        let events = try await documents.events(documentID: DocumentRepository.parts(document.name).1)
        return .with { $0.events = events }
    }

    public func listDocumentTypes(
        request: Egov_Documents_V1_ListDocumentTypesRequest, context: ServerContext
    ) async throws -> Egov_Documents_V1_ListDocumentTypesResponse {
        let types = try await documents.documentTypes()
        return .with { $0.documentTypes = types }
    }

    // MARK: Helpers

    /// The document `name` names, if the caller may see it: PERMISSION_DENIED outside their
    /// agency, NOT_FOUND for a secret one they may not read (as if it were not there).
    func visibleDocument(_ name: String, field: String) async throws -> Document {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "agencies", AgencyCode.isValid(String(parts[1])), parts[2] == "documents",
            !parts[3].isEmpty, parts[3].utf8.count <= 64
        else {
            throw Self.errors.invalidArgument(
                "INVALID_DOCUMENT_NAME", field: field,
                "must be agencies/{code}/documents/{id}, got '\(Clip.text(name, 128))'")
        }
        // Someone outside the agency sees only what is addressed to them by name.
        let outsider = !DocumentsPolicy.handleDocuments.allows("agencies/\(parts[1])")
        let document = try await documents.document(agencyCode: String(parts[1]), id: String(parts[3]))
        if outsider, document.map(DocumentsPolicy.readDocument.allows) != true {
            try DocumentsPolicy.handleDocuments.require(
                "agencies/\(parts[1])", Self.errors, doing: "read this agency's documents")
        }
        guard let document, DocumentsPolicy.readDocument.allows(document) else { throw Self.notFound(name) }
        return document
    }

    /// Each recipient an active agency other than the sender, at most `maxRecipients`, no repeats.
    func requireRecipients(_ recipients: [String], sender: String, field: String) async throws {
        if recipients.count > Self.maxRecipients {
            throw Self.errors.invalidArgument(
                "INVALID_RECIPIENTS", field: field, "at most \(Self.maxRecipients) agencies")
        }
        var seen: Set<String> = []
        for (index, recipient) in recipients.enumerated() {
            _ = try Self.errors.agencyCode(fromName: recipient, field: "\(field)[\(index)]")
            if recipient == sender || !seen.insert(recipient).inserted {
                throw Self.errors.invalidArgument(
                    "INVALID_RECIPIENTS", field: "\(field)[\(index)]", "names the sender or an agency twice")
            }
            _ = try await agencies.requireActive(recipient, field: "\(field)[\(index)]", errors: Self.errors)
        }
    }

    /// Empty, or an incoming document of `agency` the caller may read, which an outgoing one
    /// may answer.
    func requireAnswerable(_ name: String, at agency: String, field: String) async throws {
        guard !name.isEmpty else { return }
        let (code, id) = DocumentRepository.parts(name)
        guard "agencies/\(code)" == agency, let answered = try await documents.document(agencyCode: code, id: id),
            answered.direction == .incoming, DocumentsPolicy.readDocument.allows(answered)
        else {
            throw Self.errors.invalidArgument(
                "INVALID_IN_REPLY_TO", field: field, "must name an incoming document of \(agency)")
        }
    }

    /// Each of `people` an active official on the platform.
    func requirePeople(_ names: [String], field: String) async throws {
        for (index, name) in names.enumerated() {
            guard let person = try await people.person(named: name), person.kind == .official, person.state == .active
            else {
                throw Self.errors.invalidArgument(
                    "PERSON_NOT_FOUND", field: "\(field)[\(index)]", "must name an active official")
            }
        }
    }

    /// `draft`, a copy (`copy_of`, `copy_kind`), completed from the document it copies: a
    /// released outgoing or a registered incoming document of `agency` the caller may read.
    /// It keeps the original's type, subject, urgency and confidentiality; a whole copy (sao
    /// y, sao lục) its content and files too, an excerpt (trích sao) the part given.
    func copy(of draft: Document, at agency: String) async throws -> Document {
        let (code, id) = DocumentRepository.parts(draft.copyOf)
        guard "agencies/\(code)" == agency, let original = try await documents.document(agencyCode: code, id: id),
            original.number > 0, original.state != .recalled, DocumentsPolicy.readDocument.allows(original)
        else {
            throw Self.errors.invalidArgument(
                "INVALID_COPY_OF", field: "document.copy_of",
                "must name a released or registered document of \(agency) you may read")
        }
        var copy = draft
        copy.documentType = original.documentType
        copy.subject = original.subject
        copy.urgency = original.urgency
        copy.confidentiality = original.confidentiality
        if draft.copyKind == .excerpt {
            guard !draft.content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw Self.errors.invalidArgument(
                    "INVALID_DOCUMENT", field: "document.content", "an excerpt (trích sao) holds the part copied")
            }
        } else {
            copy.content = original.content
            copy.attachments = original.attachments
        }
        return copy
    }

    /// PERMISSION_DENIED (reason CLEARANCE_REQUIRED) unless the caller may mark a document
    /// `level`.
    static func requireClassifiable(_ level: Egov_Documents_V1_Confidentiality, field: String) throws {
        guard !DocumentsPolicy.classify.allows(level) else { return }
        throw errors.permissionDenied(
            "CLEARANCE_REQUIRED", "Your clearance does not reach the confidentiality level in \(field).")
    }

    /// Empty, or a released outgoing document of `agency` that a new one may replace.
    func requireReplaceable(_ name: String, at agency: String, field: String) async throws {
        guard !name.isEmpty else { return }
        let (code, id) = DocumentRepository.parts(name)
        guard "agencies/\(code)" == agency, let old = try await documents.document(agencyCode: code, id: id),
            old.direction == .outgoing, old.state == .released, DocumentsPolicy.readDocument.allows(old)
        else {
            throw Self.errors.invalidArgument(
                "INVALID_REPLACES", field: field, "must name a released document of \(agency)")
        }
    }

    /// Gives an incoming entry the agency's next incoming number of the year.
    func register(_ document: inout Document, at agencyCode: String, in tx: Transaction) async throws {
        let year = DocumentWorkflow.year(ofMicros: tx.clock.micros)
        document.number = Int32(
            try await documents.nextNumber(
                agency: agencyCode, register: DocumentRepository.register(of: document),
                year: year, in: tx))
        document.registerYear = Int32(year)
        document.releaseTime = .init(micros: tx.clock.micros)
    }

    /// Writes `document` over `version` inside `tx` and returns it with its new etag;
    /// CONCURRENT_CHANGE when someone changed it first.
    func save(_ document: Document, over version: Int64, in tx: Transaction) async throws -> Document {
        guard try await documents.update(document, version: version, in: tx) else { throw Self.concurrentChange }
        var saved = document
        saved.etag = String(version + 1)
        return saved
    }

    /// Stores an incoming entry with the event that brought it, and announces its arrival.
    func insertArrival(
        _ entry: Document, at agencyCode: String, event: Egov_Documents_V1_DocumentEvent, in tx: Transaction
    ) async throws -> Document {
        let stored = try await documents.insert(
            entry, agencyCode: agencyCode, id: UUID().uuidString.lowercased(), event: event, in: tx)
        try await tx.enqueue(
            topic: "documents.document.arrived", key: stored.name, payload: try stored.serializedBytes())
        return stored
    }

    static func notFound(_ name: String) -> GoogleRPCStatus {
        errors.notFound("DOCUMENT_NOT_FOUND", resource: name, "Document '\(Clip.text(name, 128))' does not exist.")
    }

    static let concurrentChange = errors.failedPrecondition(
        "CONCURRENT_CHANGE", "The document was changed by someone else at the same time; read it again.")

    /// Control characters and what XML 1.0 cannot carry (documents travel as edXML).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0xFFFE || scalar.value == 0xFFFF
    }

    /// Checks a draft's fields; returns them with output-only fields cleared and defaults set.
    static func validated(_ input: Document, field: String = "document") throws -> Document {
        var violations: [ErrorBuilder.Violation] = []
        if input.direction != .outgoing {
            violations.append(
                .init("\(field).direction", "must be DIRECTION_OUTGOING: incoming documents arrive by exchange"))
        }
        if input.documentType == .unspecified || !Egov_Documents_V1_DocumentType.allCases.contains(input.documentType) {
            violations.append(.init("\(field).document_type", "is required"))
        }
        let subject = input.subject.trimmingCharacters(in: .whitespacesAndNewlines)
        if subject.isEmpty || subject.count > 1000 || subject.unicodeScalars.contains(where: Self.isControl) {
            violations.append(.init("\(field).subject", "is required, at most 1000 characters on one line"))
        }
        if input.content.unicodeScalars.contains(where: { Self.isControl($0) && !["\n", "\r", "\t"].contains($0) }) {
            violations.append(.init("\(field).content", "must not hold control characters"))
        }
        if input.content.utf8.count > 1 << 20 {
            violations.append(.init("\(field).content", "must be at most 1 MiB"))
        }
        if !Egov_Documents_V1_Urgency.allCases.contains(input.urgency) {
            violations.append(.init("\(field).urgency", "is not a known urgency"))
        }
        if !Egov_Documents_V1_Confidentiality.allCases.contains(input.confidentiality) {
            violations.append(.init("\(field).confidentiality", "is not a known level"))
        }
        let unit = input.unitAbbreviation.trimmingCharacters(in: .whitespaces)
        if unit.count > 20 || !unit.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." }) {
            violations.append(.init("\(field).unit_abbreviation", "at most 20 letters and digits, e.g. VP"))
        }
        if !Egov_Documents_V1_CopyKind.allCases.contains(input.copyKind)
            || (input.copyKind == .unspecified) != input.copyOf.isEmpty
        {
            violations.append(.init("\(field).copy_kind", "is required with copy_of, and only with it"))
        }
        if input.recipientPeople.count > 50 || Set(input.recipientPeople).count != input.recipientPeople.count {
            violations.append(.init("\(field).recipient_people", "at most 50 people, each once"))
        }
        if let index = input.recipientPeople.firstIndex(where: {
            !$0.hasPrefix("people/") || $0.count == "people/".count || $0.utf8.count > 100
        }) {
            violations.append(.init("\(field).recipient_people[\(index)]", "must be people/{person}"))
        }
        let dossierParts = input.dossier.split(separator: "/", omittingEmptySubsequences: false)
        if !input.dossier.isEmpty
            && (dossierParts.count != 4 || dossierParts[0] != "procedures" || dossierParts[2] != "dossiers"
                || input.dossier.utf8.count > 200)
        {
            violations.append(.init("\(field).dossier", "must be procedures/{procedure}/dossiers/{code}"))
        }
        if !violations.isEmpty { throw errors.invalidArgument("INVALID_DOCUMENT", violations) }
        return .with {
            $0.direction = input.direction
            $0.documentType = input.documentType
            $0.subject = subject
            $0.content = input.content
            $0.urgency = input.urgency == .unspecified ? .normal : input.urgency
            $0.confidentiality = input.confidentiality == .unspecified ? .none : input.confidentiality
            $0.recipients = input.recipients
            $0.unitAbbreviation = unit
            $0.replaces = input.replaces
            $0.inReplyTo = input.inReplyTo
            $0.copyOf = input.copyOf
            $0.copyKind = input.copyKind
            $0.recipientPeople = input.recipientPeople
            $0.dossier = input.dossier
        }
    }
}
