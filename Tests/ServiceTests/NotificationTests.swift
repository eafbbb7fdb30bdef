import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import ProceduresService
import Testing

@Suite struct NotificationTests {
    struct SMS: Codable { var to: String; var from: String; var text: String; var reference: String }

    @Test func applicantsAreTextedWhatTheyMustKnowOnce() async throws {
        try await withStack { stack in
            try await seedCatalogue(stack)
            let store = stack.proceduresStore
            let gateway = try await RecordingHTTPServer()
            defer { Task { try? await gateway.close() } }
            let filed = try await withPublicClient(port: stack.gatewayPort) { client in
                let identity = Identity(wrapping: client)
                var owner = citizen()
                owner.phone = "+84 912 345 678"
                let registered = try await identity.registerPerson(
                    .with {
                        $0.person = owner; $0.password = goodPassword
                    })
                #expect(registered.phone == "0912345678")
                #expect(
                    await failure {
                        var wrong = citizen("001095067890", birthDate: "1995-06-07")
                        wrong.phone = "12345"
                        _ = try await identity.registerPerson(
                            .with {
                                $0.person = wrong; $0.password = goodPassword
                            })
                    } == Failure(code: .invalidArgument, reason: "INVALID_PERSON", field: "person.phone"))
                let session = bearer(
                    try await identity.login(
                        .with {
                            $0.login = "001090012345"; $0.password = goodPassword
                        }
                    ).accessToken)
                let procedures = Procedures(wrapping: client)
                let filed = try await procedures.submitDossier(
                    .with {
                        $0.parent = "procedures/1.001612.H41"
                        $0.dossier = .with { $0.channel = .online }
                    }, metadata: session)
                try await withTestClient(port: stack.ports["procedures"]!) { tool in
                    let procedures = Procedures(wrapping: tool)
                    _ = try await procedures.transitionDossier(
                        .with {
                            $0.name = filed.name; $0.action = .requestSupplement;
                            $0.missingDocuments = ["Bản sao chứng chỉ hành nghề"]
                        })
                    // A desk filing for someone identity does not know: nobody to text.
                    _ = try await procedures.submitDossier(
                        .with {
                            $0.parent = "procedures/1.001612.H41"
                            $0.dossier = .with {
                                $0.channel = .inPerson; $0.applicant = "people/p1"
                            }
                        })
                }
                return filed
            }
            try await withTestClient(port: stack.ports["identity"]!, as: "procedures") { client in
                let notifier = ApplicantNotifier(
                    transport: try HTTPDeliveryTransport(
                        url: URL(string: "http://127.0.0.1:\(gateway.port)/send")!, token: "s", setting: "sms.url"),
                    people: IdentityPersonDirectory(client: client, deadline: .seconds(60)), sender: "TUYENQUANG")
                let relay = OutboxRelay(store: store, consumer: "sms", sink: notifier, logger: .init(label: "test"))
                #expect(try await relay.deliverPending() == 3)
                #expect(try await relay.deliverPending() == 0)
                let texts = try gateway.requests.map { try JSONDecoder().decode(SMS.self, from: Data($0.body)) }
                #expect(
                    texts.map(\.to) == ["0912345678", "0912345678"] && texts.allSatisfy { $0.from == "TUYENQUANG" })
                #expect(texts[0].text.hasPrefix("Ho so \(filed.code) da duoc tiep nhan. Hen tra ket qua ngay "))
                #expect(texts[1].text.contains("can bo sung: Ban sao chung chi hanh nghe"))
                #expect(texts.allSatisfy { $0.text.unicodeScalars.allSatisfy(\.isASCII) && $0.reference == filed.code })

                // Connected later, a gateway is not sent yesterday's news.
                let late = ApplicantNotifier(
                    transport: try HTTPDeliveryTransport(
                        url: URL(string: "http://127.0.0.1:\(gateway.port)/send")!, token: "s", setting: "sms.url"),
                    people: IdentityPersonDirectory(client: client, deadline: .seconds(60)), sender: "TUYENQUANG",
                    maxAge: .zero)
                _ = try await OutboxRelay(store: store, consumer: "sms-late", sink: late, logger: .init(label: "test"))
                    .deliverPending()
                #expect(gateway.requests.count == 2)
            }
        }
    }
}
