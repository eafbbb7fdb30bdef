public import EGovAPI
import EGovKit
import Foundation
public import GRPCCore

/// A dossier's result decision as an official document: drafted in the documents service as
/// the signed-in official, and required released before the dossier is finished.
extension ProceduresService {
    public func draftResultDocument(
        request: Egov_Procedures_V1_DraftResultDocumentRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Dossier {
        var dossier = try await visibleDossier(request.name)
        try ProceduresPolicy.draftResult.require(dossier, Self.errors, doing: "draft this dossier's result decision")
        guard dossier.resultDocument.isEmpty else { return dossier }
        guard dossier.status == .processing else {
            throw Self.errors.failedPrecondition(
                "ILLEGAL_TRANSITION",
                "The result decision is drafted while the dossier is processed; it is "
                    + "\(DossierWorkflow.statusName(dossier.status)).",
                metadata: ["status": "\(dossier.status.rawValue)"])
        }
        guard let office = documentOffice else {
            throw Self.errors.failedPrecondition(
                "DOCUMENTS_NOT_CONNECTED", "This installation has no documents service (peers.documents).")
        }
        if !Egov_Documents_V1_DocumentType.allCases.contains(request.documentType) {
            throw Self.errors.invalidArgument("INVALID_DOCUMENT_TYPE", field: "document_type", "is not a known kind")
        }
        let procedure = try await template(of: dossier)
        let subject = request.subject.trimmingCharacters(in: .whitespacesAndNewlines)
        let draft = Egov_Documents_V1_Document.with {
            $0.direction = .outgoing
            $0.documentType = request.documentType == .unspecified ? .decision : request.documentType
            let whom = dossier.applicantName.isEmpty ? "" : " cho \(dossier.applicantName)"
            $0.subject = subject.isEmpty ? "Về việc \(procedure?.displayName ?? dossier.procedure)\(whom)" : subject
            $0.content = request.content
            $0.dossier = dossier.name
            // The receiving point returns the result: it gets the decision too.
            if dossier.agency != dossier.decidingAgency { $0.recipients = [dossier.agency] }
        }
        // A fresh request id: one others could guess would let them block the draft. A second
        // call finds the dossier linked already (above); two at once: the slower one's link is
        // refused by the dossier's etag.
        let document = try await office.draft(draft, at: dossier.decidingAgency, requestID: UUID().uuidString)
        dossier.resultDocument = document.name
        let event = Egov_Procedures_V1_DossierEvent.noted(
            .draftResultDocument, on: dossier, by: RequestContext.actor,
            "Dự thảo quyết định kết quả: \(document.subject)", at: .init(date: clock()))
        return try await save(dossier, event: event)
    }

    /// FINISH with a result decision: it must have been released; its number goes on the dossier.
    func requireReleasedResultDocument(_ change: inout Transition) async throws {
        let name = change.dossier.resultDocument
        guard !name.isEmpty else { return }
        guard let office = documentOffice, let document = try await office.document(named: name),
            document.state == .released
        else {
            throw Self.errors.failedPrecondition(
                "RESULT_DOCUMENT_NOT_RELEASED",
                "Release the result decision (\(name)) in documents before finishing the dossier.",
                metadata: ["result_document": name])
        }
        change.dossier.resultDocumentCode = document.code
        change.detail = [change.detail, "Quyết định số \(document.code)"].filter { !$0.isEmpty }.joined(
            separator: "; ")
    }
}
