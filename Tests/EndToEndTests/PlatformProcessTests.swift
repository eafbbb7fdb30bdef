import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Logging
import SQLKit
import Testing

/// The real executables, started as a user starts them, talking over mutual TLS.
@Suite(.serialized) struct PlatformProcessTests {
    @Test func aWrongConfigurationKeyStopsTheProcessWithAClearMessage() async throws {
        let data = temporaryDataDirectory()
        let file = "\(data)/identity.json"
        try #"{"listen": {"prot": 7101}}"#.write(toFile: file, atomically: true, encoding: .utf8)
        let process = try PlatformProcess("identity", dataDirectory: data, flags: ["--config", file])
        #expect(await process.exitStatus() == 2)
        #expect(process.log.contains("unknown key 'listen.prot'"))

        let flag = try PlatformProcess("documents", dataDirectory: data, flags: ["--limits.max_concurrent_streams=0"])
        #expect(await flag.exitStatus() == 2)
        #expect(flag.log.contains("limits.max_concurrent_streams"))
    }

    @Test func whatIdentityAcknowledgedSurvivesARestart() async throws {
        let data = temporaryDataDirectory()
        let tester = try DevPKI(directory: "\(data)/pki").ensure(["tester"])[0]
        let first = try await PlatformProcess.started("identity", dataDirectory: data)
        let created = try await withTestClient(port: first.grpcPort, files: tester) { client in
            try await Egov_Identity_V1_IdentityService.Client(wrapping: client).createAgency(
                .with {
                    $0.agency = .with {
                        $0.code = "000.00.00.H41"
                        $0.displayName = "Ủy ban nhân dân tỉnh"
                        $0.abbreviation = "UBND"
                        $0.kind = .provincialPeoplesCommittee
                    }
                })
        }
        #expect(await first.stop() == 0)
        #expect(first.log.contains("msg=stopped"))

        let second = try await PlatformProcess.started("identity", dataDirectory: data)
        let read = try await withTestClient(port: second.grpcPort, files: tester) { client in
            try await Egov_Identity_V1_IdentityService.Client(wrapping: client).getAgency(
                .with { $0.name = created.name })
        }
        #expect(read == created)
        let metrics = try await second.httpBody("/metrics")
        #expect(
            metrics.contains(#"egov_rpc_calls_total{method="egov.identity.v1.IdentityService/GetAgency",code="ok"} 1"#))
        #expect(second.log.contains("caller=egov-tester"))
        #expect(await second.stop() == 0)

        // The audit command checks the chain the process wrote, and names a changed record.
        let intact = try PlatformProcess.command("identity", ["verify-audit", "--data_dir", data])
        #expect(await intact.exitStatus() == 0)
        #expect(intact.log.contains("audit log intact: 1 records"))
        let store = try Store(url: "sqlite://\(data)/identity.sqlite", logger: Logger(label: "test"))
        try await store.write { tx in
            try await tx.database.execute("UPDATE audit_log SET actor = 'someone else' WHERE seq = 1")
        }
        await store.close()
        let tampered = try PlatformProcess.command("identity", ["verify-audit", "--data_dir", data])
        #expect(await tampered.exitStatus() == 1)
        #expect(tampered.log.contains("record 1 its content was changed"))
    }

    @Test func theWholePlatformServesAnOutsideClientThroughTheGateway() async throws {
        let data = temporaryDataDirectory()
        let identity = try await PlatformProcess.started("identity", dataDirectory: data, flags: ["--demo.load"])
        let peers = ["--peers.identity", "127.0.0.1:\(identity.grpcPort)"]
        let documents = try await PlatformProcess.started("documents", dataDirectory: data, flags: peers)
        // The national portal stands outside the machine: a recording server takes its place.
        let portal = try await RecordingHTTPServer()
        let procedures = try await PlatformProcess.started(
            "procedures", dataDirectory: data,
            flags: peers + [
                "--demo.load", "--portal.url", "http://127.0.0.1:\(portal.port)/dongbohoso",
                "--peers.documents", "127.0.0.1:\(documents.grpcPort)",
            ])
        let conferences = try await PlatformProcess.started(
            "conferences", dataDirectory: data,
            flags: peers + ["--demo.load", "--peers.documents", "127.0.0.1:\(documents.grpcPort)"])
        let gateway = try await PlatformProcess.started(
            "gateway", dataDirectory: data,
            flags: peers + [
                "--http.port", "\(freeLoopbackPort())",
                "--peers.documents", "127.0.0.1:\(documents.grpcPort)",
                "--peers.procedures", "127.0.0.1:\(procedures.grpcPort)",
                "--peers.conferences", "127.0.0.1:\(conferences.grpcPort)",
            ])

        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: gateway.grpcPort),
            transportSecurity: .tls { $0.trustRoots = .certificates([.file(path: "\(data)/pki/ca.pem", format: .pem)]) }
        )
        try await withGRPCClient(transport: transport) { client in
            let page = try await Egov_Identity_V1_IdentityService.Client(wrapping: client).listAgencies(
                .with { $0.pageSize = 100 })
            #expect(page.agencies.count > 25)
            let catalogue = try await Egov_Procedures_V1_ProceduresService.Client(wrapping: client).listProcedures(
                .init())
            #expect(!catalogue.procedures.isEmpty)
            let points = try await Egov_Conferences_V1_ConferencesService.Client(wrapping: client).listBridgePoints(
                .init())
            #expect(!points.bridgePoints.isEmpty)
            let types = try await Egov_Documents_V1_DocumentsService.Client(wrapping: client).listDocumentTypes(.init())
            #expect(types.documentTypes.count == 29)
            let status = try await Egov_Gateway_V1_GatewayService.Client(wrapping: client).getPlatformStatus(.init())
            #expect(status.allServing)

            // A citizen registers and signs in at the edge; the token opens their own record.
            let identityAPI = Egov_Identity_V1_IdentityService.Client(wrapping: client)
            let me = try await identityAPI.registerPerson(
                .with {
                    $0.person = .with {
                        $0.kind = .citizen
                        $0.displayName = "Hoàng Văn Em"
                        $0.citizenID = "008203004567"
                        $0.birthDate = "2003-01-01"
                    }
                    $0.password = "mật khẩu của Em 2026"
                })
            let session = try await identityAPI.login(
                .with {
                    $0.login = "008203004567"; $0.password = "mật khẩu của Em 2026"
                })
            let record = try await identityAPI.getPerson(
                .with { $0.name = me.name }, metadata: ["authorization": "Bearer \(session.accessToken)"])
            #expect(record.displayName == "Hoàng Văn Em")
            let anonymous = await #expect(throws: RPCError.self) {
                try await identityAPI.getPerson(.with { $0.name = me.name })
            }
            #expect(anonymous?.code == .unauthenticated)

