import ConferencesService
import Crypto
import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

typealias Conference = Egov_Conferences_V1_Conference
typealias ConferenceEvent = Egov_Conferences_V1_ConferenceEvent

/// The province's People's Committee, two communes with bridge points, and the people who
/// run and attend its conferences, signed in at the gateway.
struct ConferenceScene {
    static let committee = "agencies/000.00.00.H41"
    static let minhXuan = "agencies/000.01.01.H41"
    static let yenSon = "agencies/000.01.04.H41"

    let scene: Scene
    let chairman: Actor
    let viceChairman: Actor
    let office: Actor
    let minhXuanOfficial: Actor
    let yenSonOfficial: Actor
    let citizen: Actor
    /// bridgePoints/{id}: the committee's hall, Minh Xuân's and Yên Sơn's rooms.
    let hall: String
    let minhXuanRoom: String
    let yenSonRoom: String

    var conferences: Conferences { scene.conferences }

    static func make(_ scene: Scene) async throws -> ConferenceScene {
        var rooms: [String] = []
        try await withTestClient(port: scene.stack.ports["identity"]!) { client in
            let identity = Identity(wrapping: client)
            _ = try await identity.createAgency(
                .with { $0.agency = agency("000.00.00.H41", "Ủy ban nhân dân tỉnh", abbreviation: "UBND") })
            for (code, name) in [("000.01.01.H41", "UBND phường Minh Xuân"), ("000.01.04.H41", "UBND xã Yên Sơn")] {
                _ = try await identity.createAgency(
                    .with {
                        $0.agency = agency(code, name, abbreviation: "UBND", parent: committee)
                        $0.agency.kind = .commune
                    })
            }
        }
        try await withTestClient(port: scene.stack.ports["conferences"]!) { client in
            let conferences = Conferences(wrapping: client)
            for (agency, room, minutes) in [
                (committee, "Hội trường UBND tỉnh", 0), (minhXuan, "Phòng họp trực tuyến phường Minh Xuân", 15),
                (yenSon, "Phòng họp trực tuyến xã Yên Sơn", 40),
            ] {
                rooms.append(
                    try await conferences.createBridgePoint(
                        .with {
                            $0.bridgePoint = .with {
                                $0.agency = agency; $0.displayName = room; $0.travelMinutes = Int32(minutes)
                            }
                        }
                    ).name)
            }
        }
        return ConferenceScene(
            scene: scene,
            chairman: try await scene.official("ct@ubnd.vn", of: committee, .leader, position: "Chủ tịch"),
            viceChairman: try await scene.official("pct@ubnd.vn", of: committee, .leader, position: "Phó Chủ tịch"),
            office: try await scene.official("cv@ubnd.vn", of: committee, .specialist),
            minhXuanOfficial: try await scene.official("cv@minhxuan.vn", of: minhXuan, .specialist),
            yenSonOfficial: try await scene.official("cv@yenson.vn", of: yenSon, .specialist),
            citizen: try await scene.citizen(),
            hall: rooms[0], minhXuanRoom: rooms[1], yenSonRoom: rooms[2])
    }

    /// A conference the chairman chairs from the hall with `rooms`, `hours` from now for an hour.
    func conference(
        _ title: String, rooms: [String], in hours: Double = 24, chair: Actor? = nil,
        _ change: (inout Conference) -> Void = { _ in }
    ) -> Egov_Conferences_V1_CreateConferenceRequest {
        .with {
            $0.conference = .with {
                $0.title = title
                $0.hostAgency = Self.committee
                $0.chair = (chair ?? chairman).name
                $0.kind = .withLocalBridgePoints
                $0.startTime = .init(date: Date().addingTimeInterval(hours * 3600))
                $0.endTime = .init(date: Date().addingTimeInterval(hours * 3600 + 3600))
                $0.bridgePoints = rooms
                $0.hostBridgePoint = rooms.first ?? ""
                $0.agendaItems = [
                    .with {
                        $0.title = "Khai mạc"; $0.presenter = "Chủ tịch UBND tỉnh"; $0.minutes = 10
                    }
                ]
                change(&$0)
            }
        }
    }

    func schedules(
        _ title: String, rooms: [String], in hours: Double = 24, chair: Actor? = nil, as actor: Actor? = nil,
        _ change: (inout Conference) -> Void = { _ in }
    ) async throws -> Conference {
        try await conferences.createConference(
            conference(title, rooms: rooms, in: hours, chair: chair, change), metadata: (actor ?? chairman).session)
    }

