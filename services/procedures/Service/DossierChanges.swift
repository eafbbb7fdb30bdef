import EGovAPI
import EGovKit
import EGovStore
import Foundation
import SwiftProtobuf
import Synchronization

/// Tells the watchers of a dossier in this process that it changed, the moment a change
/// commits here. Changes committed by another replica reach them through a slower re-read.
final class DossierChangeFeed: Sendable {
    private let subscribers = Mutex<[String: [UUID: AsyncStream<Void>.Continuation]]>([:])

    /// Wakes the watchers of `code`.
    func publish(_ code: String) {
        subscribers.withLock { all in all[code]?.values.forEach { $0.yield() } }
    }

    /// Runs `body` with a signal each time `code` may have changed: at once for changes made
    /// here, and every `fallback` for those made elsewhere. The subscription ends with `body`.
    func watch<Result: Sendable>(
        _ code: String, fallback: Duration, _ body: (AsyncStream<Void>) async throws -> Result
    ) async throws -> Result {
        let id = UUID()
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        subscribers.withLock { $0[code, default: [:]][id] = continuation }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: fallback)
                continuation.yield()
            }
        }
        defer {
            ticker.cancel()
            continuation.finish()
            subscribers.withLock { all in
                all[code]?[id] = nil
                if all[code]?.isEmpty == true { all[code] = nil }
            }
        }
        return try await body(stream)
    }

    /// How many watchers are subscribed, for tests.
    var watcherCount: Int { subscribers.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}

extension ProceduresService {
    /// Saves `dossier` as changed since version `etag` was read, with its control-slip event
    /// and, given a `topic`, an outbox event in the same transaction; then wakes its watchers.
    /// Returns false, saving nothing, when someone else changed it meanwhile.
    func trySave(_ dossier: Egov_Procedures_V1_Dossier, event: Egov_Procedures_V1_DossierEvent, topic: String?)
        async throws -> Bool
    {
        let saved = try await store.write { tx in
            guard try await dossiers.apply(dossier, version: Int64(dossier.etag) ?? 0, event: event, in: tx) else {
                return false
            }
            if let topic {
                try await tx.enqueue(topic: topic, key: dossier.name, payload: try dossier.serializedBytes())
            }
            return true
        }
        if saved { changes.publish(dossier.code) }
        return saved
    }

    /// `trySave`, with FAILED_PRECONDITION ETAG_MISMATCH when someone else changed the dossier
    /// meanwhile. Returns the dossier as stored (its new etag), without reading it back.
    func save(_ dossier: Egov_Procedures_V1_Dossier, event: Egov_Procedures_V1_DossierEvent, topic: String? = nil)
        async throws -> Egov_Procedures_V1_Dossier
    {
        guard try await trySave(dossier, event: event, topic: topic) else {
            throw Self.errors.failedPrecondition("ETAG_MISMATCH", "The dossier changed meanwhile; read it again.")
        }
        var saved = dossier
        saved.etag = String((Int64(dossier.etag) ?? 0) + 1)
        return dossiers.withOverdue(saved)
    }
}

extension Egov_Procedures_V1_DossierEvent {
    /// A control-slip line (Mẫu 05) for what happened to `dossier` without moving its status:
    /// a file attached, a rating, an apology slip, the overdue flag.
    static func noted(
        _ action: Egov_Procedures_V1_DossierAction, on dossier: Egov_Procedures_V1_Dossier, by actor: String,
        _ note: String, at time: Google_Protobuf_Timestamp
    ) -> Self {
        .with {
            $0.action = action
            $0.fromStatus = dossier.status
            $0.toStatus = dossier.status
            $0.actor = actor
            $0.note = note
            $0.time = time
        }
    }
}
