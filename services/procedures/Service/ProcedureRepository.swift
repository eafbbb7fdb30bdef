import EGovAPI
import EGovKit
import EGovStore
import Foundation
import SQLKit
import SwiftProtobuf

/// Where the procedure catalogue is kept.
protocol ProcedureRepository: Sendable {
    func procedure(code: String) async throws -> Egov_Procedures_V1_Procedure?
    /// A page of the catalogue: decided by `agency` and received at `receptionPoint` when given.
    func procedures(
        agency: String?, receptionPoint: String?, query: String, after: String?, limit: Int
    ) async throws -> [Egov_Procedures_V1_Procedure]
    /// Throws `ProcedureExists` when the code is taken.
    func insert(_ procedure: Egov_Procedures_V1_Procedure, in tx: Transaction) async throws
        -> Egov_Procedures_V1_Procedure
    /// Replaces the procedure if `version` is still current.
    func update(_ procedure: Egov_Procedures_V1_Procedure, version: Int64) async throws -> Bool
}

struct ProcedureExists: Error {}

/// The catalogue in SQL: searchable columns plus the whole procedure as protobuf JSON.
struct SQLProcedureRepository: ProcedureRepository {
    let store: Store

    /// Every migration of these tables, the later ones declared beside their code; the store
    /// applies them in id order.
    static let migrations: [Migration] = [
        Migration(
            "0001_procedures",
            [
                """
                CREATE TABLE procedures (
                    code TEXT PRIMARY KEY,
                    display_name TEXT NOT NULL,
                    agency TEXT NOT NULL,
                    state BIGINT NOT NULL,
                    detail TEXT NOT NULL,
                    create_time BIGINT NOT NULL,
                    update_time BIGINT NOT NULL,
                    version BIGINT NOT NULL
                )
                """,
                "CREATE INDEX procedures_by_agency ON procedures (agency, code)",
            ]
        ),
        searchMigration,
    ]

    func procedure(code: String) async throws -> Egov_Procedures_V1_Procedure? {
        try await store.read { db in
            try await db.row("SELECT * FROM procedures WHERE code = \(bind: code)").map(Self.decode)
        }
    }

    func procedures(
        agency: String?, receptionPoint: String?, query text: String, after: String?, limit: Int
    ) async throws -> [Egov_Procedures_V1_Procedure] {
        try await store.read { db in
            let equals: [(column: String, value: SQLBind)] = agency.map { [("agency", SQLBind($0))] } ?? []
            let query = keysetPageQuery(
                table: "procedures", key: "code", after: after, equals: equals, contains: ("search_text", text),
                // Agency names have no LIKE wildcards (AgencyCode checked them): `|name|` matches one entry.
                like: receptionPoint.map { ("receiving_agencies", "%|\($0)|%") }, limit: limit)
            return try await db.rows(query).map(Self.decode)
        }
    }

    func insert(_ procedure: Egov_Procedures_V1_Procedure, in tx: Transaction) async throws
        -> Egov_Procedures_V1_Procedure
    {
        var procedure = procedure
        let now = store.clock.micros
        procedure.name = "procedures/\(procedure.code)"
        procedure.state = .active
        procedure.createTime = Google_Protobuf_Timestamp(micros: now)
        procedure.updateTime = procedure.createTime
        procedure.etag = "1"
        do {
            try await tx.database.execute(
                """
                INSERT INTO procedures (code, display_name, agency, state, detail, create_time, update_time, version, search_text,
                                        receiving_agencies)
                VALUES (\(bind: procedure.code), \(bind: procedure.displayName), \(bind: procedure.agency),
                        \(bind: procedure.state.rawValue), \(bind: try procedure.jsonString()), \(bind: now), \(bind: now), 1,
                        \(bind: Self.searchText(procedure)), \(bind: ReceptionPoints.column(procedure)))
                """)
        } catch  where Store.isUniqueViolation(error) {
            throw ProcedureExists()
        }
        return procedure
    }

    func update(_ procedure: Egov_Procedures_V1_Procedure, version: Int64) async throws -> Bool {
        try await store.write { tx in
            let updated = try await tx.database.rows(
                """
                UPDATE procedures SET display_name = \(bind: procedure.displayName), state = \(bind: procedure.state.rawValue),
                    detail = \(bind: try procedure.jsonString()), search_text = \(bind: Self.searchText(procedure)),
                    receiving_agencies = \(bind: ReceptionPoints.column(procedure)),
                    update_time = \(bind: store.clock.micros), version = version + 1
                WHERE code = \(bind: procedure.code) AND version = \(bind: version) RETURNING code
                """)
            return !updated.isEmpty
        }
    }

    /// Adds `search_text` and fills it for the procedures stored before.
    static let searchMigration = Migration(
        "0004_procedure_search", ["ALTER TABLE procedures ADD COLUMN search_text TEXT NOT NULL DEFAULT ''"]
    ) { tx in
        for procedure in try await tx.database.rows("SELECT * FROM procedures WHERE search_text = ''").map(decode) {
            try await tx.database.execute(
                "UPDATE procedures SET search_text = \(bind: searchText(procedure)) WHERE code = \(bind: procedure.code)"
            )
        }
    }

    static func searchText(_ procedure: Egov_Procedures_V1_Procedure) -> String {
        VietnameseText.fold("\(procedure.code) \(procedure.displayName) \(procedure.sector)")
    }

    static func decode(_ row: any SQLRow) throws -> Egov_Procedures_V1_Procedure {
        var procedure = try Egov_Procedures_V1_Procedure(jsonString: try row.decode(column: "detail", as: String.self))
        procedure.state = .init(rawValue: Int(try row.decode(column: "state", as: Int64.self))) ?? .unspecified
        procedure.updateTime = Google_Protobuf_Timestamp(micros: try row.decode(column: "update_time", as: Int64.self))
        procedure.etag = String(try row.decode(column: "version", as: Int64.self))
        return procedure
    }
}
