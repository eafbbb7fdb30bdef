import EGovAPI
import EGovKit
import Foundation
import GRPCCore
import Testing

@testable import DocumentsService

/// What links documents to each other and to people: answers, certified copies, people
/// addressed by name, and work files.
@Suite struct DocumentRecordsTests {
    /// Health answers the committee's notice: the answer names it, its release is recorded on
    /// the notice, and the edXML envelope carries ResponseFor.
    @Test func anAnswerIsLinkedToTheDocumentItAnswers() async throws {
        try await withScene { scene in
            let s = try await DocumentScene.make(scene)
            let notice = try await s.signedNotice("Về việc báo cáo số liệu tiêm chủng", via: scene.documents)
            _ = try await s.clerk.does(.release, to: notice)
            let arrived = try #require(try await s.healthClerk.documentsOf(DocumentScene.health, .incoming).first)

            // An answer names an incoming document of its own agency, nothing else.
            let wrong = await failure {
                _ = try await s.healthSpecialist.drafts(.report, "Báo cáo", at: DocumentScene.health, to: []) {
                    $0.inReplyTo = notice.name
                }
            }
            #expect(
                wrong == Failure(code: .invalidArgument, reason: "INVALID_IN_REPLY_TO", field: "document.in_reply_to"))
            let answer = try await s.healthSpecialist.drafts(
                .report, "Báo cáo số liệu tiêm chủng quý IV", at: DocumentScene.health, to: [DocumentScene.committee]
            ) { $0.inReplyTo = arrived.name }
            try await s.healthSpecialist.does(.submit, to: answer)
            try await s.healthDirector.does(.approve, to: answer)
            try await s.healthDirector.does(.sign, to: answer)
            let released = try await s.healthClerk.does(.release, to: answer)
            #expect(released.inReplyTo == arrived.name)

            let answered = try await s.healthClerk.reads(arrived)
            #expect(answered.replies == [answer.name])
            let events = try await scene.documents.listDocumentEvents(
                .with { $0.name = arrived.name }, metadata: s.healthClerk.session
            ).events
            #expect(events.last?.action == .answered && events.last?.comment.hasSuffix(released.code) == true)

            let envelope = try await scene.documents.exportEdxml(
                .with { $0.name = answer.name }, metadata: s.healthClerk.session)
            let xml = String(decoding: envelope.edxml, as: UTF8.self)
            #expect(xml.contains("<edXML:ResponseFor><edXML:OrganId>000.00.00.H41</edXML:OrganId>"))
            #expect(xml.contains("<edXML:Code>\(arrived.code)</edXML:Code>"))
        }
    }

    /// A certified copy is its own document: it keeps the original's text and files, is
    /// signed and released like any other, and is numbered in the copy register (SY, SL, TS).
    @Test func certifiedCopiesAreNumberedInTheirOwnRegister() async throws {
        try await withScene { scene in
            let s = try await DocumentScene.make(scene)
            let decision = try await s.signedDecision()
            let released = try await s.clerk.does(.release, to: decision)
            func copy(_ kind: Egov_Documents_V1_CopyKind, content: String = "") async throws -> OfficialDocument {
                try await s.drafter.drafts(.unspecified, "", at: DocumentScene.committee, to: [DocumentScene.health]) {
                    $0.documentType = .decision; $0.subject = "Bản sao"
                    $0.copyOf = decision.name; $0.copyKind = kind; $0.content = content
                }
            }
            let trueCopy = try await copy(.trueCopy)
            #expect(trueCopy.subject == released.subject && trueCopy.content == released.content)
            #expect(trueCopy.state == .draft && trueCopy.number == 0)
            // A copy keeps the original's words; only an excerpt says which part it copies.
            #expect(
                await failure {
                    _ = try await s.drafter.documents.updateDocument(
                        .with {
                            $0.document = .with {
                                $0.name = trueCopy.name; $0.subject = "Khác"
                            }
                            $0.updateMask = .with { $0.paths = ["subject"] }
                        }, metadata: s.drafter.session)
                }?.reason == "INVALID_UPDATE_MASK")
            #expect(await failure { _ = try await copy(.excerpt) }?.field == "document.content")
            let excerpt = try await copy(.excerpt, content: "Điều 2. Giao Sở Y tế chủ trì.")
            #expect(
                await failure {
                    _ = try await s.drafter.drafts(.decision, "x", at: DocumentScene.committee, to: []) {
                        $0.copyKind = .trueCopy
                    }
                }?.field == "document.copy_kind")

            for draft in [trueCopy, excerpt] {
                try await s.drafter.does(.submit, to: draft)
                try await s.chairman.does(.approve, to: draft)
                try await s.chairman.does(.sign, to: draft)
            }
            let first = try await s.clerk.does(.release, to: trueCopy)
            let second = try await s.clerk.does(.release, to: excerpt)
            #expect(first.code == "01/SY-UBND" && second.code == "02/TS-UBND")
            // The register of the decisions goes on where it was.
            let next = try await s.signedDecision("Về việc thành lập Tổ công tác")
            #expect(try await s.clerk.does(.release, to: next).number == released.number + 1)
            let arrived = try await s.healthClerk.documentsOf(DocumentScene.health, .incoming)
            #expect(arrived.first { $0.code == "01/SY-UBND" }?.copyKind == .trueCopy)
        }
    }

    /// A document addressed by name reaches that person once released, wherever they work;
    /// nobody else outside the agency sees it.
    @Test func peopleAddressedByNameReadTheDocumentOnceReleased() async throws {
        try await withScene { scene in
            let s = try await DocumentScene.make(scene)
            #expect(
                await failure {
                    _ = try await s.drafter.drafts(.notice, "x", at: DocumentScene.committee, to: []) {
                        $0.recipientPeople = ["people/nobody"]
                    }
                } == Failure(code: .invalidArgument, reason: "PERSON_NOT_FOUND", field: "document.recipient_people[0]"))
            let draft = try await s.drafter.drafts(
                .notice, "Thông báo kết luận của Chủ tịch", at: DocumentScene.committee, to: [DocumentScene.health]
            ) { $0.recipientPeople = [s.healthDirector.name] }
            try await s.drafter.does(.submit, to: draft)
            try await s.chairman.does(.approve, to: draft)
            try await s.chairman.does(.sign, to: draft)
            // Not before it is released.
            #expect(await failure { _ = try await s.healthDirector.reads(draft) }?.code == .permissionDenied)
            _ = try await s.clerk.does(.release, to: draft)
            #expect(try await s.healthDirector.reads(draft).subject == "Thông báo kết luận của Chủ tịch")
            // The document, not how the committee made it.
            #expect(
                await failure {
                    _ = try await scene.documents.listDocumentEvents(
                        .with { $0.name = draft.name }, metadata: s.healthDirector.session)
                }?.code == .permissionDenied)
            func addressed(to person: String, as actor: Actor) async throws -> [String] {
                try await scene.documents.listAddressedDocuments(
                    .with { $0.parent = person }, metadata: actor.session
                ).documents.map(\.name)
            }
            #expect(try await addressed(to: s.healthDirector.name, as: s.healthDirector) == [draft.name])
            #expect(try await addressed(to: s.healthSpecialist.name, as: s.healthSpecialist).isEmpty)
            #expect(await failure { _ = try await s.healthSpecialist.reads(draft) }?.code == .permissionDenied)
            #expect(
                await failure { _ = try await addressed(to: s.healthDirector.name, as: s.healthSpecialist) }?.code
                    == .permissionDenied)
        }
    }

    /// Work files gather an agency's documents on one matter; classified ones stay hidden
    /// from those not cleared for them, a closed file takes no more, and nothing is removed.
    @Test func workFilesGatherDocumentsUntilClosed() async throws {
        try await withScene { scene in
            let s = try await DocumentScene.make(scene)
            let documents = scene.documents
            let file = try await documents.createCaseFile(
                .with {
                    $0.parent = DocumentScene.committee
                    $0.caseFile = .with {
                        $0.title = "Hồ sơ chuyển đổi số năm 2026"; $0.code = "01.VP"; $0.retention = "10 năm"
                    }
                }, metadata: s.drafter.session)
            #expect(file.state == .open && file.keeper == s.drafter.name && file.year >= 2026)
            #expect(
                await failure {
                    _ = try await documents.createCaseFile(
                        .with {
                            $0.parent = DocumentScene.committee; $0.caseFile = .with { $0.title = " " }
                        },
                        metadata: s.drafter.session)
                }?.field == "case_file.title")
            let plan = try await s.drafter.drafts(.plan, "Kế hoạch chuyển đổi số", at: DocumentScene.committee, to: [])
            let secret = try await s.chairman.drafts(.report, "Báo cáo mật", at: DocumentScene.committee, to: []) {
                $0.confidentiality = .confidential
            }
            func add(_ document: OfficialDocument, as actor: Actor) async throws -> Egov_Documents_V1_CaseFile {
                try await documents.addCaseFileDocument(
                    .with {
                        $0.name = file.name; $0.document = document.name
                    }, metadata: actor.session)
            }
            _ = try await add(plan, as: s.drafter)
            _ = try await add(plan, as: s.drafter)  // again: nothing changes
            #expect(try await add(secret, as: s.chairman).documents == [plan.name, secret.name])
            // The drafter, not cleared, sees the file without the secret report.
            let seen = try await documents.getCaseFile(.with { $0.name = file.name }, metadata: s.drafter.session)
            #expect(seen.documents == [plan.name])
            #expect(try await s.drafter.reads(plan).caseFiles == [file.name])
            // Another agency's officials do not see it, nor add to it.
            #expect(
                await failure {
                    _ = try await documents.getCaseFile(.with { $0.name = file.name }, metadata: s.healthClerk.session)
                }?.code == .permissionDenied)
            let listed = try await documents.listCaseFiles(
                .with { $0.parent = DocumentScene.committee }, metadata: s.clerk.session)
            #expect(listed.caseFiles.map(\.name) == [file.name])

            // Only its keeper or a leader closes it; then it takes no more.
            #expect(
                await failure {
                    _ = try await documents.closeCaseFile(.with { $0.name = file.name }, metadata: s.clerk.session)
                }?.code == .permissionDenied)
            let closed = try await documents.closeCaseFile(.with { $0.name = file.name }, metadata: s.chairman.session)
            #expect(closed.state == .closed && closed.hasCloseTime)
            let late = try await s.drafter.drafts(.notice, "Thông báo", at: DocumentScene.committee, to: [])
            #expect(await failure { _ = try await add(late, as: s.drafter) }?.reason == "CASE_FILE_CLOSED")
        }
    }
}
