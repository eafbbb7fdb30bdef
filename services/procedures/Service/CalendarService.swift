public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import SQLKit
import SwiftProtobuf

/// The working-day calendar's data: holiday rules and the government's adjustments.
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

    /// Holiday rules as data, with the Labour Code 2019's; adjustments carry their decision and
    /// the holiday they arrange.
    static let rulesMigration = Migration(
        "0010_holiday_rules",
        [
            """
            CREATE TABLE holiday_rules (
                id TEXT PRIMARY KEY,
                detail TEXT NOT NULL,
                create_time BIGINT NOT NULL
            )
            """,
            "ALTER TABLE calendar_adjustments ADD COLUMN legal_reference TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE calendar_adjustments ADD COLUMN holiday TEXT NOT NULL DEFAULT ''",
        ]
    ) { tx in
        for rule in HolidayRule.labourCode2019 { try await insert(rule.message, in: tx) }
    }

    static func insert(_ rule: Egov_Procedures_V1_HolidayRule, in tx: Transaction) async throws {
        var stored = rule
        stored.clearCreateTime()
        try await tx.database.execute(
            """
            INSERT INTO holiday_rules (id, detail, create_time)
            VALUES (\(bind: String(rule.name.dropFirst("holidayRules/".count))), \(bind: try stored.jsonString()),
                    \(bind: Timestamps.nowMicros()))
            """)
    }

    func rules() async throws -> [Egov_Procedures_V1_HolidayRule] {
        try await store.read { db in
            try await db.rows("SELECT * FROM holiday_rules ORDER BY id").map { row in
                var rule = try Egov_Procedures_V1_HolidayRule(jsonString: try row.decode(column: "detail", as: String.self))
                rule.createTime = .init(micros: try row.decode(column: "create_time", as: Int64.self))
                return rule
            }
        }
    }

    /// Adds `rule`; false if its id is taken.
    func add(_ rule: Egov_Procedures_V1_HolidayRule) async throws -> Bool {
        do {
            try await store.write { tx in try await Self.insert(rule, in: tx) }
            return true
        } catch where Store.isUniqueViolation(error) {
            return false
        }
    }

    /// Replaces the stored rule of the same name.
    func replace(_ rule: Egov_Procedures_V1_HolidayRule) async throws {
        var stored = rule
        stored.clearCreateTime()
        let id = String(rule.name.dropFirst("holidayRules/".count))
        try await store.write { tx in
            try await tx.database.execute("UPDATE holiday_rules SET detail = \(bind: try stored.jsonString()) WHERE id = \(bind: id)")
        }
    }

    func all() async throws -> [Egov_Procedures_V1_CalendarAdjustment] {
        try await store.read { db in
            try await db.rows("SELECT * FROM calendar_adjustments ORDER BY day").map(Self.decode)
        }
    }

    /// Inserts or replaces the adjustment of its day; with `keepExisting`, leaves a day that has
    /// one alone (loading a file never overwrites an administrator's entry). Returns it as stored.
    @discardableResult
    func save(
        _ adjustment: Egov_Procedures_V1_CalendarAdjustment, keepExisting: Bool = false
    ) async throws -> Egov_Procedures_V1_CalendarAdjustment {
        let now = Timestamps.nowMicros()
        let conflict = keepExisting
            ? "DO NOTHING"
            : """
            DO UPDATE SET kind = excluded.kind, note = excluded.note, create_time = excluded.create_time,
                legal_reference = excluded.legal_reference, holiday = excluded.holiday
            """
        try await store.write { tx in
            try await tx.database.execute(
                """
                INSERT INTO calendar_adjustments (day, kind, note, create_time, legal_reference, holiday)
                VALUES (\(bind: adjustment.date), \(bind: adjustment.kind.rawValue), \(bind: adjustment.note), \(bind: now),
                        \(bind: adjustment.legalReference), \(bind: adjustment.holiday))
                ON CONFLICT (day) \(unsafeRaw: conflict)
                """)
        }
        var saved = adjustment
        saved.name = "calendarAdjustments/\(adjustment.date)"
        saved.createTime = .init(micros: now)
        return saved
    }

    /// The calendar of the stored rules with every adjustment applied.
    func calendar() async throws -> WorkingDayCalendar {
        Self.calendar(rules: try await rules(), applying: try await all())
    }

    static func calendar(
        rules: [Egov_Procedures_V1_HolidayRule], applying adjustments: [Egov_Procedures_V1_CalendarAdjustment]
    ) -> WorkingDayCalendar {
        var calendar = WorkingDayCalendar()
        calendar.rules = rules.compactMap(HolidayRule.init)
        for adjustment in adjustments {
            guard let day = LunarCalendar.SolarDate(adjustment.date) else { continue }
            calendar.adjustments[day] = adjustment.kind == .workingDay ? .workingDay : .dayOff
            if !adjustment.holiday.isEmpty {
                calendar.arrange(String(adjustment.holiday.dropFirst("holidayRules/".count)), on: day)
            }
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
            $0.legalReference = try row.decode(column: "legal_reference", as: String.self)
            $0.holiday = try row.decode(column: "holiday", as: String.self)
        }
    }
}

