import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import ProceduresService

@Suite struct WorkflowTests {
    @Test func aSupplementPauseMovesTheAppointmentAcrossAHoliday() {
        let calendar = WorkingDayCalendar()
        let formatter = ISO8601DateFormatter()
        let appointment = formatter.date(from: "2026-04-29T17:00:00+07:00")!
        // Paused Friday 24 April, resumed Tuesday 28: Monday 27 makes up for Hùng Kings' day,
        // so one working day (the 28th) was lost; 30/4 and 1/5 are holidays, so the
        // appointment moves from Wednesday 29 April to Monday 4 May.
        let moved = calendar.extend(
            appointment: appointment, pausedAt: formatter.date(from: "2026-04-24T09:00:00+07:00")!,
            resumedAt: formatter.date(from: "2026-04-28T10:00:00+07:00")!)
        #expect(WorkingDayCalendar.local(moved).day.description == "2026-05-04")
        let sameDay = calendar.extend(
            appointment: appointment, pausedAt: formatter.date(from: "2026-04-28T09:00:00+07:00")!,
            resumedAt: formatter.date(from: "2026-04-28T16:00:00+07:00")!)
        #expect(sameDay == appointment)
        // A step due at 10:30 keeps its hour when it moves.
        let step = calendar.extend(
            appointment: formatter.date(from: "2026-04-29T10:30:00+07:00")!,
            pausedAt: formatter.date(from: "2026-04-24T09:00:00+07:00")!,
            resumedAt: formatter.date(from: "2026-04-28T10:00:00+07:00")!)
        #expect(step == formatter.date(from: "2026-05-04T10:30:00+07:00"))
    }

