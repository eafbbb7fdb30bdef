import EGovAPI
import EGovKit
import Foundation

/// The life of a document as a table: for each action, the states it starts from, the state
/// it leads to, who takes it, and what the recipient reports back to the sender. The steps
/// that do more than change the state are in `DocumentTransitions.swift`.
enum DocumentWorkflow {
    typealias State = Egov_Documents_V1_Document.State

    /// The parts people play on a document.
    enum Actor: Hashable, Sendable {
        /// An official of the document's agency.
        case official
        /// A leader of the document's agency.
        case leader
        /// The agency's clerk (văn thư).
        case clerk
        /// The person a leader's direction names to lead the processing.
        case lead
        /// An official signing for a leader under a delegation (KT., TL., TUQ., TM., Q.).
        case delegate
    }

    struct Step: Sendable {
        let direction: Egov_Documents_V1_Document.Direction
        let from: Set<State>
        /// The state after the step; nil when it stays as it was.
        let to: State?
        let actors: Set<Actor>
        /// What the recipient reports back to the sender after this step.
        let reports: Egov_Documents_V1_ExchangeStatus?
        /// Whether the comment is required (a reason).
        let needsComment: Bool

        init(
            _ direction: Egov_Documents_V1_Document.Direction, from: Set<State>, to: State?, by actors: Set<Actor>,
            reports: Egov_Documents_V1_ExchangeStatus? = nil, needsComment: Bool = false
        ) {
            self.direction = direction
            self.from = from
            self.to = to
            self.actors = actors
            self.reports = reports
            self.needsComment = needsComment
        }
    }

    static let steps: [Egov_Documents_V1_DocumentAction: Step] = [
        .submit: Step(.outgoing, from: [.draft], to: .inReview, by: [.official]),
        // Also after approval or signature, while unreleased: nothing else can change it then.
        .return: Step(.outgoing, from: [.inReview, .approved, .signed], to: .draft, by: [.leader], needsComment: true),
        .approve: Step(.outgoing, from: [.inReview], to: .approved, by: [.leader]),
        .sign: Step(.outgoing, from: [.approved], to: .signed, by: [.leader, .delegate]),
        .release: Step(.outgoing, from: [.signed], to: .released, by: [.clerk]),
        .accept: Step(.incoming, from: [.registered], to: .accepted, by: [.clerk], reports: .accepted),
        .reject: Step(
            .incoming, from: [.registered], to: .rejected, by: [.clerk], reports: .rejected, needsComment: true),
        .direct: Step(.incoming, from: [.accepted, .directed], to: .directed, by: [.leader], reports: .assigned),
        .start: Step(.incoming, from: [.directed], to: .processing, by: [.lead], reports: .processing),
        .finish: Step(
            .incoming, from: [.directed, .processing], to: .finished, by: [.lead, .leader], reports: .finished),
        .recall: Step(.outgoing, from: [.released], to: .recalled, by: [.clerk, .leader], needsComment: true),
        .update: Step(.outgoing, from: [.released], to: nil, by: [.clerk, .leader], needsComment: true),
        .acceptRevision: Step(.incoming, from: answerable, to: .recalled, by: [.clerk], reports: .updateAccepted),
        .rejectRevision: Step(
            .incoming, from: answerable, to: nil, by: [.clerk], reports: .updateRejected, needsComment: true),
    ]

    /// The states in which an incoming copy can be recalled, replaced or updated by its sender.
    static let answerable: Set<State> = [.registered, .accepted, .directed, .processing, .finished]

    /// The Vietnamese calendar year of `micros` (UTC+7): registers restart on 1 January.
    static func year(ofMicros micros: Int64) -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 7 * 3600)!
        return calendar.component(.year, from: Date(timeIntervalSince1970: Double(micros) / 1e6))
    }

    /// Number and notation as printed: numbers below 10 with a leading zero (Decree 30,
    /// Appendix I: "bắt đầu từ số 01"), e.g. `05/QĐ-UBND`.
    static func code(number: Int, notation: String) -> String {
        (number < 10 ? "0\(number)" : "\(number)") + "/\(notation)"
    }

    /// A copy's notation abbreviation (Decree 30, Appendix I): SY sao y, SL sao lục, TS trích
    /// sao; nil for a document that is not a copy.
    static func copyAbbreviation(_ kind: Egov_Documents_V1_CopyKind) -> String? {
        switch kind {
        case .trueCopy: "SY"
        case .transcript: "SL"
        case .excerpt: "TS"
        default: nil
        }
    }

    /// The notation of an outgoing document of `type` by an agency abbreviated `agency`:
    /// `QĐ-UBND`; a công văn or a public letter, with no abbreviation of its own, takes the
    /// agency's and the drafting unit's (`UBND-VP`).
    static func notation(type abbreviation: String, agency: String, unit: String) -> String {
        if abbreviation.isEmpty { return unit.isEmpty ? agency : "\(agency)-\(unit)" }
        return "\(abbreviation)-\(agency)"
    }

    /// The signature block: the signer's position alone when they sign in their own right;
    /// under a delegation, the prefix and the principal's position (or the agency's name, for
    /// TM. on behalf of a collective body) above the signer's own position.
    static func signatureBlock(
        signerPosition: String, delegation: Egov_Identity_V1_Delegation.Kind?, principalPosition: String,
        agencyName: String
    ) -> [String] {
        let upper = { (text: String) in text.uppercased(with: Locale(identifier: "vi_VN")) }
        guard let delegation else { return [upper(signerPosition)] }
        switch delegation {
        case .kt: return ["KT. \(upper(principalPosition))", upper(signerPosition)]
        case .tl: return ["TL. \(upper(principalPosition))", upper(signerPosition)]
        case .tuq: return ["TUQ. \(upper(principalPosition))", upper(signerPosition)]
        case .tm: return ["TM. \(upper(agencyName))", upper(signerPosition)]
        case .q: return ["Q. \(upper(principalPosition))"]
        default: return [upper(signerPosition)]
        }
    }
}
