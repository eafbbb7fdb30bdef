import Crypto
import EGovKit
import EGovStore
import Foundation
import SQLKit

/// The append-only, hash-chained log of security-relevant events. Each record's hash covers
/// its fields and the previous record's hash, so changing, removing or reordering any record
/// breaks every hash after it; `verify` names the first record that does not fit.
struct AuditLog: Sendable {
    let store: Store

    static let migrations: [Migration] = [
        Migration(
            "0004_audit",
            [
                """
                CREATE TABLE audit_log (
                    seq BIGINT PRIMARY KEY,
                    event_time BIGINT NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    target TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    address TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                )
                """,
                "CREATE TABLE audit_head (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL)",
                "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '')",
            ]
        )
    ]

    struct Event: Sendable {
        var actor: String
        var action: String
        var target: String
        var outcome: String
        var detail: String = ""
    }

    /// Appends inside `tx`, so the record commits with the change it reports, or not at all.
    func append(_ event: Event, in tx: Transaction) async throws {
        // One writer at a time extends the chain: SQLite's write transaction already is; on
        // PostgreSQL the head row's lock serialises concurrent appenders.
        let lock = tx.engine == .postgres ? " FOR UPDATE" : ""
        guard let head = try await tx.database.row("SELECT seq, hash FROM audit_head WHERE id = 1\(unsafeRaw: lock)")
        else {
            throw StoreError("audit head missing")
        }
        let seq = try head.decode(column: "seq", as: Int64.self) + 1
        let previous = try head.decode(column: "hash", as: String.self)
        let time = store.clock.micros
        let address = RequestContext.current?.clientAddress ?? ""
        let hash = Self.hash(
            seq: seq, time: time, actor: event.actor, action: event.action, target: event.target,
            outcome: event.outcome,
            address: address, detail: event.detail, previous: previous)
        try await tx.database.execute(
            """
            INSERT INTO audit_log (seq, event_time, actor, action, target, outcome, address, detail, prev_hash, hash)
            VALUES (\(bind: seq), \(bind: time), \(bind: event.actor), \(bind: event.action), \(bind: event.target),
                    \(bind: event.outcome), \(bind: address), \(bind: event.detail), \(bind: previous), \(bind: hash))
            """)
        try await tx.database.execute("UPDATE audit_head SET seq = \(bind: seq), hash = \(bind: hash) WHERE id = 1")
    }

    /// Appends in a transaction of its own (for events with no other change, like a failure).
    func record(_ event: Event) async throws {
        try await store.write { tx in try await append(event, in: tx) }
    }

    static func hash(
        seq: Int64, time: Int64, actor: String, action: String, target: String, outcome: String, address: String,
        detail: String, previous: String
    ) -> String {
        // Length-prefixed fields: no two different records serialise alike.
        var data = Data()
        for field in [String(seq), String(time), actor, action, target, outcome, address, detail, previous] {
            data.append(contentsOf: "\(field.utf8.count):".utf8)
            data.append(contentsOf: field.utf8)
        }
        return SHA256.hash(data: data).hex
    }

    enum Verdict: Equatable, Sendable {
        case intact(records: Int64)
        /// The first record whose hash, link or sequence does not fit, and why.
        case broken(seq: Int64, reason: String)
    }

    /// Walks the whole chain from the first record.
    func verify() async throws -> Verdict {
        try await store.read { db in
            var previous = ""
            var expected: Int64 = 1
            var after: Int64 = 0
            while true {
                let rows = try await db.rows(
                    "SELECT * FROM audit_log WHERE seq > \(bind: after) ORDER BY seq LIMIT 1000")
                if rows.isEmpty { break }
                for row in rows {
                    let seq = try row.decode(column: "seq", as: Int64.self)
                    guard seq == expected else {
                        return .broken(seq: expected, reason: "record \(expected) is missing")
                    }
                    let prev = try row.decode(column: "prev_hash", as: String.self)
                    guard prev == previous else {
                        return .broken(seq: seq, reason: "does not link to record \(seq - 1)")
                    }
                    let computed = Self.hash(
                        seq: seq, time: try row.decode(column: "event_time", as: Int64.self),
                        actor: try row.decode(column: "actor", as: String.self),
                        action: try row.decode(column: "action", as: String.self),
                        target: try row.decode(column: "target", as: String.self),
                        outcome: try row.decode(column: "outcome", as: String.self),
                        address: try row.decode(column: "address", as: String.self),
                        detail: try row.decode(column: "detail", as: String.self), previous: prev)
                    let stored = try row.decode(column: "hash", as: String.self)
                    guard computed == stored else { return .broken(seq: seq, reason: "its content was changed") }
                    previous = stored
                    expected += 1
                    after = seq
                }
            }
            let head = try await db.row("SELECT seq, hash FROM audit_head WHERE id = 1")
            let headSeq = try head?.decode(column: "seq", as: Int64.self) ?? 0
            let headHash = try head?.decode(column: "hash", as: String.self) ?? ""
            if headSeq != expected - 1 || headHash != previous {
                return .broken(seq: expected, reason: "records after \(expected - 1) were removed")
            }
            return .intact(records: expected - 1)
        }
    }
}