    /// Every event of `name` after `after`, until the conference ends (or `count` arrive).
    func watch(_ name: String, after: Int64 = 0, as actor: Actor, count: Int = .max) async throws -> [ConferenceEvent] {
        try await conferences.watchConference(
            .with {
                $0.name = name; $0.afterSequence = after
            }, metadata: actor.session
        ) { response in
            var events: [ConferenceEvent] = []
            for try await event in response.messages {
                events.append(event)
                if events.count == count { break }
            }
            return events
        }
    }
}

@Suite struct ConferenceTests {
    /// A room or a chair is never in two conferences at once: overlapping bookings are refused
    /// naming the clash, on creation and on rescheduling; a cancellation frees them.
    @Test func bookingsNeverOverlap() async throws {
        try await withScene { scene in
            let s = try await ConferenceScene.make(scene)
            let first = try await s.schedules("Hội nghị giao ban quý IV", rooms: [s.hall, s.minhXuanRoom])
            #expect(first.state == .scheduled && first.invitationState == .keptHere)
            #expect(first.invitedAgencies == [ConferenceScene.committee, ConferenceScene.minhXuan])
            #expect(first.agenda == ["Khai mạc"])

            // Minh Xuân's room is taken for that hour; the clash names it and the conference.
            let clash = await failure {
                _ = try await s.schedules(
                    "Hội nghị chuyển đổi số", rooms: [s.yenSonRoom, s.minhXuanRoom], in: 24.5, chair: s.viceChairman,
                    as: s.viceChairman
                ) { $0.hostBridgePoint = s.yenSonRoom }
            }
            #expect(clash?.code == .failedPrecondition && clash?.reason == "BOOKING_CLASH")
            // So is the chairman.
            #expect(
                await failure {
                    _ = try await s.schedules("Hội nghị khác", rooms: [s.yenSonRoom], in: 24.5)
                }?.reason == "BOOKING_CLASH")
            // Back to back is fine.
            let second = try await s.schedules(
                "Hội nghị chuyển đổi số", rooms: [s.yenSonRoom, s.minhXuanRoom], in: 25, chair: s.viceChairman,
                as: s.viceChairman)
            // Rescheduling into the first one's hour clashes too, and changes nothing.
            let moved = Egov_Conferences_V1_UpdateConferenceRequest.with {
                $0.conference = second
                $0.conference.startTime = first.startTime
                $0.conference.endTime = first.endTime
                $0.updateMask = .with { $0.paths = ["start_time", "end_time"] }
            }
            #expect(
                await failure { _ = try await s.conferences.updateConference(moved, metadata: s.viceChairman.session) }?
                    .reason == "BOOKING_CLASH")
            // Once the first is cancelled, its hour is free.
            #expect(
                await failure {
                    _ = try await s.conferences.cancelConference(
                        .with { $0.name = first.name }, metadata: s.chairman.session)
                }?.field == "reason")
            let cancelled = try await s.conferences.cancelConference(
                .with {
                    $0.name = first.name; $0.reason = "Lùi lịch theo chỉ đạo"
                }, metadata: s.chairman.session)
            #expect(cancelled.state == .cancelled && cancelled.cancelReason == "Lùi lịch theo chỉ đạo")
            let rescheduled = try await s.conferences.updateConference(moved, metadata: s.viceChairman.session)
            #expect(rescheduled.startTime == first.startTime && rescheduled.state == .scheduled)

            // Everyone invited could follow it: scheduled, then cancelled, and the stream ends.
            let events = try await s.watch(first.name, as: s.minhXuanOfficial)
            #expect(events.map(\.kind) == [.scheduled, .cancelled] && events.map(\.sequence) == [1, 2])
            #expect(events[1].note == "Lùi lịch theo chỉ đạo")
            // A watcher resuming after the end gets nothing more, and its stream ends too.
            #expect(try await s.watch(first.name, after: 2, as: s.minhXuanOfficial).isEmpty)
        }
    }

    /// The invitation and the minutes are official documents, drafted in the documents service
    /// as the chairman: the invitation once, to the invited communes; the minutes after the start.
    @Test func theInvitationAndTheMinutesAreDraftedAsDocuments() async throws {
        try await withScene { scene in
            let s = try await ConferenceScene.make(scene)
            let meeting = try await s.schedules(
                "Hội nghị giao ban trực tuyến tháng 12", rooms: [s.hall, s.minhXuanRoom, s.yenSonRoom], in: 0.01)
            func draft(
                _ kind: Egov_Conferences_V1_DraftConferenceDocumentRequest.Kind, as actor: Actor, _ text: String = ""
            )
                async throws -> Conference
            {
                try await s.conferences.draftConferenceDocument(
                    .with {
                        $0.name = meeting.name; $0.kind = kind; $0.content = text
                    }, metadata: actor.session)
            }
            #expect(await failure { _ = try await draft(.invitation, as: s.office) }?.code == .permissionDenied)
            let invited = try await draft(.invitation, as: s.chairman)
            #expect(
                invited.invitationState == .drafted
                    && invited.invitationDocument.hasPrefix("\(ConferenceScene.committee)/documents/"))
            #expect(try await draft(.invitation, as: s.chairman).invitationDocument == invited.invitationDocument)
            let invitation = try await scene.documents.getDocument(
                .with { $0.name = invited.invitationDocument }, metadata: s.chairman.session)
            #expect(
                invitation.documentType == .invitation && invitation.state == .draft
                    && invitation.creator == s.chairman.name)
            #expect(invitation.recipients == [ConferenceScene.minhXuan, ConferenceScene.yenSon])
            #expect(invitation.content.contains("1. Khai mạc (Chủ tịch UBND tỉnh)"))
            #expect(
                await failure { _ = try await draft(.minutes, as: s.chairman, "Biên bản") }?.reason == "ILLEGAL_STATE")
            _ = try await s.conferences.startConference(.with { $0.name = meeting.name }, metadata: s.chairman.session)
            let minuted = try await draft(.minutes, as: s.chairman, "Hội nghị thống nhất các nội dung sau: ...")
            #expect(minuted.recordDocuments.count == 1)
            let minutes = try await scene.documents.getDocument(
                .with { $0.name = minuted.recordDocuments[0] }, metadata: s.chairman.session)
            #expect(
                minutes.documentType == .minutes && minutes.subject == "Biên bản Hội nghị giao ban trực tuyến tháng 12")

            // Tasks for the communes, followed until done; the recording's place kept.
            func task(_ title: String, for agency: String, days: Double) async throws
                -> Egov_Conferences_V1_FollowUpTask
            {
                try await s.conferences.createFollowUpTask(
                    .with {
                        $0.parent = meeting.name
                        $0.task = .with {
                            $0.title = title; $0.ownerAgency = agency
                            $0.deadline = .init(date: Date().addingTimeInterval(days * 86_400))
                        }
                    }, metadata: s.chairman.session)
            }
            let late = try await task("Báo cáo tiến độ giải ngân", for: ConferenceScene.minhXuan, days: -1)
            _ = try await task("Rà soát hồ sơ đất đai", for: ConferenceScene.minhXuan, days: 7)
            _ = try await task("Tổng hợp kiến nghị", for: ConferenceScene.yenSon, days: 3)
            func tasks(of agency: String, as actor: Actor, done: Bool = false) async throws
                -> [Egov_Conferences_V1_FollowUpTask]
            {
                try await s.conferences.listFollowUpTasks(
                    .with {
                        $0.ownerAgency = agency; $0.includeDone = done
                    }, metadata: actor.session
                ).tasks
            }
            let minhXuanTasks = try await tasks(of: ConferenceScene.minhXuan, as: s.minhXuanOfficial)
            #expect(minhXuanTasks.map(\.title) == ["Báo cáo tiến độ giải ngân", "Rà soát hồ sơ đất đai"])
            #expect(minhXuanTasks.map(\.overdue) == [true, false])
            #expect(
                await failure { _ = try await tasks(of: ConferenceScene.minhXuan, as: s.yenSonOfficial) }?.code
                    == .permissionDenied)
            #expect(
                await failure {
                    _ = try await s.conferences.completeFollowUpTask(
                        .with {
                            $0.name = late.name; $0.result = "Đã báo cáo"
                        }, metadata: s.yenSonOfficial.session)
                }?.code == .notFound)
            let done = try await s.conferences.completeFollowUpTask(
                .with {
                    $0.name = late.name; $0.result = "Đã báo cáo bằng văn bản số 12/BC-UBND"
                },
                metadata: s.minhXuanOfficial.session)
            #expect(done.state == .done && done.hasDoneTime)
            #expect(
                try await tasks(of: ConferenceScene.minhXuan, as: s.minhXuanOfficial).map(\.title) == [
                    "Rà soát hồ sơ đất đai"
                ])
            #expect(try await tasks(of: ConferenceScene.minhXuan, as: s.minhXuanOfficial, done: true).count == 2)
            _ = try await s.conferences.endConference(.with { $0.name = meeting.name }, metadata: s.chairman.session)
            let recorded = try await s.conferences.updateConference(
                .with {
                    $0.conference = .with {
                        $0.name = meeting.name;
                        $0.recordingUri = "https://luutru.tuyenquang.gov.vn/hoi-nghi/2026-12.mp4"
                    }
                    $0.updateMask = .with { $0.paths = ["recording_uri"] }
                }, metadata: s.chairman.session)
            #expect(recorded.recordingUri.hasSuffix("2026-12.mp4") && recorded.state == .ended)
        }
    }

    /// Only the host agency's leaders schedule; bad input names the field; a restricted
    /// conference is invisible outside the agencies and people invited; citizens see none.
    @Test func whoMaySeeAndScheduleConferences() async throws {
        try await withScene { scene in
            let s = try await ConferenceScene.make(scene)
            #expect(
                await failure { _ = try await s.schedules("Hội nghị", rooms: [s.hall], as: s.office) }?.code
                    == .permissionDenied)
            #expect(
                await failure {
                    _ = try await s.schedules("Hội nghị", rooms: [s.hall]) { $0.endTime = $0.startTime }
                } == Failure(code: .invalidArgument, reason: "INVALID_CONFERENCE", field: "conference.end_time"))
            #expect(
                await failure {
                    _ = try await s.schedules("Hội nghị", rooms: [s.hall, "bridgePoints/none"])
                }?.field == "conference.bridge_points[1]")
            let open = try await s.schedules("Hội nghị mở", rooms: [s.hall, s.minhXuanRoom]) {
                // What the service decides is not the caller's to set.
                $0.invitationDocument = "agencies/000.00.00.H41/documents/x"; $0.floor = s.hall
                $0.actualEndTime = .init(date: Date()); $0.state = .ended
            }
            #expect(
                open.invitationDocument.isEmpty && open.floor.isEmpty && !open.hasActualEndTime
                    && open.state == .scheduled)
            let restricted = try await s.schedules("Hội nghị mật", rooms: [s.hall, s.minhXuanRoom], in: 48) {
                $0.restricted = true
            }
            func sees(_ actor: Actor, _ conference: Conference) async -> Bool {
                (try? await s.conferences.getConference(.with { $0.name = conference.name }, metadata: actor.session))
                    != nil
            }
            // Rooms are kept up to date by their agency's administrators (here the tooling); a
            // deactivated one is no longer invited.
            try await withTestClient(port: scene.stack.ports["conferences"]!) { client in
                let conferences = Conferences(wrapping: client)
                let moved = try await conferences.updateBridgePoint(
                    .with {
                        $0.bridgePoint = .with {
                            $0.name = s.yenSonRoom; $0.travelMinutes = 45; $0.address = "Thôn Đồng Bòng"
                        }
                        $0.updateMask = .with { $0.paths = ["travel_minutes", "address"] }
                    })
                #expect(moved.travelMinutes == 45 && moved.displayName == "Phòng họp trực tuyến xã Yên Sơn")
                #expect(
                    await failure {
                        _ = try await conferences.updateBridgePoint(
                            .with {
                                $0.bridgePoint = .with {
                                    $0.name = s.yenSonRoom; $0.agency = ConferenceScene.minhXuan
                                }
                                $0.updateMask = .with { $0.paths = ["agency"] }
                            })
                    }?.field == "update_mask")
                #expect(
                    try await conferences.deactivateBridgePoint(.with { $0.name = s.yenSonRoom }).state == .inactive)
            }
            #expect(
                await failure { _ = try await s.schedules("Hội nghị", rooms: [s.hall, s.yenSonRoom], in: 72) }?.field
                    == "conference.bridge_points[1]")
            #expect(
                await failure {
                    _ = try await s.conferences.deactivateBridgePoint(
                        .with { $0.name = s.minhXuanRoom }, metadata: s.minhXuanOfficial.session)
                }?.code == .permissionDenied)
            let visibility = [
                await sees(s.yenSonOfficial, open), await sees(s.yenSonOfficial, restricted),
                await sees(s.minhXuanOfficial, restricted), await sees(s.office, restricted),
                await sees(s.citizen, open),
            ]
            #expect(visibility == [true, false, true, true, false])
            let listed = try await s.conferences.listConferences(.init(), metadata: s.yenSonOfficial.session)
            #expect(listed.conferences.map(\.name) == [open.name])
            #expect(
                try await s.conferences.listConferences(.init(), metadata: s.minhXuanOfficial.session).conferences
                    .map(\.name) == [open.name, restricted.name])
        }
    }

    /// A live meeting: the bridge points report their connection tests, the chair starts it,
    /// a commune asks to speak and gets the floor, the roll is called, and it ends. Every
    /// watcher sees the same numbered events; one that reconnects with the last number it saw
    /// misses none and repeats none.
    @Test func aLiveMeetingIsSeenInOrderByEveryWatcher() async throws {
        try await withScene { scene in
            let s = try await ConferenceScene.make(scene)
            let meeting = try await s.schedules(
                "Hội nghị trực tuyến triển khai nhiệm vụ năm 2027", rooms: [s.hall, s.minhXuanRoom, s.yenSonRoom],
                in: 0.01)
            func report(_ room: String, as actor: Actor, ready: Bool = true) async throws -> Conference {
                try await s.conferences.reportReadiness(
                    .with {
                        $0.name = meeting.name; $0.bridgePoint = room; $0.ready = ready;
                        $0.note = "Âm thanh, hình ảnh tốt"
                    }, metadata: actor.session)
            }
            // Each commune reports for its own room only.
            #expect(
                await failure { _ = try await report(s.minhXuanRoom, as: s.yenSonOfficial) }?.code == .permissionDenied)
            _ = try await report(s.minhXuanRoom, as: s.minhXuanOfficial)
            _ = try await report(s.yenSonRoom, as: s.yenSonOfficial, ready: false)

            // Two watchers from the start, through the gateway.
            async let early = s.watch(meeting.name, as: s.minhXuanOfficial)
            async let office = s.watch(meeting.name, as: s.office)
            func act(
                _ action: Egov_Conferences_V1_ActInConferenceRequest.Action, _ participant: String = "", as actor: Actor
            )
                async throws -> Conference
            {
                try await s.conferences.actInConference(
                    .with {
                        $0.name = meeting.name; $0.action = action; $0.participant = participant
                    },
                    metadata: actor.session)
            }
            #expect(
                await failure { _ = try await act(.requestFloor, s.minhXuanRoom, as: s.minhXuanOfficial) }?.reason
                    == "ILLEGAL_STATE")
            #expect(
                await failure {
                    _ = try await s.conferences.startConference(
                        .with { $0.name = meeting.name }, metadata: s.office.session)
                }?.code == .permissionDenied)
            let live = try await s.conferences.startConference(
                .with { $0.name = meeting.name }, metadata: s.chairman.session)
            #expect(live.state == .live && live.hasActualStartTime)
            _ = try await act(.requestFloor, s.minhXuanRoom, as: s.minhXuanOfficial)
            #expect(
                await failure { _ = try await act(.grantFloor, s.minhXuanRoom, as: s.minhXuanOfficial) }?.code
                    == .permissionDenied)
            #expect(try await act(.grantFloor, s.minhXuanRoom, as: s.chairman).floor == s.minhXuanRoom)
            // A reconnecting watcher picks up after the last event it saw.
            let seenSoFar = try await s.conferences.getConference(
                .with { $0.name = meeting.name }, metadata: s.chairman.session
            ).lastSequence
            async let late = s.watch(meeting.name, after: seenSoFar - 2, as: s.yenSonOfficial)
            #expect(try await act(.revokeFloor, as: s.chairman).floor.isEmpty)
            _ = try await act(.callRoll, as: s.chairman)
            let ended = try await s.conferences.endConference(
                .with { $0.name = meeting.name }, metadata: s.chairman.session)
            #expect(ended.state == .ended && ended.hasActualEndTime)

            let all = try await early
            #expect(
                all.map(\.kind) == [
                    .scheduled, .readinessReported, .readinessReported, .started, .floorRequested, .floorGranted,
                    .floorRevoked, .rollCalled, .ended,
                ])
            #expect(all.map(\.sequence) == Array(1...Int64(all.count)))
            #expect(all[2].participant == s.yenSonRoom && !all[2].ready && all[1].ready)
            #expect(all[5].participant == s.minhXuanRoom && all[5].actor == s.chairman.name)
            #expect(try await office == all)
            #expect(try await late == Array(all.drop(while: { $0.sequence <= seenSoFar - 2 })))
        }
    }
}

