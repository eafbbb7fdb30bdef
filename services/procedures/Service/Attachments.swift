public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import SwiftProtobuf

extension ProceduresService {
    public func uploadAttachment(
        request: RPCAsyncSequence<Egov_Procedures_V1_UploadAttachmentRequest, any Error>, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Attachment {
        var iterator = request.makeAsyncIterator()
        guard let first = try await iterator.next(), case .header(let header) = first.part else {
            throw Self.errors.invalidArgument(
                "HEADER_REQUIRED", field: "header", "the first message must describe the file")
        }
        var dossier = try await visibleDossier(header.name)
        let user = RequestContext.current?.user
        let kind: Egov_Procedures_V1_Attachment.Kind = header.kind == .unspecified ? .document : header.kind
        switch kind {
        case .result:
            // The result is the deciding agency's: its officials attach it while processing, before finishing.
            try ProceduresPolicy.attachResult.require(
                dossier, Self.errors, doing: "attach results: the deciding agency's officials do")
            guard [.processing, .finished].contains(dossier.status) else {
                throw Self.errors.failedPrecondition(
                    "UPLOAD_CLOSED",
                    "Results are attached while the dossier is processed; it is in status \(DossierWorkflow.statusName(dossier.status)).",
                    metadata: ["status": "\(dossier.status.rawValue)"])
            }
        case .document, .powerOfAttorney:
            if let user {
                let official = ProceduresPolicy.workOnDossier.allows(dossier)
                let applicantMayAdd =
                    dossier.isApplicantSide(user.sub)
                    && [.newlyRegistered, .supplementRequested].contains(dossier.status)
                guard official || applicantMayAdd else {
                    throw Self.errors.failedPrecondition(
                        "UPLOAD_CLOSED", "Files can be added while the dossier is new or a supplement is requested.")
                }
            }
        default:
            throw Self.errors.invalidArgument(
                "INVALID_KIND", field: "header.kind", "must be KIND_DOCUMENT, KIND_POWER_OF_ATTORNEY or KIND_RESULT")
        }
        let fileName = try FileStore.fileName(header.fileName, errors: Self.errors)
        let stored = try await attachments.upload(contentType: header.contentType, errors: Self.errors) {
            guard let message = try await iterator.next() else { return nil }
            guard case .chunk(let chunk) = message.part else {
                throw Self.errors.invalidArgument(
                    "HEADER_REPEATED", field: "header", "only the first message carries a header")
            }
            return chunk
        }
        let (digest, size) = (stored.sha256, stored.size)
        let attachment = Egov_Procedures_V1_Attachment.with {
            $0.fileName = fileName
            $0.contentType = header.contentType
            $0.sizeBytes = Int64(size)
            $0.sha256 = digest
            $0.requiredDocument = String(header.requiredDocument.prefix(500))
            $0.uploadedBy = RequestContext.actor
            $0.uploadTime = .init(date: clock())
            $0.kind = kind
        }
        dossier.attachments.append(attachment)
        let what = kind == .result ? "Kết quả" : kind == .powerOfAttorney ? "Văn bản ủy quyền" : "Tệp"
        let event = Egov_Procedures_V1_DossierEvent.noted(
            .attach, on: dossier, by: attachment.uploadedBy,
            "\(what) \(fileName) (\(size) byte, SHA-256 \(digest.prefix(12))…)", at: attachment.uploadTime)
        guard try await trySave(dossier, event: event, topic: nil) else {
            throw Self.errors.failedPrecondition(
                "ETAG_MISMATCH", "The dossier changed during the upload; upload again.")
        }
        return attachment
    }
}

extension ProceduresService {
    public func downloadAttachment(
        request: Egov_Procedures_V1_DownloadAttachmentRequest,
        response: RPCWriter<Egov_Procedures_V1_DownloadAttachmentResponse>,
        context: ServerContext
    ) async throws {
        let dossier = try await visibleDossier(request.name)
        guard let attachment = dossier.attachments.first(where: { $0.sha256 == request.sha256.lowercased() }),
            !request.sha256.isEmpty
        else {
            throw Self.errors.notFound(
                "ATTACHMENT_NOT_FOUND", resource: "\(request.name)/attachments/\(request.sha256)",
                "The dossier has no file with SHA-256 '\(request.sha256)'.")
        }
        try await response.write(.with { $0.attachment = attachment })
        try await attachments.download(sha256: attachment.sha256, errors: Self.errors) { chunk in
            try await response.write(.with { $0.chunk = chunk })
        }
    }
}
