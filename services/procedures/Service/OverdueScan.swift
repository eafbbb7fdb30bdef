import EGovAPI
public import EGovKit
import EGovStore
public import Foundation
public import Logging
import SQLKit
public import ServiceLifecycle

extension DossierRepository {
    static let representativeAndOverdueMigration = Migration(
        "0007_dossier_filers_and_overdue",
        [
            "ALTER TABLE dossiers ADD COLUMN filed_by TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE dossiers ADD COLUMN overdue_time BIGINT",
            "CREATE INDEX dossiers_by_filer ON dossiers (filed_by, receive_time)",
            "CREATE INDEX dossiers_unflagged ON dossiers (appointment_time) WHERE overdue_time IS NULL",
        ])

    static let stepMigration = Migration(
        "0008_dossier_steps",
        [
            "ALTER TABLE dossiers ADD COLUMN current_step BIGINT NOT NULL DEFAULT 0",
            "CREATE INDEX dossiers_by_step ON dossiers (agency, current_step, appointment_time)",
        ]
    ) { tx in
        // Dossiers stored before the column keep their step in their record.
        for row in try await tx.database.rows("SELECT detail FROM dossiers WHERE detail LIKE '%currentStep%'") {
            let dossier = try Egov_Procedures_V1_Dossier(jsonString: try row.decode(column: "detail", as: String.self))
            try await tx.database.execute(
                "UPDATE dossiers SET current_step = \(bind: Int64(dossier.currentStep)) WHERE code = \(bind: dossier.code)"
            )
        }
    }

    /// Open dossiers past their appointment at `now` that no scan flagged yet, oldest appointment first.
    func unflaggedOverdue(at now: Date, limit: Int) async throws -> [Egov_Procedures_V1_Dossier] {
        try await store.read { db in
            try await db.rows(
                """
                SELECT * FROM dossiers WHERE overdue_time IS NULL AND appointment_time < \(bind: Int64(now.timeIntervalSince1970 * 1_000_000))
                AND status IN (\(unsafeRaw: Self.openStatusList)) ORDER BY appointment_time, code LIMIT \(unsafeRaw: String(limit))
                """
            ).map(Self.decode)
        }
    }
}

extension ProceduresService {
    /// Flags every open dossier whose appointment passed by `now` and that is not flagged yet:
    /// sets `overdue_time`, records a MARK_OVERDUE event (Mẫu 05) and writes
    /// `procedures.dossier.overdue` to the outbox, in one transaction per dossier, so the
    /// officials' systems and the national portal hear of it once. Returns how many it flagged.
    public func scanOverdue(now: Date) async throws -> Int {
        var flagged = 0
        while true {
            let late = try await dossiers.unflaggedOverdue(at: now, limit: 200)
            var progressed = false
            for var dossier in late {
                dossier.overdueTime = .init(date: now)
                dossier.overdue = true
                let (day, _) = WorkingDayCalendar.local(dossier.appointmentTime.date)
                let event = Egov_Procedures_V1_DossierEvent.with {
                    $0.action = .markOverdue
                    $0.fromStatus = dossier.status
                    $0.toStatus = dossier.status
                    $0.actor = "services/egov-procedures"
                    $0.note = "Quá hạn: hẹn trả kết quả ngày \(day.description)"
                    $0.time = .init(date: now)
                }
                // A dossier changed meanwhile is left for the next scan, which reads it afresh.
                if try await trySave(dossier, event: event, topic: "procedures.dossier.overdue") {
                    flagged += 1
                    progressed = true
                }
            }
            if late.count < 200 || !progressed { return flagged }
        }
    }
}

/// Runs the overdue scan every `interval` while the process runs.
public struct OverdueScanner: Service {
    let service: ProceduresService
    let interval: Duration
    let logger: Logger

    public init(service: ProceduresService, interval: Duration, logger: Logger) {
        self.service = service
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let flagged = try await service.scanOverdue(now: service.clock())
                if flagged > 0 {
                    logger.notice("overdue dossiers flagged", metadata: ["count": .stringConvertible(flagged)])
                }
            } catch {
                logger.error("overdue scan failed", metadata: ["error": .string(String(describing: error))])
            }
            await pauseUnlessShuttingDown(for: interval)
        }
    }
}