/// A participant's side of Janus's HTTP API, as janus.js drives it: a session with the
/// grant's token, the VideoRoom attached, a join without media, a leave.
struct JanusParticipant {
    let url: URL
    let token: String
    var session: Int64 = 0
    var handle: Int64 = 0

    /// POSTs `body` to `path`; Janus's answer.
    func post(_ path: String, _ body: [String: Any]) async throws -> [String: Any] {
        var body = body
        body["transaction"] = UUID().uuidString
        body["token"] = token
        var request = URLRequest(url: path.isEmpty ? url : url.appendingPathComponent(path))
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let (data, _) = try await URLSession.shared.data(for: request)
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    static func number(_ value: Any?) -> Int64 {
        (value as? Int).map(Int64.init) ?? (value as? NSNumber)?.int64Value ?? 0
    }

    /// Opens a session and attaches the VideoRoom; the error Janus gave, if it refused.
    mutating func connect() async throws -> [String: Any]? {
        let created = try await post("", ["janus": "create"])
        guard created["janus"] as? String == "success" else { return created["error"] as? [String: Any] ?? [:] }
        session = Self.number((created["data"] as? [String: Any])?["id"])
        let attached = try await post("\(session)", ["janus": "attach", "plugin": "janus.plugin.videoroom"])
        handle = Self.number((attached["data"] as? [String: Any])?["id"])
        return nil
    }

    func join(_ grant: Egov_Conferences_V1_JoinGrant) async throws {
        _ = try await post(
            "\(session)/\(handle)",
            [
                "janus": "message",
                "body": [
                    "request": "join", "ptype": "publisher", "room": grant.room, "pin": grant.pin,
                    "id": grant.participantID, "display": grant.display,
                ],
            ])
    }

    func leave() async throws {
        _ = try await post("\(session)/\(handle)", ["janus": "message", "body": ["request": "leave"]])
    }
}

@Suite struct ConferenceMediaTests {
    /// Scheduling creates the Janus room; each invited participant gets its own grant and
    /// nobody else does; three bridge points join and one leaves through a real Janus, and the
    /// conference's log records what Janus saw; a forged or expired token is refused by Janus.
    @Test func invitedParticipantsJoinTheMediaRoomAndJanusReportsIt() async throws {
        try await withJanus { janus in
            try await withScene(conferencesArguments: janus.conferencesArguments) { scene in
                let s = try await ConferenceScene.make(scene)
                let meeting = try await s.schedules(
                    "Hội nghị trực tuyến sơ kết 6 tháng", rooms: [s.hall, s.minhXuanRoom, s.yenSonRoom], in: 0.01)
                #expect(meeting.mediaState == .ready)
                func grant(_ participant: String, as actor: Actor) async throws -> Egov_Conferences_V1_JoinGrant {
                    try await s.conferences.getJoinGrant(
                        .with {
                            $0.name = meeting.name; $0.participant = participant
                        }, metadata: actor.session)
                }
                // Only for one's own room or oneself, invited.
                #expect(
                    await failure { _ = try await grant(s.minhXuanRoom, as: s.yenSonOfficial) }?.code
                        == .permissionDenied)
                #expect(await failure { _ = try await grant(s.citizen.name, as: s.citizen) }?.code == .notFound)
                #expect(
                    await failure { _ = try await grant(s.office.name, as: s.office) }?.reason == "INVALID_PARTICIPANT")
                let grants = [
                    try await grant(s.hall, as: s.office), try await grant(s.minhXuanRoom, as: s.minhXuanOfficial),
                    try await grant(s.yenSonRoom, as: s.yenSonOfficial),
                ]
                #expect(try await grant(s.hall, as: s.office).participantID == grants[0].participantID)
                #expect(Set(grants.map(\.participantID)).count == 3 && Set(grants.map(\.room)).count == 1)
                #expect(
                    grants[1].display == "Phòng họp trực tuyến phường Minh Xuân" && grants[1].serverURL == janus.url)
                #expect(grants[0].expireTime.seconds > meeting.endTime.seconds)