    @Test func officialsSeeTheirWorklistAndApologiseForLateDossiers() async throws {
        try await withStack { stack in
            try await seedCatalogue(stack)
            let specialist = try await createOfficial(stack, email: "cv@syt.vn", roles: [.specialist])
            try await withTestClient(port: stack.ports["procedures"]!) { client in
                let procedures = Procedures(wrapping: client)
                var filed: [Egov_Procedures_V1_Dossier] = []
                for index in 0..<3 {
                    filed.append(
                        try await procedures.submitDossier(
                            .with {
                                $0.parent = "procedures/1.001612.H41"
                                $0.dossier = .with {
                                    $0.channel = .inPerson
                                    $0.applicant = "people/p\(index)"
                                    // The first brought the application form; the others forgot it.
                                    if index == 0 {
                                        $0.receivedDocuments = [
                                            .with { $0.title = "Đơn đề nghị cấp giấy phép hoạt động" }
                                        ]
                                    }
                                }
                            }))
                }
                // The receipt lists the papers, in the form the procedure asks for.
                #expect(
                    filed[0].receivedDocuments.map(\.form) == [.electronic]
                        && filed[0].receivedDocuments[0].quantity == 1)
                #expect(
                    await failure {
                        _ = try await procedures.transitionDossier(
                            .with {
                                $0.name = filed[1].name; $0.action = .accept
                            })
                    }
                        == Failure(code: .failedPrecondition, reason: "MISSING_REQUIRED_DOCUMENTS", field: nil))
                #expect(
                    await failure {
                        _ = try await procedures.submitDossier(
                            .with {
                                $0.parent = "procedures/1.001612.H41"
                                $0.dossier = .with {
                                    $0.channel = .postal; $0.applicant = "people/p9";
                                    $0.receivedDocuments = [.with { $0.quantity = 2 }]
                                }
                            })
                    }
                        == Failure(
                            code: .invalidArgument, reason: "INVALID_DOSSIER",
                            field: "dossier.received_documents[0].title"))
                _ = try await procedures.transitionDossier(
                    .with {
                        $0.name = filed[0].name; $0.action = .accept
                    })
                _ = try await procedures.transitionDossier(
                    .with {
                        $0.name = filed[0].name; $0.action = .assign; $0.assignee = specialist
                    })
                let assigned = try await procedures.listDossiers(
                    .with {
                        $0.agency = "agencies/000.00.06.H41"; $0.assignee = specialist
                    })
                #expect(assigned.dossiers.map(\.code) == [filed[0].code])
                let fresh = try await procedures.listDossiers(
                    .with {
                        $0.agency = "agencies/000.00.06.H41"; $0.statuses = [.newlyRegistered]
                    })
                #expect(fresh.dossiers.count == 2)
                var page = try await procedures.listDossiers(
                    .with {
                        $0.agency = "agencies/000.00.06.H41"; $0.pageSize = 2
                    })
                #expect(page.dossiers.count == 2 && !page.nextPageToken.isEmpty)
                page = try await procedures.listDossiers(
                    .with {
                        $0.agency = "agencies/000.00.06.H41"; $0.pageSize = 2; $0.pageToken = page.nextPageToken
                    })
                #expect(page.dossiers.count == 1 && page.nextPageToken.isEmpty)
                #expect(
                    try await procedures.listDossiers(
                        .with {
                            $0.agency = "agencies/000.00.06.H41"; $0.overdueOnly = true
                        }
                    ).dossiers.isEmpty)
                #expect(
                    try await procedures.listDossiers(
                        .with {
                            $0.agency = "agencies/000.00.06.H41"; $0.dueWithinDays = 60
                        }
                    ).dossiers.count == 3)

                let later = Google_Protobuf_Timestamp(seconds: filed[0].appointmentTime.seconds + 5 * 86_400)
                let apologised = try await procedures.issueApology(
                    .with {
                        $0.name = filed[0].name
                        $0.reason = "Chờ ý kiến thẩm định của Sở Xây dựng"
                        $0.newAppointmentTime = later
                    })
                #expect(apologised.appointmentTime == later && apologised.apologies.count == 1)
                #expect(
                    try await procedures.listDossierEvents(.with { $0.name = filed[0].name }).events.last?.action
                        == .issueApology)
                #expect(apologised.apologies[0].previousAppointmentTime == filed[0].appointmentTime)
                #expect(
                    await failure {
                        _ = try await procedures.issueApology(
                            .with {
                                $0.name = filed[0].name; $0.reason = "x";
                                $0.newAppointmentTime = filed[0].appointmentTime
                            })
                    } == Failure(code: .invalidArgument, reason: "INVALID_APPOINTMENT", field: "new_appointment_time"))
            }
        }
    }

    @Test func aDossierGoesFromSubmissionToResultThroughTheGateway() async throws {
        try await withStack { stack in
            try await seedCatalogue(stack)
            var officials: [String: String] = [:]
            for (email, role) in [
                ("tiepnhan@syt.vn", Egov_Identity_V1_Role.receptionOfficer), ("giamdoc@syt.vn", .leader),
                ("chuyenvien@syt.vn", .specialist), ("chuyenvien2@syt.vn", .specialist),
            ] {
                officials[email] = try await createOfficial(stack, email: email, roles: [role])
            }
            try await withPublicClient(port: stack.gatewayPort) { client in
                let identity = Identity(wrapping: client)
                _ = try await identity.registerPerson(
                    .with {
                        $0.person = citizen(); $0.password = goodPassword
                    })
                func signIn(_ login: String) async throws -> Metadata { try await ServiceTests.signIn(identity, login) }
                let applicant = try await signIn("001090012345")
                let reception = try await signIn("tiepnhan@syt.vn")
                let leader = try await signIn("giamdoc@syt.vn")
                let specialistSession = try await identity.login(
                    .with {
                        $0.login = "chuyenvien@syt.vn"; $0.password = goodPassword
                    })
                let specialist = bearer(specialistSession.accessToken)
                let otherSpecialist = try await signIn("chuyenvien2@syt.vn")

                let procedures = Procedures(wrapping: client)
                let filed = try await procedures.submitDossier(
                    .with {
                        $0.parent = "procedures/1.001612.H41"
                        $0.dossier = .with {
                            $0.channel = .online; $0.applicantName = "Trần Thị Bình"
                        }
                    }, metadata: applicant)
                func act(
                    _ action: Egov_Procedures_V1_DossierAction, as caller: Metadata,
                    _ change: (inout Egov_Procedures_V1_TransitionDossierRequest) -> Void = { _ in }
                ) async throws -> Egov_Procedures_V1_Dossier {
                    try await ServiceTests.act(procedures, on: filed.name, action, as: caller, change)
                }
                #expect(await failure { _ = try await act(.accept, as: applicant) }?.code == .permissionDenied)
                #expect(
                    await failure { _ = try await act(.finish, as: leader) }
                        == Failure(code: .failedPrecondition, reason: "ILLEGAL_TRANSITION", field: nil))
                // The application form is a mandatory electronic document: no acceptance without it.
                #expect(
                    await failure { _ = try await act(.accept, as: reception) }
                        == Failure(code: .failedPrecondition, reason: "MISSING_REQUIRED_DOCUMENTS", field: nil))
                // Reception asks for the missing form; once supplied, the dossier waits for
                // acceptance again, and acceptance starts its steps.
                let asked = try await act(.requestSupplement, as: reception) {
                    $0.missingDocuments = ["Đơn đề nghị cấp giấy phép hoạt động"]
                }
                #expect(asked.status == .supplementRequested && asked.pausedStatus == .newlyRegistered)
                _ = try await upload(
                    procedures, dossier: filed.name, type: "application/pdf", content: Array("%PDF-1.7 đơn".utf8),
                    as: applicant)
                let supplied = try await act(.supplement, as: applicant)
                #expect(
                    supplied.status == .newlyRegistered && supplied.pausedStatus == .unspecified
                        && !supplied.hasPauseTime)
                let accepted = try await act(.accept, as: reception)
                #expect(accepted.status == .accepted)
                // Identity is asked who the assignee is: a reception officer or a stranger cannot handle it.
                for wrong in [officials["tiepnhan@syt.vn"]!, "people/khong-ton-tai"] {
                    #expect(
                        await failure { _ = try await act(.assign, as: leader) { $0.assignee = wrong } }
                            == Failure(code: .invalidArgument, reason: "INVALID_ASSIGNEE", field: "assignee"))
                }
                #expect(
                    try await act(.assign, as: leader) { $0.assignee = specialistSession.person }.status == .processing)
                // Another specialist of the agency is not the handler of this dossier.
                #expect(
                    await failure {
                        _ = try await act(.requestSupplement, as: otherSpecialist) { $0.missingDocuments = ["x"] }
                    }?.code
                        == .permissionDenied)
                let paused = try await act(.requestSupplement, as: specialist) {
                    $0.missingDocuments = ["Bản sao chứng chỉ hành nghề"]
                }
                #expect(paused.status == .supplementRequested && paused.hasPauseTime)
                #expect(await failure { _ = try await act(.supplement, as: specialist) }?.code == .permissionDenied)
                let resumed = try await act(.supplement, as: applicant) { $0.note = "Đã bổ sung" }
                // Back in the step it was paused in, with that step's clock moved on.
                #expect(
                    resumed.status == .processing && !resumed.hasPauseTime && resumed.currentStep == paused.currentStep)
                #expect(resumed.stepDueTime.seconds >= paused.stepDueTime.seconds)
                #expect(resumed.appointmentTime.seconds >= filed.appointmentTime.seconds)
                #expect(
                    await failure { _ = try await act(.stop, as: leader) }
                        == Failure(code: .invalidArgument, reason: "REASON_REQUIRED", field: "note"))
                // Leader approval needs the result on file; the applicant cannot supply it.
                #expect(
                    await failure { _ = try await act(.finish, as: leader) }
                        == Failure(code: .failedPrecondition, reason: "RESULT_REQUIRED", field: nil))
                let license = Array("%PDF-1.7 giấy phép".utf8)
                #expect(
                    await failure {
                        _ = try await upload(
                            procedures, dossier: filed.name, type: "application/pdf", content: license, as: applicant,
                            kind: .result)
                    }?.code == .permissionDenied)
                let result = try await upload(
                    procedures, dossier: filed.name, type: "application/pdf", content: license, as: specialist,
                    kind: .result, requiredDocument: "")
                #expect(try await act(.finish, as: leader).status == .finished)
                let returned = try await act(.returnResult, as: reception)
                #expect(returned.status == .resultReturned && returned.hasReturnTime)
                let received = try await AttachmentTests().download(
                    procedures, dossier: filed.name, sha256: result.sha256, as: applicant)
                #expect(received.attachment.kind == .result && received.bytes == license)

                let events = try await procedures.listDossierEvents(.with { $0.name = filed.name }, metadata: applicant)
                    .events
                // Uploads are recorded too (status unchanged), then each transition.
                #expect(
                    events.map(\.toStatus) == [
                        .supplementRequested, .supplementRequested, .newlyRegistered, .accepted, .processing,
                        .supplementRequested,
                        .processing, .processing, .finished, .resultReturned,
                    ])
                #expect(
                    events.map(\.action) == [
                        .requestSupplement, .attach, .supplement, .accept, .assign, .requestSupplement, .supplement,
                        .attach, .finish,
                        .returnResult,
                    ])
                #expect(events.map(\.sequence) == Array(1...10))
                #expect(events[5].note == "Bản sao chứng chỉ hành nghề")
                let progress = try await procedures.lookupDossier(
                    .with {
                        $0.code = filed.code; $0.secret = filed.lookupSecret
                    })
                #expect(progress.status == .resultReturned)

                // The applicant rates it; the agency's figures count it.
                #expect(
                    await failure {
                        _ = try await procedures.rateDossier(
                            .with {
                                $0.name = filed.name; $0.rating = 5
                            }, metadata: reception)
                    }?.code
                        == .permissionDenied)
                let rated = try await procedures.rateDossier(
                    .with {
                        $0.name = filed.name; $0.rating = 4; $0.comment = "Nhanh"
                    }, metadata: applicant)
                #expect(rated.rating == 4)
                #expect(
                    try await procedures.listDossierEvents(.with { $0.name = filed.name }, metadata: applicant).events
                        .last?.action == .rate)
                let mine = try await procedures.listDossiers(.with { $0.mine = true }, metadata: applicant)
                #expect(mine.dossiers.map(\.code) == [filed.code])
                let figures = try await procedures.getStatistics(
                    .with {
                        $0.agency = "agencies/000.00.06.H41"
                        $0.startTime = .init(date: Date().addingTimeInterval(-3600))
                        $0.endTime = .init(date: Date().addingTimeInterval(3600))
                    }, metadata: leader)
                #expect(
                    figures.total.received == 1 && figures.total.finishedEarly == 1 && figures.total.onlineShare == 1)
                #expect(figures.total.averageRating == 4)
                #expect(figures.procedures.map(\.procedure) == ["procedures/1.001612.H41"])
                let ledger = try await procedures.exportLedger(
                    .with {
                        $0.agency = "agencies/000.00.06.H41"
                        $0.startTime = .init(date: Date().addingTimeInterval(-3600))
                        $0.endTime = .init(date: Date().addingTimeInterval(3600))
                    }, metadata: leader)
                let csv = String(decoding: ledger.csv.dropFirst(3), as: UTF8.self).split(separator: "\r\n")
                #expect(ledger.rows == 1 && csv.count == 2)
                #expect(
                    csv[1].hasPrefix(
                        "1,\(filed.code),\"Cấp giấy phép hoạt động phòng khám\",\"Trần Thị Bình\",Trực tuyến,"))
                #expect(csv[1].contains("10 (result returned)"))
                #expect(
                    await failure {
                        _ = try await procedures.getStatistics(
                            .with {
                                $0.agency = "agencies/000.00.06.H41"; $0.startTime = .init(seconds: 0);
                                $0.endTime = .init(seconds: 1)
                            }, metadata: applicant)
                    }?.code == .permissionDenied)
                // The whole province's figures are for system administrators, not an agency's leader.
                #expect(
                    await failure {
                        _ = try await procedures.getStatistics(
                            .with {
                                $0.agency = "agencies/-"; $0.startTime = .init(seconds: 0);
                                $0.endTime = .init(seconds: 1)
                            }, metadata: leader)
                    }?.code == .permissionDenied)
            }
        }
    }
}

