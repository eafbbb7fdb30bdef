import EGovKit
import Foundation
public import Logging
import SQLKit
public import ServiceLifecycle

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
            VALUES (\(bind: topic), \(bind: key), \(bind: Data(payload).base64EncodedString()), \(bind: clock.micros), 0)
            """)
    }
}

/// Delivers outbox events to one consumer in order, at least once: an event is marked given
/// to that consumer only after its sink accepted it, so a crash in between delivers it again.
/// Each consumer keeps its own record (`outbox_deliveries`), so several read one outbox.
public final class OutboxRelay: Service, Sendable {
    let store: Store
    /// Who consumes, e.g. `national-portal`, `sms`.
    public let consumer: String
    let sink: any OutboxSink
    let interval: Duration
    let batchSize: Int
    let logger: Logger

    public init(
        store: Store, consumer: String, sink: any OutboxSink, interval: Duration = .milliseconds(500),
        batchSize: Int = 100,
        logger: Logger
    ) {
        self.store = store
        self.consumer = consumer
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
                logger.warning(
                    "outbox delivery paused", metadata: ["consumer": .string(consumer), "error": .string("\(error)")])
            }
            await pauseUnlessShuttingDown(for: interval)
        }
    }

    /// Delivers the events this consumer was not given yet, oldest first, stopping at the
    /// first one the sink refuses so order is kept. Returns how many were delivered.
    public func deliverPending() async throws -> Int {
        let limit = batchSize
        let consumer = self.consumer
        let rows = try await store.read { db in
            try await db.rows(
                """
                SELECT o.id, o.topic, o.message_key, o.payload, o.create_time FROM outbox o
                LEFT JOIN outbox_deliveries d ON d.consumer = \(bind: consumer) AND d.message_id = o.id
                WHERE d.deliver_time IS NULL ORDER BY o.id LIMIT \(literal: limit)
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
                    metadata: [
                        "consumer": .string(consumer), "outbox_id": .stringConvertible(message.id),
                        "topic": .string(message.topic),
                        "reason": .string(rejection.reason),
                    ])
                try await record(message.id, delivered: true, error: rejection.description)
                continue
            } catch {
                try await record(message.id, delivered: false, error: String(describing: error))
                throw error
            }
            try await record(message.id, delivered: true, error: nil)
            delivered += 1
        }
        return delivered
    }

    /// Counts an attempt at giving event `id` to this consumer, and whether it was taken.
    func record(_ id: Int64, delivered: Bool, error: String?) async throws {
        let time: Int64? = delivered ? store.clock.micros : nil
        let reason = error.map { String($0.prefix(500)) }
        let consumer = self.consumer
        try await store.write { tx in
            try await tx.database.execute(
                """
                INSERT INTO outbox_deliveries (consumer, message_id, deliver_time, attempts, last_error)
                VALUES (\(bind: consumer), \(bind: id), \(bind: time), 1, \(bind: reason))
                ON CONFLICT (consumer, message_id) DO UPDATE SET deliver_time = excluded.deliver_time,
                    attempts = outbox_deliveries.attempts + 1, last_error = COALESCE(excluded.last_error, outbox_deliveries.last_error)
                """)
        }
    }
}
