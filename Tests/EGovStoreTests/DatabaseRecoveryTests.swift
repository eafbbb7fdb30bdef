import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import Logging
import SQLKit
import Synchronization
import Testing

/// A real PostgreSQL of the test's own is crashed and restarted while writers keep writing:
/// calls fail fast with StoreUnavailable while it is down, the health probe says so, the store
/// recovers by itself once it is back, and every acknowledged write is there exactly once.
@Suite struct DatabaseRecoveryTests {
    static var runs: Bool {
        ThrowawayPostgres.binaries != nil || ProcessInfo.processInfo.environment["EGOV_REQUIRE_POSTGRES"] == "1"
    }

    final class Load: Sendable {
        let acknowledged = Mutex<[String]>([])
        let unavailable = Atomic(0)
        let other = Mutex<[String]>([])
        let stop = Atomic(false)
        let inFlight = Atomic(0)
        let stage = Mutex<[Int: String]>([:])
    }

    @Test(.enabled(if: runs)) func theStoreRecoversByItselfWhenPostgreSQLRestartsUnderLoad() async throws {
        let postgres = try ThrowawayPostgres()
        defer { postgres.destroy() }
        let store = try Store(url: postgres.url, logger: Logger(label: "test.recovery"), poolSize: 4)
        try await store.migrate([
            Migration("0001_notes", ["CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL)"])
        ])
        let load = Load()
        let restarts = 6
        var unhealthySeen = 0
        do {
            for writer in 0..<8 {
                Task {
                    load.inFlight.add(1, ordering: .relaxed)
                    defer { load.inFlight.subtract(1, ordering: .relaxed) }
                    while !load.stop.load(ordering: .relaxed) {
                        let id = UUID().uuidString
                        do {
                            load.stage.withLock { $0[writer] = "write" }
                            try await store.write { tx in
                                load.stage.withLock { $0[writer] = "insert" }
                                try await tx.database.execute("INSERT INTO notes (id, body) VALUES (\(bind: id), 'x')")
                                load.stage.withLock { $0[writer] = "commit" }
                            }
                            load.stage.withLock { $0[writer] = "done" }
                            load.acknowledged.withLock { $0.append(id) }
                        } catch is StoreUnavailable {
                            load.unavailable.add(1, ordering: .relaxed)
                            try? await Task.sleep(for: .milliseconds(20))
                        } catch {
                            load.other.withLock { $0.append(String(describing: error)) }
                            try? await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
            }
            for _ in 0..<restarts {
                try await Task.sleep(for: .milliseconds(400))
                try postgres.stop(immediate: true)
                if await store.ping() != nil { unhealthySeen += 1 }
                try await Task.sleep(for: .milliseconds(300))
                try postgres.start()
                // Recovered: new writes are acknowledged again (a minute only catches a hang).
                let before = load.acknowledged.withLock { $0.count }
                let giveUp = ContinuousClock.now + .seconds(60)
                while load.acknowledged.withLock({ $0.count }) <= before + 8, ContinuousClock.now < giveUp {
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(load.acknowledged.withLock { $0.count } > before + 8, "writes did not resume after a restart")
            }
            load.stop.store(true, ordering: .relaxed)
            let giveUp = ContinuousClock.now + .seconds(90)
            while load.inFlight.load(ordering: .relaxed) > 0, ContinuousClock.now < giveUp {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(
                load.inFlight.load(ordering: .relaxed) == 0,
                "writers stuck: \(load.stage.withLock { $0 }), pool \(store.poolCounts)")
        }
        #expect(await store.ping() == nil)
        let acknowledged = load.acknowledged.withLock { $0 }
        let stored = try await store.read { db in
            try await db.rows("SELECT id FROM notes").map { try $0.decode(column: "id", as: String.self) }
        }
        let storedSet = Set(stored)
        #expect(stored.count == storedSet.count)
        #expect(acknowledged.allSatisfy { storedSet.contains($0) }, "an acknowledged write was lost")
        #expect(
            load.other.withLock { $0 }.isEmpty,
            "errors other than StoreUnavailable: \(load.other.withLock { $0.prefix(3) })")
        #expect(unhealthySeen == restarts)
        print(
            "PostgreSQL restarted \(restarts) times under load: \(acknowledged.count) writes acknowledged, all stored; "
                + "\(load.unavailable.load(ordering: .relaxed)) calls got UNAVAILABLE while it was down")
        await store.close()
    }
}