/// The checks on holiday rules and adjustments, for the RPCs and the calendar file alike.
enum CalendarRules {
    /// A rule id: 3-40 lower-case ASCII letters, digits and hyphens.
    static func isValidID(_ id: String) -> Bool {
        (3...40).contains(id.count) && id.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
            && !id.hasPrefix("-") && !id.hasSuffix("-")
    }

    /// What is wrong with `rule` (its `name` already set), field names under `prefix`.
    static func violations(_ rule: Egov_Procedures_V1_HolidayRule, prefix: String) -> [APIError.Violation] {
        var violations: [APIError.Violation] = []
        let title = rule.title.trimmingCharacters(in: .whitespaces)
        if title.isEmpty || title.count > 200 { violations.append(.init("\(prefix).title", "is required, at most 200 characters")) }
        if rule.calendar == .unspecified || !Egov_Procedures_V1_HolidayRule.Calendar.allCases.contains(rule.calendar) {
            violations.append(.init("\(prefix).calendar", "must be CALENDAR_SOLAR or CALENDAR_LUNAR"))
        }
        let days = rule.calendar == .lunar ? 30 : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][max(0, min(11, Int(rule.month) - 1))]
        if !(1...12).contains(rule.month) { violations.append(.init("\(prefix).month", "must be 1 to 12")) }
        if !(1...days).contains(Int(rule.day)) {
            violations.append(.init("\(prefix).day", "must be a day of that month, 1 to \(days) (29 February is not a yearly date)"))
        }
        if !(-10...10).contains(rule.offsetDays) { violations.append(.init("\(prefix).offset_days", "must be -10 to 10")) }
        if !(1...10).contains(rule.lengthDays) { violations.append(.init("\(prefix).length_days", "must be 1 to 10")) }
        let from = LunarCalendar.SolarDate(rule.effectiveFrom)
        if from == nil { violations.append(.init("\(prefix).effective_from", "must be a date YYYY-MM-DD")) }
        if !rule.effectiveUntil.isEmpty {
            if let until = LunarCalendar.SolarDate(rule.effectiveUntil) {
                if let from, until < from { violations.append(.init("\(prefix).effective_until", "must not be before effective_from")) }
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
    ) -> [APIError.Violation] {
        var violations: [APIError.Violation] = []
        if LunarCalendar.SolarDate(adjustment.date) == nil { violations.append(.init("\(prefix).date", "must be a date YYYY-MM-DD")) }
        if adjustment.kind == .unspecified || !Egov_Procedures_V1_CalendarAdjustment.Kind.allCases.contains(adjustment.kind) {
            violations.append(.init("\(prefix).kind", "must be KIND_DAY_OFF or KIND_WORKING_DAY"))
        }
        if adjustment.note.count > 500 { violations.append(.init("\(prefix).note", "at most 500 characters")) }
        if adjustment.legalReference.count > 500 { violations.append(.init("\(prefix).legal_reference", "at most 500 characters")) }
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

extension ProceduresService {
    public func getWorkingDay(
        request: Egov_Procedures_V1_GetWorkingDayRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_WorkingDay {
        guard let day = LunarCalendar.SolarDate(request.date) else {
            throw Self.errors.invalidArgument("INVALID_DATE", field: "date", "must be a date YYYY-MM-DD between 1900 and 2199")
        }
        let adjustments = try await calendarAdjustments.all()
        let calendar = CalendarRepository.calendar(rules: try await calendarAdjustments.rules(), applying: adjustments)
        let working = calendar.isWorkingDay(day)
        return .with {
            $0.date = request.date
            $0.workingDay = working
            if let adjustment = adjustments.first(where: { $0.date == request.date }) {
                $0.legalReference = adjustment.legalReference
                if !working { $0.reason = adjustment.note.isEmpty ? "Ngày nghỉ theo quyết định" : adjustment.note }
            } else if !working {
                if let holiday = calendar.holidays(of: day.year)[day] ?? calendar.holidays(of: day.year + 1)[day] {
                    $0.reason = holiday.title
                    $0.legalReference = holiday.legalReference
                } else if day.weekday >= 6 {
                    $0.reason = "Nghỉ cuối tuần"
                    $0.legalReference = HolidayRule.weeklyRestReference
                } else {
                    $0.reason = "Nghỉ bù"
                    $0.legalReference = HolidayRule.compensationReference
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
        let rules = Set(try await calendarAdjustments.rules().map(\.name))
        let violations = CalendarRules.violations(request.adjustment, prefix: "adjustment", rules: rules)
        if !violations.isEmpty { throw Self.errors.invalidArgument("INVALID_ADJUSTMENT", violations) }
        return try await calendarAdjustments.save(CalendarRules.cleaned(request.adjustment))
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

    public func createHolidayRule(
        request: Egov_Procedures_V1_CreateHolidayRuleRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_HolidayRule {
        try Access.require(.manageAgencies, Self.errors, doing: "change the holiday rules")
        guard CalendarRules.isValidID(request.ruleID) else {
            throw Self.errors.invalidArgument(
                "INVALID_RULE_ID", field: "rule_id", "must be 3-40 lower-case letters, digits and hyphens, e.g. ngay-van-hoa-viet-nam")
        }
        var rule = request.rule
        rule.name = "holidayRules/\(request.ruleID)"
        rule.title = rule.title.trimmingCharacters(in: .whitespaces)
        rule.legalReference = rule.legalReference.trimmingCharacters(in: .whitespaces)
        rule.clearCreateTime()
        let violations = CalendarRules.violations(rule, prefix: "rule")
        if !violations.isEmpty { throw Self.errors.invalidArgument("INVALID_HOLIDAY_RULE", violations) }
        guard try await calendarAdjustments.add(rule) else {
            throw Self.errors.alreadyExists("HOLIDAY_RULE_EXISTS", resource: rule.name, "Holiday rule '\(rule.name)' exists.")
        }
        return try await calendarAdjustments.rules().first { $0.name == rule.name } ?? rule
    }

    public func updateHolidayRule(
        request: Egov_Procedures_V1_UpdateHolidayRuleRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_HolidayRule {
        try Access.require(.manageAgencies, Self.errors, doing: "change the holiday rules")
        guard var rule = try await calendarAdjustments.rules().first(where: { $0.name == request.rule.name }) else {
            throw Self.errors.notFound("HOLIDAY_RULE_NOT_FOUND", resource: request.rule.name, "No holiday rule '\(request.rule.name)'.")
        }
        let paths = request.updateMask.paths
        if paths.isEmpty { throw Self.errors.invalidArgument("EMPTY_UPDATE_MASK", field: "update_mask", "name the fields to change") }
        // The dates and days of a rule are the law's: a new law is a new rule, the old one ends.
        for path in paths {
            switch path {
            case "title": rule.title = request.rule.title.trimmingCharacters(in: .whitespaces)
            case "legal_reference": rule.legalReference = request.rule.legalReference.trimmingCharacters(in: .whitespaces)
            case "effective_until": rule.effectiveUntil = request.rule.effectiveUntil
            default:
                throw Self.errors.invalidArgument(
                    "UNSUPPORTED_UPDATE_MASK_PATH", field: "update_mask",
                    "'\(Clip.text(path, 80))' cannot be changed; title, legal_reference and effective_until can")
            }
        }
        let violations = CalendarRules.violations(rule, prefix: "rule")
        if !violations.isEmpty { throw Self.errors.invalidArgument("INVALID_HOLIDAY_RULE", violations) }
        try await calendarAdjustments.replace(rule)
        return rule
    }

    public func listHolidayRules(
        request: Egov_Procedures_V1_ListHolidayRulesRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_ListHolidayRulesResponse {
        let rules = try await calendarAdjustments.rules()
        return .with { $0.rules = rules }
    }
}
