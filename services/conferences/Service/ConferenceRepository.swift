import EGovAPI
import EGovKit
import EGovStore
import Foundation
import SQLKit
import SwiftProtobuf

/// Conferences, their numbered events and the bookings that keep bridge points and chairs
/// from being in two conferences at once.
struct ConferenceRepository: Sendable {
    typealias Conference = Egov_Conferences_V1_Conference
    typealias Event = Egov_Conferences_V1_ConferenceEvent

    let store: Store

    static let migrations: [Migration] = [
        Migration(
            "0002_conferences",
            [
                """
                CREATE TABLE conferences (
                    id TEXT PRIMARY KEY,
                    host_agency TEXT NOT NULL,
                    state BIGINT NOT NULL,
                    start_time BIGINT NOT NULL,
                    end_time BIGINT NOT NULL,
                    detail TEXT NOT NULL,
                    last_sequence BIGINT NOT NULL,
                    create_time BIGINT NOT NULL,
                    version BIGINT NOT NULL
                )
                """,
                "CREATE INDEX conferences_by_start ON conferences (start_time, id)",
                """
                CREATE TABLE conference_events (
                    conference_id TEXT NOT NULL,
                    seq BIGINT NOT NULL,
                    kind BIGINT NOT NULL,
                    detail TEXT NOT NULL,
                    event_time BIGINT NOT NULL,
                    PRIMARY KEY (conference_id, seq)
                )
                """,
                // What each scheduled or live conference holds: its bridge points and its chair.
                """
                CREATE TABLE conference_bookings (
                    conference_id TEXT NOT NULL,
                    resource TEXT NOT NULL,
                    start_time BIGINT NOT NULL,
                    end_time BIGINT NOT NULL,
                    PRIMARY KEY (resource, conference_id)
                )
                """,
                // One row per resource, locked while a booking of it is checked and written, so
                // two conferences booking one room at once are decided one after the other.
                "CREATE TABLE booking_locks (resource TEXT PRIMARY KEY, touches BIGINT NOT NULL)",
            ])
    ]

    func conference(id: String) async throws -> (Conference, Int64)? {
        try await store.read { db in
            try await db.row("SELECT * FROM conferences WHERE id = \(bind: id)").map(Self.decode)
        }
    }

    /// The conference `id` inside `tx`, with its version.
    func conference(id: String, in tx: Transaction) async throws -> (Conference, Int64)? {
        try await tx.database.row("SELECT * FROM conferences WHERE id = \(bind: id)").map(Self.decode)
    }

    /// By start time; `after` is the previous page's last (start_time, id).
    func conferences(hostAgency: String?, from: Int64?, until: Int64?, after: (Int64, String)?, limit: Int)
        async throws -> [Conference]
    {
        try await store.read { db in
            var sql = SQLQueryString("SELECT * FROM conferences WHERE 1 = 1")
            if let hostAgency {
                sql.appendLiteral(" AND host_agency = ")
                sql.appendInterpolation(bind: hostAgency)
            }
            if let from {
                sql.appendLiteral(" AND start_time >= ")
                sql.appendInterpolation(bind: from)
            }
            if let until {
                sql.appendLiteral(" AND start_time < ")
                sql.appendInterpolation(bind: until)
            }
            if let after { sql.appendKeyset(after: after, column: "start_time") }
            sql.appendInterpolation(unsafeRaw: " ORDER BY start_time, id LIMIT \(limit)")
            return try await db.rows(sql).map { try Self.decode($0).0 }
        }
    }

    func insert(_ conference: Conference, id: String, in tx: Transaction) async throws {
        try await tx.database.execute(
            """
            INSERT INTO conferences (id, host_agency, state, start_time, end_time, detail, last_sequence, create_time,
                                     version)
            VALUES (\(bind: id), \(bind: conference.hostAgency), \(bind: conference.state.rawValue),
                    \(bind: conference.startTime.micros), \(bind: conference.endTime.micros),
                    \(bind: try Self.detail(conference)), 0, \(bind: tx.clock.micros), 1)
            """)
    }

    /// Writes `conference` over `version`; false when someone changed it first.
    func update(_ conference: Conference, id: String, version: Int64, in tx: Transaction) async throws -> Bool {
        !(try await tx.database.rows(
            """
            UPDATE conferences SET state = \(bind: conference.state.rawValue),
                start_time = \(bind: conference.startTime.micros), end_time = \(bind: conference.endTime.micros),
                detail = \(bind: try Self.detail(conference)), version = version + 1
            WHERE id = \(bind: id) AND version = \(bind: version) RETURNING id
            """)).isEmpty
    }

