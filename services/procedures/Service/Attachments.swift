import Crypto
public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import SwiftProtobuf

/// Uploaded files, stored by content hash under a directory: written to a temporary file,
/// flushed, then renamed, so a stored file is always whole.
public struct AttachmentStore: Sendable {
    public let directory: String
    static let maxBytes = 10 << 20
    static let chunkBytes = 1 << 20
    static let types: [String: [UInt8]] = [
        "application/pdf": Array("%PDF-".utf8), "image/jpeg": [0xFF, 0xD8, 0xFF],
        "image/png": [0x89, 0x50, 0x4E, 0x47],
    ]

    public init(directory: String) { self.directory = directory }

    func path(sha256: String) -> String { "\(directory)/\(sha256.prefix(2))/\(sha256)" }
}

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
        guard let magic = AttachmentStore.types[header.contentType] else {
            throw Self.errors.invalidArgument(
                "UNSUPPORTED_TYPE", field: "header.content_type", "must be application/pdf, image/jpeg or image/png")
        }
        let fileName = header.fileName.trimmingCharacters(in: .whitespaces)
        guard !fileName.isEmpty, fileName.count <= 255, !fileName.contains("/") else {
            throw Self.errors.invalidArgument(
                "INVALID_FILE_NAME", field: "header.file_name", "1 to 255 characters, no slashes")
        }
        try FileManager.default.createDirectory(
            atPath: attachments.directory + "/tmp", withIntermediateDirectories: true)
        let temporary = "\(attachments.directory)/tmp/\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: temporary, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        var hash = SHA256()
        var size = 0
        var head: [UInt8] = []
        do {
            while let message = try await iterator.next() {
                guard case .chunk(let chunk) = message.part else {
                    throw Self.errors.invalidArgument(
                        "HEADER_REPEATED", field: "header", "only the first message carries a header")
                }
                guard chunk.count <= AttachmentStore.chunkBytes else {
                    throw Self.errors.invalidArgument(
                        "CHUNK_TOO_LARGE", field: "chunk", "send at most 1 MiB per message")
                }
                size += chunk.count
                guard size <= AttachmentStore.maxBytes else {
                    throw Self.errors.invalidArgument("FILE_TOO_LARGE", field: "chunk", "files may be at most 10 MiB")
                }
                if head.count < 8 { head += chunk.prefix(8 - head.count) }
                hash.update(data: chunk)
                try handle.write(contentsOf: chunk)
            }
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            throw error
        }
        guard size > 0 else { throw Self.errors.invalidArgument("EMPTY_FILE", field: "chunk", "the file is empty") }
        guard head.starts(with: magic) else {
            throw Self.errors.invalidArgument(
                "CONTENT_MISMATCH", field: "header.content_type", "the file's content is not \(header.contentType)")
        }
        let digest = hash.finalize().hex
        let destination = attachments.path(sha256: digest)
        try FileManager.default.createDirectory(
            atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: destination) {
            try FileManager.default.moveItem(atPath: temporary, toPath: destination)
        }
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
        let path = attachments.path(sha256: attachment.sha256)
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Self.errors.internalError(
                "ATTACHMENT_MISSING", "The stored file is missing; the operators were told.")
        }
        defer { try? handle.close() }
        try await response.write(.with { $0.attachment = attachment })
        // Hash while sending: a file damaged on disk is reported, never passed on as the original.
        var hash = SHA256()
        while let chunk = try handle.read(upToCount: AttachmentStore.chunkBytes), !chunk.isEmpty {
            hash.update(data: chunk)
            try await response.write(.with { $0.chunk = chunk })
        }
        guard hash.finalize().hex == attachment.sha256 else {
            throw Self.errors.dataLoss(
                "ATTACHMENT_CORRUPT", "The stored file no longer matches its SHA-256; the operators were told.")
        }
    }
}