                // Janus refuses a token not signed with its secret, and an expired one.
                var forged = JanusParticipant(url: URL(string: janus.url)!, token: "1,janus,janus.plugin.videoroom:x")
                #expect(JanusParticipant.number(try await forged.connect()?["code"]) == 403)
                let stale = "\(Int(Date().timeIntervalSince1970) - 60),janus,janus.plugin.videoroom"
                let secret = SymmetricKeyText(try janus.secret("token_secret"))
                var expired = JanusParticipant(url: URL(string: janus.url)!, token: "\(stale):\(secret.sign(stale))")
                #expect(JanusParticipant.number(try await expired.connect()?["code"]) == 403)

                _ = try await s.conferences.startConference(
                    .with { $0.name = meeting.name }, metadata: s.chairman.session)
                var joined: [JanusParticipant] = []
                for grant in grants {
                    var participant = JanusParticipant(url: URL(string: grant.serverURL)!, token: grant.token)
                    #expect(try await participant.connect() == nil)
                    try await participant.join(grant)
                    joined.append(participant)
                }
                func log() async throws -> [ConferenceEvent] {
                    let last = try await s.conferences.getConference(
                        .with { $0.name = meeting.name }, metadata: s.chairman.session
                    ).lastSequence
                    return try await s.watch(meeting.name, as: s.chairman, count: Int(last))
                }
                func awaitLog(_ done: ([ConferenceEvent]) -> Bool) async throws -> [ConferenceEvent] {
                    for _ in 0..<300 {
                        let events = try await log()
                        if done(events) { return events }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    Issue.record("Janus's events never reached the conference")
                    return try await log()
                }
                let afterJoins = try await awaitLog { $0.filter { $0.kind == .joined }.count == 3 }
                #expect(
                    Set(afterJoins.filter { $0.kind == .joined }.map(\.participant))
                        == Set([s.hall, s.minhXuanRoom, s.yenSonRoom]))
                #expect(afterJoins.filter { $0.kind == .joined }.allSatisfy { $0.actor == "services/janus" })
                try await joined[2].leave()
                _ = try await awaitLog { $0.contains { $0.kind == .left && $0.participant == s.yenSonRoom } }
                let roll = try await s.conferences.actInConference(
                    .with {
                        $0.name = meeting.name; $0.action = .callRoll
                    }, metadata: s.chairman.session)
                let rollEvent = try await log().last { $0.kind == .rollCalled }
                #expect(roll.state == .live && Set(rollEvent?.present ?? []) == Set([s.hall, s.minhXuanRoom]))

