import EGovAPI
import EGovKit
import EGovStore
import Foundation
import SQLKit
import SwiftProtobuf

/// Where bridge points are kept.
protocol BridgePointRepository: Sendable {
    func bridgePoint(id: String) async throws -> Egov_Conferences_V1_BridgePoint?
    func bridgePoints(agency: String?, after: String?, limit: Int) async throws -> [Egov_Conferences_V1_BridgePoint]
    func insert(_ point: Egov_Conferences_V1_BridgePoint, id: String, in tx: Transaction) async throws
        -> Egov_Conferences_V1_BridgePoint
    /// Replaces the bridge point (detail and state) if `version` is still current.
    func update(_ point: Egov_Conferences_V1_BridgePoint, version: Int64, in tx: Transaction) async throws -> Bool
}

struct SQLBridgePointRepository: BridgePointRepository {
    let store: Store

    static let migrations: [Migration] = [
        Migration(
            "0001_bridge_points",
            [
                """
                CREATE TABLE bridge_points (
                    id TEXT PRIMARY KEY,
                    agency TEXT NOT NULL,
                    state BIGINT NOT NULL,
                    detail TEXT NOT NULL,
                    create_time BIGINT NOT NULL,
                    update_time BIGINT NOT NULL,
                    version BIGINT NOT NULL
                )
                """,
                "CREATE INDEX bridge_points_by_agency ON bridge_points (agency, id)",
            ]
        )
    ]

    func bridgePoint(id: String) async throws -> Egov_Conferences_V1_BridgePoint? {
        try await store.read { db in
            try await db.row("SELECT * FROM bridge_points WHERE id = \(bind: id)").map(Self.decode)
        }
    }

    func bridgePoints(agency: String?, after: String?, limit: Int) async throws -> [Egov_Conferences_V1_BridgePoint] {
        try await store.read { db in
            let equals: [(column: String, value: SQLBind)] = agency.map { [("agency", SQLBind($0))] } ?? []
            let query = keysetPageQuery(table: "bridge_points", key: "id", after: after, equals: equals, limit: limit)
            return try await db.rows(query).map(Self.decode)
        }
    }

    func insert(_ point: Egov_Conferences_V1_BridgePoint, id: String, in tx: Transaction) async throws
        -> Egov_Conferences_V1_BridgePoint
    {
        var point = point
        let now = store.clock.micros
        point.name = "bridgePoints/\(id)"
        point.state = .active
        point.createTime = Google_Protobuf_Timestamp(micros: now)
        point.updateTime = point.createTime
        point.etag = "1"
        try await tx.database.execute(
            """
            INSERT INTO bridge_points (id, agency, state, detail, create_time, update_time, version)
            VALUES (\(bind: id), \(bind: point.agency), \(bind: point.state.rawValue), \(bind: try point.jsonString()),
                    \(bind: now), \(bind: now), 1)
            """)
        return point
    }

    func update(_ point: Egov_Conferences_V1_BridgePoint, version: Int64, in tx: Transaction) async throws -> Bool {
        var stored = point
        stored.etag = ""
        return
            !(try await tx.database.rows(
                """
                UPDATE bridge_points SET detail = \(bind: try stored.jsonString()), state = \(bind: point.state.rawValue),
                    update_time = \(bind: tx.clock.micros), version = version + 1
                WHERE id = \(bind: String(point.name.dropFirst("bridgePoints/".count))) AND version = \(bind: version)
                RETURNING id
                """)).isEmpty
    }

    static func decode(_ row: any SQLRow) throws -> Egov_Conferences_V1_BridgePoint {
        var point = try Egov_Conferences_V1_BridgePoint(jsonString: try row.decode(column: "detail", as: String.self))
        point.state = .init(rawValue: Int(try row.decode(column: "state", as: Int64.self))) ?? .unspecified
        point.updateTime = Google_Protobuf_Timestamp(micros: try row.decode(column: "update_time", as: Int64.self))
        point.etag = String(try row.decode(column: "version", as: Int64.self))
        return point
    }
}
