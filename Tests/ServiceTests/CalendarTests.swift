import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import ProceduresService

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
        ("2026-01-01", false), ("2026-01-02", true), ("2026-02-16", false), ("2026-02-17", false),
        ("2026-02-20", false),
        ("2026-02-23", true), ("2026-04-26", false), ("2026-04-27", false), ("2026-04-28", true), ("2026-04-30", false),
        ("2026-05-01", false), ("2026-09-01", false), ("2026-09-02", false), ("2026-09-03", true),
        ("2026-11-28", false),
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

    /// The Labour Code 2012 gave one National Day day; its rules hold from 2013 to 2020.
    @Test func earlierLawsHoldForTheirYears() throws {
        #expect(!calendar.isWorkingDay(try #require(Day("2019-09-02"))))
        #expect(calendar.isWorkingDay(try #require(Day("2020-09-01"))))
        #expect(!calendar.isWorkingDay(try #require(Day("2021-09-01"))))
        #expect(!calendar.isWorkingDay(try #require(Day("2015-02-19"))))  // Tết Ất Mùi
    }

    /// A rule's day can fall in the next calendar year (a late lunar month): it is still off.
    @Test func aHolidayOfLastYearsRuleInJanuaryIsOff() throws {
        var late = calendar
        late.rules.append(
            HolidayRule(
                id: "ong-cong-ong-tao", title: "Tiễn ông Công ông Táo", lunar: true, month: 12, day: 23, offset: 0,
                length: 1, effectiveFrom: try #require(Day("2021-01-01")), effectiveUntil: nil, legalReference: "thử",
                decidedYearly: false))
        // 23 tháng Chạp Ất Tỵ (lunar year 2025) is Tuesday 10 February 2026.
        #expect(!late.isWorkingDay(try #require(Day("2026-02-10"))))
        #expect(calendar.isWorkingDay(try #require(Day("2026-02-10"))))
    }

    /// Only days off replace a yearly-decided holiday's default days: a Saturday worked in
    /// exchange, entered first, leaves National Day as the law has it.
    @Test func aSwappedSaturdayAloneLeavesTheHolidayAlone() throws {
        let swapped = CalendarRepository.calendar(
            rules: HolidayRule.statutory.map(\.message),
            applying: [
                .with {
                    $0.date = "2026-08-22"; $0.kind = .workingDay; $0.holiday = "holidayRules/quoc-khanh"
                }
            ])
        #expect(swapped.isWorkingDay(try #require(Day("2026-08-22"))))
        #expect(!swapped.isWorkingDay(try #require(Day("2026-09-01"))))
        #expect(!swapped.isWorkingDay(try #require(Day("2026-09-02"))))
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
                let before = try await procedures.computeAppointment(
                    .with {
                        $0.receiveTime = .init(date: ISO8601DateFormatter().date(from: "2026-04-24T10:00:00+07:00")!)
                        $0.workingDays = 3
                    })
                #expect(before.startDate == "2026-04-24" && before.dueDate == "2026-05-04")
                _ = try await procedures.createCalendarAdjustment(
                    .with {
                        $0.adjustment = .with {
                            $0.date = "2026-05-04"; $0.kind = .dayOff; $0.note = "Nghỉ bù theo thông báo"
                        }
                    })
                let after = try await procedures.computeAppointment(
                    .with {
                        $0.receiveTime = .init(date: ISO8601DateFormatter().date(from: "2026-04-24T10:00:00+07:00")!)
                        $0.workingDays = 3
                    })
                #expect(after.dueDate == "2026-05-05")
                let listed = try await procedures.listCalendarAdjustments(.with { $0.year = 2026 })
                #expect(listed.adjustments.map(\.date) == ["2026-05-04"])
                #expect(
                    await failure {
                        _ = try await procedures.createCalendarAdjustment(
                            .with {
                                $0.adjustment = .with {
                                    $0.date = "2026-02-30"; $0.kind = .dayOff
                                }
                            })
                    } == Failure(code: .invalidArgument, reason: "INVALID_ADJUSTMENT", field: "adjustment.date"))
            }
            try await withPublicClient(port: stack.gatewayPort) { client in
                let procedures = Egov_Procedures_V1_ProceduresService.Client(wrapping: client)
                let tet = try await procedures.getWorkingDay(.with { $0.date = "2026-02-17" })
                #expect(!tet.workingDay && tet.reason == "Tết Nguyên đán")
                let bridge = try await procedures.getWorkingDay(.with { $0.date = "2026-05-04" })
                #expect(!bridge.workingDay && bridge.reason == "Nghỉ bù theo thông báo")
                #expect(try await procedures.getWorkingDay(.with { $0.date = "2026-04-27" }).reason == "Nghỉ bù")
                #expect(
                    await failure {
                        _ = try await procedures.createCalendarAdjustment(
                            .with {
                                $0.adjustment = .with {
                                    $0.date = "2026-05-11"; $0.kind = .dayOff
                                }
                            })
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
        let due = WorkingDayCalendar().officeTimeDue(
            from: try #require(formatter.date(from: start)), workingHours: hours)
        #expect(due == formatter.date(from: expected))
    }
}

/// The government's published arrangements for 2024-2026, as shipped for `calendar.file`.
let shippedCalendarFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("services/procedures/calendar/vietnam.json").path

@Suite struct CalendarDecisionTests {
    /// Loaded, the decisions replace the law's default days where they differ: Tết 2024 took
    /// the 29th of the old year and no make-up days; National Day's second day was after 2/9
    /// in 2024, before it in 2025 and 2026; the Saturdays worked in exchange are working days.
    @Test func theGovernmentsDecisionsReplaceTheDefaultDaysThroughTheGateway() async throws {
        try await withStack { stack in
            let repository = CalendarRepository(store: stack.proceduresStore)
            let loaded = try await CalendarFileLoader.load(path: shippedCalendarFile, into: repository)
            #expect(loaded.rules == 0 && loaded.adjustments == 56)
            try await withPublicClient(port: stack.gatewayPort) { client in
                let procedures = Procedures(wrapping: client)
                func day(_ date: String) async throws -> Egov_Procedures_V1_WorkingDay {
                    try await procedures.getWorkingDay(.with { $0.date = date })
                }
                // Tết 2024: from 29 Tết, and no make-up days after it.
                for (date, working) in [
                    ("2024-02-08", false), ("2024-02-14", false), ("2024-02-15", true),
                    ("2024-04-29", false), ("2024-05-04", true), ("2024-09-03", false),
                    ("2025-01-27", false), ("2025-02-03", true), ("2025-04-26", true), ("2025-05-02", false),
                    ("2025-09-01", false), ("2025-09-03", true),
                    ("2026-01-02", false), ("2026-01-10", true), ("2026-02-16", false), ("2026-02-23", true),
                    ("2026-04-27", false), ("2026-08-22", true), ("2026-08-31", false), ("2026-09-03", true),
                ] {
                    #expect(try await day(date).workingDay == working, "\(date)")
                }
                let tet = try await day("2024-02-08")
                #expect(tet.reason == "Tết Nguyên đán 2024" && tet.legalReference.hasPrefix("Thông báo 5015/TB-LĐTBXH"))
                let saturday = try await day("2026-08-22")
                #expect(saturday.workingDay && saturday.legalReference.hasPrefix("Thông báo 9441/TB-BNV"))
                let hungKings = try await day("2026-04-27")
                #expect(hungKings.reason == "Nghỉ bù" && hungKings.legalReference.contains("Điều 111"))
                let listed = try await procedures.listCalendarAdjustments(.with { $0.year = 2025 })
                #expect(listed.adjustments.count == 19 && listed.adjustments.allSatisfy { !$0.legalReference.isEmpty })
                // Friday 21 August 2026 at 10:00, one working day: Saturday the 22nd is worked.
                let due = try await procedures.computeAppointment(
                    .with {
                        $0.receiveTime = .init(date: ISO8601DateFormatter().date(from: "2026-08-21T10:00:00+07:00")!)
                        $0.workingDays = 1
                    })
                #expect(due.dueDate == "2026-08-22")
            }
            // Loading again adds nothing; an administrator's entry for a day stays.
            _ = try await repository.save(
                .with {
                    $0.date = "2026-08-22"; $0.kind = .dayOff; $0.note = "Quyết định của tỉnh"
                })
            #expect(try await CalendarFileLoader.load(path: shippedCalendarFile, into: repository) == (0, 0))
            #expect(try await repository.all().first { $0.date == "2026-08-22" }?.note == "Quyết định của tỉnh")
        }
    }

    /// A holiday a later law adds is a rule an administrator enters, in force from its date.
    @Test func administratorsAddAHolidayALawCreates() async throws {
        try await withStack { stack in
            try await withTestClient(port: stack.ports["procedures"]!) { client in
                let procedures = Procedures(wrapping: client)
                #expect(try await procedures.getWorkingDay(.with { $0.date = "2026-11-24" }).workingDay)
                let culture = Egov_Procedures_V1_HolidayRule.with {
                    $0.title = "Ngày Văn hóa Việt Nam"
                    $0.calendar = .solar
                    $0.month = 11
                    $0.day = 24
                    $0.lengthDays = 1
                    $0.effectiveFrom = "2026-07-01"
                    $0.legalReference = "Nghị quyết của Quốc hội về phát triển văn hóa Việt Nam"
                }
                let created = try await procedures.createHolidayRule(
                    .with {
                        $0.rule = culture; $0.ruleID = "ngay-van-hoa-viet-nam"
                    })
                #expect(created.name == "holidayRules/ngay-van-hoa-viet-nam" && created.hasCreateTime)
                #expect(
                    await failure {
                        _ = try await procedures.createHolidayRule(
                            .with {
                                $0.rule = culture; $0.ruleID = "ngay-van-hoa-viet-nam"
                            })
                    }
                        == Failure(code: .alreadyExists, reason: "HOLIDAY_RULE_EXISTS", field: nil))
                #expect(
                    await failure {
                        _ = try await procedures.createHolidayRule(
                            .with {
                                $0.rule = culture; $0.ruleID = "Ngày"
                            })
                    }
                        == Failure(code: .invalidArgument, reason: "INVALID_RULE_ID", field: "rule_id"))
                var leap = culture
                leap.month = 2
                leap.day = 29
                #expect(
                    await failure {
                        _ = try await procedures.createHolidayRule(
                            .with {
                                $0.rule = leap; $0.ruleID = "nhuan"
                            })
                    }
                        == Failure(code: .invalidArgument, reason: "INVALID_HOLIDAY_RULE", field: "rule.day"))
                var unsourced = culture
                unsourced.legalReference = " "
                #expect(
                    await failure {
                        _ = try await procedures.createHolidayRule(
                            .with {
                                $0.rule = unsourced; $0.ruleID = "khong-can-cu"
                            })
                    }
                        == Failure(
                            code: .invalidArgument, reason: "INVALID_HOLIDAY_RULE", field: "rule.legal_reference"))
                // A repealing law ends it.
                let ended = try await procedures.updateHolidayRule(
                    .with {
                        $0.rule = .with {
                            $0.name = created.name; $0.effectiveUntil = "2027-12-31"
                        }
                        $0.updateMask = .init(protoPaths: ["effective_until"])
                    })
                #expect(ended.effectiveUntil == "2027-12-31" && ended.month == 11)
                #expect(
                    await failure {
                        _ = try await procedures.updateHolidayRule(
                            .with {
                                $0.rule = .with {
                                    $0.name = created.name; $0.month = 12
                                }
                                $0.updateMask = .init(protoPaths: ["month"])
                            })
                    } == Failure(code: .invalidArgument, reason: "UNSUPPORTED_UPDATE_MASK_PATH", field: "update_mask"))
                // A decision naming an unknown holiday is refused.
                #expect(
                    await failure {
                        _ = try await procedures.createCalendarAdjustment(
                            .with {
                                $0.adjustment = .with {
                                    $0.date = "2026-11-23"; $0.kind = .dayOff; $0.holiday = "holidayRules/khong-co"
                                }
                            })
                    } == Failure(code: .invalidArgument, reason: "INVALID_ADJUSTMENT", field: "adjustment.holiday"))
            }
            try await withPublicClient(port: stack.gatewayPort) { client in
                let procedures = Procedures(wrapping: client)
                let day = try await procedures.getWorkingDay(.with { $0.date = "2026-11-24" })
                #expect(
                    !day.workingDay && day.reason == "Ngày Văn hóa Việt Nam"
                        && day.legalReference.hasPrefix("Nghị quyết"))
                #expect(try await procedures.getWorkingDay(.with { $0.date = "2025-11-24" }).workingDay)
                #expect(!(try await procedures.getWorkingDay(.with { $0.date = "2027-11-24" }).workingDay))
                #expect(try await procedures.getWorkingDay(.with { $0.date = "2028-11-24" }).workingDay)
                let rules = try await procedures.listHolidayRules(.init())
                #expect(
                    rules.rules.map(\.name).contains("holidayRules/ngay-van-hoa-viet-nam") && rules.rules.count == 13)
                #expect(rules.rules.first { $0.name == "holidayRules/tet-nguyen-dan" }?.decidedYearly == true)
                // Anonymous callers read the rules but add none.
                #expect(
                    await failure {
                        _ = try await procedures.createHolidayRule(
                            .with {
                                $0.rule = .init(); $0.ruleID = "ngay-khac"
                            })
                    }?.code == .unauthenticated)
            }
        }
    }

    @Test(arguments: [
        (#"{"adjustments":[{"date":"2026-02-30","kind":"KIND_DAY_OFF"}]}"#, "adjustments[0].date"),
        (
            #"{"adjustments":[{"date":"2026-02-03","kind":"KIND_DAY_OFF","holiday":"holidayRules/x"}]}"#,
            "adjustments[0].holiday"
        ),
        (
            #"{"adjustments":[{"date":"2026-02-03","kind":"KIND_DAY_OFF"},{"date":"2026-02-03","kind":"KIND_WORKING_DAY"}]}"#,
            "listed twice"
        ),
        (
            #"{"rules":[{"name":"holidayRules/A","title":"x","calendar":"CALENDAR_SOLAR","month":1,"day":2,"lengthDays":1,"effectiveFrom":"2026-01-01","legalReference":"x"}]}"#,
            "rules[0].name"
        ),
        (#"{"adjustment":[]}"#, "protobuf JSON"),
        (String(repeating: "[", count: 20), "nests deeper"),
    ])
    func aBadCalendarFileIsRefusedWithWhereItIsWrong(text: String, problem: String) {
        #expect(throws: CalendarFileLoader.Problem.self) {
            try CalendarFileLoader.parse(Data(text.utf8), knownRules: [])
        }
        do {
            _ = try CalendarFileLoader.parse(Data(text.utf8), knownRules: [])
        } catch {
            #expect(error.description.contains(problem), "\(error.description)")
        }
    }

    @Test func theShippedFileParsesAndEveryDayNamesItsDecision() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: shippedCalendarFile))
        let file = try CalendarFileLoader.parse(
            data, knownRules: Set(HolidayRule.statutory.map { "holidayRules/\($0.id)" }))
        #expect(file.adjustments.count == 56)
        #expect(file.adjustments.allSatisfy { !$0.legalReference.isEmpty && $0.holiday.hasPrefix("holidayRules/") })
        #expect(Set(file.adjustments.map { $0.date.prefix(4) }) == ["2024", "2025", "2026"])
    }
}
