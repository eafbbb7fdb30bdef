import EGovAPI
public import EGovKit
import EGovStore
public import Foundation
public import Logging
public import ServiceLifecycle

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
                let event = Egov_Procedures_V1_DossierEvent.noted(
                    .markOverdue, on: dossier, by: "services/egov-procedures",
                    "Quá hạn: hẹn trả kết quả ngày \(day.description)", at: .init(date: now))
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
