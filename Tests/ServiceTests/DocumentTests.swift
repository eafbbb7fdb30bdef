import ArgumentParser
import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import DocumentsService

/// The province's People's Committee, two departments, and their officials.
struct DocumentScene {
    static let committee = "agencies/000.00.00.H41"
    static let health = "agencies/000.00.06.H41"
    static let construction = "agencies/000.00.09.H41"

    let scene: Scene
    let drafter: Actor
    let chairman: Actor
    let viceChairman: Actor
    let clerk: Actor
    let healthClerk: Actor
    let healthDirector: Actor
    let healthSpecialist: Actor
    let constructionClerk: Actor

    static func make(_ scene: Scene) async throws -> DocumentScene {
        try await withTestClient(port: scene.stack.ports["identity"]!) { client in
            let identity = Identity(wrapping: client)
            for (code, name, abbreviation) in [
                ("000.00.00.H41", "Ủy ban nhân dân tỉnh", "UBND"), ("000.00.06.H41", "Sở Y tế", "SYT"),
                ("000.00.09.H41", "Sở Xây dựng", "SXD"),
            ] {
                _ = try await identity.createAgency(
                    .with { $0.agency = agency(code, name, abbreviation: abbreviation) })
            }
        }
        return DocumentScene(
            scene: scene,
            drafter: try await scene.official("cv@ubnd.vn", of: committee, .specialist, position: "Chuyên viên"),
            chairman: try await scene.official(
                "ct@ubnd.vn", of: committee, .leader, position: "Chủ tịch", clearance: .secret),
            viceChairman: try await scene.official("pct@ubnd.vn", of: committee, .leader, position: "Phó Chủ tịch"),
            clerk: try await scene.official(
                "vt@ubnd.vn", of: committee, .clerk, position: "Văn thư", clearance: .confidential),
            healthClerk: try await scene.official("vt@syt.vn", of: health, .clerk, position: "Văn thư"),
            healthDirector: try await scene.official("gd@syt.vn", of: health, .leader, position: "Giám đốc"),
            healthSpecialist: try await scene.official("cv@syt.vn", of: health, .specialist, position: "Chuyên viên"),
            constructionClerk: try await scene.official("vt@sxd.vn", of: construction, .clerk, position: "Văn thư"))
    }

    /// A notice to Health drafted, submitted, approved and signed at the committee through
    /// `documents` (a client of one egov-documents process, with the officials' sessions).
    func signedNotice(_ subject: String, via documents: Documents) async throws -> OfficialDocument {
        let draft = try await documents.createDocument(
            .with {
                $0.parent = Self.committee
                $0.document = .with {
                    $0.direction = .outgoing; $0.documentType = .notice; $0.subject = subject
                    $0.recipients = [Self.health]
                }
            }, metadata: drafter.session)
        for (action, actor) in [
            (Egov_Documents_V1_DocumentAction.submit, drafter), (.approve, chairman), (.sign, chairman),
        ] {
            _ = try await documents.transitionDocument(
                .with {
                    $0.name = draft.name; $0.action = action
                }, metadata: actor.session)
        }
        return draft
    }

    /// A decision drafted at the committee for both departments, approved and signed by the
    /// chairman.
    func signedDecision(_ subject: String = "Về việc kiện toàn Ban Chỉ đạo chuyển đổi số") async throws
        -> OfficialDocument
    {
        let draft = try await drafter.drafts(
            .decision, subject, at: Self.committee, to: [Self.health, Self.construction])
        try await drafter.does(.submit, to: draft)
        try await chairman.does(.approve, to: draft)
        return try await chairman.does(.sign, to: draft)
    }
}

@Suite struct DocumentTests {
    /// A decision goes from a draft at the committee, through review, a delegated signature
    /// and release, to two departments: one directs and finishes it, the other refuses it, and
    /// the committee sees each step come back.
    @Test func aDecisionTravelsFromDraftToTwoDepartmentsAndTheirAnswersComeBack() async throws {
        try await withScene { scene in
            let s = try await DocumentScene.make(scene)
            let draft = try await s.drafter.drafts(
                .decision, "Về việc kiện toàn Ban Chỉ đạo", at: DocumentScene.committee,
                to: [DocumentScene.health, DocumentScene.construction]
            ) { $0.urgency = .urgent }
            #expect(draft.state == .draft && draft.creator == s.drafter.name && draft.number == 0)

            // Review: the chairman returns it with comments, the drafter revises, the chairman approves.
            try await s.drafter.does(.submit, to: draft)
            #expect(await s.drafter.cannot(.approve, draft)?.code == .permissionDenied)
            #expect(await s.chairman.cannot(.return, draft)?.reason == "REASON_REQUIRED")
            try await s.chairman.does(.return, to: draft) { $0.comment = "Bổ sung thành phần Ban Chỉ đạo" }
            let revised = try await s.drafter.documents.updateDocument(
                .with {
                    $0.document = .with {
                        $0.name = draft.name; $0.subject = "Về việc kiện toàn Ban Chỉ đạo chuyển đổi số tỉnh"
                    }
                    $0.updateMask = .init(protoPaths: ["subject"])
                }, metadata: s.drafter.session)
            #expect(revised.subject == "Về việc kiện toàn Ban Chỉ đạo chuyển đổi số tỉnh")
            try await s.drafter.does(.submit, to: draft)
            let approved = try await s.chairman.does(.approve, to: draft)
            #expect(approved.state == .approved && approved.approver == s.chairman.name)
            #expect(
                await failure {
                    _ = try await s.drafter.documents.updateDocument(
                        .with {
                            $0.document = .with {
                                $0.name = draft.name; $0.subject = "x"
                            }
                            $0.updateMask = .init(protoPaths: ["subject"])
                        }, metadata: s.drafter.session)
                }?.reason == "NOT_A_DRAFT")

            // The vice-chairman signs for the chairman, under a delegation recorded in identity.
            let undelegated = await s.viceChairman.cannot(.sign, draft) { $0.onBehalfOf = s.chairman.name }
            #expect(undelegated?.reason == "NO_DELEGATION")
            _ = try await scene.identity.createDelegation(
                .with {
                    $0.parent = s.chairman.name
                    $0.delegation = .with {
                        $0.kind = .kt; $0.delegate = s.viceChairman.name; $0.scopes = [.signDocuments]
                        $0.startTime = .init(date: Date().addingTimeInterval(-60))
                        $0.endTime = .init(date: Date().addingTimeInterval(86_400))
                        $0.basis = "Quyết định số 12/QĐ-UBND"
                    }
                }, metadata: s.chairman.session)
            #expect(await s.drafter.cannot(.sign, draft)?.code == .permissionDenied)
            let signed = try await s.viceChairman.does(.sign, to: draft) { $0.onBehalfOf = s.chairman.name }
            #expect(signed.signer == s.viceChairman.name && signed.signatureBlock == ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"])

            // The clerk numbers and releases it; a drafter cannot.
            #expect(await s.drafter.cannot(.release, draft)?.code == .permissionDenied)
            let released = try await s.clerk.does(.release, to: draft)
            #expect(released.state == .released && released.number == 1 && released.code == "01/QĐ-UBND")
            #expect(released.recipientStatuses.map(\.status) == [.arrived, .arrived])

            // Each department has it in its incoming register, numbered the same day.
            let arrived = try await s.healthClerk.documentsOf(DocumentScene.health, .incoming)
            #expect(arrived.count == 1)
            let copy = arrived[0]
            #expect(copy.state == .registered && copy.number == 1 && copy.code == "01/QĐ-UBND")
            #expect(copy.sender == DocumentScene.committee && copy.senderName == "Ủy ban nhân dân tỉnh")
            #expect(copy.signatureBlock == ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"] && copy.urgency == .urgent)
            // A paper letter registered by hand takes the next number of the same series.
            let paper = try await scene.documents.registerIncomingDocument(
                .with {
                    $0.parent = DocumentScene.health
                    $0.document = .with {
                        $0.documentType = .officialLetter; $0.subject = "Về việc báo cáo số liệu tiêm chủng"
                    }
                    $0.senderName = "Bộ Y tế"; $0.code = "123/BYT-DP"
                    $0.promulgationTime = .init(date: Date().addingTimeInterval(-86_400))
                }, metadata: s.healthClerk.session)
            #expect(paper.number == 2 && paper.state == .accepted && paper.direction == .incoming)

            // Health accepts it, its director directs it to a specialist, who finishes it.
            #expect(await s.healthSpecialist.cannot(.accept, copy)?.code == .permissionDenied)
            try await s.healthClerk.does(.accept, to: copy)
            // Trailing closures are kept out of #expect: inside it, one was seen to reach a later call.
            let outsider = await s.healthDirector.cannot(.direct, copy) {
                $0.steering = .with {
                    $0.comment = "Giao chủ trì"; $0.lead = s.drafter.name
                }
            }
            #expect(outsider?.field == "steering.lead")
            let directed = try await s.healthDirector.does(.direct, to: copy) {
                $0.steering = .with {
                    $0.comment = "Giao Phòng Nghiệp vụ Y chủ trì, tham mưu"; $0.lead = s.healthSpecialist.name
                    $0.deadline = .init(date: Date().addingTimeInterval(7 * 86_400))
                }
            }
            #expect(directed.state == .directed && directed.steering.leader == s.healthDirector.name)
            #expect(await s.healthClerk.cannot(.start, copy)?.code == .permissionDenied)
            try await s.healthSpecialist.does(.start, to: copy)
            let finished = try await s.healthSpecialist.does(.finish, to: copy) { $0.comment = "Đã tham mưu" }
            #expect(finished.state == .finished && finished.exchangeStatus == .finished)

            // Construction refuses its copy, with the reason.
            let constructionCopy = try #require(
                try await s.constructionClerk.documentsOf(DocumentScene.construction, .incoming).first)
            #expect(await s.constructionClerk.cannot(.reject, constructionCopy)?.reason == "REASON_REQUIRED")
            try await s.constructionClerk.does(.reject, to: constructionCopy) { $0.comment = "Gửi nhầm đơn vị" }

