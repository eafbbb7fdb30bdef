import Foundation

/// The Vietnamese lunisolar calendar, computed (Hồ Ngọc Đức's method after Jean Meeus's
/// astronomical algorithms) for the meridian of UTC+7, so lunar holidays are right for any
/// year rather than looked up for a few.
enum LunarCalendar {
    static let timeZone = 7.0

    /// A civil date.
    struct SolarDate: Hashable, Sendable, Comparable, CustomStringConvertible {
        var year: Int
        var month: Int
        var day: Int

        var julianDay: Int { LunarCalendar.julianDay(day, month, year) }

        init(year: Int, month: Int, day: Int) {
            self.year = year
            self.month = month
            self.day = day
        }

        init(julianDay: Int) { self = LunarCalendar.date(julianDay: julianDay) }

        /// Monday = 1 ... Sunday = 7.
        var weekday: Int { (julianDay % 7) + 1 }

        func adding(days: Int) -> SolarDate { SolarDate(julianDay: julianDay + days) }

        static func < (lhs: SolarDate, rhs: SolarDate) -> Bool { lhs.julianDay < rhs.julianDay }

        var description: String { String(format: "%04d-%02d-%02d", year, month, day) }

        /// Parses `YYYY-MM-DD`.
        init?(_ text: String) {
            let parts = text.split(separator: "-")
            guard parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
                (1...12).contains(month), (1...31).contains(day), (1900...2199).contains(year)
            else { return nil }
            self.init(year: year, month: month, day: day)
            guard SolarDate(julianDay: julianDay) == self else { return nil }
        }
    }

    static func julianDay(_ day: Int, _ month: Int, _ year: Int) -> Int {
        let a = (14 - month) / 12
        let y = year + 4800 - a
        let m = month + 12 * a - 3
        var jd = day + (153 * m + 2) / 5 + 365 * y + y / 4 - y / 100 + y / 400 - 32045
        if jd < 2_299_161 { jd = day + (153 * m + 2) / 5 + 365 * y + y / 4 - 32083 }
        return jd
    }

    static func date(julianDay jd: Int) -> SolarDate {
        let b: Int
        let c: Int
        if jd > 2_299_160 {
            let a = jd + 32044
            b = (4 * a + 3) / 146_097
            c = a - (b * 146_097) / 4
        } else {
            b = 0
            c = jd + 32082
        }
        let d = (4 * c + 3) / 1461
        let e = c - (1461 * d) / 4
        let m = (5 * e + 2) / 153
        return SolarDate(
            year: b * 100 + d - 4800 + m / 10, month: m + 3 - 12 * (m / 10), day: e - (153 * m + 2) / 5 + 1)
    }

    /// The Julian day (fractional, UT) of the k-th new moon after 1900-01-01.
    static func newMoon(_ k: Int) -> Double {
        let k = Double(k)
        let t = k / 1236.85
        let t2 = t * t
        let t3 = t2 * t
        let dr = Double.pi / 180
        var jd1 = 2_415_020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
        jd1 += 0.00033 * sin((166.56 + 132.87 * t - 0.009173 * t2) * dr)
        let m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3
        let mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3
        let f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3
        var c1 = (0.1734 - 0.000393 * t) * sin(m * dr) + 0.0021 * sin(2 * dr * m)
        c1 = c1 - 0.4068 * sin(mpr * dr) + 0.0161 * sin(dr * 2 * mpr)
        c1 = c1 - 0.0004 * sin(dr * 3 * mpr)
        c1 = c1 + 0.0104 * sin(dr * 2 * f) - 0.0051 * sin(dr * (m + mpr))
        c1 = c1 - 0.0074 * sin(dr * (m - mpr)) + 0.0004 * sin(dr * (2 * f + m))
        c1 = c1 - 0.0004 * sin(dr * (2 * f - m)) - 0.0006 * sin(dr * (2 * f + mpr))
        c1 = c1 + 0.0010 * sin(dr * (2 * f - mpr)) + 0.0005 * sin(dr * (2 * mpr + m))
        let deltaT =
            t < -11
            ? 0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
            : -0.000278 + 0.000265 * t + 0.000262 * t2
        return jd1 + c1 - deltaT
    }

    static func newMoonDay(_ k: Int) -> Int { Int(floor(newMoon(k) + 0.5 + timeZone / 24)) }

    /// The sun's ecliptic longitude in radians at Julian day `jdn` (UT).
    static func sunLongitude(_ jdn: Double) -> Double {
        let t = (jdn - 2_451_545.0) / 36525
        let t2 = t * t
        let dr = Double.pi / 180
        let m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2
        let l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2
        var dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * sin(dr * m)
        dl += (0.019993 - 0.000101 * t) * sin(dr * 2 * m) + 0.000290 * sin(dr * 3 * m)
        var l = (l0 + dl) * dr
        l -= Double.pi * 2 * floor(l / (Double.pi * 2))
        return l
    }

    /// Which of the 12 thirty-degree sectors the sun is in at the start of `dayNumber` local.
    static func sunSector(_ dayNumber: Int) -> Int {
        Int(floor(sunLongitude(Double(dayNumber) - 0.5 - timeZone / 24) / Double.pi * 6))
    }

    /// The first day of the 11th lunar month of `year` (the month with the winter solstice).
    static func lunarMonth11(_ year: Int) -> Int {
        let off = julianDay(31, 12, year) - 2_415_021
        let k = Int(floor(Double(off) / 29.530588853))
        var nm = newMoonDay(k)
        if sunSector(nm) >= 9 { nm = newMoonDay(k - 1) }
        return nm
    }

    static func leapMonthOffset(_ a11: Int) -> Int {
        let k = Int(floor((Double(a11) - 2_415_021.076998695) / 29.530588853 + 0.5))
        var i = 1
        var arc = sunSector(newMoonDay(k + i))
        var last = 0
        repeat {
            last = arc
            i += 1
            arc = sunSector(newMoonDay(k + i))
        } while arc != last && i < 14
        return i - 1
    }

    /// The civil date of lunar `day`/`month` of lunar `year` (not the leap month).
    static func solarDate(lunarDay day: Int, month: Int, year: Int, leap: Bool = false) -> SolarDate? {
        let a11: Int
        let b11: Int
        if month < 11 {
            a11 = lunarMonth11(year - 1)
            b11 = lunarMonth11(year)
        } else {
            a11 = lunarMonth11(year)
            b11 = lunarMonth11(year + 1)
        }
        let k = Int(floor(0.5 + (Double(a11) - 2_415_021.076998695) / 29.530588853))
        var off = month - 11
        if off < 0 { off += 12 }
        if b11 - a11 > 365 {
            let leapOff = leapMonthOffset(a11)
            var leapMonth = leapOff - 2
            if leapMonth < 0 { leapMonth += 12 }
            if leap && month != leapMonth { return nil }
            if leap || off >= leapOff { off += 1 }
        } else if leap {
            return nil
        }
        let monthStart = newMoonDay(k + off)
        return SolarDate(julianDay: monthStart + day - 1)
    }
}
