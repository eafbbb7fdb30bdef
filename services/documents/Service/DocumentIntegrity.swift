public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore

/// Whether a document is still what was signed: its signatures over its canonical form as
/// stored now, and its files against their hashes.
extension DocumentsService {
    public func verifyDocument(
        request: Egov_Documents_V1_VerifyDocumentRequest, context: ServerContext
    ) async throws -> Egov_Documents_V1_Document {
        let current = try await visibleDocument(request.name, field: "name")
        let (integrity, detail) = await verdict(on: current)
        let (agencyCode, id) = DocumentRepository.parts(current.name)
        return try await store.write { tx in
            guard let (found, version) = try await documents.documentForUpdate(agencyCode: agencyCode, id: id, in: tx)
            else { throw Self.notFound(current.name) }
            // The verdict is on the document as read: if it changed since, check again.
            guard found.etag == current.etag else { throw Self.concurrentChange }
            var document = found
            document.integrity = integrity
            document.integrityDetail = detail
            document.verifyTime = .init(micros: tx.clock.micros)
            document = try await save(document, over: version, in: tx)
            return document
        }
    }

    public func exportSignedDocument(
        request: Egov_Documents_V1_ExportSignedDocumentRequest, context: ServerContext
    ) async throws -> Egov_Documents_V1_ExportSignedDocumentResponse {
        let document = try await visibleDocument(request.name, field: "name")
        guard !document.signatures.isEmpty else {
            throw Self.errors.failedPrecondition("NOT_SIGNED", "The document has no signature yet.")
        }
        return .with {
            $0.forms = document.signatures.map { signature in
                .with {
                    $0.signature = signature
                    $0.content = Data(Self.form(of: signature, on: document))
                }
            }
        }
    }

    /// The verdict on `document`: VERIFIED when every signature matches its canonical form and
    /// every file its hash, TAMPERED naming the first that does not; UNSPECIFIED when unsigned.
    func verdict(on document: Egov_Documents_V1_Document) async -> (Egov_Documents_V1_Integrity, String) {
        guard !document.signatures.isEmpty else { return (.unspecified, "") }
        guard let signer else { return (.unspecified, "no signing CA to check against") }
        let issuer = document.direction == .incoming ? document.sender : document.agency
        for signature in document.signatures {
            // Each signature must be by whom the document says: its signer, its issuing agency.
            let expected = signature.role == .agency ? issuer : document.signer
            guard signature.signer == expected, [.signer, .agency].contains(signature.role) else {
                return (
                    .tampered, "a signature is not by the document's \(signature.role == .agency ? "agency" : "signer")"
                )
            }
            if let problem = await signer.problem(with: signature, over: Self.form(of: signature, on: document)) {
                let whose = signature.role == .agency ? "the agency's" : "the signer's"
                return (
                    .tampered, "\(whose) signature does not match the document as stored (\(Clip.text(problem, 200)))"
                )
            }
        }
        for attachment in document.attachments where await !files.isIntact(sha256: attachment.sha256) {
            return (.tampered, "the file \(attachment.fileName) no longer matches its SHA-256")
        }
        return (.verified, "")
    }

    static func form(
        of signature: Egov_Documents_V1_DocumentSignature, on document: Egov_Documents_V1_Document
    ) -> [UInt8] {
        signature.role == .agency ? CanonicalForm.agency(document) : CanonicalForm.signer(document)
    }
}