            // The committee sees where its decision stands at each department.
            let seen = try await s.drafter.reads(draft)
            let statuses = Dictionary(uniqueKeysWithValues: seen.recipientStatuses.map { ($0.agency, $0) })
            #expect(statuses[DocumentScene.health]?.status == .finished)
            #expect(
                statuses[DocumentScene.construction]?.status == .rejected
                    && statuses[DocumentScene.construction]?.description_p == "Gửi nhầm đơn vị")
            let events = try await scene.documents.listDocumentEvents(
                .with { $0.name = draft.name }, metadata: s.drafter.session
            ).events
            #expect(events.map(\.action) == [.submit, .return, .submit, .approve, .sign, .release])
            #expect(events[1].comment == "Bổ sung thành phần Ban Chỉ đạo" && events[4].actor == s.viceChairman.name)

            // Nobody outside the committee reads its documents; citizens see none.
            #expect(await failure { _ = try await s.healthDirector.reads(draft) }?.code == .permissionDenied)
            let citizen = try await scene.citizen()
            #expect(
                await failure { _ = try await citizen.documentsOf(DocumentScene.committee) }?.code == .permissionDenied)
        }
    }

    /// 200 releases at once on one register: numbers 1 to 200, no gap and no duplicate, at the
    /// sender and in the recipient's incoming register.
    @Test(arguments: TestDatabases.engines)
    func concurrentReleasesNumberWithoutGapsOrDuplicates(engine: Engine) async throws {
        try await withScene(engine: engine) { scene in
            let s = try await DocumentScene.make(scene)
            try await withTestClient(port: scene.stack.ports["documents"]!) { client in
                let documents = Documents(wrapping: client)
                // Drafted, approved and signed ten at a time, released all at once.
                var signed: [OfficialDocument] = []
                for batch in stride(from: 0, to: 200, by: 10) {
                    signed += try await withThrowingTaskGroup(of: OfficialDocument.self) { group in
                        for index in batch..<batch + 10 {
                            group.addTask { try await s.signedNotice("Thông báo số \(index)", via: documents) }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                }
                let released = try await withThrowingTaskGroup(of: OfficialDocument.self) { group in
                    for draft in signed {
                        group.addTask {
                            try await documents.transitionDocument(
                                .with {
                                    $0.name = draft.name; $0.action = .release
                                }, metadata: s.clerk.session)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(released.map(\.number).sorted() == Array(1...200))
                #expect(Set(released.map(\.code)).count == 200 && released.allSatisfy { $0.code.hasSuffix("/TB-UBND") })
                var incoming: [Int32] = []
                var token = ""
                repeat {
                    let page = try await documents.listDocuments(
                        .with {
                            $0.parent = DocumentScene.health; $0.direction = .incoming; $0.pageSize = 1000
                            $0.pageToken = token
                        }, metadata: s.healthClerk.session)
                    incoming += page.documents.map(\.number)
                    token = page.nextPageToken
                } while !token.isEmpty
                #expect(incoming.sorted() == Array(1...200))
            }
        }
    }

    /// Steps out of order, missing reasons and documents with nowhere to go get clear errors
    /// and change nothing.
    @Test func wrongStepsAreRefusedAndChangeNothing() async throws {
        try await withScene { scene in
            let s = try await DocumentScene.make(scene)
            let nowhere = try await s.drafter.drafts(.notice, "Thông báo nội bộ", at: DocumentScene.committee, to: [])
            #expect(await s.chairman.cannot(.approve, nowhere)?.reason == "ILLEGAL_TRANSITION")
            // A retried step gets its first answer, not "illegal transition".
            let submitted = try await s.drafter.does(.submit, to: nowhere) { $0.requestID = "submit-1" }
            let retried = try await s.drafter.does(.submit, to: nowhere) { $0.requestID = "submit-1" }
            #expect(retried == submitted && retried.state == .inReview)
            // Operators' tooling sees no document's contents.
            try await withTestClient(port: scene.stack.ports["documents"]!) { client in
                #expect(
                    await failure {
                        _ = try await Documents(wrapping: client).getDocument(.with { $0.name = nowhere.name })
                    }?.code == .notFound)
            }
            try await s.chairman.does(.approve, to: nowhere)
            try await s.chairman.does(.sign, to: nowhere)
            #expect(await s.clerk.cannot(.release, nowhere)?.reason == "NO_RECIPIENTS")
            #expect(try await s.drafter.reads(nowhere).state == .signed)
            #expect(
                await failure {
                    _ = try await s.drafter.drafts(
                        .notice, "x", at: DocumentScene.committee, to: ["agencies/000.00.99.H41"])
                } == Failure(code: .invalidArgument, reason: "AGENCY_NOT_FOUND", field: "document.recipients[0]"))
            #expect(
                await failure {
                    _ = try await s.drafter.drafts(.notice, " ", at: DocumentScene.committee, to: [])
                } == Failure(code: .invalidArgument, reason: "INVALID_DOCUMENT", field: "document.subject"))
            #expect(
                await s.chairman.cannot(.unspecified, nowhere)
                    == Failure(code: .invalidArgument, reason: "INVALID_ACTION", field: "action"))
            // A classified document is shown only to officials whose clearance reaches its level,
            // whatever their role.
            let secret = try await s.chairman.drafts(
                .report, "Báo cáo mật", at: DocumentScene.committee, to: []
            ) { $0.confidentiality = .confidential }
            #expect(await failure { _ = try await s.drafter.reads(secret) }?.code == .notFound)
            #expect(await failure { _ = try await s.viceChairman.reads(secret) }?.code == .notFound)
            #expect(try await s.drafter.documentsOf(DocumentScene.committee).map(\.name).contains(secret.name) == false)
            #expect(try await s.clerk.reads(secret).subject == "Báo cáo mật")
            let topSecret = try await s.chairman.drafts(.report, "Báo cáo tối mật", at: DocumentScene.committee, to: [])
            {
                $0.confidentiality = .secret
            }
            #expect(await failure { _ = try await s.clerk.reads(topSecret) }?.code == .notFound)
            // Nobody marks a document above their own clearance.
            let tooHigh = await failure {
                _ = try await s.drafter.drafts(.report, "Báo cáo", at: DocumentScene.committee, to: []) {
                    $0.confidentiality = .confidential
                }
            }
            #expect(tooHigh?.code == .permissionDenied && tooHigh?.reason == "CLEARANCE_REQUIRED")
            // A lowered clearance ends the clerk's sessions at once, and a new one carries it.
            try await withTestClient(port: scene.stack.ports["identity"]!) { client in
                _ = try await Identity(wrapping: client).updatePerson(
                    .with {
                        $0.person = .with {
                            $0.name = s.clerk.name; $0.clearance = .unspecified
                        }
                        $0.updateMask = .with { $0.paths = ["clearance"] }
                    })
            }
            #expect(await failure { _ = try await s.clerk.reads(secret) }?.code == .unauthenticated)
            let clerk = try await scene.signIn("vt@ubnd.vn", person: s.clerk.name)
            #expect(await failure { _ = try await clerk.reads(secret) }?.code == .notFound)
        }
    }

    /// The documents service keeps everything across a restart, and its registers go on from
    /// where they were.
    @Test func aRestartKeepsDocumentsEventsAndRegisters() async throws {
        let verifier = TokenVerifier()
        try await withIdentity(verifier: verifier) { identityPort, _ in
            // A clerk of the Department of Health registers; operators' tooling may not.
            let clerk = try await withTestClient(port: identityPort) { client in
                let identity = Identity(wrapping: client)
                _ = try await identity.createAgency(
                    .with { $0.agency = agency("000.00.06.H41", "Sở Y tế", abbreviation: "SYT") })
                _ = try await identity.createOfficial(
                    .with {
                        $0.person = .with {
                            $0.displayName = "Văn thư"; $0.email = "vt@syt.vn"; $0.agency = DocumentScene.health
                            $0.roles = [.clerk]
                        }
                        $0.password = goodPassword
                    })
                return try await signIn(identity, "vt@syt.vn")
            }
            let database = try await TestDatabases.makeURL(.sqlite)
            let arguments = ["--peers.identity=127.0.0.1:\(identityPort)", "--database.url=\(database)"]
            func register(_ subject: String, on port: Int) async throws -> OfficialDocument {
                try await withTestClient(port: port) { client in
                    try await Documents(wrapping: client).registerIncomingDocument(
                        .with {
                            $0.parent = DocumentScene.health
                            $0.document = .with {
                                $0.documentType = .officialLetter; $0.subject = subject
                            }
                            $0.senderName = "Bộ Y tế"; $0.code = "1/BYT-VP"; $0.promulgationTime = .init(date: Date())
                        }, metadata: clerk)
                }
            }
            let first = try await withProcess(
                "documents", keys: DocumentsApp.keys, arguments: arguments, verifier: verifier,
                build: DocumentsApp.build
            ) { try await register("Trước khi khởi động lại", on: $0.port) }
            try await withProcess(
                "documents", keys: DocumentsApp.keys, arguments: arguments, verifier: verifier,
                build: DocumentsApp.build
            ) { documents in
                let second = try await register("Sau khi khởi động lại", on: documents.port)
                #expect(first.number == 1 && second.number == 2)
                try await withTestClient(port: documents.port) { client in
                    let again = try await Documents(wrapping: client).getDocument(
                        .with { $0.name = first.name }, metadata: clerk)
                    #expect(again == first)
                    let events = try await Documents(wrapping: client).listDocumentEvents(
                        .with { $0.name = first.name }, metadata: clerk
                    ).events
                    #expect(events.map(\.action) == [.accept])
                }
            }
        }
    }
}

