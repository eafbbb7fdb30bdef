public import EGovAPI
import EGovKit
public import EGovStore
public import Foundation
import SwiftProtobuf

/// What the national public-service portal (Cổng Dịch vụ công quốc gia) is told about a
/// dossier each time it changes: the state the portal shows citizens and ranks provinces on.
/// Field names follow the portal's dossier synchronisation (đồng bộ hồ sơ) record; times are
/// `yyyyMMddHHmmss` in Vietnam's time (UTC+7), statuses and channels the national codes.
public struct PortalDossierRecord: Codable, Equatable, Sendable {
    /// One handling step (quá trình xử lý), as the control slip (Mẫu 05) records it.
    public struct Step: Codable, Equatable, Sendable {
        public var ThuTu: Int64
        public var TrangThaiTruoc: Int
        public var TrangThaiSau: Int
        public var NguoiXuLy: String
        public var NoiDung: String
        public var ThoiDiem: String
    }

    /// One file of the dossier: what the portal compares, never the content.
    public struct File: Codable, Equatable, Sendable {
        public var TenTepDinhKem: String
        public var LoaiTep: String
        public var ThanhPhanHoSo: String
        public var KichThuoc: Int64
        public var MaBam: String
        public var LaKetQua: Bool
    }

    /// What happened: the outbox topic's last part (submitted, status_changed, finished, overdue, apology_issued).
    public var SuKien: String
    public var MaHoSo: String
    public var MaTTHC: String
    public var MaCoQuan: String
    public var KenhThucHien: Int
    public var ChuHoSo: String
    public var MaDinhDanhChuHoSo: String
    public var TrangThaiHoSo: Int
    public var NgayTiepNhan: String
    public var NgayHenTra: String
    public var NgayKetThucXuLy: String
    public var NgayTra: String
    public var QuaHan: Bool
    public var SoLanXinLoi: Int
    public var TaiLieu: [File]
    public var QuaTrinhXuLy: [Step]

    static let timeFormat = DateFormatter.vietnam("yyyyMMddHHmmss")

    static func time(_ timestamp: Google_Protobuf_Timestamp?) -> String {
        guard let timestamp, timestamp.seconds > 0 else { return "" }
        return timeFormat.string(from: timestamp.date)
    }

    public init(topic: String, dossier: Egov_Procedures_V1_Dossier, events: [Egov_Procedures_V1_DossierEvent]) {
        SuKien = String(topic.split(separator: ".").last ?? "")
        MaHoSo = dossier.code
        MaTTHC = String(dossier.procedure.dropFirst("procedures/".count))
        MaCoQuan = AgencyCode.code(fromName: dossier.agency) ?? ""
        KenhThucHien = dossier.channel.rawValue
        ChuHoSo = dossier.applicantName
        MaDinhDanhChuHoSo = dossier.applicant
        TrangThaiHoSo = dossier.status.rawValue
        NgayTiepNhan = Self.time(dossier.receiveTime)
        NgayHenTra = Self.time(dossier.appointmentTime)
        NgayKetThucXuLy = Self.time(
            events.last(where: { $0.toStatus == .finished && $0.fromStatus != .finished })?.time)
        NgayTra = Self.time(dossier.hasReturnTime ? dossier.returnTime : nil)
        QuaHan = dossier.overdue
        SoLanXinLoi = dossier.apologies.count
        TaiLieu = dossier.attachments.map {
            File(
                TenTepDinhKem: $0.fileName, LoaiTep: $0.contentType, ThanhPhanHoSo: $0.requiredDocument,
                KichThuoc: $0.sizeBytes,
                MaBam: $0.sha256, LaKetQua: $0.kind == .result)
        }
        QuaTrinhXuLy = events.map {
            Step(
                ThuTu: $0.sequence, TrangThaiTruoc: $0.fromStatus.rawValue, TrangThaiSau: $0.toStatus.rawValue,
                NguoiXuLy: $0.actor,
                NoiDung: $0.note, ThoiDiem: Self.time($0.time))
        }
    }
}

/// Delivers the procedures outbox to the national portal: each dossier event becomes the
/// dossier's current record with its handling steps. The relay keeps order and retries;
/// the portal deduplicates on `Idempotency-Key` (`<store>-<outbox id>`).
public struct NationalPortalSink: OutboxSink {
    let transport: any DeliveryTransport
    let dossiers: DossierRepository
    let keyPrefix: String

    public init(transport: any DeliveryTransport, store: Store, keyPrefix: String = "egov-procedures") {
        self.transport = transport
        self.dossiers = DossierRepository(store: store)
        self.keyPrefix = keyPrefix
    }

    public func deliver(_ message: OutboxMessage) async throws {
        guard let dossier = try message.dossier() else { return }
        // The steps as they stand when it is sent: the portal keeps the latest record.
        let events = try await dossiers.events(code: dossier.code)
        let body = try JSONEncoder().encode(PortalDossierRecord(topic: message.topic, dossier: dossier, events: events))
        try await transport.deliver(
            body, idempotencyKey: "\(keyPrefix)-\(message.id)", to: "the national portal", about: dossier.code)
    }
}

extension OutboxMessage {
    /// The dossier a `procedures.dossier.*` event carries; nil for other topics. A payload
    /// that is not a dossier can never be delivered: an `OutboxRejection`.
    func dossier() throws -> Egov_Procedures_V1_Dossier? {
        guard topic.hasPrefix("procedures.dossier.") else { return nil }
        do {
            return try Egov_Procedures_V1_Dossier(serializedBytes: payload)
        } catch {
            throw OutboxRejection("payload is not a dossier: \(error)")
        }
    }
}
