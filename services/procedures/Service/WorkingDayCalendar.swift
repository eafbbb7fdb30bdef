import Foundation
import Synchronization

/// Which days Vietnamese agencies work, and deadlines counted in working days.
///
/// Weekly rest: Saturday and Sunday (Decision 188/1999/QĐ-TTg). Public holidays are data:
/// rules with the dates they are in force (`HolidayRule`; the Labour Code 2019's, Art. 112,
/// are loaded by a migration, later laws are added by administrators). A holiday on a weekly
/// rest day is made up on the next working day (Art. 111(3)). Each year the government
/// arranges the days (Tết's five, National Day's second, a Saturday worked for a bridge day):
/// administrators, or the `calendar.file` loaded at start, enter those as adjustments, which
/// win over the rules; adjustments naming a rule decided yearly replace its default days.
struct WorkingDayCalendar: Sendable {
    typealias Day = LunarCalendar.SolarDate

    enum Adjustment: String, Sendable {
        /// A day agencies do not work (a bridge day, a decided Tết day).
        case dayOff = "DAY_OFF"
        /// A day agencies work although the rules say otherwise (a swapped Saturday).
        case workingDay = "WORKING_DAY"
    }

    /// The holiday rules, in force or not: each applies in the years its dates cover.
    var rules: [HolidayRule] = HolidayRule.statutory { didSet { memo = DaysOffMemo() } }
    /// Dossiers received from this local hour on count from the next working day (verify:
    /// a common provincial rule, kept configurable).
    var cutoffHour = 15
    var adjustments: [Day: Adjustment] = [:]
    /// `rule id/year` of the yearly-decided holidays whose days a decision fixed.
    var decided: Set<String> = [] { didSet { memo = DaysOffMemo() } }
    /// `daysOff(of:)` by year, for this calendar's rules and decisions: every deadline walks
    /// days, each looking at three years of lunar dates. A copy shares it until it changes.
    private var memo = DaysOffMemo()

    /// The statutory holidays of `year` (before compensation), with their rules: those in
    /// force that year, less the yearly-decided ones a decision replaced.
    func holidays(of year: Int) -> [Day: HolidayRule] {
        var days: [Day: HolidayRule] = [:]
        for rule in rules where !(rule.decidedYearly && decided.contains("\(rule.id)/\(year)")) {
            for day in rule.days(in: year) { days[day] = rule }
        }
        return days
    }

    /// Records that `adjustment` (on `day`) arranges the holiday `ruleID`: for a rule decided
    /// yearly, its occurrence nearest the day is replaced by the decision's days.
    mutating func arrange(_ ruleID: String, on day: Day) {
        guard let rule = rules.first(where: { $0.id == ruleID }), rule.decidedYearly else { return }
        let years = [day.year - 1, day.year, day.year + 1].compactMap { year in
            rule.anchor(in: year).map { (year, abs($0.julianDay - day.julianDay)) }
        }
        if let nearest = years.min(by: { $0.1 < $1.1 }) { decided.insert("\(rule.id)/\(nearest.0)") }
    }

    /// Holidays and the days that make up for holidays falling on a weekly rest day.
    func daysOff(of year: Int) -> Set<Day> {
        if let known = memo.years.withLock({ $0[year] }) { return known }
        let statutory = holidays(of: year).keys.sorted()
        var off = Set(statutory)
        for holiday in statutory where holiday.weekday >= 6 {
            var next = holiday.adding(days: 1)
            while next.weekday >= 6 || off.contains(next) { next = next.adding(days: 1) }
            off.insert(next)
        }
        memo.years.withLock { $0[year] = off }
        return off
    }

    func isWorkingDay(_ day: Day) -> Bool {
        if let adjustment = adjustments[day] { return adjustment == .workingDay }
        if day.weekday >= 6 { return false }
        return !Self.years(around: day).contains { daysOff(of: $0).contains(day) }
    }

    /// The holiday `day` is, whichever year's rules put it there.
    func holiday(on day: Day) -> HolidayRule? {
        Self.years(around: day).lazy.compactMap { holidays(of: $0)[day] }.first
    }

