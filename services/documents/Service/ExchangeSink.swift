public import EGovAPI
import EGovKit
public import EGovStore
import Foundation
import SwiftProtobuf

/// Sends documents to agencies outside the platform through the national document exchange
/// (Trục liên thông văn bản quốc gia): each release with external recipients becomes an
/// edXML envelope to them (business type 0), each recall of one that went out a recall
/// envelope (1). The relay keeps order and retries; the exchange deduplicates on
/// `Idempotency-Key` (`egov-documents-<outbox id>`). What the exchange did is recorded on the
/// document, per recipient: when it took the envelope, or why it refused it (then the event
/// is set aside for an operator, like every refusal).
public struct ExchangeSink: OutboxSink {
    let service: DocumentsService
    let transport: any DeliveryTransport
    let keyPrefix: String

    public init(service: DocumentsService, transport: any DeliveryTransport, keyPrefix: String = "egov-documents") {
        self.service = service
        self.transport = transport
        self.keyPrefix = keyPrefix
    }

    /// What the exchange's endpoint is sent.
    public static let contentType = "application/xml; charset=utf-8"

    public func deliver(_ message: OutboxMessage) async throws {
        let businessType: Int
        switch message.topic {
        // An update's new recipients outside the platform get the document as new.
        case "documents.document.released", "documents.document.updated": businessType = 0
        case "documents.document.recalled": businessType = 1
        default: return
        }
        let document: Egov_Documents_V1_Document
        do {
            document = try Egov_Documents_V1_Document(serializedBytes: message.payload)
        } catch {
            throw OutboxRejection("payload is not a document: \(error)")
        }
        // A recall goes to those the document reached; the statuses as they stand now.
        let (agencyCode, id) = DocumentRepository.parts(document.name)
        let current = try await service.documents.document(agencyCode: agencyCode, id: id)
        let recipients = (current ?? document).recipientStatuses.filter {
            $0.external && (businessType == 0 ? !$0.hasSendTime : $0.hasSendTime)
        }.map(\.agency)
        guard !recipients.isEmpty else { return }
        var reason = "Văn bản điện tử mới"
        if businessType == 1 {
            let recall = try await service.documents.events(documentID: id).last { $0.action == .recall }
            reason = "Thu hồi văn bản: \(recall?.comment ?? "")"
        }
        let (envelope, documentID) = try await service.envelope(
            of: document, to: recipients, businessType: businessType, reason: reason)
        do {
            try await transport.deliver(
                Data(envelope.xml().utf8), idempotencyKey: "\(keyPrefix)-\(message.id)",
                to: "the national document exchange", about: documentID)
        } catch let refusal as OutboxRejection {
            try await service.store.write { tx in
                try await service.documents.recordExchange(
                    of: document.name, to: recipients, sent: false,
                    description: "Trục liên thông từ chối: \(refusal.reason)", in: tx)
            }
            throw refusal
        }
        try await service.store.write { tx in
            try await service.documents.recordExchange(
                of: document.name, to: recipients, sent: businessType == 0, status: businessType == 1 ? .recalled : nil,
                description: businessType == 1 ? reason : "Đã gửi qua Trục liên thông văn bản quốc gia", in: tx)
        }
    }
}
