public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore

/// A document's files: added to a draft, kept once by SHA-256 in the service's file store,
/// shared by the recipients' copies, and hashed again whenever they are sent.
extension DocumentsService {
    /// The most files one document carries.
    static let maxAttachments = 20

    public func uploadDocumentAttachment(
        request: RPCAsyncSequence<Egov_Documents_V1_UploadDocumentAttachmentRequest, any Error>, context: ServerContext
    ) async throws -> Egov_Documents_V1_DocumentAttachment {
        var iterator = request.makeAsyncIterator()
        guard let first = try await iterator.next(), case .header(let header) = first.part else {
            throw Self.errors.invalidArgument(
                "HEADER_REQUIRED", field: "header", "the first message must describe the file")
        }
        let current = try await visibleDocument(header.name, field: "header.name")
        try DocumentsPolicy.editDraft.require(current, Self.errors, doing: "add files to this document")
        try Self.requireDraft(current)
        guard current.attachments.count < Self.maxAttachments else {
            throw Self.errors.failedPrecondition(
                "TOO_MANY_ATTACHMENTS", "A document carries at most \(Self.maxAttachments) files.")
        }
        let fileName = try FileStore.fileName(header.fileName, errors: Self.errors)
        let stored = try await files.upload(contentType: header.contentType, errors: Self.errors) {
            guard let message = try await iterator.next() else { return nil }
            guard case .chunk(let chunk) = message.part else {
                throw Self.errors.invalidArgument(
                    "HEADER_REPEATED", field: "header", "only the first message carries a header")
            }
            return chunk
        }
        let (agencyCode, id) = DocumentRepository.parts(current.name)
        return try await store.write { tx in
            guard let (found, version) = try await documents.documentForUpdate(agencyCode: agencyCode, id: id, in: tx)
            else { throw Self.notFound(current.name) }
            var document = found
            try Self.requireDraft(document)
            guard document.attachments.count < Self.maxAttachments else {
                throw Self.errors.failedPrecondition(
                    "TOO_MANY_ATTACHMENTS", "A document carries at most \(Self.maxAttachments) files.")
            }
            let attachment = Egov_Documents_V1_DocumentAttachment.with {
                $0.fileName = fileName
                $0.contentType = header.contentType
                $0.sizeBytes = Int64(stored.size)
                $0.sha256 = stored.sha256
                $0.uploadedBy = RequestContext.actor
                $0.uploadTime = .init(micros: tx.clock.micros)
            }
            document.attachments.append(attachment)
            _ = try await save(document, over: version, in: tx)
            return attachment
        }
    }

    public func downloadDocumentAttachment(
        request: Egov_Documents_V1_DownloadDocumentAttachmentRequest,
        response: RPCWriter<Egov_Documents_V1_DownloadDocumentAttachmentResponse>, context: ServerContext
    ) async throws {
        let document = try await visibleDocument(request.name, field: "name")
        guard !request.sha256.isEmpty,
            let attachment = document.attachments.first(where: { $0.sha256 == request.sha256.lowercased() })
        else {
            throw Self.errors.notFound(
                "ATTACHMENT_NOT_FOUND", resource: "\(request.name)/attachments/\(Clip.text(request.sha256, 64))",
                "The document has no file with SHA-256 '\(Clip.text(request.sha256, 64))'.")
        }
        try await response.write(.with { $0.attachment = attachment })
        try await files.download(sha256: attachment.sha256, errors: Self.errors) { chunk in
            try await response.write(.with { $0.chunk = chunk })
        }
    }

    static func requireDraft(_ document: Egov_Documents_V1_Document) throws {
        guard document.direction == .outgoing, document.state == .draft else {
            throw errors.failedPrecondition(
                "NOT_A_DRAFT", "Only a draft can be changed; this document is \(document.state).")
        }
    }
}
