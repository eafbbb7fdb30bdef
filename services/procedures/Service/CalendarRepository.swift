import EGovAPI
import EGovKit
import EGovStore
import Foundation
import SQLKit
import SwiftProtobuf

/// The working-day calendar's data: holiday rules and the government's adjustments.
struct CalendarRepository: Sendable {
    let store: Store

    /// Every migration of these tables, the later ones declared beside their code; the store
    /// applies them in id order.
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
        ),
        rulesMigration,
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
        for rule in HolidayRule.statutory { try await insert(rule.message, in: tx) }
    }

    static func insert(_ rule: Egov_Procedures_V1_HolidayRule, in tx: Transaction) async throws {
        var stored = rule
        stored.clearCreateTime()
        try await tx.database.execute(
            """
            INSERT INTO holiday_rules (id, detail, create_time)
            VALUES (\(bind: String(rule.name.dropFirst("holidayRules/".count))), \(bind: try stored.jsonString()),
                    \(bind: tx.clock.micros))
            """)
    }

    func rules() async throws -> [Egov_Procedures_V1_HolidayRule] {
        try await store.read { db in
            try await db.rows("SELECT * FROM holiday_rules ORDER BY id").map { row in
                var rule = try Egov_Procedures_V1_HolidayRule(
                    jsonString: try row.decode(column: "detail", as: String.self))
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
        } catch  where Store.isUniqueViolation(error) {
            return false
        }
    }

    /// Replaces the stored rule of the same name.
    func replace(_ rule: Egov_Procedures_V1_HolidayRule) async throws {
        var stored = rule
        stored.clearCreateTime()
        let id = String(rule.name.dropFirst("holidayRules/".count))
        try await store.write { tx in
            try await tx.database.execute(
                "UPDATE holiday_rules SET detail = \(bind: try stored.jsonString()) WHERE id = \(bind: id)")
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
        let now = store.clock.micros
        let conflict =
            keepExisting
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
            // A day off decided for a yearly holiday replaces its default days that year; a
            // Saturday worked in exchange does not.
            if adjustment.kind == .dayOff && !adjustment.holiday.isEmpty {
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
