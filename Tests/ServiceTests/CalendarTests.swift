import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
@testable import ProceduresService
import SwiftProtobuf
import Testing

@Suite struct LunarCalendarTests {
    typealias Day = LunarCalendar.SolarDate

    @Test(arguments: [
        (2024, 1, 1, "2024-02-10"), (2025, 1, 1, "2025-01-29"), (2026, 1, 1, "2026-02-17"), (2027, 1, 1, "2027-02-06"),
        (2026, 3, 10, "2026-04-26"), (2025, 3, 10, "2025-04-07"), (2024, 3, 10, "2024-04-18"),
        // 2025 has a leap sixth month: the mid-autumn festival falls a month later.
        (2025, 8, 15, "2025-10-06"), (2023, 1, 1, "2023-01-22"), (2020, 1, 1, "2020-01-25"),
    ])
    func lunarDatesFallOnKnownCivilDates(year: Int, month: Int, day: Int, expected: String) {
        #expect(LunarCalendar.solarDate(lunarDay: day, month: month, year: year)?.description == expected)
    }

    @Test func weekdaysAreRight() {
        #expect(Day("2026-11-29")?.weekday == 7)  // a Sunday
        #expect(Day("2026-02-17")?.weekday == 2)  // Tuesday
    }

    @Test(arguments: ["2026-02-30", "2026-13-01", "26-01-01", "2026-1-1x", ""])
    func invalidDatesAreRefused(text: String) { #expect(Day(text) == nil) }
}

@Suite struct WorkingDayCalendarTests {
    typealias Day = LunarCalendar.SolarDate
    let calendar = WorkingDayCalendar()

    @Test(arguments: [
        ("2026-01-01", false), ("2026-01-02", true), ("2026-02-16", false), ("2026-02-17", false), ("2026-02-20", false),
        ("2026-02-23", true), ("2026-04-26", false), ("2026-04-27", false), ("2026-04-28", true), ("2026-04-30", false),
        ("2026-05-01", false), ("2026-09-01", false), ("2026-09-02", false), ("2026-09-03", true), ("2026-11-28", false),
        ("2026-11-30", true), ("2027-02-05", false), ("2027-02-09", false),
        // Tết 2027 takes in a Saturday and a Sunday: Wednesday 10 and Thursday 11 make up for them.
        ("2027-02-10", false), ("2027-02-11", false), ("2027-02-12", true),
    ])
    func knownDays(date: String, working: Bool) throws {
        #expect(calendar.isWorkingDay(try #require(Day(date))) == working, "\(date)")
    }

    func instant(_ text: String) -> Date {
        // Local time, UTC+7.
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text + "+07:00")!
    }

    @Test func appointmentsSkipHolidaysAndTheAfterThreeRule() {
        // Friday 24 April 2026, three working days: Monday 27 makes up for Hùng Kings'
        // day (a Sunday), then Tue 28, Wed 29, and after 30/4, 1/5 and the weekend, Mon 4 May.
        let morning = calendar.appointment(receivedAt: instant("2026-04-24T10:00:00"), workingDays: 3)
        #expect(WorkingDayCalendar.local(morning).day.description == "2026-05-04")
        #expect(WorkingDayCalendar.local(morning).hour == 17)
        let afternoon = calendar.appointment(receivedAt: instant("2026-04-24T15:30:00"), workingDays: 3)
        #expect(WorkingDayCalendar.local(afternoon).day.description == "2026-05-05")
        // Received on Tết counts from the first working day after it.
        let tet = calendar.startDay(receivedAt: instant("2026-02-18T09:00:00"))
        #expect(tet.description == "2026-02-23")
    }