    /// Books `resources` for conference `id` from `start` to `end`, replacing its earlier
    /// bookings; throws `Clash` naming the first resource another scheduled or live conference
    /// holds at an overlapping time. Resources are locked in order, so concurrent bookings
    /// wait for each other instead of both passing the check.
    func book(_ resources: [String], for id: String, from start: Int64, to end: Int64, in tx: Transaction)
        async throws
    {
        try await release(id, in: tx)
        for resource in Set(resources).sorted() {
            try await tx.database.execute(
                """
                INSERT INTO booking_locks (resource, touches) VALUES (\(bind: resource), 1)
                ON CONFLICT (resource) DO UPDATE SET touches = booking_locks.touches + 1
                """)
            if let row = try await tx.database.row(
                """
                SELECT conference_id FROM conference_bookings
                WHERE resource = \(bind: resource) AND conference_id <> \(bind: id)
                  AND start_time < \(bind: end) AND end_time > \(bind: start)
                LIMIT 1
                """)
            {
                throw Clash(
                    resource: resource,
                    conference: "conferences/\(try row.decode(column: "conference_id", as: String.self))")
            }
            try await tx.database.execute(
                """
                INSERT INTO conference_bookings (conference_id, resource, start_time, end_time)
                VALUES (\(bind: id), \(bind: resource), \(bind: start), \(bind: end))
                """)
        }
    }

    /// Frees what conference `id` booked (it was cancelled, ended or is being rebooked).
    func release(_ id: String, in tx: Transaction) async throws {
        try await tx.database.execute("DELETE FROM conference_bookings WHERE conference_id = \(bind: id)")
    }

    struct Clash: Error {
        var resource: String
        var conference: String
    }

    /// Appends `event` to conference `id`'s log with the next sequence number (the row lock on
    /// the conference keeps them gapless); returns it as recorded.
    func append(_ event: Event, to id: String, in tx: Transaction) async throws -> Event {
        guard
            let row = try await tx.database.row(
                """
                UPDATE conferences SET last_sequence = last_sequence + 1 WHERE id = \(bind: id)
                RETURNING last_sequence
                """)
        else { throw StoreError("conference \(id) vanished") }
        var event = event
        event.sequence = try row.decode(column: "last_sequence", as: Int64.self)
        event.time = .init(micros: tx.clock.micros)
        try await tx.database.execute(
            """
            INSERT INTO conference_events (conference_id, seq, kind, detail, event_time)
            VALUES (\(bind: id), \(bind: event.sequence), \(bind: event.kind.rawValue), \(bind: try event.jsonString()),
                    \(bind: tx.clock.micros))
            """)
        return event
    }

    /// Conference `id`'s events after `sequence`, in order, at most `limit`.
    func events(of id: String, after sequence: Int64, limit: Int = 500) async throws -> [Event] {
        try await store.read { db in
            try await db.rows(
                """
                SELECT detail FROM conference_events WHERE conference_id = \(bind: id) AND seq > \(bind: sequence)
                ORDER BY seq LIMIT \(literal: limit)
                """
            ).map { try Event(jsonString: try $0.decode(column: "detail", as: String.self)) }
        }
    }

    /// Conference `id`'s JOINED and LEFT events, in order: who was connected when.
    func joinsAndLeaves(of id: String) async throws -> [Event] {
        try await store.read { db in
            try await db.rows(
                """
                SELECT detail FROM conference_events WHERE conference_id = \(bind: id)
                  AND kind IN (\(bind: Event.Kind.joined.rawValue), \(bind: Event.Kind.left.rawValue))
                ORDER BY seq
                """
            ).map { try Event(jsonString: try $0.decode(column: "detail", as: String.self)) }
        }
    }

    static func detail(_ conference: Conference) throws -> String {
        var rest = conference
        rest.lastSequence = 0
        rest.etag = ""
        return try rest.jsonString()
    }

    static func decode(_ row: any SQLRow) throws -> (Conference, Int64) {
        var conference = try Conference(jsonString: try row.decode(column: "detail", as: String.self))
        let version = try row.decode(column: "version", as: Int64.self)
        conference.name = "conferences/\(try row.decode(column: "id", as: String.self))"
        conference.state = .init(rawValue: Int(try row.decode(column: "state", as: Int64.self))) ?? .unspecified
        conference.lastSequence = try row.decode(column: "last_sequence", as: Int64.self)
        conference.etag = String(version)
        return (conference, version)
    }
}