/// Signatures a third party can check, files kept once and checked on the way out, and
/// tampering found.
@Suite struct DocumentSignatureTests {
    /// Runs `openssl cms -verify` on `form` with the test CA; true when it verifies.
    func opensslVerifies(_ form: Egov_Documents_V1_ExportSignedDocumentResponse.SignedForm) throws -> Bool {
        let directory = temporaryDirectory("cms")
        try form.signature.cms.write(to: URL(fileURLWithPath: "\(directory)/signature.der"))
        try form.content.write(to: URL(fileURLWithPath: "\(directory)/form.txt"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "cms", "-verify", "-inform", "DER", "-in", "\(directory)/signature.der", "-content",
            "\(directory)/form.txt", "-binary", "-CAfile", "\(TestPKI.directory)/ca.pem", "-out", "/dev/null",
        ]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// Runs `openssl` with `arguments` in `directory`; throws unless it succeeds.
    func openssl(_ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ConfigError("openssl \(arguments) failed") }
    }

    /// A certificate for `name` issued by the CA in `caDirectory` (`ca.pem`, `ca.key`) the
    /// way a province's authority issues one: RSA 2048, the holder named in its subject only.
    func issue(_ name: String, by caDirectory: String, in directory: String) throws -> (
        certificate: String, key: String
    ) {
        try openssl(
            [
                "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-subj",
                "/C=VN/O=UBND tinh Tuyen Quang/CN=\(name)", "-out", "\(name).csr",
            ], in: directory)
        try openssl(
            [
                "x509", "-req", "-in", "\(name).csr", "-CA", "\(caDirectory)/ca.pem", "-CAkey", "\(caDirectory)/ca.key",
                "-set_serial", "0x" + String(UInt64.random(in: 1...UInt64.max / 2), radix: 16), "-days", "365", "-out",
                "\(name).pem",
            ], in: directory)
        return ("\(directory)/\(name).pem", "\(directory)/\(name).key")
    }

    /// In production the province's authority issues the certificates: with no CA key the
    /// platform signs only with imported ones, and they verify on arrival and with openssl.
    @Test func importedCertificatesFromTheProvincesAuthoritySign() async throws {
        let directory = temporaryDirectory("import")
        try await withScene(documentsArguments: ["--signing.ca_key=\(directory)/none.key"]) { scene in
            let s = try await DocumentScene.make(scene)
            let draft = try await s.drafter.drafts(
                .decision, "Về việc ban hành quy chế", at: DocumentScene.committee, to: [DocumentScene.health])
            try await s.drafter.does(.submit, to: draft)
            try await s.chairman.does(.approve, to: draft)
            #expect(await s.chairman.cannot(.sign, draft)?.reason == "SIGNING_CERTIFICATE_MISSING")

            let documents = scene.stack.documents
            func importing(_ subject: String, _ files: (certificate: String, key: String)) async throws -> Int32 {
                let command = try ImportSigningCertificate.parse([
                    "--subject", subject, "--certificate", files.certificate, "--key", files.key,
                    "--data_dir=\(documents.dataDirectory)", "--database.url=\(documents.databaseURL)",
                    "--signing.ca_cert=\(TestPKI.directory)/ca.pem",
                ])
                do {
                    try await command.run()
                    return 0
                } catch let code as ExitCode {
                    return code.rawValue
                }
            }
            // A certificate from another authority, or with someone else's key, is refused.
            let stranger = temporaryDirectory("stranger-ca")
            try openssl(
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    "ca.key", "-subj", "/CN=Another CA", "-days", "30", "-out", "ca.pem",
                ], in: stranger)
            let foreign = try issue("ct-foreign", by: stranger, in: directory)
            #expect(try await importing(s.chairman.name, foreign) == 1)
            let chairman = try issue("ct", by: TestPKI.directory, in: directory)
            let committee = try issue("ubnd", by: TestPKI.directory, in: directory)
            #expect(try await importing(s.chairman.name, (chairman.certificate, committee.key)) == 1)
            #expect(try await importing("someone", chairman) == 1)

            #expect(try await importing(s.chairman.name, chairman) == 0)
            #expect(try await importing(DocumentScene.committee, committee) == 0)
            let signed = try await s.chairman.does(.sign, to: draft)
            #expect(signed.signatures.first?.certificate.contains("BEGIN CERTIFICATE") == true)
            _ = try await s.clerk.does(.release, to: draft)
            let copy = try #require(try await s.healthClerk.documentsOf(DocumentScene.health, .incoming).first)
            #expect(copy.integrity == .verified, "\(copy.integrityDetail)")
            let export = try await scene.documents.exportSignedDocument(
                .with { $0.name = copy.name }, metadata: s.healthClerk.session)
            #expect(export.forms.count == 2)
            for form in export.forms { #expect(try opensslVerifies(form)) }
        }
    }

    /// The bytes of a document's file.
    func download(_ scene: Scene, _ name: String, _ sha256: String, as actor: Actor) async throws -> [UInt8] {
        try await scene.documents.downloadDocumentAttachment(
            .with {
                $0.name = name; $0.sha256 = sha256
            }, metadata: actor.session
        ) { response in
            var bytes: [UInt8] = []
            for try await message in response.messages {
                if case .chunk(let chunk) = message.part { bytes += chunk }
            }
            return bytes
        }
    }

    /// Uploads `content` as a PDF to the draft `name`.
    func upload(_ scene: Scene, _ content: [UInt8], to name: String, as actor: Actor) async throws
        -> Egov_Documents_V1_DocumentAttachment
    {
        try await scene.documents.uploadDocumentAttachment(metadata: actor.session) { writer in
            try await writer.write(
                .with {
                    $0.header = .with {
                        $0.name = name; $0.fileName = "quyet-dinh.pdf"; $0.contentType = "application/pdf"
                    }
                })
            try await writer.write(.with { $0.chunk = Data(content) })
        }
    }

    @Test func signaturesVerifyWithOpenSSLAndTamperingIsFlagged() async throws {
        try await withScene { scene in
            let s = try await DocumentScene.make(scene)
            let draft = try await s.drafter.drafts(
                .decision, "Về việc công bố thủ tục hành chính", at: DocumentScene.committee,
                to: [DocumentScene.health])
            let pdf = Array("%PDF-1.7 quyết định công bố".utf8)
            let stored = try await upload(scene, pdf, to: draft.name, as: s.drafter)
            #expect(stored.sizeBytes == Int64(pdf.count) && stored.uploadedBy == s.drafter.name)
            try await s.drafter.does(.submit, to: draft)
            try await s.chairman.does(.approve, to: draft)
            let signed = try await s.chairman.does(.sign, to: draft)
            #expect(signed.signatures.map(\.role) == [.signer] && signed.signatures[0].signer == s.chairman.name)
            let released = try await s.clerk.does(.release, to: draft)
            #expect(released.signatures.map(\.role) == [.signer, .agency])

            // The recipient checked both signatures on arrival, and has the file.
            let copy = try #require(try await s.healthClerk.documentsOf(DocumentScene.health, .incoming).first)
            #expect(copy.integrity == .verified, "\(copy.integrityDetail)")
            #expect(copy.attachments.map(\.sha256) == [stored.sha256])
            #expect(try await download(scene, copy.name, stored.sha256, as: s.healthClerk) == pdf)

            // openssl, outside the platform, verifies both signatures with the CA alone.
            let export = try await scene.documents.exportSignedDocument(
                .with { $0.name = copy.name }, metadata: s.healthClerk.session)
            #expect(export.forms.count == 2)
            for form in export.forms { #expect(try opensslVerifies(form)) }

            // One changed word in the stored copy: the platform flags it, and openssl agrees.
            let database = try Store(url: scene.stack.documents.databaseURL, logger: .init(label: "test"), poolSize: 1)
            try await database.write { tx in
                try await tx.database.execute(
                    """
                    UPDATE documents SET content = 'Điều 1. Sửa đổi trái phép'
                    WHERE id = \(bind: DocumentRepository.parts(copy.name).1)
                    """)
            }
            await database.close()
            let checked = try await scene.documents.verifyDocument(
                .with { $0.name = copy.name }, metadata: s.healthClerk.session)
            #expect(checked.integrity == .tampered && checked.integrityDetail.contains("signature"))
            let tampered = try await scene.documents.exportSignedDocument(
                .with { $0.name = copy.name }, metadata: s.healthClerk.session)
            #expect(try tampered.forms.allSatisfy { try !opensslVerifies($0) })

            // A changed byte in the stored file: flagged, and never sent as the original.
            let file =
                "\(scene.stack.documents.dataDirectory)/attachments/documents/\(stored.sha256.prefix(2))/\(stored.sha256)"
            try Data("%PDF-1.7 quyết định giả mạo".utf8).write(to: URL(fileURLWithPath: file))
            let sender = try await scene.documents.verifyDocument(
                .with { $0.name = draft.name }, metadata: s.drafter.session)
            #expect(sender.integrity == .tampered && sender.integrityDetail.contains("quyet-dinh.pdf"))
            #expect(
                await failure { _ = try await download(scene, draft.name, stored.sha256, as: s.drafter) }?.code
                    == .dataLoss)
        }
    }
}

@Suite struct DocumentSearchTests {
    /// Officials find documents by words with or without diacritics, best match first, on
    /// both engines; what they may not read is not found.
    @Test(arguments: TestDatabases.engines)
    func searchFindsWordsWithOrWithoutDiacriticsBestFirst(engine: Engine) async throws {
        try await withScene(engine: engine) { scene in
            let s = try await DocumentScene.make(scene)
            func draft(_ type: Egov_Documents_V1_DocumentType, _ subject: String, _ content: String) async throws
                -> OfficialDocument
            {
                try await s.drafter.drafts(type, subject, at: DocumentScene.committee, to: []) { $0.content = content }
            }
            let plan = try await draft(
                .decision, "Về việc phê duyệt Kế hoạch chuyển đổi số năm 2027",
                "Phê duyệt kế hoạch chuyển đổi số. Các sở triển khai chuyển đổi số trên địa bàn tỉnh.")
            let meeting = try await draft(
                .plan, "Kế hoạch tổ chức hội nghị trực tuyến", "Hội nghị bàn về chuyển đổi số cấp xã.")
            let report = try await draft(.report, "Báo cáo tình hình đầu tư công", "Giải ngân vốn đầu tư công quý III.")
            _ = try await s.chairman.drafts(
                .report, "Báo cáo mật về chuyển đổi số", at: DocumentScene.committee, to: []
            ) {
                $0.confidentiality = .secret
            }
            func search(
                _ query: String, as actor: Actor? = nil,
                _ change: (inout Egov_Documents_V1_SearchDocumentsRequest) -> Void = { _ in }
            ) async throws -> [String] {
                var request = Egov_Documents_V1_SearchDocumentsRequest.with {
                    $0.parent = DocumentScene.committee; $0.query = query
                }
                change(&request)
                return try await scene.documents.searchDocuments(request, metadata: (actor ?? s.drafter).session)
                    .documents.map(\.name)
            }
            #expect(try await search("chuyen doi so") == [plan.name, meeting.name])
            #expect(try await search("chuyển đổi số") == [plan.name, meeting.name])
            #expect(try await search("quyet dinh") == [plan.name])
            #expect(try await search("ĐẦU TƯ") == [report.name])
            #expect(try await search("đầu tư") == [report.name])
            // A word also finds the longer words it begins; every word must be there.
            #expect(try await search("hoi ngh") == [meeting.name])
            #expect(try await search("dau tu chuyen").isEmpty)
            #expect(try await search("chuyen doi so") { $0.documentType = .plan } == [meeting.name])
            // Query syntax is not passed on: quotes and stars are only separators.
            #expect(try await search(#""dau" tu*"#) == [report.name])
            // The chairman, a leader, also finds the secret report.
            #expect(try await search("chuyen doi so", as: s.chairman).count == 3)
            // Pages follow the ranking.
            let first = try await scene.documents.searchDocuments(
                .with {
                    $0.parent = DocumentScene.committee; $0.query = "chuyen doi so"; $0.pageSize = 1
                }, metadata: s.drafter.session)
            #expect(first.documents.map(\.name) == [plan.name] && !first.nextPageToken.isEmpty)
            let second = try await scene.documents.searchDocuments(
                .with {
                    $0.parent = DocumentScene.committee; $0.query = "chuyen doi so"; $0.pageSize = 1
                    $0.pageToken = first.nextPageToken
                }, metadata: s.drafter.session)
            #expect(second.documents.map(\.name) == [meeting.name])
            #expect(
                await failure { _ = try await search("  ") }
                    == Failure(code: .invalidArgument, reason: "INVALID_QUERY", field: "query"))
            #expect(
                await failure { _ = try await search("chuyen doi so", as: s.healthDirector) }?.code
                    == .permissionDenied)
        }
    }
}

