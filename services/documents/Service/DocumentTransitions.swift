public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import SwiftProtobuf

/// `TransitionDocument`: the table in `DocumentWorkflow` says who may take a step from which
/// state; what a step asks of identity (positions, delegations, agencies) is gathered before
/// the write, and the step itself happens in one transaction with its event, its number,
/// the recipients' copies and the status reported back to the sender.
extension DocumentsService {
    public func transitionDocument(
        request: Egov_Documents_V1_TransitionDocumentRequest, context: ServerContext
    ) async throws -> Egov_Documents_V1_Document {
        // A retry of a step already taken gets its first answer (the state has moved on since).
        if let replay = try await store.idempotentReplay(
            scope: "TransitionDocument", requestID: request.requestID, request: request,
            as: Egov_Documents_V1_Document.self, errors: Self.errors)
        {
            return replay
        }
        guard let step = DocumentWorkflow.steps[request.action] else {
            throw Self.errors.invalidArgument("INVALID_ACTION", field: "action", "is not a known action")
        }
        let comment = request.comment.trimmingCharacters(in: .whitespacesAndNewlines)
        if comment.count > 2000 {
            throw Self.errors.invalidArgument("INVALID_COMMENT", field: "comment", "at most 2000 characters")
        }
        if step.needsComment && comment.isEmpty {
            throw Self.errors.invalidArgument("REASON_REQUIRED", field: "comment", "give the reason")
        }
        let current = try await visibleDocument(request.name, field: "name")
        try DocumentsPolicy.transition(request.action).require(
            (current, delegated: !request.onBehalfOf.isEmpty), Self.errors,
            doing: "\(Self.verb(request.action)) this document")
        try Self.requireStep(step, request.action, on: current)
        let prepared = try await prepare(request, on: current)
        let (agencyCode, id) = DocumentRepository.parts(current.name)
        return try await store.idempotentWrite(
            scope: "TransitionDocument", requestID: request.requestID, request: request, errors: Self.errors
        ) { tx in
            guard let (found, version) = try await documents.documentForUpdate(agencyCode: agencyCode, id: id, in: tx)
            else { throw Self.notFound(current.name) }
            var document = found
            try Self.requireStep(step, request.action, on: document)
            // Judged again on the document as it is now (its lead may have changed).
            try DocumentsPolicy.transition(request.action).require(
                (document, delegated: !request.onBehalfOf.isEmpty), Self.errors,
                doing: "\(Self.verb(request.action)) this document")
            if let to = step.to { document.state = to }
            if request.action == .return {
                // Back to the drafter: any approval and signature were of the text being revised.
                document.approver = ""
                document.signer = ""
                document.signatureBlock = []
                document.signatures = []
            }
            let actor = RequestContext.actor
            switch prepared {
            case .none: break
            case .approval: document.approver = actor
            case .signature(let block, let credentials):
                document.signer = actor
                document.signatureBlock = block
                document.signatures = [
                    try DocumentSigner.sign(
                        CanonicalForm.signer(document), role: .signer, as: actor, with: credentials,
                        at: tx.clock.now)
                ]
            case .release(let sender, let recipients, let credentials):
                try await release(&document, from: sender, to: recipients, sealedWith: credentials, in: tx)
            case .direction(var steering):
                steering.leader = actor
                steering.createTime = .init(micros: tx.clock.micros)
                document.steering = steering
            case .recall:
                try await askRecipients(of: document, .recall, reason: comment, in: tx)
                document = try await documents.refreshingStatuses(document, in: tx)
            case .update(let sender, let added):
                // Checked again on the document as it is now: an update at the same time may
                // have added one of them.
                let holding = Set(
                    try await documents.refreshingStatuses(document, in: tx).recipientStatuses.map(\.agency))
                if let again = added.first(where: { holding.contains($0.name) }) {
                    throw Self.errors.invalidArgument(
                        "INVALID_RECIPIENTS", field: "add_recipients", "\(again.name) has the document already")
                }
                try await askRecipients(of: document, .update, reason: comment, in: tx)
                document = try await documents.refreshingStatuses(document, in: tx)
                var delivered = document
                delivered.recipientStatuses = []
                try await deliver(&delivered, from: sender, to: added, in: tx)
                document.recipientStatuses = (document.recipientStatuses + delivered.recipientStatuses).sorted {
                    $0.agency < $1.agency
                }
            case .answer:
                guard document.hasPendingRevision else {
                    throw Self.errors.failedPrecondition(
                        "NO_REVISION", "The sender has asked nothing about this document to accept or refuse.")
                }
                // An update accepted leaves the copy as it was; a recall or replacement withdraws it.
                if document.pendingRevision.kind == .update { document.state = found.state }
                document.clearPendingRevision()
            }
            if let status = step.reports {
                document.exchangeStatus = status
                if document.sourceDocument.hasPrefix("agencies/") {
                    try await documents.report(
                        status, of: document.sourceDocument, at: document.agency, description: comment, in: tx)
                }
            }
            document = try await save(document, over: version, in: tx)
            try await documents.record(
                .with {
                    $0.action = request.action; $0.actor = actor; $0.comment = comment; $0.state = document.state
                }, documentID: id, in: tx)
            try await tx.enqueue(
                topic: Self.topic(request.action), key: document.name, payload: try document.serializedBytes())
            return document
        }
    }

