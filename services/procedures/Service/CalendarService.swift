public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import SQLKit
import SwiftProtobuf

/// The administrators' adjustments to the working-day calendar.
struct CalendarRepository: Sendable {
    let store: Store

    static let migrations: [Migration] = [
        Migration(
            "0002_calendar",
            [
                """
                CREATE TABLE calendar_adjustments (
                    day TEXT PRIMARY KEY,
                    kind BIGINT NOT NULL,
                    note TEXT NOT NULL,
                    create_time BIGINT NOT NULL
                )
                """
            ]
        )
    ]

    func all() async throws -> [Egov_Procedures_V1_CalendarAdjustment] {
        try await store.read { db in
            try await db.rows("SELECT * FROM calendar_adjustments ORDER BY day").map(Self.decode)
        }
    }

    /// Inserts or replaces the adjustment of its day.
    func save(_ adjustment: Egov_Procedures_V1_CalendarAdjustment) async throws -> Egov_Procedures_V1_CalendarAdjustment {
        let now = Timestamps.nowMicros()
        try await store.write { tx in
            try await tx.database.execute(
                """
                INSERT INTO calendar_adjustments (day, kind, note, create_time)
                VALUES (\(bind: adjustment.date), \(bind: adjustment.kind.rawValue), \(bind: adjustment.note), \(bind: now))
                ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, note = excluded.note, create_time = excluded.create_time
                """)
        }
        var saved = adjustment
        saved.name = "calendarAdjustments/\(adjustment.date)"
        saved.createTime = .init(micros: now)
        return saved
    }

    /// The calendar with every adjustment applied.
    func calendar() async throws -> WorkingDayCalendar { Self.calendar(applying: try await all()) }

    static func calendar(applying adjustments: [Egov_Procedures_V1_CalendarAdjustment]) -> WorkingDayCalendar {
        var calendar = WorkingDayCalendar()
        for adjustment in adjustments {
            guard let day = LunarCalendar.SolarDate(adjustment.date) else { continue }
            calendar.adjustments[day] = adjustment.kind == .workingDay ? .workingDay : .dayOff
        }
        return calendar
    }

    static func decode(_ row: any SQLRow) throws -> Egov_Procedures_V1_CalendarAdjustment {
        let day = try row.decode(column: "day", as: String.self)
        return try .with {
            $0.name = "calendarAdjustments/\(day)"
            $0.date = day
            $0.kind = .init(rawValue: Int(try row.decode(column: "kind", as: Int64.self))) ?? .unspecified
            $0.note = try row.decode(column: "note", as: String.self)
            $0.createTime = .init(micros: try row.decode(column: "create_time", as: Int64.self))
        }
    }
}

extension ProceduresService {
    public func getWorkingDay(
        request: Egov_Procedures_V1_GetWorkingDayRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_WorkingDay {
        guard let day = LunarCalendar.SolarDate(request.date) else {
            throw Self.errors.invalidArgument("INVALID_DATE", field: "date", "must be a date YYYY-MM-DD between 1900 and 2199")
        }
        let adjustments = try await calendarAdjustments.all()
        let calendar = CalendarRepository.calendar(applying: adjustments)
        let working = calendar.isWorkingDay(day)
        return .with {
            $0.date = request.date
            $0.workingDay = working
            if !working {
                if let adjustment = adjustments.first(where: { $0.date == request.date }) {
                    $0.reason = adjustment.note.isEmpty ? "Ngày nghỉ theo quyết định" : adjustment.note
                } else if let holiday = calendar.holidays(of: day.year)[day] ?? calendar.holidays(of: day.year + 1)[day] {
                    $0.reason = holiday
                } else if day.weekday >= 6 {
                    $0.reason = "Nghỉ cuối tuần"
                } else {
                    $0.reason = "Nghỉ bù"
                }
            }
        }
    }

    public func computeAppointment(
        request: Egov_Procedures_V1_ComputeAppointmentRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_ComputeAppointmentResponse {
        guard request.hasReceiveTime else {
            throw Self.errors.invalidArgument("INVALID_APPOINTMENT", field: "receive_time", "is required")
        }
        guard (0...365).contains(request.workingDays) else {
            throw Self.errors.invalidArgument("INVALID_APPOINTMENT", field: "working_days", "must be between 0 and 365")
        }
        let calendar = try await calendarAdjustments.calendar()
        let received = request.receiveTime.date
        let start = calendar.startDay(receivedAt: received)
        let due = calendar.adding(workingDays: Int(request.workingDays), to: start)
        return .with {
            $0.appointmentTime = .init(date: calendar.appointment(receivedAt: received, workingDays: Int(request.workingDays)))
            $0.startDate = start.description
            $0.dueDate = due.description
        }
    }

    public func createCalendarAdjustment(
        request: Egov_Procedures_V1_CreateCalendarAdjustmentRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_CalendarAdjustment {
        try Access.require(.manageAgencies, Self.errors, doing: "change the working-day calendar")
        var violations: [APIError.Violation] = []
        if LunarCalendar.SolarDate(request.adjustment.date) == nil {
            violations.append(.init("adjustment.date", "must be a date YYYY-MM-DD"))
        }
        if request.adjustment.kind == .unspecified || !Egov_Procedures_V1_CalendarAdjustment.Kind.allCases.contains(request.adjustment.kind) {
            violations.append(.init("adjustment.kind", "must be KIND_DAY_OFF or KIND_WORKING_DAY"))
        }
        if request.adjustment.note.count > 500 { violations.append(.init("adjustment.note", "at most 500 characters")) }
        if !violations.isEmpty { throw Self.errors.invalidArgument("INVALID_ADJUSTMENT", violations) }
        return try await calendarAdjustments.save(.with {
            $0.date = request.adjustment.date
            $0.kind = request.adjustment.kind
            $0.note = request.adjustment.note
        })
    }

    public func listCalendarAdjustments(
        request: Egov_Procedures_V1_ListCalendarAdjustmentsRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_ListCalendarAdjustmentsResponse {
        guard (1900...2199).contains(request.year) else {
            throw Self.errors.invalidArgument("INVALID_YEAR", field: "year", "must be between 1900 and 2199")
        }
        let all = try await calendarAdjustments.all()
        return .with { $0.adjustments = all.filter { $0.date.hasPrefix("\(request.year)-") } }
    }
}
