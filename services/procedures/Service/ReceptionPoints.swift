import EGovAPI
import EGovKit
import EGovStore

/// Reception points (bộ phận một cửa, Decree 61/2018 amended by Decree 107/2021): a procedure is
/// decided by one agency and its dossiers are received, and their results returned, at one or
/// more reception points, such as the province's Public Administrative Service Centre for the
/// departments' procedures or a commune's own desk. A dossier records both agencies: the
/// receiving point's reception officers accept, refuse, request supplements and return
/// results; the deciding agency's officials appraise and approve.
extension Egov_Procedures_V1_Procedure {
    /// The agencies whose desks receive this procedure's dossiers: its reception points, or the
    /// deciding agency itself when it has none.
    var receivingAgencies: [String] { receptionPoints.isEmpty ? [agency] : receptionPoints }
}

extension Egov_Procedures_V1_Dossier {
    /// The agency whose officials hold a step of `role`: the receiving point's for reception
    /// (accepting, returning the result), the deciding agency's for everything else.
    func agency(holding role: Egov_Identity_V1_Role) -> String {
        role == .receptionOfficer ? agency : decidingAgency
    }
}

enum ReceptionPoints {
    static let limit = 20

    /// The problems with a procedure's reception points: names, duplicates, count.
    static func violations(_ points: [String]) -> [ErrorBuilder.Violation] {
        var violations: [ErrorBuilder.Violation] = []
        if points.count > limit {
            violations.append(.init("procedure.reception_points", "at most \(limit) reception points"))
        }
        var seen: Set<String> = []
        for (index, point) in points.prefix(limit).enumerated() {
            if AgencyCode.code(fromName: point) == nil {
                violations.append(.init("procedure.reception_points[\(index)]", "must be agencies/{code}"))
            } else if !seen.insert(point).inserted {
                violations.append(.init("procedure.reception_points[\(index)]", "is listed twice"))
            }
        }
        return violations
    }

    /// The searchable list of receiving agencies stored with a procedure: `|agencies/A|agencies/B|`.
    static func column(_ procedure: Egov_Procedures_V1_Procedure) -> String {
        "|" + procedure.receivingAgencies.joined(separator: "|") + "|"
    }
}