    /// What a step needs from outside the transaction.
    enum Prepared: Sendable {
        case none
        case approval
        case signature([String], DocumentSigner.Credentials)
        case release(
            sender: Egov_Identity_V1_Agency, recipients: [Egov_Identity_V1_Agency], seal: DocumentSigner.Credentials)
        case direction(Egov_Documents_V1_Steering)
        case recall
        case update(sender: Egov_Identity_V1_Agency, added: [Egov_Identity_V1_Agency])
        case answer
    }

    func prepare(
        _ request: Egov_Documents_V1_TransitionDocumentRequest, on document: Egov_Documents_V1_Document
    ) async throws -> Prepared {
        switch request.action {
        case .approve: return .approval
        case .sign:
            let signer = try requireSigner()
            let block = try await signatureBlock(request, on: document)
            guard let user = RequestContext.current?.user, let person = try await people.person(named: user.sub) else {
                throw Self.errors.failedPrecondition("SIGNER_REQUIRED", "A document is signed by a signed-in official.")
            }
            let agency = try await agencies.agency(named: document.agency)
            return .signature(
                block,
                try await signer.credentials(
                    user.sub, commonName: person.displayName, organization: agency?.displayName ?? document.agency))
        case .release:
            let sender = try await agencies.requireActive(document.agency, field: "name", errors: Self.errors)
            guard !sender.abbreviation.isEmpty else {
                throw Self.errors.failedPrecondition(
                    "AGENCY_ABBREVIATION_MISSING",
                    "\(sender.displayName) has no abbreviation for notations; its administrator sets one in identity.")
            }
            // A dossier's result decision reaches its applicant with the dossier.
            guard !document.recipients.isEmpty || !document.dossier.isEmpty else {
                throw Self.errors.failedPrecondition(
                    "NO_RECIPIENTS", "Name the agencies the document goes to before releasing it.")
            }
            var recipients: [Egov_Identity_V1_Agency] = []
            // In code order: concurrent releases lock the recipients' registers in the same order.
            for name in document.recipients.sorted() {
                guard let agency = try await agencies.agency(named: name), agency.state == .active else {
                    throw Self.errors.failedPrecondition(
                        "RECIPIENT_INACTIVE",
                        "Recipient \(name) is not an active agency; return the document to change its recipients.",
                        metadata: ["recipient": name])
                }
                // Classified documents do not travel by electronic exchange (Decree 30).
                if agency.external && ![.none, .unspecified].contains(document.confidentiality) {
                    throw Self.errors.failedPrecondition(
                        "CONFIDENTIAL_NOT_EXCHANGED",
                        "\(agency.displayName) is outside the platform, and a classified document does not travel "
                            + "through the national exchange; return the document to change its recipients.",
                        metadata: ["recipient": name])
                }
                recipients.append(agency)
            }
            let seal = try await requireSigner().credentials(
                sender.name, commonName: sender.displayName, organization: sender.displayName)
            return .release(sender: sender, recipients: recipients, seal: seal)
        case .direct: return .direction(try await validSteering(request.steering, at: document.agency))
        case .recall: return .recall
        case .update:
            let sender = try await agencies.requireActive(document.agency, field: "name", errors: Self.errors)
            let already = Set(document.recipients + document.recipientStatuses.map(\.agency))
            var added: [Egov_Identity_V1_Agency] = []
            for (index, name) in request.addRecipients.enumerated() {
                let field = "add_recipients[\(index)]"
                _ = try Self.errors.agencyCode(fromName: name, field: field)
                guard name != document.agency, !already.contains(name), !added.contains(where: { $0.name == name })
                else {
                    throw Self.errors.invalidArgument(
                        "INVALID_RECIPIENTS", field: field, "names the sender, a recipient already, or an agency twice")
                }
                let agency = try await agencies.requireActive(name, field: field, errors: Self.errors)
                if agency.external && ![.none, .unspecified].contains(document.confidentiality) {
                    throw Self.errors.failedPrecondition(
                        "CONFIDENTIAL_NOT_EXCHANGED",
                        "\(agency.displayName) is outside the platform, and a classified document does not travel "
                            + "through the national exchange.", metadata: ["recipient": name])
                }
                added.append(agency)
            }
            // In code order, as a release: concurrent deliveries lock the registers alike.
            return .update(sender: sender, added: added.sorted { $0.name < $1.name })
        case .acceptRevision, .rejectRevision: return .answer
        default: return .none
        }
    }