                // Afterwards: attendance as Janus saw it, its CSV, and the travel the meeting saved.
                _ = try await s.conferences.endConference(
                    .with { $0.name = meeting.name }, metadata: s.chairman.session)
                let sheet = try await s.conferences.getAttendance(
                    .with { $0.name = meeting.name }, metadata: s.office.session)
                #expect(sheet.invited == 4 && sheet.attended == 3)
                #expect(sheet.records.map(\.participant) == [s.chairman.name, s.hall, s.minhXuanRoom, s.yenSonRoom])
                #expect(!sheet.records[0].attended && sheet.records[0].displayName == "ct@ubnd.vn")
                #expect(sheet.records[1...].allSatisfy { $0.intervals.count == 1 && $0.attended })
                #expect(sheet.records[3].intervals[0].leaveTime.micros < sheet.records[1].intervals[0].leaveTime.micros)
                #expect(
                    await failure {
                        _ = try await s.conferences.getAttendance(
                            .with { $0.name = meeting.name }, metadata: s.minhXuanOfficial.session)
                    }?.code == .permissionDenied)
                let csv = String(
                    decoding: try await s.conferences.exportAttendance(
                        .with { $0.name = meeting.name }, metadata: s.chairman.session
                    ).csv, as: UTF8.self)
                let lines = csv.split(separator: "\r\n")
                #expect(lines.first == "participant,display_name,join_time,leave_time,minutes,attended")
                #expect(lines.count == 5 && lines[1].hasPrefix("\(s.chairman.name),ct@ubnd.vn,,,0,no"))
                #expect(lines[3].hasPrefix("\(s.minhXuanRoom),Phòng họp trực tuyến phường Minh Xuân,20"))
                let figures = try await s.conferences.getConferenceStatistics(
                    .with {
                        $0.hostAgency = ConferenceScene.committee
                        $0.startTime = .init(date: Date().addingTimeInterval(-86_400))
                        $0.endTime = .init(date: Date().addingTimeInterval(86_400))
                    }, metadata: s.office.session)
                #expect(figures.conferences == 1 && figures.byKind == ["KIND_WITH_LOCAL_BRIDGE_POINTS": 1])
                #expect(figures.attendanceRate == 0.75 && figures.remoteAttendances == 2)
                // Minh Xuân (15 minutes away) and Yên Sơn (40): there and back, three delegates each.
                #expect(figures.travelMinutesSaved == (15 + 40) * 2 * 3 && figures.costSavedVnd == 330 * 120_000 / 60)
                #expect(
                    await failure {
                        _ = try await s.conferences.getConferenceStatistics(
                            .with {
                                $0.startTime = .init(date: Date().addingTimeInterval(-86_400))
                                $0.endTime = .init(date: Date())
                            }, metadata: s.office.session)
                    }?.code == .permissionDenied)
            }
        }
    }
}

