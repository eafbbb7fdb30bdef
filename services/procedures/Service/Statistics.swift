public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import SQLKit
import SwiftProtobuf

/// An agency's figures (received, on time, late, overdue, ratings) and its ledger (Mẫu 06).
extension ProceduresService {
    public func getStatistics(
        request: Egov_Procedures_V1_GetStatisticsRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Statistics {
        let province = request.agency == "agencies/-"
        if !province { _ = try Self.errors.agencyCode(fromName: request.agency, field: "agency") }
        guard request.hasStartTime, request.hasEndTime, request.endTime.micros > request.startTime.micros else {
            throw Self.errors.invalidArgument(
                "INVALID_PERIOD", field: "end_time", "start_time and end_time are required, end after start")
        }
        if province {
            try ProceduresPolicy.readProvinceFigures.require(Self.errors, doing: "see every agency's statistics")
        } else {
            try ProceduresPolicy.handleDossiers.require(
                request.agency, Self.errors, doing: "see this agency's statistics")
        }
        // Tallied by the database, one row per deciding agency and procedure (the agency answerable
        // for the result), over what the agency received or decides. Days are the province's
        // (UTC+7): finished before, on or after the appointment's day.
        let day: Int64 = 86_400_000_000
        let offset: Int64 = 7 * 3_600_000_000
        let finished = "status IN (9, 10) AND finish_time IS NOT NULL"
        let finishDay = "(finish_time + \(offset)) / \(day)"
        let dueDay = "(appointment_time + \(offset)) / \(day)"
        let open = DossierRepository.openStatusList
        func count(_ condition: String) -> String {
            "CAST(COALESCE(SUM(CASE WHEN \(condition) THEN 1 ELSE 0 END), 0) AS BIGINT)"
        }
        let now = Timestamps.nowMicros()
        let rows = try await store.read { db in
            try await db.rows(
                """
                SELECT deciding_agency, procedure_code, CAST(COUNT(*) AS BIGINT) AS received,
                    \(unsafeRaw: count("channel = \(Egov_Procedures_V1_Channel.online.rawValue)")) AS online,
                    \(unsafeRaw: count("\(finished) AND \(finishDay) < \(dueDay)")) AS early,
                    \(unsafeRaw: count("\(finished) AND \(finishDay) = \(dueDay)")) AS on_time,
                    \(unsafeRaw: count("\(finished) AND \(finishDay) > \(dueDay)")) AS late,
                    \(unsafeRaw: count("status IN (3, 7, 8)")) AS closed,
                    \(unsafeRaw: count("status IN (\(open)) AND (overdue_time IS NOT NULL OR appointment_time < \(now))")) AS overdue,
                    CAST(COALESCE(SUM(CASE WHEN \(unsafeRaw: finished) THEN finish_time - receive_time ELSE 0 END), 0) AS BIGINT) AS processing,
                    \(unsafeRaw: count("rating > 0")) AS ratings,
                    CAST(COALESCE(SUM(rating), 0) AS BIGINT) AS rating_sum
                FROM dossiers
                WHERE (agency = \(bind: request.agency) OR deciding_agency = \(bind: request.agency)
                        OR \(unsafeRaw: province ? "1 = 1" : "1 = 0"))
                    AND receive_time >= \(bind: request.startTime.micros) AND receive_time < \(bind: request.endTime.micros)
                GROUP BY deciding_agency, procedure_code ORDER BY deciding_agency, procedure_code
                """)
        }
        struct Tally {
            var row = Egov_Procedures_V1_StatisticsRow()
            var online: Int64 = 0
            var processingMicros: Int64 = 0
            var ratings: Int64 = 0
            var ratingSum: Int64 = 0

            mutating func add(_ other: Tally) {
                row.received += other.row.received
                row.finishedEarly += other.row.finishedEarly
                row.finishedOnTime += other.row.finishedOnTime
                row.finishedLate += other.row.finishedLate
                row.closedWithoutResult += other.row.closedWithoutResult
                row.pending += other.row.pending
                row.overdue += other.row.overdue
                online += other.online
                processingMicros += other.processingMicros
                ratings += other.ratings
                ratingSum += other.ratingSum
            }

            var figures: Egov_Procedures_V1_StatisticsRow {
                var figures = row
                let finished = row.finishedEarly + row.finishedOnTime + row.finishedLate
                figures.onlineShare = row.received == 0 ? 0 : Double(online) / Double(row.received)
                figures.averageProcessingDays =
                    finished == 0 ? 0 : Double(processingMicros) / 86_400_000_000 / Double(finished)
                figures.averageRating = ratings == 0 ? 0 : Double(ratingSum) / Double(ratings)
                return figures
            }
        }
        let tallies = try rows.map { row in
            var tally = Tally()
            tally.row.agency = try row.decode(column: "deciding_agency", as: String.self)
            tally.row.procedure = "procedures/\(try row.decode(column: "procedure_code", as: String.self))"
            tally.row.received = try row.decode(column: "received", as: Int64.self)
            tally.row.finishedEarly = try row.decode(column: "early", as: Int64.self)
            tally.row.finishedOnTime = try row.decode(column: "on_time", as: Int64.self)
            tally.row.finishedLate = try row.decode(column: "late", as: Int64.self)
            tally.row.closedWithoutResult = try row.decode(column: "closed", as: Int64.self)
            tally.row.overdue = try row.decode(column: "overdue", as: Int64.self)
            tally.row.pending =
                tally.row.received - tally.row.finishedEarly - tally.row.finishedOnTime - tally.row.finishedLate
                - tally.row.closedWithoutResult
            tally.online = try row.decode(column: "online", as: Int64.self)
            tally.processingMicros = try row.decode(column: "processing", as: Int64.self)
            tally.ratings = try row.decode(column: "ratings", as: Int64.self)
            tally.ratingSum = try row.decode(column: "rating_sum", as: Int64.self)
            return tally
        }
        var total = Tally()
        var agencies: [String: Tally] = [:]
        for tally in tallies {
            total.add(tally)
            agencies[tally.row.agency, default: Tally()].add(tally)
        }
        if !province { total.row.agency = request.agency }
        return .with {
            $0.agency = request.agency
            $0.procedures = tallies.map(\.figures)
            $0.total = total.figures
            $0.agencies = agencies.keys.sorted().map { agency in
                var figures = agencies[agency]!.figures
                figures.agency = agency
                return figures
            }
        }
    }

    public func exportLedger(
        request: Egov_Procedures_V1_ExportLedgerRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Ledger {
        _ = try Self.errors.agencyCode(fromName: request.agency, field: "agency")
        guard request.hasStartTime, request.hasEndTime, request.endTime.micros > request.startTime.micros,
            request.endTime.micros - request.startTime.micros <= 366 * 86_400_000_000
        else {
            throw Self.errors.invalidArgument(
                "INVALID_PERIOD", field: "end_time", "give a period of at most a year, end after start")
        }
        try ProceduresPolicy.handleDossiers.require(request.agency, Self.errors, doing: "export this agency's ledger")
        let dossiers = try await store.read { db in
            try await db.rows(
                """
                SELECT * FROM dossiers WHERE (agency = \(bind: request.agency) OR deciding_agency = \(bind: request.agency))
                    AND receive_time >= \(bind: request.startTime.micros)
                AND receive_time < \(bind: request.endTime.micros) ORDER BY receive_time, code LIMIT 100000
                """
            ).map { (try DossierRepository.decode($0), try $0.decode(column: "finish_time", as: Int64?.self)) }
        }
        var names: [String: String] = [:]
        func date(_ micros: Int64?) -> String {
            guard let micros, micros > 0 else { return "" }
            return WorkingDayCalendar.local(Date(timeIntervalSince1970: Double(micros) / 1e6)).day.description
        }
        func field(_ text: String) -> String {
            let safe =
                text.hasPrefix("=") || text.hasPrefix("+") || text.hasPrefix("-") || text.hasPrefix("@")
                ? "'" + text : text
            return "\"" + safe.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        let channels: [Egov_Procedures_V1_Channel: String] = [
            .inPerson: "Trực tiếp", .online: "Trực tuyến", .postal: "Bưu chính",
        ]
        var lines = [
            "STT,Mã hồ sơ,Thủ tục,Người nộp,Kênh,Ngày nhận,Ngày hẹn trả,Ngày có kết quả,Ngày trả kết quả,Trạng thái,Ghi chú"
        ]
        for (index, (dossier, finished)) in dossiers.enumerated() {
            let code = String(dossier.procedure.dropFirst("procedures/".count))
            if names[code] == nil { names[code] = try await procedures.procedure(code: code)?.displayName ?? code }
            let note =
                dossier.apologies.isEmpty ? dossier.reason : "Xin lỗi, hẹn lại: \(dossier.apologies.last!.reason)"
            lines.append(
                [
                    String(index + 1), dossier.code, field(names[code]!), field(dossier.applicantName),
                    channels[dossier.channel] ?? "",
                    date(dossier.receiveTime.micros), date(dossier.appointmentTime.micros), date(finished),
                    date(dossier.hasReturnTime ? dossier.returnTime.micros : nil),
                    DossierWorkflow.statusName(dossier.status), field(note),
                ].joined(separator: ","))
        }
        return .with {
            $0.csv = Data([0xEF, 0xBB, 0xBF]) + Data((lines.joined(separator: "\r\n") + "\r\n").utf8)
            $0.rows = Int32(dossiers.count)
        }
    }
}
