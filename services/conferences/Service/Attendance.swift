public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import GRPCProtobuf

/// After the meeting: attendance from the log of what Janus saw, its CSV export, and the
/// province's figures with the travel the meetings saved.
extension ConferencesService {
    public func getAttendance(
        request: Egov_Conferences_V1_GetAttendanceRequest, context: ServerContext
    ) async throws -> Egov_Conferences_V1_Attendance {
        let (conference, _) = try await visibleConference(request.name, field: "name")
        try ConferencesPolicy.readAttendance.require(
            conference, Self.errors, doing: "read this conference's attendance")
        return try await attendance(of: conference)
    }

    public func exportAttendance(
        request: Egov_Conferences_V1_ExportAttendanceRequest, context: ServerContext
    ) async throws -> Egov_Conferences_V1_ExportAttendanceResponse {
        let (conference, _) = try await visibleConference(request.name, field: "name")
        try ConferencesPolicy.readAttendance.require(
            conference, Self.errors, doing: "export this conference's attendance")
        let attendance = try await attendance(of: conference)
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(secondsFromGMT: 7 * 3600)
        var lines = ["participant,display_name,join_time,leave_time,minutes,attended"]
        for record in attendance.records {
            let rows = record.intervals.isEmpty ? [nil] : record.intervals.map(Optional.some)
            for interval in rows {
                lines.append(
                    [
                        record.participant, record.displayName,
                        interval.map { formatter.string(from: $0.joinTime.date) } ?? "",
                        interval.map { formatter.string(from: $0.leaveTime.date) } ?? "",
                        String(record.minutes), record.attended ? "yes" : "no",
                    ].map(Self.csvField).joined(separator: ","))
            }
        }
        return .with {
            $0.csv = Data((lines.joined(separator: "\r\n") + "\r\n").utf8)
            $0.fileName = "diem-danh-\(Self.id(conference.name)).csv"
        }
    }

    public func getConferenceStatistics(
        request: Egov_Conferences_V1_GetConferenceStatisticsRequest, context: ServerContext
    ) async throws -> Egov_Conferences_V1_ConferenceStatistics {
        if !request.hostAgency.isEmpty {
            _ = try Self.errors.agencyCode(fromName: request.hostAgency, field: "host_agency")
        }
        try ConferencesPolicy.readStatistics.require(
            request.hostAgency, Self.errors, doing: "read these conference statistics")
        guard request.hasStartTime, request.hasEndTime, request.startTime.micros < request.endTime.micros,
            request.endTime.micros - request.startTime.micros <= 10 * 366 * 86_400_000_000
        else {
            throw Self.errors.invalidArgument(
                "INVALID_PERIOD", field: "end_time", "give a start and a later end, at most ten years apart")
        }
        var statistics = Egov_Conferences_V1_ConferenceStatistics()
        var invited = 0
        var attended = 0
        var after: (Int64, String)?
        while true {
            let page = try await conferences.conferences(
                hostAgency: request.hostAgency.isEmpty ? nil : request.hostAgency, from: request.startTime.micros,
                until: request.endTime.micros, after: after, limit: 200)
            for conference in page {
                if conference.state == .cancelled { statistics.cancelled += 1 }
                guard conference.state == .ended else { continue }
                statistics.conferences += 1
                statistics.byKind[Self.kindName(conference.kind), default: 0] += 1
                statistics.byHost[conference.hostAgency, default: 0] += 1
                let sheet = try await attendance(of: conference, names: false)
                invited += Int(sheet.invited)
                attended += Int(sheet.attended)
                for record in sheet.records
                where record.attended && record.participant.hasPrefix("bridgePoints/")
                    && record.participant != conference.hostBridgePoint
                {
                    guard
                        let point = try await bridgePoints.bridgePoint(
                            id: String(record.participant.dropFirst("bridgePoints/".count)))
                    else { continue }
                    statistics.remoteAttendances += 1
                    // There and back, for each delegate the room would have sent.
                    let minutes = Int64(point.travelMinutes) * 2 * travel.delegates
                    statistics.travelMinutesSaved += minutes
                    statistics.costSavedVnd +=
                        point.travelCostVnd * travel.delegates + minutes * travel.costPerHourVnd / 60
                }
            }
            guard page.count == 200, let last = page.last else { break }
            after = (last.startTime.micros, Self.id(last.name))
        }
        statistics.attendanceRate = invited == 0 ? 0 : Double(attended) / Double(invited)
        return statistics
    }