    @Test func adjustmentsWinOverTheRules() throws {
        var adjusted = calendar
        adjusted.adjustments[try #require(Day("2026-05-09"))] = .workingDay
        adjusted.adjustments[try #require(Day("2026-05-04"))] = .dayOff
        #expect(adjusted.isWorkingDay(try #require(Day("2026-05-09"))))
        #expect(!adjusted.isWorkingDay(try #require(Day("2026-05-04"))))
    }
}

@Suite struct CalendarServiceTests {
    @Test func administratorsMoveDaysAndAppointmentsFollow() async throws {
        try await withStack { stack in
            try await withTestClient(port: stack.ports["procedures"]!) { client in
                let procedures = Egov_Procedures_V1_ProceduresService.Client(wrapping: client)
                let before = try await procedures.computeAppointment(.with {
                    $0.receiveTime = .init(date: ISO8601DateFormatter().date(from: "2026-04-24T10:00:00+07:00")!)
                    $0.workingDays = 3
                })
                #expect(before.startDate == "2026-04-24" && before.dueDate == "2026-05-04")
                _ = try await procedures.createCalendarAdjustment(.with {
                    $0.adjustment = .with { $0.date = "2026-05-04"; $0.kind = .dayOff; $0.note = "Nghỉ bù theo thông báo" }
                })
                let after = try await procedures.computeAppointment(.with {
                    $0.receiveTime = .init(date: ISO8601DateFormatter().date(from: "2026-04-24T10:00:00+07:00")!)
                    $0.workingDays = 3
                })
                #expect(after.dueDate == "2026-05-05")
                let listed = try await procedures.listCalendarAdjustments(.with { $0.year = 2026 })
                #expect(listed.adjustments.map(\.date) == ["2026-05-04"])
                #expect(await failure {
                    _ = try await procedures.createCalendarAdjustment(.with { $0.adjustment = .with { $0.date = "2026-02-30"; $0.kind = .dayOff } })
                } == Failure(code: .invalidArgument, reason: "INVALID_ADJUSTMENT", field: "adjustment.date"))
            }
            try await withPublicClient(port: stack.gatewayPort) { client in
                let procedures = Egov_Procedures_V1_ProceduresService.Client(wrapping: client)
                let tet = try await procedures.getWorkingDay(.with { $0.date = "2026-02-17" })
                #expect(!tet.workingDay && tet.reason == "Tết Nguyên đán")
                let bridge = try await procedures.getWorkingDay(.with { $0.date = "2026-05-04" })
                #expect(!bridge.workingDay && bridge.reason == "Nghỉ bù theo thông báo")
                #expect(try await procedures.getWorkingDay(.with { $0.date = "2026-04-27" }).reason == "Nghỉ bù")
                #expect(await failure {
                    _ = try await procedures.createCalendarAdjustment(.with { $0.adjustment = .with { $0.date = "2026-05-11"; $0.kind = .dayOff } })
                }?.code == .unauthenticated)
            }
        }
    }
}

@Suite struct OfficeTimeTests {
    /// Step times run in office hours (08:00-12:00, 13:00-17:00) of working days only.
    @Test(arguments: [
        ("2026-04-24T10:00:00+07:00", 4, "2026-04-24T15:00:00+07:00"),  // across lunch
        ("2026-04-24T16:00:00+07:00", 4, "2026-04-28T11:00:00+07:00"),  // Monday 27 makes up for Hùng Kings' day
        ("2026-04-25T09:00:00+07:00", 8, "2026-04-28T17:00:00+07:00"),  // begun on a Saturday
        ("2026-04-29T12:30:00+07:00", 16, "2026-05-05T12:00:00+07:00"),  // 30/4 and 1/5 off, then the weekend
        ("2026-04-28T06:00:00+07:00", 2, "2026-04-28T10:00:00+07:00"),  // before opening
        ("2026-04-28T18:00:00+07:00", 1, "2026-04-29T09:00:00+07:00"),  // after closing
    ])
    func stepsAreDueAfterTheirOfficeHours(start: String, hours: Int, expected: String) throws {
        let formatter = ISO8601DateFormatter()
        let due = WorkingDayCalendar().officeTimeDue(from: try #require(formatter.date(from: start)), workingHours: hours)
        #expect(due == formatter.date(from: expected))
    }
}