    /// The rule years whose days can fall on `day`: a rule's days (and their compensation) can
    /// cross the new year either way, as a late-lunar-year holiday or a make-up day in January.
    static func years(around day: Day) -> ClosedRange<Int> { day.year - 1...day.year + 1 }

    static let offset: TimeInterval = 7 * 3600
    /// The Julian day of 1970-01-01.
    static let unixEpochJulianDay = 2_440_588
    /// Offices close at 17:00 local: appointments and step deadlines fall then.
    static let closingHour = 17

    /// Office hours, in local minutes from midnight: 08:00-12:00 and 13:00-17:00, the 8 hours
    /// a working day that step times are counted in.
    static let officeHours: [Range<Int>] = [8 * 60..<12 * 60, 13 * 60..<closingHour * 60]

    /// The instant offices close on `day`.
    static func closingTime(of day: Day) -> Date {
        instant(of: day, minute: closingHour * 60)
    }

    /// The instant `minute` minutes after local midnight of `day`.
    static func instant(of day: Day, minute: Int) -> Date {
        let midnight = Double(day.julianDay - unixEpochJulianDay) * 86_400 - offset
        return Date(timeIntervalSince1970: midnight + Double(minute) * 60)
    }

    /// When `workingHours` of office time begun at `start` run out: only office hours of
    /// working days count, so a 4-hour step begun at 16:00 on a Friday is due at 11:00 on the
    /// next working day.
    func officeTimeDue(from start: Date, workingHours: Int) -> Date {
        var remaining = max(1, workingHours) * 60
        let seconds = Int(floor(start.timeIntervalSince1970 + Self.offset))
        var day = Self.local(start).day
        var minute = (seconds - Int(floor(Double(seconds) / 86_400)) * 86_400 + 59) / 60
        while true {
            if isWorkingDay(day) {
                for session in Self.officeHours {
                    let from = max(minute, session.lowerBound)
                    guard from < session.upperBound else { continue }
                    if remaining <= session.upperBound - from { return Self.instant(of: day, minute: from + remaining) }
                    remaining -= session.upperBound - from
                    minute = session.upperBound
                }
            }
            day = day.adding(days: 1)
            minute = 0
        }
    }

    /// The local (UTC+7) civil date and hour of an instant.
    static func local(_ date: Date) -> (day: Day, hour: Int) {
        let seconds = Int(floor(date.timeIntervalSince1970 + offset))
        let days = Int(floor(Double(seconds) / 86_400))
        return (Day(julianDay: unixEpochJulianDay + days), (seconds - days * 86_400) / 3600)
    }

    /// The first working day a dossier received at `date` counts from.
    func startDay(receivedAt date: Date) -> Day {
        let (day, hour) = Self.local(date)
        if isWorkingDay(day) && hour < cutoffHour { return day }
        var next = day.adding(days: 1)
        while !isWorkingDay(next) { next = next.adding(days: 1) }
        return next
    }

    /// The working day `count` working days after `day` (`day` itself not counted).
    func adding(workingDays count: Int, to day: Day) -> Day {
        var current = day
        var remaining = count
        while remaining > 0 {
            current = current.adding(days: 1)
            if isWorkingDay(current) { remaining -= 1 }
        }
        return current
    }

    /// The appointment for a dossier received at `date` with `days` working days to process:
    /// the end of office hours (17:00 local) of the due day.
    func appointment(receivedAt date: Date, workingDays days: Int) -> Date {
        Self.closingTime(of: adding(workingDays: days, to: startDay(receivedAt: date)))
    }
}

extension DateFormatter {
    /// A formatter of `format` in Vietnam's time (UTC+7), whatever the machine's time zone and locale.
    static func vietnam(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: Int(WorkingDayCalendar.offset))
        formatter.dateFormat = format
        return formatter
    }
}

/// The days off of the years a calendar was asked about (see `WorkingDayCalendar.memo`).
final class DaysOffMemo: Sendable {
    let years = Mutex<[Int: Set<LunarCalendar.SolarDate>]>([:])
}
