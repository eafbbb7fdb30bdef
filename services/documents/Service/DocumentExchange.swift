public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import GRPCProtobuf

/// Documents leaving and reaching the platform as edXML envelopes (QCVN 102:2016).
extension DocumentsService {
    /// The most file bytes one envelope carries (they travel base64 inside it).
    static let maxEdxmlFileBytes = 24 << 20

    public func exportEdxml(
        request: Egov_Documents_V1_ExportEdxmlRequest, context: ServerContext
    ) async throws -> Egov_Documents_V1_ExportEdxmlResponse {
        let document = try await visibleDocument(request.name, field: "name")
        guard document.direction == .outgoing, document.state == .released else {
            throw Self.errors.failedPrecondition(
                "NOT_RELEASED", "Only a released document is exchanged; this one is \(document.state).")
        }
        // Secret documents do not travel by electronic exchange (Decree 30; the envelope has no
        // place for the level either).
        guard [.none, .unspecified].contains(document.confidentiality) else {
            throw Self.errors.failedPrecondition(
                "CONFIDENTIAL_NOT_EXCHANGED", "A secret document is not sent as an edXML envelope.")
        }
        let (envelope, documentID) = try await envelope(
            of: document, to: document.recipients, businessType: 0, reason: "Văn bản điện tử mới")
        return .with {
            $0.edxml = Data(envelope.xml().utf8)
            $0.documentID = documentID
        }
    }

    /// The released `document` as an envelope to `recipients`, with its files: new (business
    /// type 0) or a recall (1) with `reason`. Its DocumentId is `OrganId,yyyy/MM/dd,Number/Notation`.
    func envelope(
        of document: Egov_Documents_V1_Document, to recipients: [String], businessType: Int, reason: String
    ) async throws -> (EdxmlEnvelope, documentID: String) {
        let sender = try await agencies.agency(named: document.agency)
        var to: [EdxmlEnvelope.Organ] = []
        for recipient in recipients {
            let agency = try await agencies.agency(named: recipient)
            to.append(.init(id: String(recipient.dropFirst("agencies/".count)), name: agency?.displayName ?? recipient))
        }
        let signer = document.signer.isEmpty ? nil : try await people.person(named: document.signer)
        guard document.attachments.reduce(0, { $0 + $1.sizeBytes }) <= Int64(Self.maxEdxmlFileBytes) else {
            throw Self.errors.failedPrecondition(
                "TOO_LARGE_FOR_EDXML",
                "The document's files exceed \(Self.maxEdxmlFileBytes >> 20) MiB for one envelope.")
        }
        var files: [EdxmlEnvelope.File] = []
        for attachment in document.attachments {
            var content = Data()
            try await self.files.download(sha256: attachment.sha256, errors: Self.errors) { content.append($0) }
            files.append(.init(name: attachment.fileName, contentType: attachment.contentType, content: content))
        }
        let (agencyCode, _) = DocumentRepository.parts(document.name)
        let date = EdxmlEnvelope.format(document.releaseTime.date)
        var responseFor: EdxmlEnvelope.ResponseFor?
        let (answeredAgency, answeredID) = DocumentRepository.parts(document.inReplyTo)
        if !document.inReplyTo.isEmpty,
            let answered = try await documents.document(agencyCode: answeredAgency, id: answeredID)
        {
            let promulgated = EdxmlEnvelope.format(answered.promulgationTime.date)
            // An envelope's own id; a platform document's made the way ours are.
            let senderCode = AgencyCode.code(fromName: answered.sender) ?? ""
            let id =
                answered.sourceDocument.hasPrefix("edxml:")
                ? String(answered.sourceDocument.dropFirst("edxml:".count))
                : "\(senderCode),\(promulgated),\(answered.code)"
            responseFor = .init(
                organID: String(id.prefix { $0 != "," }), code: answered.code, promulgationDate: promulgated,
                documentID: id)
        }
        let documentID = "\(agencyCode),\(date),\(document.number)/\(document.notation)"
        let block = document.signatureBlock
        let envelope = EdxmlEnvelope(
            from: .init(id: agencyCode, name: sender?.displayName ?? document.agency), to: to, documentID: documentID,
            codeNumber: String(document.number), codeNotation: document.notation, place: "",
            promulgationDate: date, typeName: DocumentRepository.typeName(of: document.documentType),
            subject: document.subject, content: document.content, competence: block.count > 1 ? block[0] : "",
            position: block.last ?? "", fullName: signer?.displayName ?? "",
            priority: Self.priority(document.urgency), businessType: businessType, businessReason: reason,
            timestamp: EdxmlEnvelope.format(store.clock.now, time: true), files: businessType == 1 ? [] : files,
            responseFor: responseFor)
        return (envelope, documentID)
    }

