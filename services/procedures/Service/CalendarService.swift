public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import SwiftProtobuf

extension ProceduresService {
    public func getWorkingDay(
        request: Egov_Procedures_V1_GetWorkingDayRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_WorkingDay {
        guard let day = LunarCalendar.SolarDate(request.date) else {
            throw Self.errors.invalidArgument(
                "INVALID_DATE", field: "date", "must be a date YYYY-MM-DD between 1900 and 2199")
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
                if let holiday = calendar.holiday(on: day) {
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
        let received = try Self.errors.acceptedTime(request.receiveTime, field: "receive_time").date
        let start = calendar.startDay(receivedAt: received)
        let due = calendar.adding(workingDays: Int(request.workingDays), to: start)
        return .with {
            $0.appointmentTime = .init(
                date: calendar.appointment(receivedAt: received, workingDays: Int(request.workingDays)))
            $0.startDate = start.description
            $0.dueDate = due.description
        }
    }

    public func createCalendarAdjustment(
        request: Egov_Procedures_V1_CreateCalendarAdjustmentRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_CalendarAdjustment {
        try ProceduresPolicy.manageCalendar.require(Self.errors, doing: "change the working-day calendar")
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
        try ProceduresPolicy.manageCalendar.require(Self.errors, doing: "change the holiday rules")
        guard CalendarRules.isValidID(request.ruleID) else {
            throw Self.errors.invalidArgument(
                "INVALID_RULE_ID", field: "rule_id",
                "must be 3-40 lower-case letters, digits and hyphens, e.g. ngay-van-hoa-viet-nam")
        }
        var rule = request.rule
        rule.name = "holidayRules/\(request.ruleID)"
        rule.title = rule.title.trimmingCharacters(in: .whitespaces)
        rule.legalReference = rule.legalReference.trimmingCharacters(in: .whitespaces)
        rule.clearCreateTime()
        let violations = CalendarRules.violations(rule, prefix: "rule")
        if !violations.isEmpty { throw Self.errors.invalidArgument("INVALID_HOLIDAY_RULE", violations) }
        guard try await calendarAdjustments.add(rule) else {
            throw Self.errors.alreadyExists(
                "HOLIDAY_RULE_EXISTS", resource: rule.name, "Holiday rule '\(rule.name)' exists.")
        }
        return try await calendarAdjustments.rules().first { $0.name == rule.name } ?? rule
    }

    public func updateHolidayRule(
        request: Egov_Procedures_V1_UpdateHolidayRuleRequest, context: ServerContext
    ) async throws -> Egov_Procedures_V1_HolidayRule {
        try ProceduresPolicy.manageCalendar.require(Self.errors, doing: "change the holiday rules")
        guard var rule = try await calendarAdjustments.rules().first(where: { $0.name == request.rule.name }) else {
            throw Self.errors.notFound(
                "HOLIDAY_RULE_NOT_FOUND", resource: request.rule.name, "No holiday rule '\(request.rule.name)'.")
        }
        let paths = request.updateMask.paths
        if paths.isEmpty {
            throw Self.errors.invalidArgument("EMPTY_UPDATE_MASK", field: "update_mask", "name the fields to change")
        }
        // The dates and days of a rule are the law's: a new law is a new rule, the old one ends.
        for path in paths {
            switch path {
            case "title": rule.title = request.rule.title.trimmingCharacters(in: .whitespaces)
            case "legal_reference":
                rule.legalReference = request.rule.legalReference.trimmingCharacters(in: .whitespaces)
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
