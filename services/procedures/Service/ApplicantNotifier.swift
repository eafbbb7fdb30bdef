import EGovAPI
public import EGovKit
public import EGovStore
import Foundation
import SwiftProtobuf

/// Tells applicants by SMS what they must know of their dossier: it was received (with the
/// appointment), something must be supplemented or paid, it was refused or stopped, the
/// result is ready, or it is late (the apology slip, Mẫu 04). The representative who filed
/// it online is told too. Runs as a consumer of the procedures outbox; the SMS gateway takes
/// `{"to", "from", "text", "reference"}` as JSON.
public struct ApplicantNotifier: OutboxSink {
    let transport: any DeliveryTransport
    let people: any PersonDirectory
    /// The brand name the messages come from.
    let sender: String
    /// Events older than this are not news: a gateway connected later does not replay history.
    let maxAge: Duration
    /// The store's clock, which dated the events.
    let clock: WallClock

    public init(
        transport: any DeliveryTransport, people: any PersonDirectory, sender: String,
        maxAge: Duration = .seconds(24 * 3600), clock: WallClock = .system
    ) {
        self.clock = clock
        self.transport = transport
        self.people = people
        self.sender = sender
        self.maxAge = maxAge
    }

    struct SMS: Codable, Equatable {
        var to: String
        var from: String
        var text: String
        var reference: String
    }

    static let dayFormat = DateFormatter.vietnam("dd/MM/yyyy")

    /// What the applicant is told of `topic` on `dossier`, in plain ASCII (one or two SMS), or
    /// nil when the change is not theirs to hear of.
    static func text(topic: String, dossier: Egov_Procedures_V1_Dossier) -> String? {
        let code = dossier.code
        let appointment = dayFormat.string(from: dossier.appointmentTime.date)
        let message: String
        switch (topic, dossier.status) {
        case ("procedures.dossier.submitted", _):
            message = "Ho so \(code) da duoc tiep nhan. Hen tra ket qua ngay \(appointment)."
        case ("procedures.dossier.apology_issued", _):
            let reason = dossier.apologies.last?.reason ?? ""
            message = "Xin loi: ho so \(code) cham tra ket qua. Ly do: \(reason). Hen lai ngay \(appointment)."
        case ("procedures.dossier.finished", _):
            message = "Ho so \(code) da co ket qua. Moi ong/ba nhan ket qua theo phieu hen."
        case ("procedures.dossier.status_changed", .supplementRequested):
            message =
                "Ho so \(code) can bo sung: \(dossier.missingDocuments.joined(separator: "; ")). Thoi gian giai quyet tam dung."
        case ("procedures.dossier.status_changed", .paymentRequested):
            message = "Ho so \(code): de nghi nop \(dossier.paymentAmountVnd) dong phi, le phi de tiep tuc giai quyet."
        case ("procedures.dossier.status_changed", .notAccepted):
            message = "Ho so \(code) khong duoc tiep nhan. Ly do: \(dossier.reason)."
        case ("procedures.dossier.status_changed", .stopped):
            message = "Ho so \(code) da dung giai quyet. Ly do: \(dossier.reason)."
        default:
            return nil
        }
        return String(VietnameseText.unaccented(message).prefix(306))
    }

    public func deliver(_ message: OutboxMessage) async throws {
        let age = clock.micros - message.createTime
        guard age < Int64(maxAge.components.seconds) * 1_000_000, let dossier = try message.dossier() else { return }
        guard let text = Self.text(topic: message.topic, dossier: dossier) else { return }
        var recipients = [dossier.applicant]
        if dossier.channel == .online && !dossier.filedBy.isEmpty { recipients.append(dossier.filedBy) }
        var phones: [String] = []
        for recipient in recipients {
            // People without a phone on record (or unknown to identity) are not texted.
            if let phone = try await people.person(named: recipient)?.phone, !phone.isEmpty, !phones.contains(phone) {
                phones.append(phone)
            }
        }
        for (index, phone) in phones.enumerated() {
            let body = try JSONEncoder().encode(SMS(to: phone, from: sender, text: text, reference: dossier.code))
            try await transport.deliver(
                body, idempotencyKey: "egov-procedures-sms-\(message.id)-\(index)", to: "the SMS gateway",
                about: dossier.code)
        }
    }
}
