public import EGovAPI
import EGovKit
import EGovStore
public import Foundation
import SwiftProtobuf

/// The calendar data a deployment loads at start (`calendar.file`): holiday rules a law added
/// and the government's yearly arrangements, as protobuf JSON of `CalendarFile`. The project
/// ships the decisions already published in `services/procedures/calendar/vietnam.json`.
public enum CalendarFileLoader {
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    public static let maxBytes = 1 << 20
    public static let maxDepth = 8

    /// The file's content checked: size, nesting, JSON, and every rule and adjustment as the
    /// RPCs check them. `knownRules` are the rule names stored already; the file's own count too.
    public static func parse(_ data: Data, knownRules: Set<String>) throws(Problem) -> Egov_Procedures_V1_CalendarFile {
        guard data.count <= maxBytes else { throw Problem(description: "larger than \(maxBytes) bytes") }
        guard JSONNesting.depth(of: data, over: maxDepth) == nil else {
            throw Problem(description: "nests deeper than \(maxDepth) levels")
        }
        let file: Egov_Procedures_V1_CalendarFile
        do {
            file = try Egov_Procedures_V1_CalendarFile(jsonUTF8Data: data)
        } catch {
            throw Problem(description: "is not a CalendarFile in protobuf JSON: \(error)")
        }
        var rules = knownRules
        var violations: [ErrorBuilder.Violation] = []
        for (index, rule) in file.rules.enumerated() {
            let id = rule.name.hasPrefix("holidayRules/") ? String(rule.name.dropFirst("holidayRules/".count)) : ""
            if !CalendarRules.isValidID(id) {
                violations.append(.init("rules[\(index)].name", "must be holidayRules/{id} with a valid id"))
            }
            violations += CalendarRules.violations(rule, prefix: "rules[\(index)]")
            rules.insert(rule.name)
        }
        var dates: Set<String> = []
        for (index, adjustment) in file.adjustments.enumerated() {
            violations += CalendarRules.violations(adjustment, prefix: "adjustments[\(index)]", rules: rules)
            if !dates.insert(adjustment.date).inserted {
                violations.append(.init("adjustments[\(index)].date", "\(adjustment.date) is listed twice"))
            }
        }
        if let first = violations.first {
            throw Problem(
                description: "\(first.field): \(first.description)"
                    + (violations.count > 1 ? " (and \(violations.count - 1) more)" : ""))
        }
        return file
    }

    /// Adds what `path` holds that is not stored yet: rules by id, adjustments by date (an
    /// administrator's entry for a day wins). Returns how many of each were added.
    static func load(path: String, into repository: CalendarRepository) async throws -> (rules: Int, adjustments: Int) {
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes[.size] as? Int, size > maxBytes {
                throw Problem(description: "calendar file \(path) is larger than \(maxBytes) bytes")
            }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(description: "cannot read calendar file \(path): \(error.localizedDescription)")
        }
        let stored = try await repository.rules()
        let file: Egov_Procedures_V1_CalendarFile
        do {
            file = try parse(data, knownRules: Set(stored.map(\.name)))
        } catch {
            throw Problem(description: "calendar file \(path) \(error.description)")
        }
        var rules = 0
        for rule in file.rules where !stored.contains(where: { $0.name == rule.name }) {
            if try await repository.add(rule) { rules += 1 }
        }
        let existing = Set(try await repository.all().map(\.date))
        var adjustments = 0
        for adjustment in file.adjustments where !existing.contains(adjustment.date) {
            try await repository.save(CalendarRules.cleaned(adjustment), keepExisting: true)
            adjustments += 1
        }
        return (rules, adjustments)
    }
}
