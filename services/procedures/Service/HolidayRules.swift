import EGovAPI

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
        lunar ? LunarCalendar.solarDate(lunarDay: day, month: month, year: year) : Day(year: year, month: month, day: day)
    }

    /// The days off of the rule's occurrence in `year`: none if the rule is not in force on
    /// the anchor date.
    func days(in year: Int) -> [Day] {
        guard let anchor = anchor(in: year), anchor >= effectiveFrom, effectiveUntil.map({ anchor <= $0 }) ?? true else { return [] }
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
            id: String(message.name.dropFirst("holidayRules/".count)), title: message.title, lunar: message.calendar == .lunar,
            month: Int(message.month), day: Int(message.day), offset: Int(message.offsetDays), length: Int(message.lengthDays),
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
