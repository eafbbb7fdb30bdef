public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import SQLKit
import SwiftProtobuf

extension ProceduresService {
    public func listDossiers(
        request: Egov_Procedures_V1_ListDossiersRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_ListDossiersResponse {
        let size = try Self.errors.pageSize(request.pageSize)
        var query = SQLQueryString("SELECT * FROM dossiers WHERE 1 = 1")
        if request.mine {
            guard let user = RequestContext.current?.user else {
                throw Self.errors.unauthenticated("AUTHENTICATION_REQUIRED", "Sign in to see your dossiers.")
            }
            // Theirs, and those they filed online as someone's representative.
            query.appendInterpolation(unsafeRaw: " AND (applicant = ")
            query.appendInterpolation(bind: user.sub)
            query.appendInterpolation(unsafeRaw: " OR (filed_by = ")
            query.appendInterpolation(bind: user.sub)
            query.appendInterpolation(unsafeRaw: " AND channel = \(Egov_Procedures_V1_Channel.online.rawValue)))")
        } else {
            guard AgencyCode.code(fromName: request.agency) != nil else {
                throw Self.errors.invalidArgument("INVALID_AGENCY_NAME", field: "agency", "must be agencies/{code}, or set mine")
            }
            try Access.require(.handleDossiers(agency: request.agency), Self.errors, doing: "see this agency's dossiers")
            // What the agency received at its desk, and what it decides.
            query.appendInterpolation(unsafeRaw: " AND (agency = ")
            query.appendInterpolation(bind: request.agency)
            query.appendInterpolation(unsafeRaw: " OR deciding_agency = ")
            query.appendInterpolation(bind: request.agency)
            query.appendInterpolation(unsafeRaw: ")")
            if !request.statuses.isEmpty {
                let statuses = request.statuses.map { String($0.rawValue) }.filter { Int($0) != nil }.joined(separator: ",")
                query.appendInterpolation(unsafeRaw: " AND status IN (\(statuses))")
            }
            if request.hasCurrentStep {
                query.appendInterpolation(unsafeRaw: " AND current_step = ")
                query.appendInterpolation(bind: Int64(request.currentStep))
            }
            if !request.assignee.isEmpty {
                query.appendInterpolation(unsafeRaw: " AND assignee = ")
                query.appendInterpolation(bind: request.assignee)
            }
            let open = DossierRepository.openStatusList
            let now = Timestamps.nowMicros()
            if request.overdueOnly {
                query.appendInterpolation(unsafeRaw: " AND status IN (\(open)) AND appointment_time < ")
                query.appendInterpolation(bind: now)
            }
            if request.dueWithinDays > 0 {
                query.appendInterpolation(unsafeRaw: " AND status IN (\(open)) AND appointment_time < ")
                query.appendInterpolation(bind: now + Int64(request.dueWithinDays) * 86_400_000_000)
            }
        }
        let filter = "mine=\(request.mine);agency=\(request.agency);statuses=\(request.statuses.map(\.rawValue));"
            + "assignee=\(request.assignee);due=\(request.dueWithinDays);overdue=\(request.overdueOnly);"
            + "step=\(request.hasCurrentStep ? String(request.currentStep) : "")"
        if let key = try PageToken.decode(request.pageToken, filter: filter, errors: Self.errors) {
            let parts = key.split(separator: " ")
            guard parts.count == 2, let time = Int64(parts[0]) else {
                throw Self.errors.invalidArgument("INVALID_PAGE_TOKEN", field: "page_token", "is not a token this service issued")
            }
            query.appendInterpolation(unsafeRaw: " AND (appointment_time > ")
            query.appendInterpolation(bind: time)
            query.appendInterpolation(unsafeRaw: " OR (appointment_time = ")
            query.appendInterpolation(bind: time)
            query.appendInterpolation(unsafeRaw: " AND code > ")
            query.appendInterpolation(bind: String(parts[1]))
            query.appendInterpolation(unsafeRaw: "))")
        }
        query.appendInterpolation(unsafeRaw: " ORDER BY appointment_time, code LIMIT \(size + 1)")
        let rows = try await store.read { db in try await db.rows(query).map(DossierRepository.decode) }
        let result = PageToken.page(rows, size: size, filter: filter) { "\($0.appointmentTime.micros) \($0.code)" }
        return .with {
            $0.dossiers = result.items
            $0.nextPageToken = result.nextPageToken
        }
    }

    public func issueApology(
        request: Egov_Procedures_V1_IssueApologyRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Dossier {
        var dossier = try await visibleDossier(request.name)
        if let user = RequestContext.current?.user {
            guard Permissions.allows(user, .handleDossiers(agency: dossier.agency))
                || Permissions.allows(user, .handleDossiers(agency: dossier.decidingAgency)), !dossier.isApplicantSide(user.sub)
            else {
                throw Self.errors.permissionDenied(
                    "PERMISSION_DENIED", "Only the officials of the receiving or the deciding agency issue apology slips.")
            }
        }
        guard DossierRepository.openStatuses.contains(dossier.status) || [.supplementRequested, .paymentRequested].contains(dossier.status) else {
            throw Self.errors.failedPrecondition(
                "ILLEGAL_TRANSITION", "The dossier is in status \(DossierWorkflow.statusName(dossier.status)); it is no longer being processed.")
        }
        let reason = request.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty, reason.count <= 2000 else {
            throw Self.errors.invalidArgument("REASON_REQUIRED", field: "reason", "give the reason, at most 2000 characters")
        }
        guard request.hasNewAppointmentTime, request.newAppointmentTime.micros > dossier.appointmentTime.micros else {
            throw Self.errors.invalidArgument("INVALID_APPOINTMENT", field: "new_appointment_time", "must be after the current appointment")
        }
        let now = clock()
        let actor = RequestContext.actor
        dossier.apologies.append(.with {
            $0.reason = reason
            $0.previousAppointmentTime = dossier.appointmentTime
            $0.newAppointmentTime = request.newAppointmentTime
            $0.issuedBy = actor
            $0.issueTime = .init(date: now)
        })
        dossier.appointmentTime = request.newAppointmentTime
        // A new appointment: the overdue scan watches it afresh.
        dossier.clearOverdueTime()
        let event = Egov_Procedures_V1_DossierEvent.with {
            $0.action = .issueApology
            $0.fromStatus = dossier.status
            $0.toStatus = dossier.status
            $0.actor = actor
            $0.note = "Phiếu xin lỗi và hẹn lại: \(reason)"
            $0.time = .init(date: now)
        }
        return try await save(dossier, event: event, topic: "procedures.dossier.apology_issued")
    }

    public func rateDossier(
        request: Egov_Procedures_V1_RateDossierRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Dossier {
        var dossier = try await visibleDossier(request.name)
        guard let rater = RequestContext.current?.user?.sub, dossier.isApplicantSide(rater) else {
            throw Self.errors.permissionDenied("PERMISSION_DENIED", "Only the applicant rates the service.")
        }
        guard dossier.status == .resultReturned else {
            throw Self.errors.failedPrecondition(
                "ILLEGAL_TRANSITION", "The dossier is in status \(DossierWorkflow.statusName(dossier.status)); rate it once the result is returned.")
        }
        guard (1...5).contains(request.rating) else {
            throw Self.errors.invalidArgument("INVALID_RATING", field: "rating", "must be 1 to 5")
        }
        guard request.comment.count <= 2000 else {
            throw Self.errors.invalidArgument("INVALID_RATING", field: "comment", "at most 2000 characters")
        }
        dossier.rating = request.rating
        dossier.ratingComment = request.comment
        let event = Egov_Procedures_V1_DossierEvent.with {
            $0.action = .rate
            $0.fromStatus = dossier.status
            $0.toStatus = dossier.status
            $0.actor = rater
            $0.note = "Đánh giá \(request.rating)/5"
            $0.time = .init(date: clock())
        }
        return try await save(dossier, event: event)
    }

    public func getStatistics(
        request: Egov_Procedures_V1_GetStatisticsRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Statistics {
        let province = request.agency == "agencies/-"
        if !province { _ = try Self.errors.agencyCode(fromName: request.agency, field: "agency") }
        guard request.hasStartTime, request.hasEndTime, request.endTime.micros > request.startTime.micros else {
            throw Self.errors.invalidArgument("INVALID_PERIOD", field: "end_time", "start_time and end_time are required, end after start")
        }
        if province {
            try Access.require(.readProvinceFigures, Self.errors, doing: "see every agency's statistics")
        } else {
            try Access.require(.handleDossiers(agency: request.agency), Self.errors, doing: "see this agency's statistics")
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
        func count(_ condition: String) -> String { "CAST(COALESCE(SUM(CASE WHEN \(condition) THEN 1 ELSE 0 END), 0) AS BIGINT)" }
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
                figures.averageProcessingDays = finished == 0 ? 0 : Double(processingMicros) / 86_400_000_000 / Double(finished)
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
            tally.row.pending = tally.row.received - tally.row.finishedEarly - tally.row.finishedOnTime - tally.row.finishedLate
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
}

extension ProceduresService {
    static let closedStatuses: Set<Egov_Procedures_V1_Dossier.Status> = [.resultReturned, .notAccepted, .withdrawn, .stopped]

    public func watchDossier(
        request: Egov_Procedures_V1_WatchDossierRequest,
        response: RPCWriter<Egov_Procedures_V1_Dossier>,
        context: ServerContext
    ) async throws {
        // Listen before the first read, so no change falls between the two. Woken at once by
        // changes committed here; another replica's changes are seen on the periodic re-read,
        // since the store is the one place every replica writes.
        let code = request.name.split(separator: "/").last.map(String.init) ?? ""
        // Until the dossier is closed or gRPC cancels the call (hang-up, deadline, shutdown).
        try await cancellingWithRPC { try await follow(request.name, code: code, to: response) }
    }

    private func follow(_ name: String, code: String, to response: RPCWriter<Egov_Procedures_V1_Dossier>) async throws {
        try await changes.watch(code, fallback: .seconds(2)) { signals in
            var dossier = try await visibleDossier(name)
            try await response.write(dossier)
            var lastEtag = dossier.etag
            guard !Self.closedStatuses.contains(dossier.status) else { return }
            for await _ in signals {
                dossier = try await visibleDossier(name)
                if dossier.etag != lastEtag {
                    try await response.write(dossier)
                    lastEtag = dossier.etag
                }
                if Self.closedStatuses.contains(dossier.status) { break }
            }
        }
    }
}

extension ProceduresService {
    public func exportLedger(
        request: Egov_Procedures_V1_ExportLedgerRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_Ledger {
        _ = try Self.errors.agencyCode(fromName: request.agency, field: "agency")
        guard request.hasStartTime, request.hasEndTime, request.endTime.micros > request.startTime.micros,
            request.endTime.micros - request.startTime.micros <= 366 * 86_400_000_000
        else {
            throw Self.errors.invalidArgument("INVALID_PERIOD", field: "end_time", "give a period of at most a year, end after start")
        }
        try Access.require(.handleDossiers(agency: request.agency), Self.errors, doing: "export this agency's ledger")
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
            let safe = text.hasPrefix("=") || text.hasPrefix("+") || text.hasPrefix("-") || text.hasPrefix("@") ? "'" + text : text
            return "\"" + safe.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        let channels: [Egov_Procedures_V1_Channel: String] = [.inPerson: "Trực tiếp", .online: "Trực tuyến", .postal: "Bưu chính"]
        var lines = ["STT,Mã hồ sơ,Thủ tục,Người nộp,Kênh,Ngày nhận,Ngày hẹn trả,Ngày có kết quả,Ngày trả kết quả,Trạng thái,Ghi chú"]
        for (index, (dossier, finished)) in dossiers.enumerated() {
            let code = String(dossier.procedure.dropFirst("procedures/".count))
            if names[code] == nil { names[code] = try await procedures.procedure(code: code)?.displayName ?? code }
            let note = dossier.apologies.isEmpty ? dossier.reason : "Xin lỗi, hẹn lại: \(dossier.apologies.last!.reason)"
            lines.append([
                String(index + 1), dossier.code, field(names[code]!), field(dossier.applicantName), channels[dossier.channel] ?? "",
                date(dossier.receiveTime.micros), date(dossier.appointmentTime.micros), date(finished),
                date(dossier.hasReturnTime ? dossier.returnTime.micros : nil), DossierWorkflow.statusName(dossier.status), field(note),
            ].joined(separator: ","))
        }
        return .with {
            $0.csv = Data([0xEF, 0xBB, 0xBF]) + Data((lines.joined(separator: "\r\n") + "\r\n").utf8)
            $0.rows = Int32(dossiers.count)
        }
    }
}