    /// The signature block of the signing user: their position, or under a delegation the
    /// prefix identity holds for it and the principal's position.
    func signatureBlock(
        _ request: Egov_Documents_V1_TransitionDocumentRequest, on document: Egov_Documents_V1_Document
    ) async throws -> [String] {
        guard let signer = RequestContext.current?.user?.sub,
            let person = try await people.person(named: signer)
        else {
            throw Self.errors.failedPrecondition("SIGNER_REQUIRED", "A document is signed by a signed-in official.")
        }
        guard request.onBehalfOf.isEmpty else {
            guard let principal = try await people.person(named: request.onBehalfOf),
                principal.agency == document.agency, principal.roles.contains(.leader)
            else {
                throw Self.errors.invalidArgument(
                    "INVALID_PRINCIPAL", field: "on_behalf_of", "must be a leader of \(document.agency)")
            }
            guard let kind = try await delegations.signingDelegation(principal: principal.name, delegate: signer) else {
                throw Self.errors.permissionDenied(
                    "NO_DELEGATION",
                    "No delegation in force lets you sign documents for \(principal.displayName).")
            }
            let agency = try await agencies.agency(named: document.agency)
            return DocumentWorkflow.signatureBlock(
                signerPosition: person.position, delegation: kind, principalPosition: principal.position,
                agencyName: agency?.displayName ?? "")
        }
        guard !person.position.isEmpty else {
            throw Self.errors.failedPrecondition(
                "SIGNER_POSITION_MISSING", "Your position is not recorded in identity; the signature block needs it.")
        }
        return DocumentWorkflow.signatureBlock(
            signerPosition: person.position, delegation: nil, principalPosition: "", agencyName: "")
    }

    /// A direction naming officials of `agency`, with a deadline in the future if any.
    func validSteering(_ input: Egov_Documents_V1_Steering, at agency: String) async throws
        -> Egov_Documents_V1_Steering
    {
        let comment = input.comment.trimmingCharacters(in: .whitespacesAndNewlines)
        if comment.isEmpty || comment.count > 2000 {
            throw Self.errors.invalidArgument(
                "INVALID_STEERING", field: "steering.comment", "is required, at most 2000 characters")
        }
        if input.coordinators.count > 20 {
            throw Self.errors.invalidArgument(
                "INVALID_STEERING", field: "steering.coordinators", "at most 20 people")
        }
        for (field, name) in [("steering.lead", input.lead)]
            + input.coordinators.enumerated().map({ ("steering.coordinators[\($0.offset)]", $0.element) })
        {
            guard name.hasPrefix("people/"), name.utf8.count <= 80,
                let person = try await people.person(named: name), person.agency == agency, person.state == .active
            else {
                throw Self.errors.invalidArgument(
                    "INVALID_STEERING", field: field, "must be an active official of \(agency)")
            }
        }
        var steering = Egov_Documents_V1_Steering.with {
            $0.comment = comment; $0.lead = input.lead; $0.coordinators = input.coordinators
        }
        if input.hasDeadline {
            let deadline = try Self.errors.acceptedTime(input.deadline, field: "steering.deadline")
            guard deadline.micros > store.clock.micros else {
                throw Self.errors.invalidArgument(
                    "INVALID_STEERING", field: "steering.deadline", "must be in the future")
            }
            steering.deadline = deadline
        }
        return steering
    }