@Suite struct WatchTests {
    @Test func theApplicantFollowsEveryChangeThroughTheGateway() async throws {
        try await withStack { stack in
            try await seedCatalogue(stack)
            try await withPublicClient(port: stack.gatewayPort) { client in
                let identity = Identity(wrapping: client)
                _ = try await identity.registerPerson(
                    .with {
                        $0.person = citizen(); $0.password = goodPassword
                    })
                let session = try await identity.login(
                    .with {
                        $0.login = "001090012345"; $0.password = goodPassword
                    })
                let procedures = Procedures(wrapping: client)
                let filed = try await procedures.submitDossier(
                    .with {
                        $0.parent = "procedures/1.001612.H41"
                        $0.dossier = .with { $0.channel = .online }
                    }, metadata: bearer(session.accessToken))
                // The watcher reports each status it sees; the test acts only once the previous
                // change was seen, so no timing decides the outcome.
                let (observed, report) = AsyncStream.makeStream(of: Egov_Procedures_V1_Dossier.Status.self)
                let seen = try await withThrowingTaskGroup(of: [Egov_Procedures_V1_Dossier.Status].self) { group in
                    group.addTask {
                        defer { report.finish() }
                        return try await procedures.watchDossier(
                            .with { $0.name = filed.name }, metadata: bearer(session.accessToken)
                        ) { response in
                            var statuses: [Egov_Procedures_V1_Dossier.Status] = []
                            for try await dossier in response.messages {
                                statuses.append(dossier.status)
                                report.yield(dossier.status)
                            }
                            return statuses
                        }
                    }
                    var iterator = observed.makeAsyncIterator()
                    #expect(await iterator.next() == .newlyRegistered)
                    _ = try await upload(
                        procedures, dossier: filed.name, type: "application/pdf", content: Array("%PDF-1.7".utf8),
                        as: bearer(session.accessToken))
                    #expect(await iterator.next() == .newlyRegistered)
                    try await withTestClient(port: stack.ports["procedures"]!) { tool in
                        _ = try await Procedures(wrapping: tool).transitionDossier(
                            .with {
                                $0.name = filed.name; $0.action = .accept
                            })
                    }
                    #expect(await iterator.next() == .accepted)
                    _ = try await procedures.transitionDossier(
                        .with {
                            $0.name = filed.name; $0.action = .withdraw; $0.note = "Nộp nhầm thủ tục"
                        }, metadata: bearer(session.accessToken))
                    return try await group.next()!
                }
                #expect(seen == [.newlyRegistered, .newlyRegistered, .accepted, .withdrawn])
                // The stream ended with the dossier: nothing is left listening.
                #expect(stack.procedures.changes.watcherCount == 0)

                // A client that hangs up leaves nothing listening either.
                let other = try await procedures.submitDossier(
                    .with {
                        $0.parent = "procedures/1.001612.H41"
                        $0.dossier = .with { $0.channel = .online }
                    }, metadata: bearer(session.accessToken))
                let watcher = Task {
                    try await procedures.watchDossier(
                        .with { $0.name = other.name }, metadata: bearer(session.accessToken)
                    ) { response in
                        for try await _ in response.messages {}
                    }
                }
                while stack.procedures.changes.watcherCount != 1 { try await Task.sleep(for: .milliseconds(20)) }
                watcher.cancel()
                _ = await watcher.result
                while stack.procedures.changes.watcherCount != 0 { try await Task.sleep(for: .milliseconds(20)) }
            }
        }
    }
}

