import EGovAPI
import EGovKit
import EGovStore
import Foundation
import SQLKit
import SwiftProtobuf

/// Where agencies are kept.
protocol AgencyRepository: Sendable {
    func agency(code: String) async throws -> Egov_Identity_V1_Agency?
    func agencies(parent: String?, includeInactive: Bool, query: String, after: String?, limit: Int) async throws
        -> [Egov_Identity_V1_Agency]
    /// Inserts inside `tx`; throws `AgencyExists` when the code is taken.
    func insert(_ agency: Egov_Identity_V1_Agency, in tx: Transaction) async throws -> Egov_Identity_V1_Agency
    /// Replaces the agency if `version` is still current.
    func update(_ agency: Egov_Identity_V1_Agency, version: Int64, in tx: Transaction) async throws -> Bool
}

struct AgencyExists: Error {}

/// Agencies in the identity service's SQL store.
struct SQLAgencyRepository: AgencyRepository {
    let store: Store

    /// Every migration of these tables, the later ones declared beside their code; the store
    /// applies them in id order.
    static let migrations: [Migration] = [
        Migration(
            "0001_agencies",
            [
                """
                CREATE TABLE agencies (
                    code TEXT PRIMARY KEY,
                    display_name TEXT NOT NULL,
                    abbreviation TEXT NOT NULL,
                    kind BIGINT NOT NULL,
                    parent TEXT NOT NULL,
                    owns_bridge_point BIGINT NOT NULL,
                    state BIGINT NOT NULL,
                    create_time BIGINT NOT NULL,
                    update_time BIGINT NOT NULL,
                    version BIGINT NOT NULL
                )
                """,
                "CREATE INDEX agencies_parent ON agencies (parent, code)",
            ]
        ),
        searchMigration,
        Migration("0012_agency_external", ["ALTER TABLE agencies ADD COLUMN external BIGINT NOT NULL DEFAULT 0"]),
    ]

    func agency(code: String) async throws -> Egov_Identity_V1_Agency? {
        try await store.read { db in
            try await db.row("SELECT * FROM agencies WHERE code = \(bind: code)").map(Self.decode)
        }
    }

    func agencies(parent: String?, includeInactive: Bool, query text: String, after: String?, limit: Int) async throws
        -> [Egov_Identity_V1_Agency]
    {
        try await store.read { db in
            var equals: [(column: String, value: SQLBind)] = []
            if let parent { equals.append(("parent", SQLBind(parent))) }
            if !includeInactive {
                equals.append(("state", SQLBind(Int64(Egov_Identity_V1_Agency.State.active.rawValue))))
            }
            let query = keysetPageQuery(
                table: "agencies", key: "code", after: after, equals: equals, contains: ("search_text", text),
                limit: limit)
            return try await db.rows(query).map(Self.decode)
        }
    }

    /// Adds `search_text` and fills it for the agencies stored before.
    static let searchMigration = Migration(
        "0010_agency_search", ["ALTER TABLE agencies ADD COLUMN search_text TEXT NOT NULL DEFAULT ''"]
    ) { tx in
        for agency in try await tx.database.rows("SELECT * FROM agencies WHERE search_text = ''").map(decode) {
            try await tx.database.execute(
                "UPDATE agencies SET search_text = \(bind: searchText(agency)) WHERE code = \(bind: agency.code)")
        }
    }

    static func searchText(_ agency: Egov_Identity_V1_Agency) -> String {
        VietnameseText.fold("\(agency.code) \(agency.abbreviation) \(agency.displayName)")
    }

    func update(_ agency: Egov_Identity_V1_Agency, version: Int64, in tx: Transaction) async throws -> Bool {
        let updated = try await tx.database.rows(
            """
            UPDATE agencies SET display_name = \(bind: agency.displayName), abbreviation = \(bind: agency.abbreviation),
                kind = \(bind: agency.kind.rawValue), parent = \(bind: agency.parent),
                owns_bridge_point = \(bind: agency.ownsBridgePoint ? 1 : 0), external = \(bind: agency.external ? 1 : 0),
                state = \(bind: agency.state.rawValue),
                search_text = \(bind: Self.searchText(agency)), update_time = \(bind: store.clock.micros),
                version = version + 1
            WHERE code = \(bind: agency.code) AND version = \(bind: version) RETURNING code
            """)
        return !updated.isEmpty
    }

    func insert(_ agency: Egov_Identity_V1_Agency, in tx: Transaction) async throws -> Egov_Identity_V1_Agency {
        var agency = agency
        let now = store.clock.micros
        agency.state = .active
        agency.createTime = Google_Protobuf_Timestamp(micros: now)
        agency.updateTime = agency.createTime
        agency.etag = "1"
        do {
            try await tx.database.execute(
                """
                INSERT INTO agencies (code, display_name, abbreviation, kind, parent, owns_bridge_point, external,
                                      state, create_time, update_time, version, search_text)
                VALUES (\(bind: agency.code), \(bind: agency.displayName), \(bind: agency.abbreviation),
                        \(bind: agency.kind.rawValue), \(bind: agency.parent), \(bind: agency.ownsBridgePoint ? 1 : 0),
                        \(bind: agency.external ? 1 : 0), \(bind: agency.state.rawValue), \(bind: now), \(bind: now), 1, \(bind: Self.searchText(agency)))
                """)
        } catch  where Store.isUniqueViolation(error) {
            throw AgencyExists()
        }
        return agency
    }

    static func decode(_ row: any SQLRow) throws -> Egov_Identity_V1_Agency {
        let code = try row.decode(column: "code", as: String.self)
        return try .with {
            $0.name = "agencies/\(code)"
            $0.code = code
            $0.displayName = try row.decode(column: "display_name", as: String.self)
            $0.abbreviation = try row.decode(column: "abbreviation", as: String.self)
            $0.kind = .init(rawValue: Int(try row.decode(column: "kind", as: Int64.self))) ?? .unspecified
            $0.parent = try row.decode(column: "parent", as: String.self)
            $0.ownsBridgePoint = try row.decode(column: "owns_bridge_point", as: Int64.self) != 0
            $0.external = try row.decode(column: "external", as: Int64.self) != 0
            $0.state = .init(rawValue: Int(try row.decode(column: "state", as: Int64.self))) ?? .unspecified
            $0.createTime = Google_Protobuf_Timestamp(micros: try row.decode(column: "create_time", as: Int64.self))
            $0.updateTime = Google_Protobuf_Timestamp(micros: try row.decode(column: "update_time", as: Int64.self))
            $0.etag = String(try row.decode(column: "version", as: Int64.self))
        }
    }
}
