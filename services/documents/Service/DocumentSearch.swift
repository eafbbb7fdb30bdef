public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore

extension DocumentsService {
    public func searchDocuments(
        request: Egov_Documents_V1_SearchDocumentsRequest, context: ServerContext
    ) async throws -> Egov_Documents_V1_SearchDocumentsResponse {
        let agencyCode = try Self.errors.agencyCode(fromName: request.parent, field: "parent")
        try DocumentsPolicy.handleDocuments.require(
            request.parent, Self.errors, doing: "search this agency's documents")
        let size = try Self.errors.pageSize(request.pageSize)
        guard request.query.count <= 200 else {
            throw Self.errors.invalidArgument("INVALID_QUERY", field: "query", "at most 200 characters")
        }
        // Letters and digits only: nothing of the query reaches the engines' query syntax.
        let words = VietnameseText.fold(request.query).split { !($0.isLetter || $0.isNumber) }.map(String.init)
        guard !words.isEmpty, words.count <= 10 else {
            throw Self.errors.invalidArgument("INVALID_QUERY", field: "query", "give 1 to 10 words")
        }
        guard words.allSatisfy({ $0.allSatisfy { $0.isASCII } }) else {
            throw Self.errors.invalidArgument(
                "INVALID_QUERY", field: "query", "letters of the Vietnamese alphabet and digits")
        }
        if !Egov_Documents_V1_Document.Direction.allCases.contains(request.direction) {
            throw Self.errors.invalidArgument("INVALID_DIRECTION", field: "direction", "is not a known direction")
        }
        if !Egov_Documents_V1_DocumentType.allCases.contains(request.documentType) {
            throw Self.errors.invalidArgument("INVALID_DOCUMENT_TYPE", field: "document_type", "is not a known type")
        }
        if !Egov_Documents_V1_Urgency.allCases.contains(request.urgency) {
            throw Self.errors.invalidArgument("INVALID_URGENCY", field: "urgency", "is not a known urgency")
        }
        if let index = request.states.firstIndex(where: {
            !Egov_Documents_V1_Document.State.allCases.contains($0) || $0 == .unspecified
        }) {
            throw Self.errors.invalidArgument("INVALID_STATE", field: "states[\(index)]", "is not a known state")
        }
        var query = DocumentRepository.SearchQuery(
            agencyCode: agencyCode, words: words, direction: request.direction, documentType: request.documentType,
            urgency: request.urgency, states: request.states, offset: 0, limit: size + 1)
        if request.hasStartTime {
            query.start = try Self.errors.acceptedTime(request.startTime, field: "start_time").micros
        }
        if request.hasEndTime { query.end = try Self.errors.acceptedTime(request.endTime, field: "end_time").micros }
        var filter = request
        filter.pageSize = 0
        filter.pageToken = ""
        let fingerprint = (try? filter.serializedBytes() as [UInt8]).map { Data($0).base64EncodedString() } ?? ""
        if let key = try PageToken.decode(request.pageToken, filter: fingerprint, errors: Self.errors) {
            guard let offset = Int(key), offset >= 0, offset <= 10_000_000 else {
                throw Self.errors.invalidArgument(
                    "INVALID_PAGE_TOKEN", field: "page_token", "is not a token this service issued")
            }
            query.offset = offset
        }
        // Ranked rows are read in batches and the ones the caller may not read are skipped, until
        // the page is full or the ranking is exhausted; the token is where reading stopped.
        var page: [Egov_Documents_V1_Document] = []
        var offset = query.offset
        var more = true
        // At most ten pages' worth of rows looked at per call: the token says where to go on.
        let budget = offset + 10 * size + 20
        while page.count < size && more && offset < budget {
            query.offset = offset
            query.limit = max(size - page.count, 20)
            let batch = try await documents.search(query)
            for document in batch where page.count < size {
                offset += 1
                if DocumentsPolicy.readDocument.allows(document) { page.append(document) }
            }
            // More remain when the batch was full, or the page filled before its end.
            more = batch.count == query.limit || offset < query.offset + batch.count
        }
        let next = offset
        return .with {
            $0.documents = page
            if more { $0.nextPageToken = PageToken.encode(after: String(next), filter: fingerprint) }
        }
    }
}