            // They file a dossier online; the procedures process tells the national portal.
            let online = try #require(catalogue.procedures.first { $0.mode == .fullOnline })
            let filed = try await Egov_Procedures_V1_ProceduresService.Client(wrapping: client).submitDossier(
                .with {
                    $0.parent = online.name
                    $0.dossier = .with { $0.channel = .online }
                }, metadata: ["authorization": "Bearer \(session.accessToken)"])
            var told = false
            for _ in 0..<100 where !told {
                told = portal.requests.contains { String(decoding: $0.body, as: UTF8.self).contains(filed.code) }
                if !told { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(told, "the portal never heard of \(filed.code)")

            // The demo specialist of the Department of Health drafts a document at the edge.
            let accounts = try String(contentsOfFile: "\(data)/demo-accounts.txt", encoding: .utf8)
            let password = try #require(
                accounts.split(separator: "\n").first { $0.hasPrefix("password: ") }?.dropFirst(10))
            let specialist = try await identityAPI.login(
                .with {
                    $0.login = "chuyenvien@syt.tuyenquang.egov.vn"
                    $0.password = String(password)
                })
            let draft = try await Egov_Documents_V1_DocumentsService.Client(wrapping: client).createDocument(
                .with {
                    $0.parent = "agencies/000.00.06.H41"
                    $0.document = .with {
                        $0.direction = .outgoing
                        $0.documentType = .plan
                        $0.subject = "Kế hoạch phòng chống dịch mùa đông 2026"
                    }
                }, metadata: ["authorization": "Bearer \(specialist.accessToken)"])
            #expect(draft.creator == specialist.person)

            // Signing out ends the token everywhere within a refresh of the ended-sessions list
            // (2 s): the documents service, behind the gateway, refuses it on its own.
            _ = try await identityAPI.logout(.with { $0.refreshToken = specialist.refreshToken })
            let signedOut = ContinuousClock.now
            var refused = false
            while !refused, ContinuousClock.now < signedOut + .seconds(60) {
                do {
                    _ = try await Egov_Documents_V1_DocumentsService.Client(wrapping: client).listDocuments(
                        .with { $0.parent = "agencies/000.00.06.H41" },
                        metadata: ["authorization": "Bearer \(specialist.accessToken)"])
                    try await Task.sleep(for: .milliseconds(100))
                } catch let error as RPCError where error.code == .unauthenticated {
                    refused = true
                }
            }
            #expect(refused, "a signed-out token still worked a minute later")
            print("a signed-out token was refused after \(ContinuousClock.now - signedOut)")

            // A backend going away is reported, and the rest of the platform keeps serving.
            #expect(await conferences.stop() == 0)
            let degraded = try await Egov_Gateway_V1_GatewayService.Client(wrapping: client).getPlatformStatus(.init())
            #expect(!degraded.allServing)
            #expect(degraded.components.first { $0.service.contains("Conferences") }?.serving == false)
            let again = try await Egov_Identity_V1_IdentityService.Client(wrapping: client).getAgency(
                .with { $0.name = "agencies/000.00.00.H41" })
            #expect(again.abbreviation == "UBND")
            let unavailable = await #expect(throws: RPCError.self) {
                try await Egov_Conferences_V1_ConferencesService.Client(wrapping: client).listBridgePoints(.init())
            }
            #expect(unavailable?.code == .unavailable)
        }
        for process in [gateway, procedures, documents, identity] {
            #expect(await process.stop() == 0, "\(process.name): \(process.log.suffix(500))")
        }
        try await portal.close()
    }

    /// The province's journey with the demo data: a citizen files a Health procedure online, the
    /// service centre's desk accepts it, the Department of Health assigns, appraises and approves
    /// it, and the centre returns the result. The procedures process restarts halfway; what it
    /// acknowledged is all there. The calendar file loads the government's decisions. At the
    /// end the real gateway answers an impatient client and a flood as it should.
    @Test func aDossierTravelsFromTheCentreToTheDepartmentAndBack() async throws {
        let data = temporaryDataDirectory()
        let identity = try await PlatformProcess.started("identity", dataDirectory: data, flags: ["--demo.load"])
        let peers = ["--peers.identity", "127.0.0.1:\(identity.grpcPort)"]
        let calendar = PlatformProcess.binaries.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("services/procedures/calendar/vietnam.json").path
        let proceduresFlags = peers + ["--demo.load", "--calendar.file", calendar]
        var procedures = try await PlatformProcess.started("procedures", dataDirectory: data, flags: proceduresFlags)
        let gateway = try await PlatformProcess.started(
            "gateway", dataDirectory: data,
            flags: peers + [
                "--http.port", "\(freeLoopbackPort())", "--peers.procedures", "127.0.0.1:\(procedures.grpcPort)",
                // Not part of this journey: nothing listens there.
                "--peers.documents", "127.0.0.1:\(freeLoopbackPort())", "--peers.conferences",
                "127.0.0.1:\(freeLoopbackPort())",
            ])
        let accounts = try String(contentsOfFile: "\(data)/demo-accounts.txt", encoding: .utf8)
        let password = String(
            try #require(accounts.split(separator: "\n").first { $0.hasPrefix("password: ") }?.dropFirst(10)))
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: gateway.grpcPort),
            transportSecurity: .tls { $0.trustRoots = .certificates([.file(path: "\(data)/pki/ca.pem", format: .pem)]) }
        )
        try await withGRPCClient(transport: transport) { client in
            let identityAPI = Egov_Identity_V1_IdentityService.Client(wrapping: client)
            let api = Egov_Procedures_V1_ProceduresService.Client(wrapping: client)
            func signIn(_ login: String) async throws -> (person: String, metadata: Metadata) {
                let session = try await identityAPI.login(
                    .with {
                        $0.login = login; $0.password = password
                    })
                return (session.person, ["authorization": "Bearer \(session.accessToken)"])
            }
            let citizen = try await signIn("008090001234")
            let desk = try await signIn("tiepnhan@ttpvhcc.tuyenquang.egov.vn")
            let leader = try await signIn("giamdoc@syt.tuyenquang.egov.vn")
            let specialist = try await signIn("chuyenvien@syt.tuyenquang.egov.vn")

            // The calendar carries the decisions: 15 February 2024 was worked, not made up.
            #expect(try await api.getWorkingDay(.with { $0.date = "2024-02-15" }).workingDay)
            #expect(try await api.listCalendarAdjustments(.with { $0.year = 2026 }).adjustments.count == 20)

            let procedure = try await api.getProcedure(.with { $0.name = "procedures/1.009994.H41" })
            #expect(
                procedure.agency == "agencies/000.00.06.H41" && procedure.receptionPoints == ["agencies/000.00.14.H41"])
            let filed = try await api.submitDossier(
                .with {
                    $0.parent = procedure.name; $0.dossier = .with { $0.channel = .online }
                }, metadata: citizen.metadata)
            #expect(filed.agency == "agencies/000.00.14.H41" && filed.decidingAgency == procedure.agency)
            func upload(_ title: String, kind: Egov_Procedures_V1_Attachment.Kind, as caller: Metadata) async throws {
                _ = try await api.uploadAttachment(metadata: caller) { writer in
                    try await writer.write(
                        .with {
                            $0.header = .with {
                                $0.name = filed.name
                                $0.fileName = "tai-lieu.pdf"
                                $0.contentType = "application/pdf"
                                $0.requiredDocument = title
                                $0.kind = kind
                            }
                        })
                    try await writer.write(.with { $0.chunk = Data("%PDF-1.7 \(title)".utf8) })
                }
            }
            for document in procedure.requiredDocuments {
                try await upload(document.title, kind: .document, as: citizen.metadata)
            }
            func act(
                _ action: Egov_Procedures_V1_DossierAction, as caller: Metadata, assignee: String = ""
            ) async throws -> Egov_Procedures_V1_Dossier {
                try await api.transitionDossier(
                    .with {
                        $0.name = filed.name; $0.action = action; $0.assignee = assignee
                    }, metadata: caller)
            }
            #expect(try await act(.accept, as: desk.metadata).status == .accepted)
            let specialists = try await identityAPI.listPeople(
                .with {
                    $0.agency = procedure.agency; $0.role = .specialist
                }, metadata: leader.metadata)
            #expect(specialists.people.map(\.name) == [specialist.person])
            _ = try await act(.assign, as: leader.metadata, assignee: specialist.person)
            try await upload("", kind: .result, as: specialist.metadata)
            let leaders = try await identityAPI.listPeople(
                .with {
                    $0.agency = procedure.agency; $0.role = .leader
                }, metadata: specialist.metadata)
            let approving = try await act(
                .handOver, as: specialist.metadata, assignee: try #require(leaders.people.first).name)
            #expect(approving.currentStep == 2)

            // The procedures process restarts; the gateway reconnects to it on the same port.
            #expect(await procedures.stop() == 0)
            procedures = try PlatformProcess(
                "procedures", dataDirectory: data, grpcPort: procedures.grpcPort, adminPort: procedures.adminPort,
                flags: proceduresFlags)
            try await procedures.waitUntilServing()
            var finished: Egov_Procedures_V1_Dossier?
            for _ in 0..<100 where finished == nil {
                do {
                    finished = try await act(.finish, as: leader.metadata)
                } catch let error as RPCError where error.code == .unavailable {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            #expect(finished?.status == .finished && finished?.currentStep == 2)
            let centreDesk = try await identityAPI.listPeople(
                .with {
                    $0.agency = filed.agency; $0.role = .receptionOfficer
                }, metadata: leader.metadata)
            #expect(centreDesk.people.map(\.name) == [desk.person])
            _ = try await act(.handOver, as: leader.metadata, assignee: desk.person)
            let returned = try await act(.returnResult, as: desk.metadata)
            #expect(returned.status == .resultReturned)
            let events = try await api.listDossierEvents(.with { $0.name = filed.name }, metadata: citizen.metadata)
                .events
            #expect(
                events.filter { $0.action != .attach }.map(\.action) == [
                    .accept, .assign, .handOver, .finish, .handOver, .returnResult,
                ])
            #expect(events.first { $0.action == .accept }?.actor == desk.person)
            #expect(events.first { $0.action == .finish }?.actor == leader.person)

            // A client that stops waiting (a sign-in takes a while: the password is hashed) gets
            // DEADLINE_EXCEEDED; the gateway logs it as the client's doing, an info line.
            var hurried = CallOptions.defaults
            hurried.timeout = .milliseconds(100)
            let impatient = await #expect(throws: RPCError.self) {
                try await identityAPI.login(
                    .with {
                        $0.login = "008090001234"; $0.password = password
                    }, options: hurried)
            }
            #expect(impatient?.code == .deadlineExceeded)
            var line: Substring?
            for _ in 0..<600 where line == nil {
                line = gateway.log.split(separator: "\n").first {
                    $0.contains("rpc.method=/egov.identity.v1.IdentityService/Login")
                        && $0.contains("grpc.code=deadlineExceeded")
                }
                if line == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(line?.contains("level=info") == true, "\(gateway.log.suffix(2000))")
            #expect(!gateway.log.contains("grpc.code=unknown"), "\(gateway.log.suffix(2000))")

            // A signed-in user calling in bursts beyond the limit (20 a second, bursts of 40) is
            // told to wait, and the message, the ErrorInfo and the RetryInfo agree on how long.
            var limited: RPCError?
            for _ in 0..<20 where limited == nil {
                limited = await withTaskGroup(of: RPCError?.self) { group in
                    for _ in 0..<50 {
                        group.addTask {
                            do {
                                _ = try await api.getDossier(.with { $0.name = filed.name }, metadata: citizen.metadata)
                                return nil
                            } catch let error as RPCError where error.code == .resourceExhausted {
                                return error
                            } catch {
                                return nil
                            }
                        }
                    }
                    return await group.compactMap { $0 }.first { _ in true }
                }
            }
            let status = try #require(try limited?.unpackGoogleRPCStatus())
            let info = try #require(status.details.compactMap(\.errorInfo).first)
            let delay = try #require(status.details.compactMap(\.retryInfo).first?.delay)
            #expect(
                info.reason == "RATE_LIMITED" && info.metadata["retry_after_seconds"] == "\(delay.components.seconds)")
            #expect(delay >= .seconds(1) && status.message.contains("\(delay.components.seconds) second"))
        }
        for process in [gateway, procedures, identity] {
            #expect(await process.stop() == 0, "\(process.name): \(process.log.suffix(500))")
        }
    }
}