    /// Each invited participant's intervals, from the JOINED and LEFT events of the log,
    /// closed at the end of the meeting (or now, while it is live).
    func attendance(of conference: Conference, names: Bool = true) async throws -> Egov_Conferences_V1_Attendance {
        let id = Self.id(conference.name)
        var open: [String: Int64] = [:]
        var intervals: [String: [Egov_Conferences_V1_AttendanceInterval]] = [:]
        for event in try await conferences.joinsAndLeaves(of: id) {
            if event.kind == .joined, open[event.participant] == nil { open[event.participant] = event.time.micros }
            if event.kind == .left, let start = open.removeValue(forKey: event.participant) {
                intervals[event.participant, default: []].append(
                    .with {
                        $0.joinTime = .init(micros: start); $0.leaveTime = event.time
                    })
            }
        }
        let end =
            conference.hasActualEndTime ? conference.actualEndTime.micros : store.clock.micros
        for (participant, start) in open {
            intervals[participant, default: []].append(
                .with {
                    $0.joinTime = .init(micros: start); $0.leaveTime = .init(micros: max(end, start))
                })
        }
        var invitees = [conference.chair] + conference.bridgePoints + conference.invitedPeople
        invitees = invitees.enumerated().filter { invitees.firstIndex(of: $0.element) == $0.offset }.map(\.element)
        var records: [Egov_Conferences_V1_AttendanceRecord] = []
        for participant in invitees {
            let stretches = (intervals[participant] ?? []).sorted { $0.joinTime.micros < $1.joinTime.micros }
            let micros = stretches.reduce(Int64(0)) { $0 + ($1.leaveTime.micros - $1.joinTime.micros) }
            records.append(
                .with {
                    $0.participant = participant
                    $0.intervals = stretches
                    $0.minutes = micros / 60_000_000
                    $0.attended = !stretches.isEmpty
                })
        }
        for index in records.indices where names {
            let participant = records[index].participant
            if participant.hasPrefix("bridgePoints/") {
                records[index].displayName =
                    try await bridgePoints.bridgePoint(id: String(participant.dropFirst("bridgePoints/".count)))?
                    .displayName ?? ""
            } else {
                records[index].displayName = try await people.person(named: participant)?.displayName ?? ""
            }
        }
        return .with {
            $0.conference = conference.name
            $0.records = records
            $0.invited = Int32(records.count)
            $0.attended = Int32(records.filter(\.attended).count)
        }
    }

    /// The proto name of a kind, as the statistics key it.
    static func kindName(_ kind: Conference.Kind) -> String {
        switch kind {
        case .withCentralBody: "KIND_WITH_CENTRAL_BODY"
        case .withLocalBridgePoints: "KIND_WITH_LOCAL_BRIDGE_POINTS"
        case .withinSector: "KIND_WITHIN_SECTOR"
        default: "KIND_UNSPECIFIED"
        }
    }

    /// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break; a
    /// leading `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet does not run it.
    static func csvField(_ value: String) -> String {
        var text = value
        if let first = text.first, "=+-@".contains(first) { text = "'" + text }
        guard text.contains(where: { ",\"\r\n".contains($0) }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// How the travel a conference saves is valued (settings `travel.*`).
struct TravelValuation: Sendable {
    /// Delegates a bridge point would have sent to meet in person.
    var delegates: Int64 = 1
    /// What an hour of a delegate's travel costs, in đồng.
    var costPerHourVnd: Int64 = 0
}
