import EGovAPI
import EGovKit
import EGovStore
import Foundation
import SQLKit
import SwiftProtobuf

/// All SQL of documents: the documents themselves, the registers that number them, each
/// step taken on them, where a released document stands at each recipient, and the
/// document type reference table.
struct DocumentRepository: Sendable {
    typealias Document = Egov_Documents_V1_Document
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
        ),
        Migration(
            "0002_document_workflow",
            [
                // The rest of the record (recipients, signature, direction, sender ...) as
                // protobuf JSON; the columns are what queries filter and sort on.
                "ALTER TABLE documents ADD COLUMN detail TEXT NOT NULL DEFAULT '{}'",
                "ALTER TABLE documents ADD COLUMN register TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE documents ADD COLUMN register_year BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE documents ADD COLUMN deadline BIGINT",
                "ALTER TABLE documents ADD COLUMN source_document TEXT NOT NULL DEFAULT ''",
                // Number and notation are unique: one number per register and year.
                """
                CREATE UNIQUE INDEX documents_by_register_number ON documents (agency, register, register_year, number)
                WHERE number > 0
                """,
                "CREATE INDEX documents_by_source ON documents (source_document)",
                """
                CREATE TABLE register_counters (
                    agency TEXT NOT NULL,
                    register TEXT NOT NULL,
                    year BIGINT NOT NULL,
                    last BIGINT NOT NULL,
                    PRIMARY KEY (agency, register, year)
                )
                """,
                """
                CREATE TABLE document_events (
                    document_id TEXT NOT NULL,
                    seq BIGINT NOT NULL,
                    action BIGINT NOT NULL,
                    actor TEXT NOT NULL,
                    comment TEXT NOT NULL,
                    state BIGINT NOT NULL,
                    create_time BIGINT NOT NULL,
                    PRIMARY KEY (document_id, seq)
                )
                """,
                """
                CREATE TABLE recipient_statuses (
                    document_id TEXT NOT NULL,
                    agency TEXT NOT NULL,
                    status BIGINT NOT NULL,
                    description TEXT NOT NULL,
                    update_time BIGINT NOT NULL,
                    incoming_document TEXT NOT NULL,
                    PRIMARY KEY (document_id, agency)
                )
                """,
            ]
        ),
        Migration(
            "0004_document_search",
            [
                "ALTER TABLE documents ADD COLUMN search_body TEXT NOT NULL DEFAULT ''",
                // SQLite: the document's row in the FTS5 table, so it is updated by rowid, not found by scan.
                "ALTER TABLE documents ADD COLUMN search_rowid BIGINT",
            ],
            data: { tx in
                // Ranked full text: SQLite's FTS5 beside the table, PostgreSQL's text search
                // over an index of the same folded words.
                switch tx.engine {
                case .sqlite:
                    try await tx.database.execute(
                        """
                        CREATE VIRTUAL TABLE document_search
                        USING fts5(body, doc_id UNINDEXED, tokenize = 'unicode61', prefix = '2 3')
                        """)
                case .postgres:
                    try await tx.database.execute(
                        "CREATE INDEX documents_search ON documents USING GIN (to_tsvector('simple', search_body))")
                }
                for row in try await tx.database.rows("SELECT * FROM documents") {
                    let document = try decode(row)
                    try await indexForSearch(document, in: tx)
                }
            }),
        // One copy per agency of whatever it came from: a platform document or an envelope.
        Migration(
            "0005_one_copy_per_source",
            [
                """
                CREATE UNIQUE INDEX documents_one_copy_per_source ON documents (agency, source_document)
                WHERE source_document <> ''
                """
            ]),
        // People a released document is addressed to by name, and the work files.
        Migration(
            "0008_addressees_and_case_files",
            [
                """
                CREATE TABLE document_people (
                    person TEXT NOT NULL,
                    document_id TEXT NOT NULL,
                    PRIMARY KEY (person, document_id)
                )
                """,
                """
                CREATE TABLE case_files (
                    id TEXT PRIMARY KEY,
                    agency TEXT NOT NULL,
                    year BIGINT NOT NULL,
                    code TEXT NOT NULL,
                    title TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    state BIGINT NOT NULL,
                    create_time BIGINT NOT NULL,
                    version BIGINT NOT NULL
                )
                """,
                "CREATE INDEX case_files_by_agency ON case_files (agency, year, code, title, id)",
                """
                CREATE TABLE case_file_documents (
                    file_id TEXT NOT NULL,
                    document_id TEXT NOT NULL,
                    seq BIGINT NOT NULL,
                    PRIMARY KEY (file_id, document_id)
                )
                """,
                "CREATE INDEX case_file_documents_by_document ON case_file_documents (document_id)",
            ]),
        // Recipients outside the platform: reached through the national exchange, no copy here.
        Migration(
            "0006_external_recipients",
            [
                "ALTER TABLE recipient_statuses ADD COLUMN external BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE recipient_statuses ADD COLUMN send_time BIGINT",
            ]),
    ]

    /// The words a document is found by, folded (no diacritics, `đ` as `d`, lower case).
    static func searchBody(_ document: Document) -> String {
        let type = decree30Types.first { $0.0 == document.documentType }?.1 ?? ""
        return VietnameseText.fold(
            [
                document.code, document.notation, document.number > 0 ? String(document.number) : "", type,
                document.subject, document.content, document.senderName, document.recipients.joined(separator: " "),
                document.signatureBlock.joined(separator: " "),
            ].joined(separator: " "))
    }

    /// Keeps the search index of `document` up to date, inside `tx`.
    static func indexForSearch(_ document: Document, in tx: Transaction) async throws {
        let (agencyCode, id) = parts(document.name)
        let body = searchBody(document)
        try await tx.database.execute(
            "UPDATE documents SET search_body = \(bind: body) WHERE agency = \(bind: agencyCode) AND id = \(bind: id)")
        guard tx.engine == .sqlite else { return }
        let row = try await tx.database.row(
            "SELECT search_rowid FROM documents WHERE agency = \(bind: agencyCode) AND id = \(bind: id)")
        if let rowid = try row?.decode(column: "search_rowid", as: Int64?.self) {
            try await tx.database.execute(
                "UPDATE document_search SET body = \(bind: body) WHERE rowid = \(bind: rowid)")
        } else {
            let inserted = try await tx.database.row(
                "INSERT INTO document_search (body, doc_id) VALUES (\(bind: body), \(bind: id)) RETURNING rowid")
            let rowid = try inserted!.decode(column: "rowid", as: Int64.self)
            try await tx.database.execute(
                """
                UPDATE documents SET search_rowid = \(bind: rowid) WHERE agency = \(bind: agencyCode) AND id = \(bind: id)
                """)
        }
    }

    /// What `SearchDocuments` asks: folded words, each to be found (as a word or the start of
    /// one), and the filters.
    struct SearchQuery {
        var agencyCode: String
        var words: [String]
        var direction: Document.Direction = .unspecified
        var documentType: Egov_Documents_V1_DocumentType = .unspecified
        var urgency: Egov_Documents_V1_Urgency = .unspecified
        var states: [Document.State] = []
        var start: Int64?
        var end: Int64?
        var offset: Int
        var limit: Int
    }

    /// The documents matching `query`, best first: FTS5's BM25 on SQLite, `ts_rank` on
    /// PostgreSQL; ties newest first.
    func search(_ query: SearchQuery) async throws -> [Document] {
        try await store.read { db in
            var sql: SQLQueryString
            switch store.engine {
            case .sqlite:
                let match = query.words.map { "\"\($0)\"*" }.joined(separator: " ")
                sql = """
                    SELECT d.*, bm25(document_search) AS score FROM document_search
                    JOIN documents d ON d.id = document_search.doc_id
                    WHERE document_search MATCH \(bind: match) AND d.agency = \(bind: query.agencyCode)
                    """
            case .postgres:
                let match = query.words.map { "\($0):*" }.joined(separator: " & ")
                sql = """
                    SELECT d.*, -ts_rank(to_tsvector('simple', d.search_body), to_tsquery('simple', \(bind: match))) AS score
                    FROM documents d
                    WHERE to_tsvector('simple', d.search_body) @@ to_tsquery('simple', \(bind: match))
                    AND d.agency = \(bind: query.agencyCode)
                    """
            }
            if query.direction != .unspecified {
                sql.appendInterpolation(unsafeRaw: " AND d.direction = \(query.direction.rawValue)")
            }
            if query.documentType != .unspecified {
                sql.appendInterpolation(unsafeRaw: " AND d.document_type = \(query.documentType.rawValue)")
            }
            if query.urgency != .unspecified {
                sql.appendInterpolation(unsafeRaw: " AND d.urgency = \(query.urgency.rawValue)")
            }
            if !query.states.isEmpty {
                sql.appendInterpolation(
                    unsafeRaw: " AND d.state IN (\(query.states.map { String($0.rawValue) }.joined(separator: ",")))")
            }
            if let start = query.start {
                sql.appendLiteral(" AND d.create_time >= ")
                sql.appendInterpolation(bind: start)
            }
            if let end = query.end {
                sql.appendLiteral(" AND d.create_time < ")
                sql.appendInterpolation(bind: end)
            }
            sql.appendInterpolation(
                unsafeRaw: " ORDER BY score, d.create_time DESC, d.id DESC LIMIT \(query.limit) OFFSET \(query.offset)")
            return try await db.rows(sql).map(Self.decode)
        }
    }

    /// The Vietnamese name of `type`, e.g. "Quyết định".
    static func typeName(of type: Egov_Documents_V1_DocumentType) -> String {
        decree30Types.first { $0.0 == type }?.1 ?? ""
    }

    /// The kind whose name is `name` (with or without diacritics); a công văn otherwise.
    static func type(named name: String) -> Egov_Documents_V1_DocumentType {
        let folded = VietnameseText.fold(name)
        return decree30Types.first { VietnameseText.fold($0.1) == folded }?.0 ?? .officialLetter
    }

    /// The incoming copy at `agencyCode` of the document `source` came from, inside `tx`.
    func document(agencyCode: String, source: String, in tx: Transaction) async throws -> (Document, Int64)? {
        guard
            let row = try await tx.database.row(
                """
                SELECT * FROM documents WHERE agency = \(bind: agencyCode) AND source_document = \(bind: source)
                AND direction = \(bind: Document.Direction.incoming.rawValue)
                """)
        else { return nil }
        return (try Self.decode(row), try row.decode(column: "version", as: Int64.self))
    }

    /// The notation abbreviation of `type` (empty for a công văn and a public letter).
    static func abbreviation(of type: Egov_Documents_V1_DocumentType) -> String {
        decree30Types.first { $0.0 == type }?.2 ?? ""
    }

    /// The register `document` is numbered in: outgoing, incoming or copies, secret documents
    /// in their own series (Decree 30, Art. 15, 22 and 25).
    static func register(of document: Document) -> String {
        let base =
            document.direction == .incoming ? "incoming" : document.copyKind != .unspecified ? "copy" : "outgoing"
        return [.none, .unspecified].contains(document.confidentiality) ? base : "\(base)-secret"
    }

    /// The next number of `register` at `agency` in `year`, inside `tx`: the counter row stays
    /// locked until the transaction ends, so concurrent releases get consecutive numbers, and
    /// one rolled back leaves no gap. Numbers start at 1 each year.
    func nextNumber(agency: String, register: String, year: Int, in tx: Transaction) async throws -> Int {
        let row = try await tx.database.row(
            """
            INSERT INTO register_counters (agency, register, year, last)
            VALUES (\(bind: agency), \(bind: register), \(bind: year), 1)
            ON CONFLICT (agency, register, year) DO UPDATE SET last = register_counters.last + 1
            RETURNING last
            """)
        return Int(try row!.decode(column: "last", as: Int64.self))
    }

    func document(agencyCode: String, id: String) async throws -> Document? {
        try await store.read { db in
            guard
                let row = try await db.row(
                    "SELECT * FROM documents WHERE agency = \(bind: agencyCode) AND id = \(bind: id)")
            else { return nil }
            return try await withStatuses(try Self.decode(row), id: id, db: db)
        }
    }

    /// The document in `tx` with its version, for a change that must see the latest.
    func documentForUpdate(agencyCode: String, id: String, in tx: Transaction) async throws -> (Document, Int64)? {
        guard
            let row = try await tx.database.row(
                "SELECT * FROM documents WHERE agency = \(bind: agencyCode) AND id = \(bind: id)")
        else { return nil }
        let document = try await withStatuses(try Self.decode(row), id: id, db: tx.database)
        return (document, try row.decode(column: "version", as: Int64.self))
    }

    /// What `ListDocuments` may narrow a list to.
    struct Query {
        var agencyCode: String
        /// Only documents addressed by name to this person (`people/{id}`), of any agency.
        var addressedTo: String?
        var direction: Document.Direction = .unspecified
        var states: [Document.State] = []
        /// Incoming documents past their direction's deadline at this time, not finished.
        var overdueAt: Int64?
        var after: (Int64, String)?
        var limit: Int
    }

    /// Newest first; `after` is the (create_time, id) key of the previous page's last item.
    func documents(_ query: Query) async throws -> [(Document, Int64)] {
        try await store.read { db in
            var sql = SQLQueryString("SELECT * FROM documents WHERE ")
            if let person = query.addressedTo {
                sql.appendLiteral("id IN (SELECT document_id FROM document_people WHERE person = ")
                sql.appendInterpolation(bind: person)
                sql.appendLiteral(")")
            } else {
                sql.appendLiteral("agency = ")
                sql.appendInterpolation(bind: query.agencyCode)
            }
            if query.direction != .unspecified {
                sql.appendInterpolation(unsafeRaw: " AND direction = \(query.direction.rawValue)")
            }
            if !query.states.isEmpty {
                sql.appendInterpolation(
                    unsafeRaw: " AND state IN (\(query.states.map { String($0.rawValue) }.joined(separator: ",")))")
            }
            if let now = query.overdueAt {
                sql.appendInterpolation(
                    unsafeRaw: " AND direction = \(Document.Direction.incoming.rawValue) AND deadline IS NOT NULL"
                        + " AND state NOT IN (\(Document.State.finished.rawValue), \(Document.State.rejected.rawValue),"
                        + " \(Document.State.recalled.rawValue))"
                )
                sql.appendLiteral(" AND deadline < ")
                sql.appendInterpolation(bind: now)
            }
            if let after = query.after { sql.appendKeyset(after: after, column: "create_time", descending: true) }
            sql.appendInterpolation(unsafeRaw: " ORDER BY create_time DESC, id DESC LIMIT \(query.limit)")
            return try await db.rows(sql).map { row in
                (try Self.decode(row), try row.decode(column: "create_time", as: Int64.self))
            }
        }
    }

    /// Stores a new document (a draft, or an incoming entry) and the event that made it.
    func insert(
        _ document: Document, agencyCode: String, id: String, event: Egov_Documents_V1_DocumentEvent? = nil,
        in tx: Transaction
    ) async throws -> Document {
        var document = document
        let now = tx.clock.micros
        document.name = "agencies/\(agencyCode)/documents/\(id)"
        document.agency = "agencies/\(agencyCode)"
        if document.state == .unspecified { document.state = .draft }
        document.createTime = Google_Protobuf_Timestamp(micros: now)
        document.updateTime = document.createTime
        document.etag = "1"
        try await tx.database.execute(
            """
            INSERT INTO documents (id, agency, direction, document_type, subject, content, urgency, confidentiality,
                                   number, notation, creator, state, create_time, update_time, version, detail,
                                   register, register_year, deadline, source_document)
            VALUES (\(bind: id), \(bind: agencyCode), \(bind: document.direction.rawValue),
                    \(bind: document.documentType.rawValue), \(bind: document.subject), \(bind: document.content),
                    \(bind: document.urgency.rawValue), \(bind: document.confidentiality.rawValue),
                    \(bind: Int(document.number)), \(bind: document.notation), \(bind: document.creator),
                    \(bind: document.state.rawValue), \(bind: now), \(bind: now), 1, \(bind: try Self.detail(document)),
                    \(bind: document.number > 0 ? Self.register(of: document) : ""),
                    \(bind: Int(document.registerYear)), \(bind: Self.deadline(document)),
                    \(bind: document.sourceDocument))
            """)
        if let event { try await record(event, documentID: id, in: tx) }
        try await Self.indexForSearch(document, in: tx)
        return document
    }

    /// Writes `document` over version `version`; false when someone changed it first.
    func update(_ document: Document, version: Int64, in tx: Transaction) async throws -> Bool {
        let (agencyCode, id) = Self.parts(document.name)
        let row = try await tx.database.row(
            """
            UPDATE documents SET document_type = \(bind: document.documentType.rawValue),
                subject = \(bind: document.subject), content = \(bind: document.content),
                urgency = \(bind: document.urgency.rawValue), confidentiality = \(bind: document.confidentiality.rawValue),
                number = \(bind: Int(document.number)), notation = \(bind: document.notation),
                state = \(bind: document.state.rawValue), update_time = \(bind: tx.clock.micros),
                version = version + 1, detail = \(bind: try Self.detail(document)),
                register = \(bind: document.number > 0 ? Self.register(of: document) : ""),
                register_year = \(bind: Int(document.registerYear)), deadline = \(bind: Self.deadline(document))
            WHERE agency = \(bind: agencyCode) AND id = \(bind: id) AND version = \(bind: version)
            RETURNING version
            """)
        guard row != nil else { return false }
        try await Self.indexForSearch(document, in: tx)
        return true
    }

    /// Appends a step to a document's history.
    func record(_ event: Egov_Documents_V1_DocumentEvent, documentID: String, in tx: Transaction) async throws {
        try await tx.database.execute(
            """
            INSERT INTO document_events (document_id, seq, action, actor, comment, state, create_time)
            SELECT \(bind: documentID), COALESCE(MAX(seq), 0) + 1, \(bind: event.action.rawValue),
                   \(bind: event.actor), \(bind: event.comment), \(bind: event.state.rawValue), \(bind: tx.clock.micros)
            FROM document_events WHERE document_id = \(bind: documentID)
            """)
    }

    func events(documentID: String) async throws -> [Egov_Documents_V1_DocumentEvent] {
        try await store.read { db in
            try await db.rows(
                "SELECT * FROM document_events WHERE document_id = \(bind: documentID) ORDER BY seq"
            ).map { row in
                try .with {
                    $0.action = .init(rawValue: Int(try row.decode(column: "action", as: Int64.self))) ?? .unspecified
                    $0.actor = try row.decode(column: "actor", as: String.self)
                    $0.comment = try row.decode(column: "comment", as: String.self)
                    $0.state = .init(rawValue: Int(try row.decode(column: "state", as: Int64.self))) ?? .unspecified
                    $0.createTime = .init(micros: try row.decode(column: "create_time", as: Int64.self))
                }
            }
        }
    }

    /// Records where the outgoing document `source` stands at `recipient`.
    func report(
        _ status: Egov_Documents_V1_ExchangeStatus, of source: String, at recipient: String, description: String = "",
        incomingDocument: String? = nil, in tx: Transaction
    ) async throws {
        let (_, id) = Self.parts(source)
        let now = tx.clock.micros
        if let incomingDocument {
            try await tx.database.execute(
                """
                INSERT INTO recipient_statuses (document_id, agency, status, description, update_time, incoming_document)
                VALUES (\(bind: id), \(bind: recipient), \(bind: status.rawValue), \(bind: description), \(bind: now),
                        \(bind: incomingDocument))
                """)
        } else {
            try await tx.database.execute(
                """
                UPDATE recipient_statuses SET status = \(bind: status.rawValue), description = \(bind: description),
                    update_time = \(bind: now)
                WHERE document_id = \(bind: id) AND agency = \(bind: recipient)
                """)
        }
    }

    /// Records that the outgoing document `source` goes to `recipient`, outside the platform,
    /// through the national exchange: no status until the recipient reports one.
    func addExternal(_ recipient: String, of source: String, description: String, in tx: Transaction) async throws {
        try await tx.database.execute(
            """
            INSERT INTO recipient_statuses (document_id, agency, status, description, update_time, incoming_document,
                                            external)
            VALUES (\(bind: Self.parts(source).1), \(bind: recipient), 0, \(bind: description),
                    \(bind: tx.clock.micros), '', 1)
            """)
    }

    /// Records what the national exchange did with `source`'s envelope for its external
    /// `recipients`: took it (`sent`, and `status` when it carries one, as a recall's 13), or
    /// refused it (`description` says why).
    func recordExchange(
        of source: String, to recipients: [String], sent: Bool, status: Egov_Documents_V1_ExchangeStatus? = nil,
        description: String, in tx: Transaction
    ) async throws {
        let now = tx.clock.micros
        for recipient in recipients {
            let statusChange: SQLQueryString = status.map { "status = \(bind: $0.rawValue)," } ?? ""
            let sendChange: SQLQueryString = sent ? "send_time = \(bind: now)," : ""
            try await tx.database.execute(
                """
                UPDATE recipient_statuses SET \(statusChange) \(sendChange) description = \(bind: description),
                    update_time = \(bind: now)
                WHERE document_id = \(bind: Self.parts(source).1) AND agency = \(bind: recipient) AND external = 1
                """)
        }
    }

    /// Records that the released `document` is addressed by name to `people`.
    func address(_ document: String, to people: [String], in tx: Transaction) async throws {
        for person in people {
            try await tx.database.execute(
                """
                INSERT INTO document_people (person, document_id) VALUES (\(bind: person), \(bind: Self.parts(document).1))
                """)
        }
    }

    /// The recipients on the platform of the outgoing document `name` and their copies,
    /// inside `tx`.
    func recipients(of name: String, in tx: Transaction) async throws -> [(agency: String, copy: String)] {
        let (_, id) = Self.parts(name)
        return try await tx.database.rows(
            """
            SELECT agency, incoming_document FROM recipient_statuses
            WHERE document_id = \(bind: id) AND external = 0 ORDER BY agency
            """
        ).map {
            (
                try $0.decode(column: "agency", as: String.self),
                try $0.decode(column: "incoming_document", as: String.self)
            )
        }
    }

    /// `document` as it stands at each recipient now, inside `tx`.
    func refreshingStatuses(_ document: Document, in tx: Transaction) async throws -> Document {
        try await withStatuses(document, id: Self.parts(document.name).1, db: tx.database)
    }

    /// `document` with where it stands at each recipient, when it was released.
    private func withStatuses(_ document: Document, id: String, db: any SQLDatabase) async throws -> Document {
        guard document.direction == .outgoing, document.state == .released || document.state == .recalled else {
            return document
        }
        var document = document
        document.recipientStatuses = try await db.rows(
            "SELECT * FROM recipient_statuses WHERE document_id = \(bind: id) ORDER BY agency"
        ).map { row in
            try .with {
                $0.agency = try row.decode(column: "agency", as: String.self)
                $0.status = .init(rawValue: Int(try row.decode(column: "status", as: Int64.self))) ?? .unspecified
                $0.description_p = try row.decode(column: "description", as: String.self)
                $0.updateTime = .init(micros: try row.decode(column: "update_time", as: Int64.self))
                $0.incomingDocument = try row.decode(column: "incoming_document", as: String.self)
                $0.external = try row.decode(column: "external", as: Int64.self) != 0
                if let sent = try row.decode(column: "send_time", as: Int64?.self) { $0.sendTime = .init(micros: sent) }
            }
        }
        return document
    }

    /// `agencies/{code}` of `agencies/{code}/caseFiles/{id}`.
    static func agency(ofCaseFile name: String) -> String { "agencies/\(parts(name).0)" }

    /// `agencies/{code}/documents/{id}` as (code, id).
    static func parts(_ name: String) -> (String, String) {
        let pieces = name.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count == 4 else { return ("", "") }
        return (String(pieces[1]), String(pieces[3]))
    }

    static func deadline(_ document: Document) -> Int64? {
        document.hasSteering && document.steering.hasDeadline ? document.steering.deadline.micros : nil
    }

    /// The fields kept in `detail`: everything but the columns (and the statuses, kept apart).
    static func detail(_ document: Document) throws -> String {
        var rest = document
        rest.clearCreateTime()
        rest.clearUpdateTime()
        rest.recipientStatuses = []
        rest.content = ""
        return try rest.jsonString()
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

    static func decode(_ row: any SQLRow) throws -> Document {
        let agency = try row.decode(column: "agency", as: String.self)
        let id = try row.decode(column: "id", as: String.self)
        func int(_ column: String) throws -> Int { Int(try row.decode(column: column, as: Int64.self)) }
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        var document = try Document(jsonString: try row.decode(column: "detail", as: String.self), options: options)
        document.name = "agencies/\(agency)/documents/\(id)"
        document.agency = "agencies/\(agency)"
        document.direction = .init(rawValue: try int("direction")) ?? .unspecified
        document.documentType = .init(rawValue: try int("document_type")) ?? .unspecified
        document.subject = try row.decode(column: "subject", as: String.self)
        document.content = try row.decode(column: "content", as: String.self)
        document.urgency = .init(rawValue: try int("urgency")) ?? .unspecified
        document.confidentiality = .init(rawValue: try int("confidentiality")) ?? .unspecified
        document.number = Int32(try int("number"))
        document.notation = try row.decode(column: "notation", as: String.self)
        document.creator = try row.decode(column: "creator", as: String.self)
        document.state = .init(rawValue: try int("state")) ?? .unspecified
        document.createTime = Google_Protobuf_Timestamp(micros: try row.decode(column: "create_time", as: Int64.self))
        document.updateTime = Google_Protobuf_Timestamp(micros: try row.decode(column: "update_time", as: Int64.self))
        document.etag = String(try int("version"))
        return document
    }
}
