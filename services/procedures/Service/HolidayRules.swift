import EGovAPI
import EGovKit
import Foundation

/// A public holiday as the law sets it: an anchor date in the solar or lunar calendar, the days
/// off around it, and the dates the rule is in force.
struct HolidayRule: Sendable, Equatable {
    typealias Day = LunarCalendar.SolarDate

    var id: String
    var title: String
    var lunar: Bool
    var month: Int
    var day: Int
    /// The first day off relative to the anchor.
    var offset: Int
    var length: Int
    var effectiveFrom: Day
    var effectiveUntil: Day?
    var legalReference: String
    /// The government fixes the exact days each year; the offset and length are the default.
    var decidedYearly: Bool

    /// The anchor date in `year` (for a lunar rule, of the lunar year beginning in `year`).
    func anchor(in year: Int) -> Day? {
        lunar
            ? LunarCalendar.solarDate(lunarDay: day, month: month, year: year) : Day(year: year, month: month, day: day)
    }

    /// The days off of the rule's occurrence in `year`: none if the rule is not in force on
    /// the anchor date.
    func days(in year: Int) -> [Day] {
        guard let anchor = anchor(in: year), anchor >= effectiveFrom, effectiveUntil.map({ anchor <= $0 }) ?? true
        else { return [] }
        return (0..<length).map { anchor.adding(days: offset + $0) }
    }

    static let labourCodeReference = "Bộ luật Lao động số 45/2019/QH14, Điều 112"

    /// The public holidays of the Labour Code 2019 (Art. 112(1)), in force since 1 January 2021.
    static let labourCode2019: [HolidayRule] = [
        ("tet-duong-lich", "Tết Dương lịch", false, 1, 1, 0, 1, false),
        ("tet-nguyen-dan", "Tết Nguyên đán", true, 1, 1, -1, 5, true),
        ("gio-to-hung-vuong", "Giỗ Tổ Hùng Vương", true, 3, 10, 0, 1, false),
        ("ngay-chien-thang", "Ngày Chiến thắng", false, 4, 30, 0, 1, false),
        ("quoc-te-lao-dong", "Ngày Quốc tế Lao động", false, 5, 1, 0, 1, false),
        ("quoc-khanh", "Quốc khánh", false, 9, 2, -1, 2, true),
    ].map { id, title, lunar, month, day, offset, length, decided in
        HolidayRule(
            id: id, title: title, lunar: lunar, month: month, day: day, offset: offset, length: length,
            effectiveFrom: Day(year: 2021, month: 1, day: 1), effectiveUntil: nil, legalReference: labourCodeReference,
            decidedYearly: decided)
    }

    /// The public holidays of the Labour Code 2012 (Art. 115(1)), in force from 1 May 2013 to
    /// 31 December 2020: the same days, but one National Day day (2 September).
    static let labourCode2012: [HolidayRule] = labourCode2019.map { rule in
        var old = rule
        old.id = rule.id + "-2012"
        old.effectiveFrom = Day(year: 2013, month: 5, day: 1)
        old.effectiveUntil = Day(year: 2020, month: 12, day: 31)
        old.legalReference = "Bộ luật Lao động số 10/2012/QH13, Điều 115"
        if rule.id == "quoc-khanh" {
            old.offset = 0
            old.length = 1
            old.decidedYearly = false
        }
        return old
    }

    /// The rules the law has set since 2013, loaded by the calendar's migration.
    static let statutory = labourCode2012 + labourCode2019

    /// The compensatory day's legal basis.
    static let compensationReference = "Bộ luật Lao động số 45/2019/QH14, Điều 111 khoản 3"
    /// The weekly rest's legal basis for agencies.
    static let weeklyRestReference = "Quyết định 188/1999/QĐ-TTg"
}

extension HolidayRule {
    init?(_ message: Egov_Procedures_V1_HolidayRule) {
        guard message.name.hasPrefix("holidayRules/"), let from = Day(message.effectiveFrom) else { return nil }
        let until = message.effectiveUntil.isEmpty ? nil : Day(message.effectiveUntil)
        if !message.effectiveUntil.isEmpty && until == nil { return nil }
        self.init(
            id: String(message.name.dropFirst("holidayRules/".count)), title: message.title,
            lunar: message.calendar == .lunar,
            month: Int(message.month), day: Int(message.day), offset: Int(message.offsetDays),
            length: Int(message.lengthDays),
            effectiveFrom: from, effectiveUntil: until, legalReference: message.legalReference,
            decidedYearly: message.decidedYearly)
    }

    var message: Egov_Procedures_V1_HolidayRule {
        .with {
            $0.name = "holidayRules/\(id)"
            $0.title = title
            $0.calendar = lunar ? .lunar : .solar
            $0.month = Int32(month)
            $0.day = Int32(day)
            $0.offsetDays = Int32(offset)
            $0.lengthDays = Int32(length)
            $0.effectiveFrom = effectiveFrom.description
            $0.effectiveUntil = effectiveUntil?.description ?? ""
            $0.legalReference = legalReference
            $0.decidedYearly = decidedYearly
        }
    }
}

