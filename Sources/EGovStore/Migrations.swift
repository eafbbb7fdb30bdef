import Foundation
import SQLKit

/// One step of a service's schema. Statements may use `{{id}}` for an auto-increasing
/// 64-bit primary key column type and `{{bytes}}` for binary data, which differ by engine.
/// `data` fills what the statements added from what is stored (a backfill), once, in the
/// same transaction.
public struct Migration: Sendable {
    public var id: String
    public var statements: [String]
    public var data: (@Sendable (Transaction) async throws -> Void)?

    public init(_ id: String, _ statements: [String], data: (@Sendable (Transaction) async throws -> Void)? = nil) {
        self.id = id
        self.statements = statements
        self.data = data
    }

    func sql(for engine: Engine) -> [String] {
        statements.map { statement in
            switch engine {
            case .sqlite:
                statement.replacingOccurrences(of: "{{id}}", with: "INTEGER PRIMARY KEY AUTOINCREMENT")
                    .replacingOccurrences(of: "{{bytes}}", with: "BLOB")
            case .postgres:
                statement.replacingOccurrences(of: "{{id}}", with: "BIGSERIAL PRIMARY KEY")
                    .replacingOccurrences(of: "{{bytes}}", with: "BYTEA")
            }
        }
    }
}

extension Store {
    /// The tables every service's store has: migrations applied, idempotency keys, outbox.
    static let platformMigrations: [Migration] = [
        Migration(
            "0000_platform",
            [
                """
                CREATE TABLE IF NOT EXISTS idempotency_keys (
                    scope TEXT NOT NULL,
                    request_id TEXT NOT NULL,
                    payload_sha256 TEXT NOT NULL,
                    response TEXT,
                    create_time BIGINT NOT NULL,
                    PRIMARY KEY (scope, request_id)
                )
                """,
                """
                CREATE TABLE IF NOT EXISTS outbox (
                    id {{id}},
                    topic TEXT NOT NULL,
                    message_key TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    create_time BIGINT NOT NULL,
                    deliver_time BIGINT,
                    attempts BIGINT NOT NULL DEFAULT 0,
                    last_error TEXT
                )
                """,
                "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (deliver_time, id)",
            ]
        ),
        // Each consumer of the outbox (the national portal, the SMS gateway) keeps its own
        // record of what it was given; events delivered before there were several consumers
        // count as given to the national portal, the only one then.
        Migration(
            "0000_platform_outbox_consumers",
            [
                """
                CREATE TABLE IF NOT EXISTS outbox_deliveries (
                    consumer TEXT NOT NULL,
                    message_id BIGINT NOT NULL,
                    deliver_time BIGINT,
                    attempts BIGINT NOT NULL DEFAULT 0,
                    last_error TEXT,
                    PRIMARY KEY (consumer, message_id)
                )
                """,
                """
                INSERT INTO outbox_deliveries (consumer, message_id, deliver_time, attempts, last_error)
                SELECT 'national-portal', id, deliver_time, attempts, last_error FROM outbox WHERE deliver_time IS NOT NULL
                """,
            ]
        ),
    ]

    /// Applies the platform's and then the service's migrations that have not run yet, in the
    /// order of their ids (`0001_agencies` before `0002_people`, whichever repository declares
    /// them), each in its own transaction, recording it in `schema_migrations`. Two migrations
    /// with one id are a programming error, refused before anything runs. Safe when several
    /// replicas start together on PostgreSQL (an advisory lock serialises them).
    public func migrate(_ unordered: [Migration]) async throws {
        let migrations = unordered.sorted { $0.id < $1.id }
        for (first, second) in zip(migrations, migrations.dropFirst()) where first.id == second.id {
            throw StoreError("two migrations have the id \(first.id)")
        }
        try await write { tx in
            try await tx.database.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, apply_time BIGINT NOT NULL)"
            )
        }
        for migration in Self.platformMigrations + migrations {
            try await write { tx in
                if tx.engine == .postgres {
                    try await tx.database.execute("SELECT pg_advisory_xact_lock(7101986)")
                }
                let done = try await tx.database.row(
                    "SELECT id FROM schema_migrations WHERE id = \(bind: migration.id)"
                )
                guard done == nil else { return }
                for statement in migration.sql(for: tx.engine) {
                    try await tx.database.execute(SQLQueryString(statement))
                }
                try await migration.data?(tx)
                try await tx.database.execute(
                    "INSERT INTO schema_migrations (id, apply_time) VALUES (\(bind: migration.id), \(bind: tx.clock.micros))"
                )
                logger.info("migrated", metadata: ["migration": .string(migration.id)])
            }
        }
    }
}