    public func importEdxml(
        request: Egov_Documents_V1_ImportEdxmlRequest, context: ServerContext
    ) async throws -> Egov_Documents_V1_Document {
        let agencyCode = try Self.errors.agencyCode(fromName: request.parent, field: "parent")
        try DocumentsPolicy.registerIncoming.require(
            request.parent, Self.errors, doing: "register documents that reached \(request.parent)")
        let envelope: EdxmlEnvelope
        do {
            envelope = try EdxmlEnvelope.parse(request.edxml)
        } catch {
            throw Self.invalidEnvelope(error.element, error.reason)
        }
        guard envelope.to.contains(where: { $0.id == agencyCode }) else {
            throw Self.invalidEnvelope("edXMLEnvelope/edXMLHeader/MessageHeader/To", "does not name \(agencyCode)")
        }
        let header = "edXMLEnvelope/edXMLHeader/MessageHeader"
        guard envelope.documentID.hasPrefix(envelope.from.id + ","), envelope.documentID.count <= 200 else {
            throw Self.invalidEnvelope("\(header)/DocumentId", "must be From's OrganId,yyyy/MM/dd,Number/Notation")
        }
        for (element, value, limit) in [
            ("Subject", envelope.subject, 1000), ("Content", envelope.content, 1 << 20),
            ("From/OrganName", envelope.from.name, 300), ("Code/CodeNumber", envelope.codeNumber, 20),
            ("Code/CodeNotation", envelope.codeNotation, 80), ("SignerInfo/Competence", envelope.competence, 300),
            ("SignerInfo/Position", envelope.position, 300),
        ] where value.utf8.count > limit {
            throw Self.invalidEnvelope("\(header)/\(element)", "at most \(limit) bytes")
        }
        _ = try await agencies.requireActive(request.parent, field: "parent", isParent: true, errors: Self.errors)
        let source = "edxml:\(envelope.documentID)"
        switch envelope.businessType {
        case 0: return try await registerEnvelope(envelope, source: source, at: agencyCode, request: request)
        case 1, 2:
            let update = envelope.businessType == 2
            return try await store.write { tx in
                guard
                    let (found, version) = try await documents.document(agencyCode: agencyCode, source: source, in: tx)
                else {
                    throw Self.errors.failedPrecondition(
                        "NOT_RECEIVED",
                        "No document \(envelope.documentID) was received to be \(update ? "updated" : "recalled").")
                }
                guard DocumentWorkflow.answerable.contains(found.state) else {
                    throw Self.errors.failedPrecondition(
                        "NOT_RECALLABLE",
                        "The copy of \(envelope.documentID) is \(found.state); there is nothing to change.")
                }
                var copy = found
                let reason = String(envelope.businessReason.prefix(2000))
                copy.pendingRevision = .with {
                    $0.kind = update ? .update : .recall; $0.reason = reason
                    $0.requestTime = .init(micros: tx.clock.micros)
                }
                copy = try await save(copy, over: version, in: tx)
                try await documents.record(
                    .with {
                        $0.action = update ? .update : .recall; $0.actor = RequestContext.actor
                        $0.state = copy.state
                        $0.comment = "Bên gửi \(update ? "cập nhật" : "đề nghị thu hồi"): \(reason)"
                    }, documentID: DocumentRepository.parts(copy.name).1, in: tx)
                try await tx.enqueue(
                    topic: "documents.document.revision_requested", key: copy.name, payload: try copy.serializedBytes())
                return copy
            }
        default:
            throw Self.invalidEnvelope(
                "edXMLEnvelope/edXMLHeader/TraceHeaderList/Bussiness/BussinessDocType",
                "replacements (3) are not taken yet")
        }
    }