/// The checks on holiday rules and adjustments, for the RPCs and the calendar file alike.
enum CalendarRules {
    /// A rule id: 3-40 lower-case ASCII letters, digits and hyphens.
    static func isValidID(_ id: String) -> Bool {
        (3...40).contains(id.count)
            && id.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
            && !id.hasPrefix("-") && !id.hasSuffix("-")
    }

    /// What is wrong with `rule` (its `name` already set), field names under `prefix`.
    static func violations(_ rule: Egov_Procedures_V1_HolidayRule, prefix: String) -> [ErrorBuilder.Violation] {
        var violations: [ErrorBuilder.Violation] = []
        let title = rule.title.trimmingCharacters(in: .whitespaces)
        if title.isEmpty || title.count > 200 {
            violations.append(.init("\(prefix).title", "is required, at most 200 characters"))
        }
        if rule.calendar == .unspecified || !Egov_Procedures_V1_HolidayRule.Calendar.allCases.contains(rule.calendar) {
            violations.append(.init("\(prefix).calendar", "must be CALENDAR_SOLAR or CALENDAR_LUNAR"))
        }
        // A lunar month has 29 or 30 days: only the 1st to the 29th come every year.
        let days =
            rule.calendar == .lunar
            ? 29 : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][max(0, min(11, Int(rule.month) - 1))]
        if !(1...12).contains(rule.month) { violations.append(.init("\(prefix).month", "must be 1 to 12")) }
        if !(1...days).contains(Int(rule.day)) {
            violations.append(
                .init("\(prefix).day", "must be a day of that month, 1 to \(days) (29 February is not a yearly date)"))
        }
        if !(-10...10).contains(rule.offsetDays) {
            violations.append(.init("\(prefix).offset_days", "must be -10 to 10"))
        }
        if !(1...10).contains(rule.lengthDays) { violations.append(.init("\(prefix).length_days", "must be 1 to 10")) }
        let from = LunarCalendar.SolarDate(rule.effectiveFrom)
        if from == nil { violations.append(.init("\(prefix).effective_from", "must be a date YYYY-MM-DD")) }
        if !rule.effectiveUntil.isEmpty {
            if let until = LunarCalendar.SolarDate(rule.effectiveUntil) {
                if let from, until < from {
                    violations.append(.init("\(prefix).effective_until", "must not be before effective_from"))
                }
            } else {
                violations.append(.init("\(prefix).effective_until", "must be a date YYYY-MM-DD, or empty"))
            }
        }
        let reference = rule.legalReference.trimmingCharacters(in: .whitespaces)
        if reference.isEmpty || reference.count > 500 {
            violations.append(.init("\(prefix).legal_reference", "is required (the law), at most 500 characters"))
        }
        return violations
    }

    /// What is wrong with `adjustment`, given the rule ids that exist.
    static func violations(
        _ adjustment: Egov_Procedures_V1_CalendarAdjustment, prefix: String, rules: Set<String>
    ) -> [ErrorBuilder.Violation] {
        var violations: [ErrorBuilder.Violation] = []
        if LunarCalendar.SolarDate(adjustment.date) == nil {
            violations.append(.init("\(prefix).date", "must be a date YYYY-MM-DD"))
        }
        if adjustment.kind == .unspecified
            || !Egov_Procedures_V1_CalendarAdjustment.Kind.allCases.contains(adjustment.kind)
        {
            violations.append(.init("\(prefix).kind", "must be KIND_DAY_OFF or KIND_WORKING_DAY"))
        }
        if adjustment.note.count > 500 { violations.append(.init("\(prefix).note", "at most 500 characters")) }
        if adjustment.legalReference.count > 500 {
            violations.append(.init("\(prefix).legal_reference", "at most 500 characters"))
        }
        if !adjustment.holiday.isEmpty && !rules.contains(adjustment.holiday) {
            violations.append(.init("\(prefix).holiday", "must be the name of a holiday rule, holidayRules/{id}"))
        }
        return violations
    }

    /// The adjustment as stored: the fields an administrator sets, trimmed.
    static func cleaned(_ adjustment: Egov_Procedures_V1_CalendarAdjustment) -> Egov_Procedures_V1_CalendarAdjustment {
        .with {
            $0.date = adjustment.date
            $0.kind = adjustment.kind
            $0.note = adjustment.note.trimmingCharacters(in: .whitespacesAndNewlines)
            $0.legalReference = adjustment.legalReference.trimmingCharacters(in: .whitespacesAndNewlines)
            $0.holiday = adjustment.holiday
        }
    }
}
