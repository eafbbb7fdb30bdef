import Crypto
import EGovAPI
import EGovKit
import EGovTestSupport
import Foundation
import GRPCCore
import Testing

@Suite struct AttachmentTests {
    func upload(
        _ procedures: Procedures, dossier: String, type: String, content: [UInt8], as caller: Metadata
    ) async throws -> Egov_Procedures_V1_Attachment {
        try await procedures.uploadAttachment(metadata: caller) { writer in
            try await writer.write(.with {
                $0.header = .with {
                    $0.name = dossier
                    $0.fileName = "don-de-nghi.pdf"
                    $0.contentType = type
                    $0.requiredDocument = "Đơn đề nghị cấp giấy phép hoạt động"
                }
            })
            var offset = 0
            while offset < content.count {
                let end = min(offset + (1 << 20), content.count)
                try await writer.write(.with { $0.chunk = Data(content[offset..<end]) })
                offset = end
            }
        }
    }

    @Test func theApplicantUploadsFilesWhoseTypeAndSizeAreChecked() async throws {
        try await withStack { stack in
            try await seedCatalogue(stack)
            try await withPublicClient(port: stack.gatewayPort) { client in
                let identity = Identity(wrapping: client)
                _ = try await identity.registerPerson(.with { $0.person = citizen(); $0.password = goodPassword })
                let me = bearer(try await identity.login(.with { $0.login = "001090012345"; $0.password = goodPassword }).accessToken)
                let procedures = Procedures(wrapping: client)
                let dossier = try await procedures.submitDossier(.with {
                    $0.parent = "procedures/1.001612.H41"
                    $0.dossier = .with { $0.channel = .online }
                }, metadata: me)

                let pdf = Array("%PDF-1.7\n".utf8) + (0..<(2_500_000)).map { UInt8($0 % 251) }
                let stored = try await upload(procedures, dossier: dossier.name, type: "application/pdf", content: pdf, as: me)
                #expect(stored.sizeBytes == Int64(pdf.count))
                #expect(stored.sha256 == SHA256.hash(data: pdf).map { String(format: "%02x", $0) }.joined())

                #expect(await failure { _ = try await upload(procedures, dossier: dossier.name, type: "image/png", content: pdf, as: me) }
                    == Failure(code: .invalidArgument, reason: "CONTENT_MISMATCH", field: "header.content_type"))
                #expect(await failure {
                    _ = try await upload(procedures, dossier: dossier.name, type: "application/zip", content: pdf, as: me)
                } == Failure(code: .invalidArgument, reason: "UNSUPPORTED_TYPE", field: "header.content_type"))
                let huge = Array("%PDF-1.7\n".utf8) + [UInt8](repeating: 7, count: 11 << 20)
                #expect(await failure { _ = try await upload(procedures, dossier: dossier.name, type: "application/pdf", content: huge, as: me) }
                    == Failure(code: .invalidArgument, reason: "FILE_TOO_LARGE", field: "chunk"))

                let read = try await procedures.getDossier(.with { $0.name = dossier.name }, metadata: me)
                #expect(read.attachments.map(\.sha256) == [stored.sha256])

                try await withTestClient(port: stack.ports["procedures"]!) { tool in
                    _ = try await Procedures(wrapping: tool).transitionDossier(.with { $0.name = dossier.name; $0.action = .accept })
                }
                #expect(await failure { _ = try await upload(procedures, dossier: dossier.name, type: "application/pdf", content: pdf, as: me) }
                    == Failure(code: .failedPrecondition, reason: "UPLOAD_CLOSED", field: nil))
            }
        }
    }
}