@Suite struct DocumentRevisionTests {
    /// An update (business type 2) sends a released document to one more department and asks
    /// the one that has it to take note: accepting keeps its copy as it was (15).
    @Test func anUpdateReachesNewRecipientsAndIsAnsweredByTheOthers() async throws {
        try await withScene { scene in
            let s = try await DocumentScene.make(scene)
            let notice = try await s.signedNotice("Về việc tổ chức hội nghị trực tuyến", via: scene.documents)
            _ = try await s.clerk.does(.release, to: notice)
            #expect(await s.clerk.cannot(.update, notice)?.reason == "REASON_REQUIRED")
            #expect(
                await s.clerk.cannot(.update, notice) {
                    $0.comment = "Bổ sung nơi nhận"; $0.addRecipients = [DocumentScene.health]
                }?.field == "add_recipients[0]")
            #expect(await s.drafter.cannot(.update, notice) { $0.comment = "x" }?.code == .permissionDenied)
            let updated = try await s.clerk.does(.update, to: notice) {
                $0.comment = "Bổ sung nơi nhận: Sở Xây dựng"; $0.addRecipients = [DocumentScene.construction]
            }
            #expect(updated.state == .released)
            #expect(updated.recipientStatuses.map(\.agency) == [DocumentScene.health, DocumentScene.construction])
            #expect(updated.recipientStatuses.allSatisfy { $0.status == .arrived })
            // Construction has its copy now, with the document's signatures intact.
            let copy = try #require(
                try await s.constructionClerk.documentsOf(DocumentScene.construction, .incoming).first)
            #expect(copy.code == updated.code && copy.integrity == .verified)
            // Health is asked to take note, and its copy stays when it accepts.
            let held = try #require(try await s.healthClerk.documentsOf(DocumentScene.health, .incoming).first)
            #expect(
                held.pendingRevision.kind == .update && held.pendingRevision.reason == "Bổ sung nơi nhận: Sở Xây dựng")
            let accepted = try await s.healthClerk.does(.acceptRevision, to: held)
            #expect(accepted.state == .registered && !accepted.hasPendingRevision)
            let seen = try await s.clerk.reads(notice).recipientStatuses
            #expect(seen.first { $0.agency == DocumentScene.health }?.status == .updateAccepted)
        }
    }

    /// The committee recalls one decision and replaces another: each department accepts or
    /// refuses, and the committee sees every answer (13 asked, 15 accepted, 16 refused).
    @Test func recallAndReplaceAreAnsweredByEachRecipient() async throws {
        try await withScene { scene in
            let s = try await DocumentScene.make(scene)
            let first = try await s.signedDecision("Về việc thành lập Tổ công tác")
            try await s.clerk.does(.release, to: first)
            func copy(of document: OfficialDocument, at agency: String, by clerk: Actor) async throws
                -> OfficialDocument
            {
                let statuses = try await s.drafter.reads(document).recipientStatuses
                let name = try #require(statuses.first { $0.agency == agency }?.incomingDocument)
                return try await clerk.documents.getDocument(.with { $0.name = name }, metadata: clerk.session)
            }
            let byDrafter = await s.drafter.cannot(.recall, first) { $0.comment = "Không đúng" }
            #expect(byDrafter?.code == .permissionDenied)
            #expect(await s.clerk.cannot(.recall, first)?.reason == "REASON_REQUIRED")
            let recalled = try await s.clerk.does(.recall, to: first) { $0.comment = "Ban hành chưa đúng thẩm quyền" }
            #expect(recalled.state == .recalled && recalled.recipientStatuses.allSatisfy { $0.status == .recalled })

            let healthCopy = try await copy(of: first, at: DocumentScene.health, by: s.healthClerk)
            #expect(healthCopy.pendingRevision.kind == .recall)
            #expect(healthCopy.pendingRevision.reason == "Ban hành chưa đúng thẩm quyền")
            let withdrawn = try await s.healthClerk.does(.acceptRevision, to: healthCopy)
            #expect(withdrawn.state == .recalled && !withdrawn.hasPendingRevision)
            let constructionCopy = try await copy(of: first, at: DocumentScene.construction, by: s.constructionClerk)
            #expect(await s.constructionClerk.cannot(.rejectRevision, constructionCopy)?.reason == "REASON_REQUIRED")
            let kept = try await s.constructionClerk.does(.rejectRevision, to: constructionCopy) {
                $0.comment = "Đã triển khai, đề nghị giữ nguyên"
            }
            #expect(kept.state == .registered && !kept.hasPendingRevision)
            #expect(await s.constructionClerk.cannot(.acceptRevision, kept)?.reason == "NO_REVISION")
            let answers = Dictionary(
                uniqueKeysWithValues: try await s.drafter.reads(first).recipientStatuses.map { ($0.agency, $0) })
            #expect(answers[DocumentScene.health]?.status == .updateAccepted)
            #expect(
                answers[DocumentScene.construction]?.status == .updateRejected
                    && answers[DocumentScene.construction]?.description_p == "Đã triển khai, đề nghị giữ nguyên")

            // A corrected decision replaces a second one: releasing it recalls the old one and
            // points each recipient at the replacement's copy.
            let second = try await s.signedDecision("Về việc ban hành Quy chế làm việc")
            let old = try await s.clerk.does(.release, to: second)
            #expect(
                await failure {
                    _ = try await s.drafter.drafts(.decision, "x", at: DocumentScene.committee, to: []) {
                        $0.replaces = first.name
                    }
                } == Failure(code: .invalidArgument, reason: "INVALID_REPLACES", field: "document.replaces"))
            let correction = try await s.drafter.drafts(
                .decision, "Về việc ban hành Quy chế làm việc (thay thế)", at: DocumentScene.committee,
                to: [DocumentScene.health]
            ) { $0.replaces = second.name }
            try await s.drafter.does(.submit, to: correction)
            try await s.chairman.does(.approve, to: correction)
            try await s.chairman.does(.sign, to: correction)
            let replacement = try await s.clerk.does(.release, to: correction)
            #expect(try await s.drafter.reads(old).state == .recalled)
            let oldCopy = try await copy(of: old, at: DocumentScene.health, by: s.healthClerk)
            #expect(oldCopy.pendingRevision.kind == .replace)
            #expect(oldCopy.pendingRevision.replacement == replacement.recipientStatuses[0].incomingDocument)
            #expect(oldCopy.pendingRevision.reason == "Thay thế bởi văn bản số \(replacement.code)")
            // Construction got no replacement: it is asked to withdraw its copy all the same.
            let constructionOld = try await copy(of: old, at: DocumentScene.construction, by: s.constructionClerk)
            #expect(
                constructionOld.pendingRevision.kind == .replace && constructionOld.pendingRevision.replacement.isEmpty)
        }
    }
}

