import EGovKit
public import Logging
import SQLKit
public import ServiceLifecycle

/// Keeps the store open while the process runs and closes it after everything that uses it
/// has stopped (it is started first, so it is shut down last). Meanwhile, hourly, it drops
/// what is kept only for a while: idempotency keys after a week, outbox events after 30 days
/// once every consumer of this process was given them.
public struct StoreService: Service {
    public let store: Store
    let outboxConsumers: [String]
    let logger: Logger

    public init(store: Store, outboxConsumers: [String] = [], logger: Logger = Logger(label: "egov.store")) {
        self.store = store
        self.outboxConsumers = outboxConsumers
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let purged = try await store.purgeExpired(outboxConsumers: outboxConsumers)
                if purged.idempotencyKeys + purged.outboxEvents > 0 {
                    logger.info(
                        "expired records dropped",
                        metadata: [
                            "idempotency_keys": .stringConvertible(purged.idempotencyKeys),
                            "outbox_events": .stringConvertible(purged.outboxEvents),
                        ])
                }
            } catch {
                logger.warning(
                    "dropping expired records failed", metadata: ["error": .string(String(describing: error))])
            }
            await pauseUnlessShuttingDown(for: .seconds(3600))
        }
        await store.close()
    }
}

extension Store {
    /// Drops idempotency keys older than `idempotencyDays` (a retry comes within minutes, an
    /// offline phone within days) and outbox events older than `outboxDays` that each of
    /// `outboxConsumers` was given. Returns how many of each.
    public func purgeExpired(
        outboxConsumers: [String], now: Int64? = nil, idempotencyDays: Int64 = 7,
        outboxDays: Int64 = 30
    ) async throws -> (idempotencyKeys: Int, outboxEvents: Int) {
        let day: Int64 = 86_400_000_000
        let now = now ?? clock.micros
        let keyCutoff = now - idempotencyDays * day
        let eventCutoff = now - outboxDays * day
        return try await write { tx in
            let keys = try await tx.database.rows(
                "DELETE FROM idempotency_keys WHERE create_time < \(bind: keyCutoff) RETURNING request_id"
            ).count
            var given = SQLQueryString("")
            for consumer in outboxConsumers {
                given.appendInterpolation(
                    unsafeRaw:
                        " AND EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.message_id = outbox.id AND d.deliver_time IS NOT NULL AND d.consumer = "
                )
                given.appendInterpolation(bind: consumer)
                given.appendInterpolation(unsafeRaw: ")")
            }
            var delete = SQLQueryString("DELETE FROM outbox WHERE create_time < \(bind: eventCutoff)")
            delete.appendInterpolation(given)
            delete.appendInterpolation(unsafeRaw: " RETURNING id")
            let events = try await tx.database.rows(delete).count
            if events > 0 {
                try await tx.database.execute(
                    "DELETE FROM outbox_deliveries WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = outbox_deliveries.message_id)"
                )
            }
            return (keys, events)
        }
    }
}
