import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import ProceduresService
import SQLKit
import Testing

@Suite struct NationalPortalTests {
    @Test func dossierEventsReachThePortalInOrderOnceEachThroughRetriesAndRefusals() async throws {
        try await withStack { stack in
            try await seedCatalogue(stack)
            let store = stack.proceduresStore
            let portal = try await RecordingHTTPServer(answers: [503])
            defer { Task { try? await portal.close() } }
            let sink = NationalPortalSink(
                transport: try HTTPDeliveryTransport(
                    url: URL(string: "http://127.0.0.1:\(portal.port)/api/dongbohoso")!, token: "t0ken",
                    setting: "portal.url"),
                store: store)
            let relay = OutboxRelay(store: store, consumer: "national-portal", sink: sink, logger: .init(label: "test"))
            try await withTestClient(port: stack.ports["procedures"]!) { client in
                let procedures = Procedures(wrapping: client)
                let filed = try await procedures.submitDossier(
                    .with {
                        $0.parent = "procedures/1.001612.H41"
                        $0.dossier = .with {
                            $0.channel = .inPerson
                            $0.applicant = "people/p1"
                            $0.applicantName = "Lê Thị Hoa"
                            $0.receivedDocuments = [.with { $0.title = "Đơn đề nghị cấp giấy phép hoạt động" }]
                        }
                    })
                _ = try await procedures.transitionDossier(
                    .with {
                        $0.name = filed.name; $0.action = .accept
                    })

                // The portal is down: nothing is marked sent, and the retry carries the same key.
                await #expect(throws: DeliveryUnavailable.self) { try await relay.deliverPending() }
                #expect(try await relay.deliverPending() == 2)
                #expect(try await relay.deliverPending() == 0)
                let requests = portal.requests
                #expect(requests.count == 3)
                #expect(requests.map(\.method) == ["POST", "POST", "POST"] && requests[0].path == "/api/dongbohoso")
                #expect(requests[0].headers["idempotency-key"] == requests[1].headers["idempotency-key"])
                #expect(requests[1].headers["idempotency-key"] != requests[2].headers["idempotency-key"])
                #expect(requests[0].headers["authorization"] == "Bearer t0ken")
                let records = try requests.map {
                    try JSONDecoder().decode(PortalDossierRecord.self, from: Data($0.body))
                }
                #expect(records.map(\.SuKien) == ["submitted", "submitted", "status_changed"])
                #expect(
                    records[1].MaHoSo == filed.code && records[1].MaTTHC == "1.001612.H41"
                        && records[1].MaCoQuan == "000.00.06.H41")
                #expect(records[1].TrangThaiHoSo == 1 && records[2].TrangThaiHoSo == 2 && records[2].KenhThucHien == 1)
                #expect(
                    records[1].ChuHoSo == "Lê Thị Hoa" && records[1].NgayHenTra.count == 14
                        && records[1].NgayHenTra.hasSuffix("170000"))
                #expect(records[2].QuaTrinhXuLy.map(\.TrangThaiSau) == [2])

                // A record the portal will never take is set aside, not retried forever; the next one goes through.
                portal.answer([422])
                _ = try await procedures.transitionDossier(
                    .with {
                        $0.name = filed.name; $0.action = .stop; $0.note = "Người nộp đề nghị dừng"
                    })
                _ = try await procedures.submitDossier(
                    .with {
                        $0.parent = "procedures/1.001612.H41"
                        $0.dossier = .with {
                            $0.channel = .inPerson; $0.applicant = "people/p2"
                        }
                    })
                #expect(try await relay.deliverPending() == 1)
                #expect(portal.requests.count == 5)
                let setAside = try await store.read { db in
                    try await db.rows(
                        "SELECT last_error FROM outbox_deliveries WHERE consumer = 'national-portal' AND last_error LIKE 'rejected:%' AND deliver_time IS NOT NULL"
                    )
                    .map { try $0.decode(column: "last_error", as: String.self) }
                }
                #expect(
                    setAside.count == 1
                        && setAside[0].hasPrefix("rejected: the national portal refused \(filed.code) with HTTP 422"))
            }
        }
    }

    @Test func thePortalIsReachedOnlyOverHTTPSExceptOnLoopback() throws {
        #expect(throws: ConfigError.self) {
            try HTTPDeliveryTransport(
                url: URL(string: "http://dichvucong.gov.vn/api")!, token: "", setting: "portal.url")
        }
        _ = try HTTPDeliveryTransport(
            url: URL(string: "https://dichvucong.gov.vn/api")!, token: "", setting: "portal.url")
    }
}