@Suite struct DocumentReplicaTests {
    /// Two replicas of egov-documents on one PostgreSQL release at once: one register, no gap,
    /// no duplicate.
    @Test(.enabled(if: TestDatabases.engines.contains(.postgres)))
    func twoReplicasOnOnePostgreSQLNumberWithoutGapsOrDuplicates() async throws {
        try await withScene(engine: .postgres) { scene in
            let s = try await DocumentScene.make(scene)
            try await withProcess(
                "documents", keys: DocumentsApp.keys,
                arguments: [
                    "--peers.identity=127.0.0.1:\(scene.stack.ports["identity"]!)",
                    "--database.url=\(scene.stack.documents.databaseURL)",
                    "--signing.ca_cert=\(TestPKI.directory)/ca.pem", "--signing.ca_key=\(TestPKI.directory)/ca.key",
                ], build: DocumentsApp.build
            ) { replica in
                try await withTestClient(port: scene.stack.ports["documents"]!) { first in
                    try await withTestClient(port: replica.port) { second in
                        let replicas = [Documents(wrapping: first), Documents(wrapping: second)]
                        var signed: [OfficialDocument] = []
                        for index in 0..<60 {
                            signed.append(try await s.signedNotice("Thông báo số \(index)", via: replicas[index % 2]))
                        }
                        let numbers = try await withThrowingTaskGroup(of: Int32.self) { group in
                            for (index, draft) in signed.enumerated() {
                                group.addTask {
                                    try await replicas[index % 2].transitionDocument(
                                        .with {
                                            $0.name = draft.name; $0.action = .release
                                        }, metadata: s.clerk.session
                                    ).number
                                }
                            }
                            return try await group.reduce(into: []) { $0.append($1) }
                        }
                        #expect(numbers.sorted() == Array(1...60))
                    }
                }
            }
        }
    }
}

