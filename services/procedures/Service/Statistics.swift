public import EGovAPI
import EGovKit
import Foundation
public import GRPCCore

/// An agency's figures (received, on time, late, overdue, ratings) and its ledger (Mẫu 06).
extension ProceduresService {
    public func getStatistics(
        request: Egov_Procedures_V1_GetStatisticsRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Statistics {
        let province = request.agency == "agencies/-"
        if !province { _ = try Self.errors.agencyCode(fromName: request.agency, field: "agency") }
        _ = try Self.errors.acceptedTime(request.startTime, field: "start_time")
        _ = try Self.errors.acceptedTime(request.endTime, field: "end_time")
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
        let tallies = try await dossiers.tallies(
            agency: province ? nil : request.agency, from: request.startTime.micros, to: request.endTime.micros,
            now: store.clock.micros)
        typealias Tally = DossierTally
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
        _ = try Self.errors.acceptedTime(request.startTime, field: "start_time")
        _ = try Self.errors.acceptedTime(request.endTime, field: "end_time")
        guard request.hasStartTime, request.hasEndTime, request.endTime.micros > request.startTime.micros,
            request.endTime.micros - request.startTime.micros <= 366 * 86_400_000_000
        else {
            throw Self.errors.invalidArgument(
                "INVALID_PERIOD", field: "end_time", "give a period of at most a year, end after start")
        }
        try ProceduresPolicy.handleDossiers.require(request.agency, Self.errors, doing: "export this agency's ledger")
        let entries = try await dossiers.ledger(
            agency: request.agency, from: request.startTime.micros, to: request.endTime.micros)
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
        for (index, (dossier, finished)) in entries.enumerated() {
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
            $0.rows = Int32(entries.count)
        }
    }
}
