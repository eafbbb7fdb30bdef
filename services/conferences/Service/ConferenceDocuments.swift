public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore

/// A conference's official documents, drafted in the documents service as the signed-in
/// official: the invitation, the minutes and the conclusions.
extension ConferencesService {
    public func draftConferenceDocument(
        request: Egov_Conferences_V1_DraftConferenceDocumentRequest, context: ServerContext
    ) async throws -> Conference {
        let (conference, _) = try await visibleConference(request.name, field: "name")
        try ConferencesPolicy.manage.require(conference, Self.errors, doing: "draft this conference's documents")
        guard let office = documentOffice else {
            throw Self.errors.failedPrecondition(
                "DOCUMENTS_NOT_CONNECTED", "This installation has no documents service (peers.documents).")
        }
        let content = request.content.trimmingCharacters(in: .whitespacesAndNewlines)
        var draft = Egov_Documents_V1_Document.with { $0.direction = .outgoing }
        let requestID: String
        switch request.kind {
        case .invitation:
            guard conference.invitationDocument.isEmpty else { return conference }
            guard conference.state == .scheduled else {
                throw Self.errors.failedPrecondition(
                    "ILLEGAL_STATE", "An invitation is drafted while the conference is scheduled.",
                    metadata: ["state": "\(conference.state.rawValue)"])
            }
            draft.documentType = .invitation
            draft.subject = "Mời dự \(conference.title)"
            draft.content = content.isEmpty ? Self.invitationText(conference) : content
            // The agencies on the platform receive it; the people invited read it by name.
            var recipients: [String] = []
            for agency in conference.invitedAgencies where agency != conference.hostAgency {
                if let found = try await agencies.agency(named: agency), found.state == .active, !found.external {
                    recipients.append(agency)
                }
            }
            draft.recipients = recipients
            draft.recipientPeople = conference.invitedPeople
            requestID = UUID().uuidString.lowercased()
        case .minutes, .conclusions:
            guard conference.state == .live || conference.state == .ended else {
                throw Self.errors.failedPrecondition(
                    "ILLEGAL_STATE", "Minutes and conclusions are drafted once the conference has started.",
                    metadata: ["state": "\(conference.state.rawValue)"])
            }
            guard !content.isEmpty else {
                throw Self.errors.invalidArgument("CONTENT_REQUIRED", field: "content", "give the text")
            }
            let minutes = request.kind == .minutes
            draft.documentType = minutes ? .minutes : .notice
            draft.subject = (minutes ? "Biên bản " : "Kết luận tại ") + conference.title
            draft.content = content
            draft.recipients = conference.invitedAgencies.filter { $0 != conference.hostAgency }
            requestID = UUID().uuidString.lowercased()
        default:
            throw Self.errors.invalidArgument("INVALID_KIND", field: "kind", "is required")
        }
        let document = try await office.draft(draft, at: conference.hostAgency, requestID: requestID)
        return try await record(
            conference,
            .with {
                $0.kind = .documentDrafted; $0.note = document.name
            }
        ) { current in
            if request.kind == .invitation {
                current.invitationDocument = document.name
                current.invitationState = .drafted
            } else {
                current.recordDocuments.append(document.name)
            }
        }
    }

    /// The invitation's text from the conference: when, where, what.
    static func invitationText(_ conference: Conference) -> String {
        let formatter = DateFormatter()
        formatter.timeZone = TimeZone(secondsFromGMT: 7 * 3600)
        formatter.dateFormat = "HH 'giờ' mm, 'ngày' dd/MM/yyyy"
        var lines = [
            "Thời gian: từ \(formatter.string(from: conference.startTime.date)) đến \(formatter.string(from: conference.endTime.date)).",
            "Hình thức: trực tuyến tại các điểm cầu được mời.",
            "Nội dung:",
        ]
        for (index, item) in conference.agendaItems.enumerated() {
            lines.append("\(index + 1). \(item.title)" + (item.presenter.isEmpty ? "" : " (\(item.presenter))"))
        }
        return lines.joined(separator: "\n")
    }
}
