import EGovKit
public import Logging
import Foundation
public import ServiceLifecycle
import SQLKit

/// An event written in the same transaction as the change it reports.
public struct OutboxMessage: Sendable, Hashable {
    public var id: Int64
    /// What happened, e.g. `procedures.dossier.finished`.
    public var topic: String
    /// The resource it happened to, e.g. a dossier's name; consumers deduplicate on
    /// `(topic, key, id)`.
    public var key: String
    public var payload: [UInt8]
    public var createTime: Int64
}

/// Where the relay delivers events: another service's API, the national portal adapter.
public protocol OutboxSink: Sendable {
    /// Delivers one event; throwing leaves it pending to be tried again, except for
    /// `OutboxRejection`.
    func deliver(_ message: OutboxMessage) async throws
}

/// The consumer answered that it will never take this event (it is malformed for it, or
/// refers to something it does not know). Retrying cannot help and would hold up every
/// later event, so the relay sets it aside: marked done, with the reason in `last_error`
/// and in the log, for an operator to look at.
public struct OutboxRejection: Error, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "rejected: \(reason)" }
}

extension Transaction {
    /// Records an event; it is delivered only if the transaction commits.
    public func enqueue(topic: String, key: String, payload: [UInt8]) async throws {
        try await database.execute(
            """
            INSERT INTO outbox (topic, message_key, payload, create_time, attempts)
            VALUES (\(bind: topic), \(bind: key), \(bind: Data(payload).base64EncodedString()), \(bind: Timestamps.nowMicros()), 0)
            """)
    }
}

/// Delivers outbox events in order, at least once: an event is marked delivered only after
/// the sink accepted it, so a crash in between delivers it again.
public final class OutboxRelay: Service, Sendable {
    let store: Store
    let sink: any OutboxSink
    let interval: Duration
    let batchSize: Int
    let logger: Logger

    public init(store: Store, sink: any OutboxSink, interval: Duration = .milliseconds(500), batchSize: Int = 100, logger: Logger) {
        self.store = store
        self.sink = sink
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                _ = try await deliverPending()
            } catch {
                logger.warning("outbox delivery paused", metadata: ["error": .string("\(error)")])
            }
            await pauseUnlessShuttingDown(for: interval)
        }
    }

    /// Delivers pending events oldest first, stopping at the first one the sink refuses so
    /// order is kept. Returns how many were delivered.
    public func deliverPending() async throws -> Int {
        let limit = batchSize
        let rows = try await store.read { db in
            try await db.rows(
                """
                SELECT id, topic, message_key, payload, create_time FROM outbox
                WHERE deliver_time IS NULL ORDER BY id LIMIT \(literal: limit)
                """)
        }
        var delivered = 0
        for row in rows {
            let message = OutboxMessage(
                id: try row.decode(column: "id", as: Int64.self),
                topic: try row.decode(column: "topic", as: String.self),
                key: try row.decode(column: "message_key", as: String.self),
                payload: [UInt8](Data(base64Encoded: try row.decode(column: "payload", as: String.self)) ?? Data()),
                createTime: try row.decode(column: "create_time", as: Int64.self)
            )
            do {
                try await sink.deliver(message)
            } catch let rejection as OutboxRejection {
                logger.error(
                    "outbox event rejected by its consumer; set aside",
                    metadata: ["outbox_id": .stringConvertible(message.id), "topic": .string(message.topic), "reason": .string(rejection.reason)])
                let reason = String(rejection.description.prefix(500))
                try await store.write { tx in
                    try await tx.database.execute(
                        """
                        UPDATE outbox SET deliver_time = \(bind: Timestamps.nowMicros()), attempts = attempts + 1,
                            last_error = \(bind: reason) WHERE id = \(bind: message.id)
                        """)
                }
                continue
            } catch {
                let reason = String(describing: error).prefix(500)
                try await store.write { tx in
                    try await tx.database.execute(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = \(bind: String(reason)) WHERE id = \(bind: message.id)"
                    )
                }
                throw error
            }
            try await store.write { tx in
                try await tx.database.execute(
                    "UPDATE outbox SET deliver_time = \(bind: Timestamps.nowMicros()), attempts = attempts + 1 WHERE id = \(bind: message.id)"
                )
            }
            delivered += 1
        }
        return delivered
    }
}
