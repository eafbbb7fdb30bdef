public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import GRPCProtobuf
import SQLKit
import SwiftProtobuf

/// Work files (hồ sơ công việc): an agency's documents on one matter in one year, kept
/// together for archiving (Decree 30, Chapter IV). Documents are added, never removed.
extension DocumentsService {
    public typealias CaseFile = Egov_Documents_V1_CaseFile

    public func createCaseFile(
        request: Egov_Documents_V1_CreateCaseFileRequest, context: ServerContext
    ) async throws -> CaseFile {
        let agencyCode = try Self.errors.agencyCode(fromName: request.parent, field: "parent")
        try DocumentsPolicy.handleFiles.require(
            request.parent, Self.errors, doing: "open work files of \(request.parent)")
        let input = request.caseFile
        var violations: [ErrorBuilder.Violation] = []
        let title = input.title.trimmingCharacters(in: .whitespacesAndNewlines)
        if title.isEmpty || title.count > 500 || title.unicodeScalars.contains(where: Self.isControl) {
            violations.append(.init("case_file.title", "is required, at most 500 characters on one line"))
        }
        let code = input.code.trimmingCharacters(in: .whitespaces)
        if code.count > 40 || code.unicodeScalars.contains(where: Self.isControl) {
            violations.append(.init("case_file.code", "at most 40 characters"))
        }
        let thisYear = DocumentWorkflow.year(ofMicros: store.clock.micros)
        if input.year != 0 && !(2000...(thisYear + 1)).contains(Int(input.year)) {
            violations.append(.init("case_file.year", "must be between 2000 and next year"))
        }
        if input.retention.count > 100 || input.retention.unicodeScalars.contains(where: Self.isControl) {
            violations.append(.init("case_file.retention", "at most 100 characters"))
        }
        if !violations.isEmpty { throw Self.errors.invalidArgument("INVALID_CASE_FILE", violations) }
        _ = try await agencies.requireActive(request.parent, field: "parent", isParent: true, errors: Self.errors)
        let file = CaseFile.with {
            $0.title = title
            $0.code = code
            $0.year = input.year == 0 ? Int32(thisYear) : input.year
            $0.retention = input.retention.trimmingCharacters(in: .whitespaces)
            $0.keeper = RequestContext.actor
            $0.state = .open
        }
        return try await store.idempotentWrite(
            scope: "CreateCaseFile", requestID: request.requestID, request: request, errors: Self.errors
        ) { tx in
            try await caseFiles.insert(file, agencyCode: agencyCode, in: tx)
        }
    }

    public func getCaseFile(
        request: Egov_Documents_V1_GetCaseFileRequest, context: ServerContext
    ) async throws -> CaseFile {
        try await visibleCaseFile(request.name, field: "name")
    }

    public func listCaseFiles(
        request: Egov_Documents_V1_ListCaseFilesRequest, context: ServerContext
    ) async throws -> Egov_Documents_V1_ListCaseFilesResponse {
        let agencyCode = try Self.errors.agencyCode(fromName: request.parent, field: "parent")
        try DocumentsPolicy.handleFiles.require(
            request.parent, Self.errors, doing: "list work files of \(request.parent)")
        let size = try Self.errors.pageSize(request.pageSize)
        let filter = "parent=\(request.parent) year=\(request.year)"
        let after = try PageToken.decode(request.pageToken, filter: filter, errors: Self.errors)
        let files = try await caseFiles.files(
            agencyCode: agencyCode, year: Int(request.year), after: after, limit: size + 1)
        let page = PageToken.page(files, size: size, filter: filter) { DocumentRepository.parts($0.file.name).1 }
        return .with {
            $0.caseFiles = page.items.map(Self.visibleContents)
            $0.nextPageToken = page.nextPageToken
        }
    }