@Suite struct EdxmlTests {
    /// A released decision goes out as an edXML envelope and comes back in as an incoming
    /// document with the same code, subject, urgency, signer and files; the same envelope twice
    /// is refused, and a revocation envelope asks for the copy back.
    @Test func anEnvelopeRoundTripsAndItsRevocationFollows() async throws {
        try await withScene { scene in
            let s = try await DocumentScene.make(scene)
            let draft = try await s.drafter.drafts(
                .decision, "Về việc phê duyệt danh mục dự án <đầu tư> & \"công\"", at: DocumentScene.committee,
                to: [DocumentScene.construction]
            ) {
                $0.urgency = .veryUrgent; $0.content = "Điều 1. Phê duyệt..."
            }
            let pdf = Array("%PDF-1.7 danh mục dự án".utf8)
            let file = try await DocumentSignatureTests().upload(scene, pdf, to: draft.name, as: s.drafter)
            try await s.drafter.does(.submit, to: draft)
            try await s.chairman.does(.approve, to: draft)
            try await s.chairman.does(.sign, to: draft)
            let released = try await s.clerk.does(.release, to: draft)
            let export = try await scene.documents.exportEdxml(
                .with { $0.name = draft.name }, metadata: s.clerk.session)
            let xml = String(decoding: export.edxml, as: UTF8.self)
            #expect(xml.contains("<edXML:CodeNotation>QĐ-UBND</edXML:CodeNotation>"))
            #expect(xml.contains("<edXML:BussinessDocType>0</edXML:BussinessDocType>"))
            #expect(export.documentID.hasPrefix("000.00.00.H41,") && export.documentID.hasSuffix(",1/QĐ-UBND"))

            func importing(_ edxml: Data) async throws -> OfficialDocument {
                try await scene.documents.importEdxml(
                    .with {
                        $0.parent = DocumentScene.construction; $0.edxml = edxml
                    }, metadata: s.constructionClerk.session)
            }
            let before = try await s.constructionClerk.documentsOf(DocumentScene.construction, .incoming).count
            let imported = try await importing(export.edxml)
            #expect(imported.code == "1/QĐ-UBND" && imported.subject == released.subject)
            #expect(imported.urgency == .veryUrgent && imported.documentType == .decision)
            #expect(imported.senderName == "Ủy ban nhân dân tỉnh" && imported.signatureBlock == ["CHỦ TỊCH"])
            #expect(imported.attachments.map(\.sha256) == [file.sha256] && imported.number == Int32(before + 1))
            #expect(await failure { _ = try await importing(export.edxml) }?.code == .alreadyExists)

            let revocation = xml.replacingOccurrences(
                of: "<edXML:BussinessDocType>0</edXML:BussinessDocType><edXML:BussinessDocReason>Văn bản điện tử mới",
                with: "<edXML:BussinessDocType>1</edXML:BussinessDocType><edXML:BussinessDocReason>Thu hồi do sai sót")
            let update = xml.replacingOccurrences(
                of: "<edXML:BussinessDocType>0</edXML:BussinessDocType><edXML:BussinessDocReason>Văn bản điện tử mới",
                with: "<edXML:BussinessDocType>2</edXML:BussinessDocType><edXML:BussinessDocReason>Bổ sung nơi nhận")
            let updated = try await importing(Data(update.utf8))
            #expect(updated.name == imported.name && updated.pendingRevision.kind == .update)
            let recalled = try await importing(Data(revocation.utf8))
            #expect(recalled.name == imported.name && recalled.pendingRevision.reason == "Thu hồi do sai sót")
        }
    }