    /// Registers a new envelope (business block 0) in the incoming register, with its files.
    func registerEnvelope(
        _ envelope: EdxmlEnvelope, source: String, at agencyCode: String,
        request: Egov_Documents_V1_ImportEdxmlRequest
    ) async throws -> Egov_Documents_V1_Document {
        var attachments: [Egov_Documents_V1_DocumentAttachment] = []
        for (index, file) in envelope.files.enumerated() {
            var pieces = stride(from: 0, to: file.content.count, by: FileStore.chunkBytes).map {
                file.content[$0..<min($0 + FileStore.chunkBytes, file.content.count)]
            }.makeIterator()
            let stored: FileStore.Stored
            do {
                stored = try await files.store(contentType: file.contentType) { pieces.next().map { Data($0) } }
            } catch is FileStore.Refusal {
                throw Self.invalidEnvelope(
                    "AttachmentEncoded/Attachment[\(index)]",
                    "must be a PDF, JPEG or PNG file of at most 20 MiB whose content matches its ContentType")
            }
            attachments.append(
                .with {
                    $0.fileName = String(file.name.prefix(255)); $0.contentType = file.contentType
                    $0.sizeBytes = Int64(stored.size); $0.sha256 = stored.sha256; $0.uploadedBy = RequestContext.actor
                })
        }
        let promulgated = EdxmlEnvelope.date(envelope.promulgationDate) ?? Date()
        let subject = envelope.subject
        do {
            return try await insertEnvelope(
                envelope, source: source, at: agencyCode, request: request, subject: subject, promulgated: promulgated,
                attachments: attachments)
        } catch  where Store.isUniqueViolation(error) {
            // Two imports of one envelope at once: the index lets one through.
            throw Self.errors.alreadyExists(
                "ALREADY_REGISTERED", resource: source, "Document \(envelope.documentID) was already registered here.")
        }
    }

    func insertEnvelope(
        _ envelope: EdxmlEnvelope, source: String, at agencyCode: String, request: Egov_Documents_V1_ImportEdxmlRequest,
        subject: String, promulgated: Date, attachments: [Egov_Documents_V1_DocumentAttachment]
    ) async throws -> Egov_Documents_V1_Document {
        try await store.idempotentWrite(
            scope: "ImportEdxml", requestID: request.requestID, request: request, errors: Self.errors
        ) { tx in
            if try await documents.document(agencyCode: agencyCode, source: source, in: tx) != nil {
                throw Self.errors.alreadyExists(
                    "ALREADY_REGISTERED", resource: source,
                    "Document \(envelope.documentID) was already registered here.")
            }
            var copy = Egov_Documents_V1_Document.with {
                $0.direction = .incoming
                $0.documentType = DocumentRepository.type(named: envelope.typeName)
                $0.subject = subject
                $0.content = envelope.content
                $0.urgency = Self.urgency(envelope.priority)
                $0.confidentiality = .none
                $0.creator = RequestContext.actor
                $0.state = .registered
                $0.exchangeStatus = .arrived
                $0.code = "\(envelope.codeNumber)/\(envelope.codeNotation)"
                $0.senderName = envelope.from.name
                $0.sourceDocument = source
                $0.promulgationTime = .init(date: promulgated)
                $0.signatureBlock = [envelope.competence, envelope.position].filter { !$0.isEmpty }
                $0.attachments = attachments.map { attachment in
                    var attachment = attachment
                    attachment.uploadTime = .init(micros: tx.clock.micros)
                    return attachment
                }
            }
            try await register(&copy, at: agencyCode, in: tx)
            return try await insertArrival(
                copy, at: agencyCode,
                event: .with {
                    $0.action = .release; $0.actor = RequestContext.actor; $0.state = .registered
                    $0.comment = "Đến qua trục liên thông từ \(envelope.from.name), số \(copy.code)"
                }, in: tx)
        }
    }

    static func invalidEnvelope(_ element: String, _ reason: String) -> GoogleRPCStatus {
        errors.invalidArgument("INVALID_EDXML", field: "edxml", "\(element): \(reason)")
    }

    /// edXML's priority: 0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc (4, hỏa tốc hẹn giờ, read as 3).
    static func priority(_ urgency: Egov_Documents_V1_Urgency) -> Int {
        switch urgency {
        case .urgent: 1
        case .veryUrgent: 2
        case .flash: 3
        default: 0
        }
    }

    static func urgency(_ priority: Int) -> Egov_Documents_V1_Urgency {
        switch priority {
        case 1: .urgent
        case 2: .veryUrgent
        case 3, 4: .flash
        default: .normal
        }
    }
}