    /// Numbers `document` in its agency's outgoing register and gives each recipient its
    /// incoming copy, numbered in that agency's incoming register the same day.
    func release(
        _ document: inout Egov_Documents_V1_Document, from sender: Egov_Identity_V1_Agency,
        to recipients: [Egov_Identity_V1_Agency], sealedWith seal: DocumentSigner.Credentials, in tx: Transaction
    ) async throws {
        let now = tx.clock.micros
        let year = DocumentWorkflow.year(ofMicros: now)
        let (agencyCode, _) = DocumentRepository.parts(document.name)
        let number = try await documents.nextNumber(
            agency: agencyCode, register: DocumentRepository.register(of: document), year: year,
            in: tx)
        document.number = Int32(number)
        document.notation = DocumentWorkflow.notation(
            type: DocumentWorkflow.copyAbbreviation(document.copyKind)
                ?? DocumentRepository.abbreviation(of: document.documentType),
            agency: sender.abbreviation, unit: document.unitAbbreviation)
        document.code = DocumentWorkflow.code(number: number, notation: document.notation)
        document.registerYear = Int32(year)
        document.releaseTime = .init(seconds: now / 1_000_000)
        document.signatures.append(
            try DocumentSigner.sign(
                CanonicalForm.agency(document), role: .agency, as: document.agency, with: seal, at: tx.clock.now))
        document.recipientStatuses = []
        try await deliver(&document, from: sender, to: recipients, in: tx)
        try await documents.address(document.name, to: document.recipientPeople, in: tx)
        if !document.inReplyTo.isEmpty { try await recordAnswer(to: document.inReplyTo, by: document, in: tx) }
        if !document.replaces.isEmpty { try await replace(document.replaces, with: document, in: tx) }
    }

    /// Gives each of `recipients` the released `document`: an incoming copy numbered in its
    /// register the same day, or for an agency outside the platform a place in the exchange
    /// adapter's queue. Adds their statuses to `document`'s.
    func deliver(
        _ document: inout Egov_Documents_V1_Document, from sender: Egov_Identity_V1_Agency,
        to recipients: [Egov_Identity_V1_Agency], in tx: Transaction
    ) async throws {
        let now = tx.clock.micros
        var arrival: (Egov_Documents_V1_Integrity, String)?
        for recipient in recipients where recipient.external {
            // The exchange adapter sends the envelope from the outbox (`ExchangeSink`).
            let waiting = "Chờ gửi qua Trục liên thông văn bản quốc gia"
            try await documents.addExternal(recipient.name, of: document.name, description: waiting, in: tx)
            document.recipientStatuses.append(
                .with {
                    $0.agency = recipient.name; $0.external = true; $0.description_p = waiting
                    $0.updateTime = .init(micros: now)
                })
        }
        for recipient in recipients where !recipient.external {
            var copy = Egov_Documents_V1_Document.with {
                $0.direction = .incoming
                $0.documentType = document.documentType
                $0.subject = document.subject
                $0.content = document.content
                $0.urgency = document.urgency
                $0.confidentiality = document.confidentiality
                $0.creator = RequestContext.actor
                $0.state = .registered
                $0.exchangeStatus = .arrived
                $0.code = document.code
                $0.sender = document.agency
                $0.senderName = sender.displayName
                $0.sourceDocument = document.name
                $0.promulgationTime = document.releaseTime
                $0.recipients = document.recipients
                $0.signer = document.signer
                $0.signatureBlock = document.signatureBlock
                $0.attachments = document.attachments
                $0.signatures = document.signatures
                $0.copyKind = document.copyKind
            }
            // Checked on arrival, as a recipient outside the platform would; every copy has the
            // same canonical form, so once is enough.
            if arrival == nil { arrival = await verdict(on: copy) }
            (copy.integrity, copy.integrityDetail) = arrival!
            copy.verifyTime = .init(micros: now)
            let recipientCode = String(recipient.name.dropFirst("agencies/".count))
            try await register(&copy, at: recipientCode, in: tx)
            let stored = try await insertArrival(
                copy, at: recipientCode,
                event: .with {
                    $0.action = .release; $0.actor = RequestContext.actor; $0.state = .registered
                    $0.comment = "Đến từ \(sender.displayName), số \(document.code)"
                }, in: tx)
            try await documents.report(
                .arrived, of: document.name, at: recipient.name, incomingDocument: stored.name, in: tx)
            document.recipientStatuses.append(
                .with {
                    $0.agency = recipient.name; $0.status = .arrived; $0.updateTime = .init(micros: now)
                    $0.incomingDocument = stored.name
                })
        }
        document.recipientStatuses.sort { $0.agency < $1.agency }  // as they are read back
    }

    /// Links the incoming document `name` to `answer`, just released: its replies, and a step.
    func recordAnswer(to name: String, by answer: Egov_Documents_V1_Document, in tx: Transaction) async throws {
        let (agencyCode, id) = DocumentRepository.parts(name)
        guard var (answered, version) = try await documents.documentForUpdate(agencyCode: agencyCode, id: id, in: tx)
        else { return }
        answered.replies.append(answer.name)
        answered = try await save(answered, over: version, in: tx)
        try await documents.record(
            .with {
                $0.action = .answered; $0.actor = RequestContext.actor; $0.state = answered.state
                $0.comment = "Đã trả lời bằng văn bản số \(answer.code)"
            }, documentID: id, in: tx)
    }