    /// A release to an agency outside the platform leaves as an edXML envelope through the
    /// national exchange, from the outbox: retried while the exchange is down, recorded on the
    /// document when taken; its recall follows; a classified document never goes out, and an
    /// envelope the exchange refuses is recorded and set aside.
    @Test func documentsForAgenciesOutsideThePlatformGoThroughTheNationalExchange() async throws {
        let exchange = try await RecordingHTTPServer(answers: [503])
        defer { Task { try? await exchange.close() } }
        let tokenFile = FileManager.default.temporaryDirectory.appendingPathComponent("exchange-\(UUID()).token").path
        try "tr4c-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tokenFile) }
        let office = "agencies/000.00.00.G01"
        try await withScene(documentsArguments: [
            "--exchange.url=http://127.0.0.1:\(exchange.port)/edxml", "--exchange.token_file=\(tokenFile)",
        ]) { scene in
            let s = try await DocumentScene.make(scene)
            try await withTestClient(port: scene.stack.ports["identity"]!) { client in
                let identity = Identity(wrapping: client)
                _ = try await identity.createAgency(
                    .with {
                        $0.agency = agency("000.00.00.G01", "Văn phòng Chính phủ", abbreviation: "VPCP")
                        $0.agency.kind = .centralBody; $0.agency.external = true
                    })
                // Nobody works there on this platform.
                #expect(
                    await failure {
                        _ = try await createOfficial(
                            scene.stack, email: "cv@vpcp.gov.vn", agency: office, roles: [.clerk])
                    }?.field == "person.agency")
            }
            func signed(_ subject: String, _ change: (inout OfficialDocument) -> Void = { _ in }) async throws
                -> OfficialDocument
            {
                let draft = try await s.chairman.drafts(
                    .report, subject, at: DocumentScene.committee, to: [office, DocumentScene.health], change)
                try await s.chairman.does(.submit, to: draft)
                try await s.chairman.does(.approve, to: draft)
                return try await s.chairman.does(.sign, to: draft)
            }
            let report = try await signed("Báo cáo kết quả chuyển đổi số năm 2026")
            let released = try await s.clerk.does(.release, to: report)
            // Health gets its copy at once; the office waits for the exchange, with no copy here.
            #expect(released.recipientStatuses.map(\.agency) == [office, DocumentScene.health])
            let waiting = released.recipientStatuses[0]
            #expect(waiting.external && waiting.status == .unspecified && waiting.incomingDocument.isEmpty)
            #expect(!waiting.hasSendTime && released.recipientStatuses[1].status == .arrived)

            func statusAtOffice(_ document: OfficialDocument) async throws -> Egov_Documents_V1_RecipientStatus {
                for _ in 0..<600 {
                    let status = try await s.clerk.reads(document).recipientStatuses.first { $0.agency == office }!
                    if status.hasSendTime || status.status != .unspecified
                        || status.description_p.hasPrefix("Trục liên thông từ chối")
                    {
                        return status
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                Issue.record("the exchange adapter never got to \(document.name)")
                return .init()
            }
            // The first try finds the exchange down (503); the relay tries again.
            let sent = try await statusAtOffice(report)
            #expect(sent.hasSendTime && sent.status == .unspecified)
            let requests = exchange.requests
            #expect(requests.count == 2 && requests.allSatisfy { $0.path == "/edxml" && $0.method == "POST" })
            #expect(requests[0].headers["idempotency-key"] == requests[1].headers["idempotency-key"])
            #expect(requests[1].headers["authorization"] == "Bearer tr4c-token")
            #expect(requests[1].headers["content-type"]?.hasPrefix("application/xml") == true)
            let envelope = try EdxmlEnvelope.parse(Data(requests[1].body))
            #expect(envelope.to.map(\.id) == ["000.00.00.G01"] && envelope.businessType == 0)
            #expect(envelope.subject == report.subject && envelope.codeNotation == "BC-UBND")

            // Its recall follows it out (business type 1), and the office's status is 13.
            try await s.chairman.does(.recall, to: report) { $0.comment = "Số liệu chưa đầy đủ" }
            for _ in 0..<600 where exchange.requests.count < 3 { try await Task.sleep(for: .milliseconds(100)) }
            let recall = try EdxmlEnvelope.parse(Data(exchange.requests[2].body))
            #expect(recall.businessType == 1 && recall.businessReason.hasSuffix("Số liệu chưa đầy đủ"))
            #expect(try await statusAtOffice(report).status == .recalled)

            // A classified document does not go outside.
            let secret = try await signed("Báo cáo mật") { $0.confidentiality = .confidential }
            #expect(await s.clerk.cannot(.release, secret)?.reason == "CONFIDENTIAL_NOT_EXCHANGED")

            // An envelope the exchange will never take is recorded on the document and set aside.
            exchange.answer([422])
            let refused = try await signed("Báo cáo bổ sung")
            _ = try await s.clerk.does(.release, to: refused)
            let verdict = try await statusAtOffice(refused)
            #expect(!verdict.hasSendTime && verdict.description_p.contains("HTTP 422"))
        }
    }

    /// Malformed or incomplete envelopes are refused naming the element, and nothing is
    /// registered.
    @Test func malformedEnvelopesNameTheElementAndRegisterNothing() async throws {
        try await withScene { scene in
            let s = try await DocumentScene.make(scene)
            let valid = EdxmlEnvelope(
                from: .init(id: "000.00.00.G22", name: "Văn phòng Chính phủ"),
                to: [.init(id: "000.00.06.H41", name: "Sở Y tế")],
                documentID: "000.00.00.G22,2026/11/30,7816/VPCP-KGVX",
                codeNumber: "7816", codeNotation: "VPCP-KGVX", place: "Hà Nội", promulgationDate: "2026/11/30",
                typeName: "Công văn", subject: "V/v triển khai tiêm chủng", content: "", competence: "KT. BỘ TRƯỞNG",
                position: "THỨ TRƯỞNG", fullName: "Nguyễn Văn A", priority: 1, businessType: 0,
                businessReason: "Văn bản điện tử mới", timestamp: "2026/11/30 10:00:00", files: []
            ).xml()
            func refusal(_ xml: String) async -> String? {
                do {
                    _ = try await scene.documents.importEdxml(
                        .with {
                            $0.parent = DocumentScene.health; $0.edxml = Data(xml.utf8)
                        }, metadata: s.healthClerk.session)
                    return nil
                } catch let error as RPCError {
                    let status = try? error.unpackGoogleRPCStatus()
                    let violation = status?.details.compactMap(\.badRequest).first?.violations.first
                    return violation.map { "\($0.field) \($0.violationDescription)" }
                } catch {
                    return "\(error)"
                }
            }
            let cases: [(String, String)] = [
                (
                    valid.replacingOccurrences(
                        of: "<edXML:Subject>V/v triển khai tiêm chủng</edXML:Subject>", with: ""),
                    "MessageHeader/Subject"
                ),
                (
                    valid.replacingOccurrences(
                        of: "2026/11/30</edXML:PromulgationDate>", with: "30-11-2026</edXML:PromulgationDate>"),
                    "MessageHeader/PromulgationInfo/PromulgationDate"
                ),
                (
                    valid.replacingOccurrences(
                        of: "<edXML:OrganId>000.00.06.H41</edXML:OrganId>",
                        with: "<edXML:OrganId>000.00.09.H41</edXML:OrganId>"),
                    "MessageHeader/To"
                ),
                (
                    valid.replacingOccurrences(
                        of: "<edXML:Priority>1</edXML:Priority>", with: "<edXML:Priority>9</edXML:Priority>"),
                    "MessageHeader/OtherInfo/Priority"
                ),
                (String(valid.prefix(400)), "not well-formed"),
                ("<root/>", "the root must be edXML"),
                (
                    valid.replacingOccurrences(of: "<edXML:CodeNumber>7816</edXML:CodeNumber>", with: ""),
                    "MessageHeader/Code/CodeNumber"
                ),
                (String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100), "too deep"),
            ]
            for (xml, element) in cases {
                let refused = await refusal(xml)
                #expect(
                    refused?.hasPrefix("edxml ") == true && refused?.contains(element) == true,
                    "\(element): \(refused ?? "accepted")")
            }
            #expect(try await s.healthClerk.documentsOf(DocumentScene.health, .incoming).isEmpty)
            #expect(await refusal(valid) == nil)
        }
    }
}