@Suite struct HandOverTests {
    @Test func handOversWalkTheProcedureStepsEachWithItsOwnClock() async throws {
        try await withStack { stack in
            try await withTestClient(port: stack.ports["identity"]!) { client in
                _ = try await Identity(wrapping: client).createAgency(
                    .with { $0.agency = agency("000.01.01.H41", "UBND phường", abbreviation: "UBND") })
            }
            let wardLeader = try await createOfficial(
                stack, email: "ct@phuong.vn", agency: "agencies/000.01.01.H41", roles: [.leader])
            let wardSpecialist = try await createOfficial(
                stack, email: "cv@phuong.vn", agency: "agencies/000.01.01.H41", roles: [.specialist])
            let wardReception = try await createOfficial(
                stack, email: "tn@phuong.vn", agency: "agencies/000.01.01.H41", roles: [.receptionOfficer])
            try await withTestClient(port: stack.ports["procedures"]!) { client in
                let procedures = Procedures(wrapping: client)
                _ = try await procedures.createProcedure(
                    .with {
                        $0.procedure = .with {
                            $0.code = "1.001193.H41"
                            $0.displayName = "Đăng ký khai sinh"
                            $0.agency = "agencies/000.01.01.H41"
                            $0.mode = .fullOnline
                            $0.processingDays = 3
                            $0.steps = [
                                .with {
                                    $0.title = "Tiếp nhận"; $0.role = .receptionOfficer; $0.workingHours = 4
                                },
                                .with {
                                    $0.title = "Thẩm định"; $0.role = .specialist; $0.workingHours = 16
                                },
                                .with {
                                    $0.title = "Phê duyệt"; $0.role = .leader; $0.workingHours = 4
                                },
                                .with {
                                    $0.title = "Trả kết quả"; $0.role = .receptionOfficer; $0.workingHours = 4
                                },
                            ]
                        }
                    })
                let dossier = try await procedures.submitDossier(
                    .with {
                        $0.parent = "procedures/1.001193.H41"
                        $0.dossier = .with {
                            $0.channel = .inPerson; $0.applicant = "people/p"
                        }
                    })
                let accepted = try await procedures.transitionDossier(
                    .with {
                        $0.name = dossier.name; $0.action = .accept
                    })
                #expect(accepted.currentStep == 1 && accepted.hasStepDueTime)
                // The approval step is the leader's: a specialist of the ward is no assignee for it.
                #expect(
                    await failure {
                        _ = try await procedures.transitionDossier(
                            .with {
                                $0.name = dossier.name; $0.action = .handOver; $0.assignee = wardSpecialist
                            })
                    } == Failure(code: .invalidArgument, reason: "INVALID_ASSIGNEE", field: "assignee"))
                let approval = try await procedures.transitionDossier(
                    .with {
                        $0.name = dossier.name; $0.action = .handOver; $0.assignee = wardLeader
                    })
                #expect(approval.currentStep == 2 && approval.assignee == wardLeader && approval.status == .processing)
                // The ward's worklist by step: the approval step holds it now.
                let atApproval = try await procedures.listDossiers(
                    .with {
                        $0.agency = "agencies/000.01.01.H41"; $0.currentStep = 2
                    })
                #expect(atApproval.dossiers.map(\.code) == [dossier.code])
                #expect(
                    try await procedures.listDossiers(
                        .with {
                            $0.agency = "agencies/000.01.01.H41"; $0.currentStep = 1
                        }
                    ).dossiers.isEmpty)
                #expect(approval.stepDueTime.seconds <= accepted.stepDueTime.seconds)
                func act(_ action: Egov_Procedures_V1_DossierAction, assignee: String = "") async -> Failure? {
                    await failure {
                        _ = try await procedures.transitionDossier(
                            .with {
                                $0.name = dossier.name; $0.action = action; $0.assignee = assignee
                            })
                    }
                }
                // The return step comes after approval, and the result is returned there only.
                #expect(
                    await act(.handOver, assignee: wardReception)
                        == Failure(code: .failedPrecondition, reason: "FINISH_FIRST"))
                _ = try await upload(
                    procedures, dossier: dossier.name, type: "application/pdf",
                    content: Array("%PDF-1.7 giấy khai sinh".utf8),
                    as: [:], kind: .result, requiredDocument: "")
                let finished = try await procedures.transitionDossier(
                    .with {
                        $0.name = dossier.name; $0.action = .finish
                    })
                #expect(finished.status == .finished && finished.currentStep == 2)
                #expect(await act(.returnResult) == Failure(code: .failedPrecondition, reason: "RETURN_STEP_FIRST"))
                #expect(
                    await act(.handOver, assignee: wardLeader)
                        == Failure(code: .invalidArgument, reason: "INVALID_ASSIGNEE", field: "assignee"))
                let atDesk = try await procedures.transitionDossier(
                    .with {
                        $0.name = dossier.name; $0.action = .handOver; $0.assignee = wardReception
                    })
                #expect(atDesk.status == .finished && atDesk.currentStep == 3 && atDesk.assignee == wardReception)
                #expect(
                    await act(.handOver, assignee: wardReception)
                        == Failure(code: .failedPrecondition, reason: "NO_NEXT_STEP"))
                let returned = try await procedures.transitionDossier(
                    .with {
                        $0.name = dossier.name; $0.action = .returnResult
                    })
                #expect(returned.status == .resultReturned)
                let events = try await procedures.listDossierEvents(.with { $0.name = dossier.name }).events
                // Every step's hand-over is on the control slip (Mẫu 05).
                #expect(
                    events.filter { $0.action == .handOver }.map { String($0.note.prefix(7)) } == [
                        "bước 3 ", "bước 4 ",
                    ])
                #expect(events.map(\.action).suffix(3) == [.finish, .handOver, .returnResult])
            }
        }
    }
}
