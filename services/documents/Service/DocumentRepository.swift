import EGovAPI
import EGovKit
import EGovStore
import Foundation
import SQLKit
import SwiftProtobuf

/// Where documents and the document type reference table are kept.
protocol DocumentRepository: Sendable {
    func document(agencyCode: String, id: String) async throws -> Egov_Documents_V1_Document?
    /// Newest first; `after` is the (create_time, id) key of the previous page's last item.
    func documents(agencyCode: String, after: (Int64, String)?, limit: Int) async throws -> [(
        Egov_Documents_V1_Document, Int64
    )]
    func insert(_ document: Egov_Documents_V1_Document, agencyCode: String, id: String, in tx: Transaction) async throws
        -> Egov_Documents_V1_Document
    func documentTypes() async throws -> [Egov_Documents_V1_DocumentTypeInfo]
}

struct SQLDocumentRepository: DocumentRepository {
    let store: Store

    /// Decree 30/2020/ND-CP, Appendix III: the kinds and their notation abbreviations.
    static let decree30Types: [(Egov_Documents_V1_DocumentType, String, String)] = [
        (.resolution, "Nghị quyết", "NQ"), (.decision, "Quyết định", "QĐ"), (.directive, "Chỉ thị", "CT"),
        (.statute, "Quy chế", "QC"), (.regulation, "Quy định", "QyĐ"), (.communique, "Thông cáo", "TC"),
        (.notice, "Thông báo", "TB"), (.guidance, "Hướng dẫn", "HD"), (.programme, "Chương trình", "CTr"),
        (.plan, "Kế hoạch", "KH"), (.scheme, "Phương án", "PA"), (.proposal, "Đề án", "ĐA"),
        (.project, "Dự án", "DA"), (.report, "Báo cáo", "BC"), (.minutes, "Biên bản", "BB"),
        (.submission, "Tờ trình", "TTr"), (.contract, "Hợp đồng", "HĐ"), (.officialLetter, "Công văn", ""),
        (.officialDispatch, "Công điện", "CĐ"), (.memorandum, "Bản ghi nhớ", "GN"),
        (.agreement, "Bản thỏa thuận", "TTh"), (.powerOfAttorney, "Giấy ủy quyền", "GUQ"),
        (.invitation, "Giấy mời", "GM"), (.letterOfIntroduction, "Giấy giới thiệu", "GGT"),
        (.leavePermit, "Giấy nghỉ phép", "GNP"), (.dispatchNote, "Phiếu gửi", "PG"),
        (.transferNote, "Phiếu chuyển", "PC"), (.notificationNote, "Phiếu báo", "PB"), (.publicLetter, "Thư công", ""),
    ]

    static let migrations: [Migration] = [
        Migration(
            "0001_documents",
            [
                """
                CREATE TABLE documents (
                    id TEXT PRIMARY KEY,
                    agency TEXT NOT NULL,
                    direction BIGINT NOT NULL,
                    document_type BIGINT NOT NULL,
                    subject TEXT NOT NULL,
                    content TEXT NOT NULL,
                    urgency BIGINT NOT NULL,
                    confidentiality BIGINT NOT NULL,
                    number BIGINT NOT NULL,
                    notation TEXT NOT NULL,
                    creator TEXT NOT NULL,
                    state BIGINT NOT NULL,
                    create_time BIGINT NOT NULL,
                    update_time BIGINT NOT NULL,
                    version BIGINT NOT NULL
                )
                """,
                "CREATE INDEX documents_by_agency ON documents (agency, create_time, id)",
                """
                CREATE TABLE document_types (
                    document_type BIGINT PRIMARY KEY,
                    display_name TEXT NOT NULL,
                    abbreviation TEXT NOT NULL
                )
                """,
            ]
                + decree30Types.map { type, name, abbreviation in
                    "INSERT INTO document_types (document_type, display_name, abbreviation) VALUES (\(type.rawValue), '\(name)', '\(abbreviation)')"
                }
        )
    ]

    func document(agencyCode: String, id: String) async throws -> Egov_Documents_V1_Document? {
        try await store.read { db in
            try await db.row("SELECT * FROM documents WHERE agency = \(bind: agencyCode) AND id = \(bind: id)")
                .map(Self.decode)
        }
    }

