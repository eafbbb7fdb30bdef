import EGovAPI
import EGovKit
import EGovStore
import Foundation
import SwiftProtobuf
import Synchronization

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
