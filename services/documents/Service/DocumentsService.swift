public import EGovAPI
public import EGovKit
public import EGovStore
import Foundation
public import GRPCCore

/// The documents service's RPCs.
public struct DocumentsService: Egov_Documents_V1_DocumentsService.SimpleServiceProtocol {
    let documents: any DocumentRepository
    let agencies: any AgencyDirectory
    let store: Store
    static let errors = ErrorBuilder(domain: "documents.egov")

    public init(store: Store, agencies: any AgencyDirectory) {
        self.store = store
        self.agencies = agencies
        self.documents = SQLDocumentRepository(store: store)
    }

    public func createDocument(
        request: Egov_Documents_V1_CreateDocumentRequest, context: ServerContext
    ) async throws -> Egov_Documents_V1_Document {
        let agencyCode = try Self.errors.agencyCode(fromName: request.parent, field: "parent")
        try DocumentsPolicy.handleDocuments.require(
            request.parent, Self.errors, doing: "create documents of \(request.parent)")
        var document = try Self.validated(request.document)
        _ = try await agencies.requireActive(request.parent, field: "parent", isParent: true, errors: Self.errors)
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
    ) async throws -> Egov_Documents_V1_Document {
        let parts = request.name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "agencies", AgencyCode.isValid(String(parts[1])), parts[2] == "documents",
            !parts[3].isEmpty
        else {
            throw Self.errors.invalidArgument(
                "INVALID_DOCUMENT_NAME", field: "name", "must be agencies/{code}/documents/{id}, got '\(request.name)'")
        }
        try DocumentsPolicy.handleDocuments.require(
            "agencies/\(parts[1])", Self.errors, doing: "read this agency's documents")
        guard let document = try await documents.document(agencyCode: String(parts[1]), id: String(parts[3])) else {
            throw Self.errors.notFound(
                "DOCUMENT_NOT_FOUND", resource: request.name, "Document '\(request.name)' does not exist.")
        }
        return document
    }

    public func listDocuments(
        request: Egov_Documents_V1_ListDocumentsRequest, context: ServerContext
    ) async throws -> Egov_Documents_V1_ListDocumentsResponse {
        let agencyCode = try Self.errors.agencyCode(fromName: request.parent, field: "parent")
        try DocumentsPolicy.handleDocuments.require(request.parent, Self.errors, doing: "list this agency's documents")
        let size = try Self.errors.pageSize(request.pageSize)
        let filter = "parent=\(request.parent)"
        var after: (Int64, String)?
        if let key = try PageToken.decode(request.pageToken, filter: filter, errors: Self.errors) {
            let pieces = key.split(separator: " ")
            guard pieces.count == 2, let time = Int64(pieces[0]) else {
                throw Self.errors.invalidArgument(
                    "INVALID_PAGE_TOKEN", field: "page_token", "is not a token this service issued")
            }
            after = (time, String(pieces[1]))
        }
        let page = try await documents.documents(agencyCode: agencyCode, after: after, limit: size + 1)
        return .with {
            $0.documents = page.prefix(size).map(\.0)
            if page.count > size {
                let (last, time) = page[size - 1]
                let id = last.name.split(separator: "/").last.map(String.init) ?? ""
                $0.nextPageToken = PageToken.encode(after: "\(time) \(id)", filter: filter)
            }
        }
    }

    public func listDocumentTypes(
        request: Egov_Documents_V1_ListDocumentTypesRequest, context: ServerContext
    ) async throws -> Egov_Documents_V1_ListDocumentTypesResponse {
        let types = try await documents.documentTypes()
        return .with { $0.documentTypes = types }
    }

    /// Checks a draft to create; returns it with output-only fields cleared.
    static func validated(_ input: Egov_Documents_V1_Document) throws -> Egov_Documents_V1_Document {
        var violations: [ErrorBuilder.Violation] = []
        if input.direction != .outgoing {
            violations.append(
                .init("document.direction", "must be DIRECTION_OUTGOING: incoming documents arrive by exchange"))
        }
        if input.documentType == .unspecified
            || Egov_Documents_V1_DocumentType.allCases.contains(input.documentType) == false
        {
            violations.append(.init("document.document_type", "is required"))
        }
        let subject = input.subject.trimmingCharacters(in: .whitespacesAndNewlines)
        if subject.isEmpty || subject.count > 1000 {
            violations.append(.init("document.subject", "is required, at most 1000 characters"))
        }
        if input.content.utf8.count > 1 << 20 {
            violations.append(.init("document.content", "must be at most 1 MiB"))
        }
        if Egov_Documents_V1_Urgency.allCases.contains(input.urgency) == false {
            violations.append(.init("document.urgency", "is not a known urgency"))
        }
        if Egov_Documents_V1_Confidentiality.allCases.contains(input.confidentiality) == false {
            violations.append(.init("document.confidentiality", "is not a known level"))
        }
        if !violations.isEmpty { throw errors.invalidArgument("INVALID_DOCUMENT", violations) }
        return .with {
            $0.direction = input.direction
            $0.documentType = input.documentType
            $0.subject = subject
            $0.content = input.content
            $0.urgency = input.urgency == .unspecified ? .normal : input.urgency
            $0.confidentiality = input.confidentiality == .unspecified ? .none : input.confidentiality
        }
    }
}