/// HMAC-SHA1 the way Janus signs tokens, for forging an expired one in a test.
struct SymmetricKeyText {
    let secret: String
    init(_ secret: String) { self.secret = secret }
    func sign(_ text: String) -> String {
        Data(HMAC<Insecure.SHA1>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: Data(secret.utf8))))
            .base64EncodedString()
    }
}

@Suite struct ConferenceRestartTests {
    /// A restart of egov-conferences keeps its conferences, their bookings and their logs: the
    /// log goes on from the next number, and a clash is still refused.
    @Test func aRestartKeepsConferencesBookingsAndLogs() async throws {
        let verifier = TokenVerifier()
        try await withIdentity(verifier: verifier) { identityPort, _ in
            let chairman = try await withTestClient(port: identityPort) { client in
                let identity = Identity(wrapping: client)
                _ = try await identity.createAgency(
                    .with { $0.agency = agency("000.00.00.H41", "Ủy ban nhân dân tỉnh", abbreviation: "UBND") })
                let person = try await identity.createOfficial(
                    .with {
                        $0.person = .with {
                            $0.displayName = "Chủ tịch"; $0.email = "ct@ubnd.vn"; $0.agency = ConferenceScene.committee
                            $0.roles = [.leader]
                        }
                        $0.password = goodPassword
                    })
                return (person.name, try await signIn(identity, "ct@ubnd.vn"))
            }
            let database = try await TestDatabases.makeURL(.sqlite)
            let arguments = ["--peers.identity=127.0.0.1:\(identityPort)", "--database.url=\(database)"]
            func schedule(_ title: String, room: String, on client: Conferences) async throws -> Conference {
                try await client.createConference(
                    .with {
                        $0.conference = .with {
                            $0.title = title; $0.hostAgency = ConferenceScene.committee; $0.chair = chairman.0
                            $0.kind = .withLocalBridgePoints; $0.bridgePoints = [room]
                            $0.startTime = .init(date: Date().addingTimeInterval(600))
                        }
                    }, metadata: chairman.1)
            }
            let (meeting, room) = try await withProcess(
                "conferences", keys: ConferencesApp.keys, arguments: arguments, verifier: verifier,
                build: ConferencesApp.build
            ) { process in
                try await withTestClient(port: process.port) { client in
                    let conferences = Conferences(wrapping: client)
                    let room = try await conferences.createBridgePoint(
                        .with {
                            $0.bridgePoint = .with {
                                $0.agency = ConferenceScene.committee; $0.displayName = "Hội trường"
                            }
                        }
                    ).name
                    let meeting = try await schedule("Hội nghị trước khi khởi động lại", room: room, on: conferences)
                    _ = try await conferences.startConference(.with { $0.name = meeting.name }, metadata: chairman.1)
                    return (meeting, room)
                }
            }
            try await withProcess(
                "conferences", keys: ConferencesApp.keys, arguments: arguments, verifier: verifier,
                build: ConferencesApp.build
            ) { process in
                try await withTestClient(port: process.port) { client in
                    let conferences = Conferences(wrapping: client)
                    let again = try await conferences.getConference(
                        .with { $0.name = meeting.name }, metadata: chairman.1)
                    #expect(again.state == .live && again.lastSequence == 2 && again.title == meeting.title)
                    #expect(
                        await failure { _ = try await schedule("Hội nghị trùng giờ", room: room, on: conferences) }?
                            .reason == "BOOKING_CLASH")
                    _ = try await conferences.endConference(.with { $0.name = meeting.name }, metadata: chairman.1)
                    let events = try await conferences.watchConference(
                        .with { $0.name = meeting.name }, metadata: chairman.1
                    ) { response in try await response.messages.reduce(into: []) { $0.append($1) } }
                    #expect(
                        events.map(\.kind) == [.scheduled, .started, .ended] && events.map(\.sequence) == [1, 2, 3])
                }
            }
        }
    }
}