    public func addCaseFileDocument(
        request: Egov_Documents_V1_AddCaseFileDocumentRequest, context: ServerContext
    ) async throws -> CaseFile {
        let file = try await visibleCaseFile(request.name, field: "name")
        let document = try await visibleDocument(request.document, field: "document")
        guard document.agency == DocumentRepository.agency(ofCaseFile: file.name) else {
            throw Self.errors.invalidArgument(
                "INVALID_DOCUMENT", field: "document", "must be a document of the file's agency")
        }
        guard file.state == .open else {
            throw Self.errors.failedPrecondition(
                "CASE_FILE_CLOSED", "The work file is closed; it takes no more documents.")
        }
        let (_, fileID) = DocumentRepository.parts(file.name)
        let (_, documentID) = DocumentRepository.parts(document.name)
        try await store.write { tx in
            guard let state = try await caseFiles.lockedState(id: fileID, in: tx), state == .open else {
                throw Self.errors.failedPrecondition(
                    "CASE_FILE_CLOSED", "The work file is closed; it takes no more documents.")
            }
            try await caseFiles.add(documentID: documentID, to: fileID, in: tx)
        }
        return try await visibleCaseFile(request.name, field: "name")
    }

    public func closeCaseFile(
        request: Egov_Documents_V1_CloseCaseFileRequest, context: ServerContext
    ) async throws -> CaseFile {
        let file = try await visibleCaseFile(request.name, field: "name")
        try DocumentsPolicy.closeFile.require(file, Self.errors, doing: "close this work file")
        guard file.state == .open else { return file }
        try await store.write { tx in
            _ = try await caseFiles.lockedState(id: DocumentRepository.parts(file.name).1, in: tx)
            try await caseFiles.close(id: DocumentRepository.parts(file.name).1, in: tx)
        }
        return try await visibleCaseFile(request.name, field: "name")
    }

    /// The work file `name` if the caller may see it: NOT_FOUND otherwise.
    func visibleCaseFile(_ name: String, field: String) async throws -> CaseFile {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "agencies", AgencyCode.isValid(String(parts[1])), parts[2] == "caseFiles",
            !parts[3].isEmpty, parts[3].utf8.count <= 64
        else {
            throw Self.errors.invalidArgument(
                "INVALID_CASE_FILE_NAME", field: field,
                "must be agencies/{code}/caseFiles/{id}, got '\(Clip.text(name, 128))'")
        }
        try DocumentsPolicy.handleFiles.require(
            "agencies/\(parts[1])", Self.errors, doing: "read this agency's work files")
        guard let file = try await caseFiles.file(agencyCode: String(parts[1]), id: String(parts[3])) else {
            throw Self.errors.notFound(
                "CASE_FILE_NOT_FOUND", resource: name, "Work file '\(Clip.text(name, 128))' does not exist.")
        }
        return Self.visibleContents(file)
    }

    /// The file listing only the documents the caller may read (classified ones stay hidden).
    static func visibleContents(_ stored: CaseFileRepository.Stored) -> CaseFile {
        var file = stored.file
        let agency = DocumentRepository.agency(ofCaseFile: file.name)
        file.documents = zip(stored.file.documents, stored.levels).filter { _, level in
            DocumentsPolicy.readDocument.allows(
                .with {
                    $0.agency = agency; $0.confidentiality = level
                })
        }.map(\.0)
        return file
    }
}

/// Work files in the documents store; each file's documents with it, in the order added.
struct CaseFileRepository: Sendable {
    let store: Store

    /// A file as stored, with the confidentiality of each of its documents.
    struct Stored {
        var file: Egov_Documents_V1_CaseFile
        var levels: [Egov_Documents_V1_Confidentiality]
    }

    func insert(_ file: Egov_Documents_V1_CaseFile, agencyCode: String, in tx: Transaction) async throws
        -> Egov_Documents_V1_CaseFile
    {
        var file = file
        let now = tx.clock.micros
        // Ordered by when it was opened: the id starts with the time.
        let id = String(format: "%014llx", now) + UUID().uuidString.lowercased().prefix(8)
        file.name = "agencies/\(agencyCode)/caseFiles/\(id)"
        file.createTime = .init(micros: now)
        file.etag = "1"
        try await tx.database.execute(
            """
            INSERT INTO case_files (id, agency, year, code, title, detail, state, create_time, version)
            VALUES (\(bind: id), \(bind: agencyCode), \(bind: Int64(file.year)), \(bind: file.code), \(bind: file.title),
                    \(bind: try file.jsonString()), \(bind: file.state.rawValue), \(bind: now), 1)
            """)
        return file
    }

