import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import GRPCProtobuf
import Logging
import SQLKit
import Synchronization
import Testing

/// The same suite on every engine: SQLite always, PostgreSQL under scripts/test and CI.
@Suite struct StoreTests {
    static let notes = Migration(
        "0001_notes",
        ["CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL, created BIGINT NOT NULL)"]
    )
    static let errors = ErrorBuilder(domain: "test.egov")

    func count(_ store: Store) async throws -> Int {
        try await store.read { db in
            Int(try await db.row("SELECT COUNT(*) AS n FROM notes")!.decode(column: "n", as: Int64.self))
        }
    }

    @Test(arguments: TestDatabases.engines)
    func migrationsRunOnceAndAgainIsHarmless(engine: Engine) async throws {
        let url = try await TestDatabases.makeURL(engine)
        let store = try Store(url: url, logger: Logger(label: "test"))
        try await store.migrate([Self.notes])
        try await store.migrate([Self.notes])
        let applied = try await store.read { db in try await db.rows("SELECT id FROM schema_migrations ORDER BY id") }
        #expect(
            try applied.map { try $0.decode(column: "id", as: String.self) } == [
                "0000_platform", "0000_platform_outbox_consumers", "0001_notes",
            ])
        await store.close()
    }

    /// A migration's backfill runs with it, once, not at every start.
    @Test(arguments: TestDatabases.engines)
    func aMigrationsBackfillRunsOnce(engine: Engine) async throws {
        let store = try await TestDatabases.makeStore(engine, migrations: [Self.notes])
        try await store.write { tx in
            try await tx.database.execute("INSERT INTO notes (id, body, created) VALUES ('a', 'Công văn', 1)")
        }
        let addShout = Migration("0002_notes_shout", ["ALTER TABLE notes ADD COLUMN shout TEXT NOT NULL DEFAULT ''"]) {
            tx in
            try await tx.database.execute("UPDATE notes SET shout = body || '!'")
        }
        func shout() async throws -> String {
            try await store.read { db in
                try await db.row("SELECT shout FROM notes")!.decode(column: "shout", as: String.self)
            }
        }
        try await store.migrate([Self.notes, addShout])
        #expect(try await shout() == "Công văn!")
        try await store.write { tx in try await tx.database.execute("UPDATE notes SET shout = 'changed'") }
        try await store.migrate([Self.notes, addShout])
        #expect(try await shout() == "changed")
        await store.close()
    }

    @Test(arguments: TestDatabases.engines)
    func aCommittedWriteSurvivesReopeningAndAFailedOneLeavesNothing(engine: Engine) async throws {
        let url = try await TestDatabases.makeURL(engine)
        let store = try Store(url: url, logger: Logger(label: "test"))
        try await store.migrate([Self.notes])
        try await store.write { tx in
            try await tx.database.execute("INSERT INTO notes VALUES ('a', 'kept', 1)")
        }
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await store.write { tx in
                try await tx.database.execute("INSERT INTO notes VALUES ('b', 'rolled back', 2)")
                throw Refused()
            }
        }
        await store.close()

        let reopened = try Store(url: url, logger: Logger(label: "test"))
        try await reopened.migrate([Self.notes])
        let bodies = try await reopened.read { db in
            try await db.rows("SELECT body FROM notes").map { try $0.decode(column: "body", as: String.self) }
        }
        #expect(bodies == ["kept"])
        await reopened.close()
    }

    @Test(arguments: TestDatabases.engines)
    func concurrentWritesAllLand(engine: Engine) async throws {
        let store = try await TestDatabases.makeStore(engine, migrations: [Self.notes])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<100 {
                group.addTask {
                    try await store.write { tx in
                        try await tx.database.execute(
                            "INSERT INTO notes VALUES (\(bind: "n\(index)"), 'x', \(bind: index))")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await count(store) == 100)
        await store.close()
    }

    func create(_ store: Store, requestID: String, body: String, runs: Counter) async throws -> Egov_Identity_V1_Agency
    {
        let request = Egov_Identity_V1_CreateAgencyRequest.with {
            $0.agency.displayName = body
            $0.requestID = requestID
        }
        return try await store.idempotentWrite(
            scope: "CreateNote", requestID: requestID, request: request, errors: Self.errors
        ) { tx in
            runs.value.withLock { $0 += 1 }
            let id = UUID().uuidString
            try await tx.database.execute("INSERT INTO notes VALUES (\(bind: id), \(bind: body), 0)")
            return .with {
                $0.name = "notes/\(id)"; $0.displayName = body
            }
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aRetriedRequestIDReturnsTheFirstResult(engine: Engine) async throws {
        let store = try await TestDatabases.makeStore(engine, migrations: [Self.notes])
        let runs = Counter()
        let first = try await create(store, requestID: "r-1", body: "hello", runs: runs)
        let again = try await create(store, requestID: "r-1", body: "hello", runs: runs)
        #expect(first == again)
        #expect(runs.value.withLock { $0 } == 1)
        #expect(try await count(store) == 1)

        do {
            _ = try await create(store, requestID: "r-1", body: "changed", runs: runs)
            Issue.record("a different payload under the same request_id must be refused")
        } catch let error as GoogleRPCStatus {
            #expect(error.code == .invalidArgument)
            #expect(error.details.compactMap(\.errorInfo).first?.reason == "REQUEST_ID_REUSED")
        }
        #expect(try await count(store) == 1)
        await store.close()
    }

    @Test(arguments: TestDatabases.engines)
    func concurrentRetriesOfOneRequestCreateOneThing(engine: Engine) async throws {
        let store = try await TestDatabases.makeStore(engine, migrations: [Self.notes])
        let runs = Counter()
        let results: [Egov_Identity_V1_Agency] = try await withThrowingTaskGroup(of: Egov_Identity_V1_Agency.self) {
            group in
            for _ in 0..<20 { group.addTask { try await create(store, requestID: "same", body: "once", runs: runs) } }
            var all: [Egov_Identity_V1_Agency] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(Set(results.map(\.name)).count == 1)
        #expect(try await count(store) == 1)
        // Keys are kept a week, then dropped: a request id is not remembered forever.
        #expect(try await store.purgeExpired(outboxConsumers: []).idempotencyKeys == 0)
        #expect(
            try await store.purgeExpired(outboxConsumers: [], now: WallClock.system.micros + 8 * 86_400_000_000)
                .idempotencyKeys == 1)
        await store.close()
    }

    final class RecordingSink: OutboxSink {
        let delivered = Mutex<[OutboxMessage]>([])
        let failuresLeft = Mutex(0)

        func deliver(_ message: OutboxMessage) async throws {
            let fail = failuresLeft.withLock { left in
                if left > 0 { left -= 1; return true }
                return false
            }
            struct Down: Error {}
            if fail { throw Down() }
            delivered.withLock { $0.append(message) }
        }
    }

    @Test(arguments: TestDatabases.engines)
    func outboxEventsAreDeliveredOnlyWhenCommittedInOrderAtLeastOnce(engine: Engine) async throws {
        let store = try await TestDatabases.makeStore(engine, migrations: [Self.notes])
        try await store.write { tx in
            try await tx.enqueue(topic: "notes.created", key: "notes/1", payload: [1])
            try await tx.enqueue(topic: "notes.created", key: "notes/2", payload: [2])
        }
        struct Refused: Error {}
        try? await store.write { tx in
            try await tx.enqueue(topic: "notes.created", key: "notes/ghost", payload: [9])
            throw Refused()
        }
        let sink = RecordingSink()
        sink.failuresLeft.withLock { $0 = 1 }
        let relay = OutboxRelay(store: store, consumer: "archive", sink: sink, logger: Logger(label: "test"))
        await #expect(throws: (any Error).self) { try await relay.deliverPending() }
        #expect(sink.delivered.withLock { $0 }.isEmpty)
        #expect(try await relay.deliverPending() == 2)
        #expect(try await relay.deliverPending() == 0)
        #expect(sink.delivered.withLock { $0.map(\.key) } == ["notes/1", "notes/2"])
        #expect(sink.delivered.withLock { $0.map(\.payload) } == [[1], [2]])
        // Another consumer of the same outbox gets every event too, whatever the first was given.
        let other = RecordingSink()
        #expect(
            try await OutboxRelay(store: store, consumer: "search", sink: other, logger: Logger(label: "test"))
                .deliverPending() == 2)
        #expect(other.delivered.withLock { $0.map(\.key) } == ["notes/1", "notes/2"])

        // A month on, what every consumer was given is dropped; what one still waits for stays.
        try await store.write { tx in try await tx.enqueue(topic: "notes.created", key: "notes/3", payload: [3]) }
        #expect(try await relay.deliverPending() == 1)
        let later = WallClock.system.micros + 31 * 86_400_000_000
        #expect(try await store.purgeExpired(outboxConsumers: ["archive", "search"], now: later).outboxEvents == 2)
        let left = try await store.read { db in
            try await db.rows("SELECT message_key FROM outbox").map {
                try $0.decode(column: "message_key", as: String.self)
            }
        }
        #expect(left == ["notes/3"])
        #expect(try await store.purgeExpired(outboxConsumers: ["archive"], now: later).outboxEvents == 1)
        await store.close()
    }

    @Test func pageTokensAreBoundToTheirQuery() throws {
        let token = PageToken.encode(after: "000.00.05.H41", filter: "parent=*")
        #expect(try PageToken.decode(token, filter: "parent=*", errors: Self.errors) == "000.00.05.H41")
        #expect(try PageToken.decode("", filter: "parent=*", errors: Self.errors) == nil)
        #expect(throws: GoogleRPCStatus.self) { try PageToken.decode(token, filter: "parent=x", errors: Self.errors) }
        #expect(throws: GoogleRPCStatus.self) { try PageToken.decode("%%%", filter: "parent=*", errors: Self.errors) }
    }

    @Test func aBadURLIsAClearError() {
        #expect { try Store(url: "mysql://x", logger: Logger(label: "test")) } throws: {
            "\($0)".contains("sqlite:// or postgres://")
        }
    }
}

final class Counter: Sendable {
    let value = Mutex(0)
}
