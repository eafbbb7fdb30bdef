import Crypto
import EGovAPI
import EGovKit
import EGovTestSupport
import Foundation
import GRPCCore
import Testing

@Suite struct AttachmentTests {
    /// Downloads a file of a dossier: its description and its bytes.
    func download(
        _ procedures: Procedures, dossier: String, sha256: String, as caller: Metadata
    ) async throws -> (attachment: Egov_Procedures_V1_Attachment, bytes: [UInt8]) {
        try await procedures.downloadAttachment(
            .with {
                $0.name = dossier; $0.sha256 = sha256
            }, metadata: caller
        ) { response in
            var attachment = Egov_Procedures_V1_Attachment()
            var bytes: [UInt8] = []
            for try await message in response.messages {
                switch message.part {
                case .attachment(let described): attachment = described
                case .chunk(let chunk): bytes += chunk
                case nil: break
                }
            }
            return (attachment, bytes)
        }
    }

    @Test func theApplicantUploadsFilesWhoseTypeAndSizeAreChecked() async throws {
        try await withStack { stack in
            try await seedCatalogue(stack)
            try await withPublicClient(port: stack.gatewayPort) { client in
                let identity = Identity(wrapping: client)
                _ = try await identity.registerPerson(
                    .with {
                        $0.person = citizen(); $0.password = goodPassword
                    })
                let me = bearer(
                    try await identity.login(
                        .with {
                            $0.login = "001090012345"; $0.password = goodPassword
                        }
                    ).accessToken)
                let procedures = Procedures(wrapping: client)
                let dossier = try await procedures.submitDossier(
                    .with {
                        $0.parent = "procedures/1.001612.H41"
                        $0.dossier = .with { $0.channel = .online }
                    }, metadata: me)

                let pdf = Array("%PDF-1.7\n".utf8) + (0..<(2_500_000)).map { UInt8($0 % 251) }
                let stored = try await upload(
                    procedures, dossier: dossier.name, type: "application/pdf", content: pdf, as: me)
                #expect(stored.sizeBytes == Int64(pdf.count))
                #expect(stored.sha256 == SHA256.hash(data: pdf).map { String(format: "%02x", $0) }.joined())

                #expect(
                    await failure {
                        _ = try await upload(procedures, dossier: dossier.name, type: "image/png", content: pdf, as: me)
                    }
                        == Failure(code: .invalidArgument, reason: "CONTENT_MISMATCH", field: "header.content_type"))
                #expect(
                    await failure {
                        _ = try await upload(
                            procedures, dossier: dossier.name, type: "application/zip", content: pdf, as: me)
                    } == Failure(code: .invalidArgument, reason: "UNSUPPORTED_TYPE", field: "header.content_type"))
                let huge = Array("%PDF-1.7\n".utf8) + [UInt8](repeating: 7, count: 11 << 20)
                #expect(
                    await failure {
                        _ = try await upload(
                            procedures, dossier: dossier.name, type: "application/pdf", content: huge, as: me)
                    }
                        == Failure(code: .invalidArgument, reason: "FILE_TOO_LARGE", field: "chunk"))

                let read = try await procedures.getDossier(.with { $0.name = dossier.name }, metadata: me)
                #expect(read.attachments.map(\.sha256) == [stored.sha256])
                #expect(read.attachments.map(\.kind) == [.document])
                let events = try await procedures.listDossierEvents(.with { $0.name = dossier.name }, metadata: me)
                    .events
                #expect(events.filter { $0.action == .attach }.count == 1)
                #expect(!events.contains { $0.action == .unspecified })

                // The file comes back whole, in chunks, through the gateway.
                let fetched = try await download(procedures, dossier: dossier.name, sha256: stored.sha256, as: me)
                #expect(fetched.attachment == stored && fetched.bytes == pdf)
                #expect(
                    await failure {
                        _ = try await download(
                            procedures, dossier: dossier.name, sha256: String(repeating: "0", count: 64), as: me)
                    }
                        == Failure(code: .notFound, reason: "ATTACHMENT_NOT_FOUND", field: nil))
                // Results are the agency's to attach.
                #expect(
                    await failure {
                        _ = try await upload(
                            procedures, dossier: dossier.name, type: "application/pdf", content: pdf, as: me,
                            kind: .result)
                    }?.code == .permissionDenied)

                try await withTestClient(port: stack.ports["procedures"]!) { tool in
                    _ = try await Procedures(wrapping: tool).transitionDossier(
                        .with {
                            $0.name = dossier.name; $0.action = .accept
                        })
                }
                #expect(
                    await failure {
                        _ = try await upload(
                            procedures, dossier: dossier.name, type: "application/pdf", content: pdf, as: me)
                    }
                        == Failure(code: .failedPrecondition, reason: "UPLOAD_CLOSED", field: nil))
            }
        }
    }
}