    func file(agencyCode: String, id: String) async throws -> Stored? {
        try await store.read { db in
            guard
                let row = try await db.row(
                    "SELECT * FROM case_files WHERE agency = \(bind: agencyCode) AND id = \(bind: id)")
            else { return nil }
            return try await Self.decode(row, db: db)
        }
    }

    func files(agencyCode: String, year: Int, after: String?, limit: Int) async throws -> [Stored] {
        try await store.read { db in
            var equals: [(column: String, value: SQLBind)] = [("agency", SQLBind(agencyCode))]
            if year != 0 { equals.append(("year", SQLBind(Int64(year)))) }
            var files: [Stored] = []
            for row in try await db.rows(
                keysetPageQuery(table: "case_files", key: "id", after: after, equals: equals, limit: limit))
            {
                files.append(try await Self.decode(row, db: db))
            }
            return files
        }
    }

    /// The file's state, its row locked until `tx` ends (so a close and an addition do not cross).
    func lockedState(id: String, in tx: Transaction) async throws -> Egov_Documents_V1_CaseFile.State? {
        guard
            let row = try await tx.database.row(
                "UPDATE case_files SET version = version + 1 WHERE id = \(bind: id) RETURNING state")
        else { return nil }
        return .init(rawValue: Int(try row.decode(column: "state", as: Int64.self)))
    }

    /// Adds the document; adding it again changes nothing.
    func add(documentID: String, to fileID: String, in tx: Transaction) async throws {
        try await tx.database.execute(
            """
            INSERT INTO case_file_documents (file_id, document_id, seq)
            SELECT \(bind: fileID), \(bind: documentID), COALESCE(MAX(seq), 0) + 1 FROM case_file_documents
            WHERE file_id = \(bind: fileID)
            ON CONFLICT (file_id, document_id) DO NOTHING
            """)
    }

    func close(id: String, in tx: Transaction) async throws {
        guard
            let row = try await tx.database.row("SELECT detail FROM case_files WHERE id = \(bind: id)"),
            var file = try? Egov_Documents_V1_CaseFile(jsonString: try row.decode(column: "detail", as: String.self))
        else { return }
        file.state = .closed
        file.closeTime = .init(micros: tx.clock.micros)
        try await tx.database.execute(
            """
            UPDATE case_files SET state = \(bind: file.state.rawValue), detail = \(bind: try file.jsonString())
            WHERE id = \(bind: id)
            """)
    }

    /// The work files holding the document `documentID`.
    func files(holding documentID: String, agencyCode: String) async throws -> [String] {
        try await store.read { db in
            try await db.rows(
                "SELECT file_id FROM case_file_documents WHERE document_id = \(bind: documentID) ORDER BY file_id"
            ).map { "agencies/\(agencyCode)/caseFiles/\(try $0.decode(column: "file_id", as: String.self))" }
        }
    }

    static func decode(_ row: any SQLRow, db: any SQLDatabase) async throws -> Stored {
        var file = try Egov_Documents_V1_CaseFile(jsonString: try row.decode(column: "detail", as: String.self))
        let id = try row.decode(column: "id", as: String.self)
        let agency = try row.decode(column: "agency", as: String.self)
        file.name = "agencies/\(agency)/caseFiles/\(id)"
        file.etag = String(try row.decode(column: "version", as: Int64.self))
        let rows = try await db.rows(
            """
            SELECT c.document_id, d.confidentiality FROM case_file_documents c JOIN documents d ON d.id = c.document_id
            WHERE c.file_id = \(bind: id) ORDER BY c.seq
            """)
        file.documents = try rows.map {
            "agencies/\(agency)/documents/\(try $0.decode(column: "document_id", as: String.self))"
        }
        let levels = try rows.map {
            Egov_Documents_V1_Confidentiality(rawValue: Int(try $0.decode(column: "confidentiality", as: Int64.self)))
                ?? .topSecret
        }
        return Stored(file: file, levels: levels)
    }
}