extension EdxmlTests {
    /// An envelope shaped like the national hub's samples (default namespace on the root,
    /// unprefixed files block, XML-DSig signature, trace before business block) reads whole.
    @Test func anEnvelopeShapedLikeTheHubsSamplesReads() throws {
        let sample = """
            <?xml version="1.0" encoding="UTF-8"?>
            <edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
              <edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
                <edXML:edXMLHeader>
                  <edXML:MessageHeader>
                    <edXML:From><edXML:OrganId>000.00.00.G22</edXML:OrganId><edXML:OrganName>Văn phòng Chính phủ</edXML:OrganName>
                      <edXML:OrganAdd>Số 1 Hoàng Hoa Thám, Ba Đình, Hà Nội</edXML:OrganAdd></edXML:From>
                    <edXML:To><edXML:OrganId>000.00.00.H41</edXML:OrganId><edXML:OrganName>UBND Tỉnh</edXML:OrganName></edXML:To>
                    <edXML:DocumentId>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</edXML:DocumentId>
                    <edXML:Code><edXML:CodeNumber>7816</edXML:CodeNumber><edXML:CodeNotation>VPCP-TTĐT</edXML:CodeNotation></edXML:Code>
                    <edXML:PromulgationInfo><edXML:Place>Hà Nội</edXML:Place><edXML:PromulgationDate>2019/04/11</edXML:PromulgationDate></edXML:PromulgationInfo>
                    <edXML:DocumentType><edXML:Type>1</edXML:Type><edXML:TypeDetail>0</edXML:TypeDetail><edXML:TypeName>Công văn</edXML:TypeName></edXML:DocumentType>
                    <edXML:Subject>V/v kết nối, liên thông phần mềm quản lý văn bản</edXML:Subject>
                    <edXML:Content><![CDATA[Nội dung <có> ký tự đặc biệt]]></edXML:Content>
                    <edXML:SignerInfo><edXML:Competence>TL. BỘ TRƯỞNG</edXML:Competence><edXML:Position>Cục trưởng</edXML:Position>
                      <edXML:FullName>Nguyễn Thành Phúc</edXML:FullName></edXML:SignerInfo>
                    <edXML:OtherInfo><edXML:Priority>2</edXML:Priority><edXML:Direction>false</edXML:Direction></edXML:OtherInfo>
                    <edXML:SteeringType>1</edXML:SteeringType>
                  </edXML:MessageHeader>
                  <edXML:TraceHeaderList>
                    <edXML:TraceHeader><edXML:OrganId>000.00.00.G22</edXML:OrganId><edXML:Timestamp>2019/04/11 08:00:00</edXML:Timestamp></edXML:TraceHeader>
                    <edXML:Bussiness><edXML:BussinessDocType>0</edXML:BussinessDocType><edXML:BussinessDocReason>Văn bản điện tử mới</edXML:BussinessDocReason></edXML:Bussiness>
                  </edXML:TraceHeaderList>
                  <Signature><SignedInfo><Reference URI=""><DigestValue>FwgIqsSYJshUS2+wlOM61L+q7Aw=</DigestValue></Reference></SignedInfo></Signature>
                </edXML:edXMLHeader>
              </edXML:edXMLEnvelope>
              <AttachmentEncoded>
                <Attachment><ContentId>cid:209</ContentId><AttachmentName>cong-van.pdf</AttachmentName>
                  <ContentType>application/pdf</ContentType><edXML:ContentTransferEncoded xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">JVBERi0xLjc=</edXML:ContentTransferEncoded></Attachment>
              </AttachmentEncoded>
            </edXML>
            """
        let envelope = try EdxmlEnvelope.parse(Data(sample.utf8))
        #expect(envelope.from == .init(id: "000.00.00.G22", name: "Văn phòng Chính phủ"))
        #expect(envelope.codeNumber == "7816" && envelope.codeNotation == "VPCP-TTĐT" && envelope.priority == 2)
        #expect(envelope.content == "Nội dung <có> ký tự đặc biệt" && envelope.competence == "TL. BỘ TRƯỞNG")
        #expect(
            envelope.files == [
                .init(name: "cong-van.pdf", contentType: "application/pdf", content: Data("%PDF-1.7".utf8))
            ])
        #expect(try EdxmlEnvelope.parse(Data(envelope.xml().utf8)) == envelope)
    }
}