    /// Recalls the released document `name` in favour of `replacement`, just released: each of
    /// its recipients is asked to accept, pointed at the replacement's copy when it got one.
    func replace(_ name: String, with replacement: Egov_Documents_V1_Document, in tx: Transaction) async throws {
        let (agencyCode, id) = DocumentRepository.parts(name)
        guard let (found, version) = try await documents.documentForUpdate(agencyCode: agencyCode, id: id, in: tx),
            found.state == .released
        else {
            throw Self.errors.failedPrecondition(
                "NOT_REPLACEABLE",
                "The document this one replaces is no longer released; return this one to change `replaces`.")
        }
        var old = found
        old.state = .recalled
        old = try await save(old, over: version, in: tx)
        try await tx.enqueue(topic: Self.topic(.recall), key: old.name, payload: try old.serializedBytes())
        try await documents.record(
            .with {
                $0.action = .recall; $0.actor = RequestContext.actor; $0.state = .recalled
                $0.comment = "Thay thế bởi văn bản số \(replacement.code)"
            }, documentID: id, in: tx)
        let copies = Dictionary(
            replacement.recipientStatuses.map { ($0.agency, $0.incomingDocument) },
            uniquingKeysWith: { first, _ in first })
        try await askRecipients(
            of: old, .replace, reason: "Thay thế bởi văn bản số \(replacement.code)", replacements: copies, in: tx)
    }

    /// Asks every recipient still holding a copy of `document` to accept its recall or
    /// replacement, and reports status 13 (recalled) for each.
    func askRecipients(
        of document: Egov_Documents_V1_Document, _ kind: Egov_Documents_V1_Revision.Kind, reason: String,
        replacements: [String: String] = [:], in tx: Transaction
    ) async throws {
        for (agency, incoming) in try await documents.recipients(of: document.name, in: tx) {
            let (code, id) = DocumentRepository.parts(incoming)
            guard let (found, version) = try await documents.documentForUpdate(agencyCode: code, id: id, in: tx),
                DocumentWorkflow.answerable.contains(found.state)
            else { continue }
            var copy = found
            copy.pendingRevision = .with {
                $0.kind = kind; $0.reason = reason; $0.replacement = replacements[agency] ?? ""
                $0.requestTime = .init(micros: tx.clock.micros)
            }
            copy = try await save(copy, over: version, in: tx)
            // 13 is a recall's (and a replacement's); an update keeps the status it had.
            if kind != .update {
                try await documents.report(.recalled, of: document.name, at: agency, description: reason, in: tx)
            }
            try await tx.enqueue(
                topic: "documents.document.revision_requested", key: copy.name, payload: try copy.serializedBytes())
        }
    }

    func requireSigner() throws -> DocumentSigner {
        guard let signer else {
            throw Self.errors.failedPrecondition(
                "SIGNING_UNAVAILABLE",
                "This installation has no signing CA (signing.ca_cert); documents cannot be signed.")
        }
        return signer
    }

    static func requireStep(
        _ step: DocumentWorkflow.Step, _ action: Egov_Documents_V1_DocumentAction,
        on document: Egov_Documents_V1_Document
    ) throws {
        guard document.direction == step.direction, step.from.contains(document.state) else {
            throw errors.failedPrecondition(
                "ILLEGAL_TRANSITION",
                "The document is \(document.direction == .incoming ? "incoming" : "outgoing") and in state "
                    + "\(document.state); it cannot be \(verb(action)) now.",
                metadata: ["state": "\(document.state.rawValue)"])
        }
    }

    static func verb(_ action: Egov_Documents_V1_DocumentAction) -> String {
        switch action {
        case .submit: "submitted for review"
        case .return: "returned for revision"
        case .approve: "approved"
        case .sign: "signed"
        case .release: "released"
        case .accept: "accepted"
        case .reject: "refused"
        case .direct: "directed"
        case .start: "started"
        case .finish: "finished"
        case .recall: "recalled"
        case .acceptRevision: "withdrawn at the sender's request"
        case .rejectRevision: "kept against the sender's request"
        case .update: "updated"
        default: "changed"
        }
    }

    /// The outbox topic of a step.
    static func topic(_ action: Egov_Documents_V1_DocumentAction) -> String {
        switch action {
        case .release: "documents.document.released"
        case .finish: "documents.document.finished"
        case .recall: "documents.document.recalled"
        case .update: "documents.document.updated"
        default: "documents.document.status_changed"
        }
    }
}