    func documents(agencyCode: String, after: (Int64, String)?, limit: Int) async throws
        -> [(Egov_Documents_V1_Document, Int64)]
    {
        try await store.read { db in
            let rows: [any SQLRow]
            if let (time, id) = after {
                rows = try await db.rows(
                    """
                    SELECT * FROM documents WHERE agency = \(bind: agencyCode)
                    AND (create_time < \(bind: time) OR (create_time = \(bind: time) AND id < \(bind: id)))
                    ORDER BY create_time DESC, id DESC LIMIT \(literal: limit)
                    """)
            } else {
                rows = try await db.rows(
                    """
                    SELECT * FROM documents WHERE agency = \(bind: agencyCode)
                    ORDER BY create_time DESC, id DESC LIMIT \(literal: limit)
                    """)
            }
            return try rows.map { (try Self.decode($0), try $0.decode(column: "create_time", as: Int64.self)) }
        }
    }

    func insert(_ document: Egov_Documents_V1_Document, agencyCode: String, id: String, in tx: Transaction) async throws
        -> Egov_Documents_V1_Document
    {
        var document = document
        let now = store.clock.micros
        document.name = "agencies/\(agencyCode)/documents/\(id)"
        document.agency = "agencies/\(agencyCode)"
        document.state = .draft
        document.createTime = Google_Protobuf_Timestamp(micros: now)
        document.updateTime = document.createTime
        document.etag = "1"
        try await tx.database.execute(
            """
            INSERT INTO documents (id, agency, direction, document_type, subject, content, urgency, confidentiality,
                                   number, notation, creator, state, create_time, update_time, version)
            VALUES (\(bind: id), \(bind: agencyCode), \(bind: document.direction.rawValue),
                    \(bind: document.documentType.rawValue), \(bind: document.subject), \(bind: document.content),
                    \(bind: document.urgency.rawValue), \(bind: document.confidentiality.rawValue), 0, '',
                    \(bind: document.creator), \(bind: document.state.rawValue), \(bind: now), \(bind: now), 1)
            """)
        return document
    }

    func documentTypes() async throws -> [Egov_Documents_V1_DocumentTypeInfo] {
        try await store.read { db in
            try await db.rows("SELECT * FROM document_types ORDER BY document_type").map { row in
                try .with {
                    $0.documentType =
                        .init(rawValue: Int(try row.decode(column: "document_type", as: Int64.self))) ?? .unspecified
                    $0.displayName = try row.decode(column: "display_name", as: String.self)
                    $0.abbreviation = try row.decode(column: "abbreviation", as: String.self)
                }
            }
        }
    }

    static func decode(_ row: any SQLRow) throws -> Egov_Documents_V1_Document {
        let agency = try row.decode(column: "agency", as: String.self)
        let id = try row.decode(column: "id", as: String.self)
        func int(_ column: String) throws -> Int { Int(try row.decode(column: column, as: Int64.self)) }
        return try .with {
            $0.name = "agencies/\(agency)/documents/\(id)"
            $0.agency = "agencies/\(agency)"
            $0.direction = .init(rawValue: try int("direction")) ?? .unspecified
            $0.documentType = .init(rawValue: try int("document_type")) ?? .unspecified
            $0.subject = try row.decode(column: "subject", as: String.self)
            $0.content = try row.decode(column: "content", as: String.self)
            $0.urgency = .init(rawValue: try int("urgency")) ?? .unspecified
            $0.confidentiality = .init(rawValue: try int("confidentiality")) ?? .unspecified
            $0.number = Int32(try int("number"))
            $0.notation = try row.decode(column: "notation", as: String.self)
            $0.creator = try row.decode(column: "creator", as: String.self)
            $0.state = .init(rawValue: try int("state")) ?? .unspecified
            $0.createTime = Google_Protobuf_Timestamp(micros: try row.decode(column: "create_time", as: Int64.self))
            $0.updateTime = Google_Protobuf_Timestamp(micros: try row.decode(column: "update_time", as: Int64.self))
            $0.etag = String(try int("version"))
        }
    }
}
