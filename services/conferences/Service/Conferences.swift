public import EGovAPI
import EGovKit
import EGovStore
import Foundation
public import GRPCCore
import GRPCProtobuf
import SwiftProtobuf

/// Conferences: scheduling with clash checks, changes and cancellation told to everyone
/// invited (outbox), readiness, the live meeting's events in one numbered log, and watching
/// that log from any point.
extension ConferencesService {
    public typealias Conference = Egov_Conferences_V1_Conference
    typealias Event = Egov_Conferences_V1_ConferenceEvent

    public func createConference(
        request: Egov_Conferences_V1_CreateConferenceRequest, context: ServerContext
    ) async throws -> Conference {
        var conference = try validated(request.conference, creating: true)
        try ConferencesPolicy.schedule.require(
            conference.hostAgency, Self.errors, doing: "schedule conferences hosted by \(conference.hostAgency)")
        conference = try await checkedReferences(conference)
        conference.state = .scheduled
        conference.invitationState = .keptHere
        conference.mediaState = .pending
        conference.createTime = .init(micros: store.clock.micros)
        let id = UUID().uuidString.lowercased()
        let scheduled = conference
        let created = try await store.idempotentWrite(
            scope: "CreateConference", requestID: request.requestID, request: request, errors: Self.errors
        ) { tx in
            try await conferences.insert(scheduled, id: id, in: tx)
            try await book(scheduled, id: id, in: tx)
            try await media.plan(conferenceID: id, in: tx)
            _ = try await conferences.append(
                .with {
                    $0.kind = .scheduled; $0.actor = RequestContext.actor
                }, to: id, in: tx)
            var created = scheduled
            created.name = "conferences/\(id)"
            try await tx.enqueue(
                topic: "conferences.conference.scheduled", key: created.name, payload: try created.serializedBytes())
            return try await conferences.conference(id: id, in: tx)!.0
        }
        feed.publish(created.name)
        // The room now if Janus answers; otherwise the media keeper keeps trying.
        if let janusClient, let room = try await media.room(conferenceID: id), room.state == .pending {
            do {
                try await open(room, with: janusClient)
                return try await conferences.conference(id: id)?.0 ?? created
            } catch {
                logger.warning("media room not created yet", metadata: ["error": .string("\(error)")])
            }
        }
        return created
    }

    public func getConference(
        request: Egov_Conferences_V1_GetConferenceRequest, context: ServerContext
    ) async throws -> Conference {
        try await visibleConference(request.name, field: "name").0
    }

    public func listConferences(
        request: Egov_Conferences_V1_ListConferencesRequest, context: ServerContext
    ) async throws -> Egov_Conferences_V1_ListConferencesResponse {
        guard RequestContext.current?.user != nil else {
            throw Self.errors.unauthenticated("AUTHENTICATION_REQUIRED", "Signing in is required to list conferences.")
        }
        if !request.hostAgency.isEmpty {
            _ = try Self.errors.agencyCode(fromName: request.hostAgency, field: "host_agency")
        }
        let size = try Self.errors.pageSize(request.pageSize)
        let from = request.hasStartTime ? request.startTime.micros : nil
        let until = request.hasEndTime ? request.endTime.micros : nil
        let filter = "host=\(request.hostAgency) from=\(from ?? 0) until=\(until ?? 0)"
        var after: (Int64, String)?
        if let key = try PageToken.decode(request.pageToken, filter: filter, errors: Self.errors) {
            let pieces = key.split(separator: " ")
            guard pieces.count == 2, let time = Int64(pieces[0]) else {
                throw Self.errors.invalidArgument(
                    "INVALID_PAGE_TOKEN", field: "page_token", "is not a token this service issued")
            }
            after = (time, String(pieces[1]))
        }
        let page = try await conferences.conferences(
            hostAgency: request.hostAgency.isEmpty ? nil : request.hostAgency, from: from, until: until,
            after: after, limit: size + 1)
        return .with {
            // Restricted conferences the caller may not see are left out, as if they were not there.
            $0.conferences = page.prefix(size).filter { ConferencesPolicy.read.allows($0) }
            if page.count > size {
                let last = page[size - 1]
                $0.nextPageToken = PageToken.encode(
                    after: "\(last.startTime.micros) \(last.name.dropFirst("conferences/".count))", filter: filter)
            }
        }
    }

    public func updateConference(
        request: Egov_Conferences_V1_UpdateConferenceRequest, context: ServerContext
    ) async throws -> Conference {
        let (current, _) = try await visibleConference(request.conference.name, field: "conference.name")
        try ConferencesPolicy.manage.require(current, Self.errors, doing: "change this conference")
        let editable = [
            "title", "start_time", "end_time", "agenda_items", "bridge_points", "invited_people", "restricted",
            "host_bridge_point", "chair", "recording_uri",
        ]
        guard !request.updateMask.paths.isEmpty else {
            throw Self.errors.invalidArgument("INVALID_UPDATE_MASK", field: "update_mask", "name the fields to change")
        }
        if let path = request.updateMask.paths.first(where: { !editable.contains($0) }) {
            throw Self.errors.invalidArgument(
                "INVALID_UPDATE_MASK", field: "update_mask",
                "'\(Clip.text(path, 64))' cannot be changed; changeable: \(editable.joined(separator: ", "))")
        }
        // The recording's place is recorded at any time; the rest only before the meeting.
        if request.updateMask.paths == ["recording_uri"] {
            let uri = request.conference.recordingUri
            guard !uri.isEmpty else {
                throw Self.errors.invalidArgument(
                    "INVALID_CONFERENCE", field: "conference.recording_uri", "must be a URI, at most 2000 bytes")
            }
            var probe = current
            probe.recordingUri = uri
            _ = try validated(probe, creating: false)
            return try await record(
                current,
                .with {
                    $0.kind = .recordingLinked; $0.note = uri
                }
            ) {
                $0.recordingUri = uri
            }
        }
        try Self.requireScheduled(current)
        if !request.conference.etag.isEmpty && request.conference.etag != current.etag {
            throw Self.errors.failedPrecondition(
                "ETAG_MISMATCH", "The conference changed since you read it; read it again.")
        }
        var changed = current
        let input = request.conference
        for path in request.updateMask.paths {
            switch path {
            case "title": changed.title = input.title
            case "start_time": changed.startTime = input.startTime
            case "end_time": changed.endTime = input.endTime
            case "agenda_items": changed.agendaItems = input.agendaItems
            case "bridge_points": changed.bridgePoints = input.bridgePoints
            case "invited_people": changed.invitedPeople = input.invitedPeople
            case "restricted": changed.restricted = input.restricted
            case "host_bridge_point": changed.hostBridgePoint = input.hostBridgePoint
            case "recording_uri": changed.recordingUri = input.recordingUri
            default: changed.chair = input.chair
            }
        }
        var checked = try await checkedReferences(try validated(changed, creating: false))
        checked.name = current.name
        let id = Self.id(current.name)
        let rescheduled = checked
        let saved = try await store.write { tx in
            guard let (found, version) = try await conferences.conference(id: id, in: tx), found.etag == current.etag
            else { throw Self.concurrentChange }
            try Self.requireScheduled(found)
            guard try await conferences.update(rescheduled, id: id, version: version, in: tx) else {
                throw Self.concurrentChange
            }
            try await book(rescheduled, id: id, in: tx)
            _ = try await conferences.append(
                .with {
                    $0.kind = .rescheduled; $0.actor = RequestContext.actor
                    $0.note = request.updateMask.paths.joined(separator: ",")
                }, to: id, in: tx)
            try await tx.enqueue(
                topic: "conferences.conference.rescheduled", key: rescheduled.name,
                payload: try rescheduled.serializedBytes())
            return try await conferences.conference(id: id, in: tx)!.0
        }
        feed.publish(saved.name)
        return saved
    }

    public func cancelConference(
        request: Egov_Conferences_V1_CancelConferenceRequest, context: ServerContext
    ) async throws -> Conference {
        let (current, _) = try await visibleConference(request.name, field: "name")
        try ConferencesPolicy.manage.require(current, Self.errors, doing: "cancel this conference")
        let reason = request.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty, reason.count <= 2000 else {
            throw Self.errors.invalidArgument(
                "REASON_REQUIRED", field: "reason", "give the reason, at most 2000 characters")
        }
        return try await change(current, to: .cancelled, event: .cancelled, note: reason) { conference in
            try Self.requireScheduled(conference)
            conference.cancelReason = reason
        }
    }

    public func reportReadiness(
        request: Egov_Conferences_V1_ReportReadinessRequest, context: ServerContext
    ) async throws -> Conference {
        let (current, _) = try await visibleConference(request.name, field: "name")
        let agency = try await participantAgency(request.bridgePoint, of: current, field: "bridge_point")
        guard request.bridgePoint.hasPrefix("bridgePoints/") else {
            throw Self.errors.invalidArgument("INVALID_PARTICIPANT", field: "bridge_point", "must be bridgePoints/{id}")
        }
        try ConferencesPolicy.actFor.require(
            (current, request.bridgePoint, agency), Self.errors, doing: "report for this bridge point")
        let note = try Self.note(request.note)
        return try await record(
            current,
            .with {
                $0.kind = .readinessReported; $0.participant = request.bridgePoint; $0.ready = request.ready
                $0.note = note
            }
        ) { conference in try Self.requireScheduled(conference) }
    }

    public func startConference(
        request: Egov_Conferences_V1_StartConferenceRequest, context: ServerContext
    ) async throws -> Conference {
        let (current, _) = try await visibleConference(request.name, field: "name")
        try ConferencesPolicy.chair.require(current, Self.errors, doing: "start this conference")
        return try await change(current, to: .live, event: .started, note: "") { conference in
            try Self.requireScheduled(conference)
            conference.actualStartTime = .init(micros: store.clock.micros)
        }
    }

    public func endConference(
        request: Egov_Conferences_V1_EndConferenceRequest, context: ServerContext
    ) async throws -> Conference {
        let (current, _) = try await visibleConference(request.name, field: "name")
        try ConferencesPolicy.chair.require(current, Self.errors, doing: "end this conference")
        return try await change(current, to: .ended, event: .ended, note: "") { conference in
            try Self.requireLive(conference)
            conference.actualEndTime = .init(micros: store.clock.micros)
            conference.floor = ""
        }
    }

    public func actInConference(
        request: Egov_Conferences_V1_ActInConferenceRequest, context: ServerContext
    ) async throws -> Conference {
        let (current, _) = try await visibleConference(request.name, field: "name")
        let note = try Self.note(request.note)
        switch request.action {
        case .requestFloor:
            let agency = try await participantAgency(request.participant, of: current, field: "participant")
            try ConferencesPolicy.actFor.require(
                (current, request.participant, agency), Self.errors, doing: "ask to speak for this participant")
            return try await record(
                current,
                .with {
                    $0.kind = .floorRequested; $0.participant = request.participant; $0.note = note
                }
            ) { conference in try Self.requireLive(conference) }
        case .grantFloor:
            try ConferencesPolicy.chair.require(current, Self.errors, doing: "give the floor")
            _ = try await participantAgency(request.participant, of: current, field: "participant")
            return try await record(
                current,
                .with {
                    $0.kind = .floorGranted; $0.participant = request.participant; $0.note = note
                }
            ) { conference in
                try Self.requireLive(conference)
                conference.floor = request.participant
            }
        case .revokeFloor:
            try ConferencesPolicy.chair.require(current, Self.errors, doing: "take the floor back")
            return try await record(
                current,
                .with {
                    $0.kind = .floorRevoked; $0.note = note
                }
            ) { conference in
                try Self.requireLive(conference)
                guard !conference.floor.isEmpty else {
                    throw Self.errors.failedPrecondition("NO_FLOOR", "Nobody holds the floor.")
                }
                conference.floor = ""
            }
        case .callRoll:
            try ConferencesPolicy.chair.require(current, Self.errors, doing: "call the roll")
            let present = try await connected(Self.id(current.name))
            return try await record(
                current,
                .with {
                    $0.kind = .rollCalled; $0.present = present; $0.note = note
                }
            ) {
                conference in try Self.requireLive(conference)
            }
        default:
            throw Self.errors.invalidArgument("INVALID_ACTION", field: "action", "is not a known action")
        }
    }

    public func watchConference(
        request: Egov_Conferences_V1_WatchConferenceRequest, response: RPCWriter<Egov_Conferences_V1_ConferenceEvent>,
        context: ServerContext
    ) async throws {
        let (conference, _) = try await visibleConference(request.name, field: "name")
        guard request.afterSequence >= 0 else {
            throw Self.errors.invalidArgument("INVALID_SEQUENCE", field: "after_sequence", "must not be negative")
        }
        let id = Self.id(conference.name)
        // Listen before the first read, so no event falls between the two. Until the meeting
        // ends (its last event delivered) or gRPC cancels the call.
        try await cancellingWithRPC {
            try await feed.watch(conference.name, fallback: .seconds(1)) { signals in
                var last = request.afterSequence
                func deliver() async throws -> Bool {
                    while true {
                        let events = try await conferences.events(of: id, after: last)
                        for event in events {
                            try await response.write(event)
                            last = event.sequence
                            if [.ended, .cancelled].contains(event.kind) { return true }
                        }
                        if events.count < 500 { return false }
                    }
                }
                // Over once the log's last event is delivered and the meeting is over (a watcher
                // resuming after the end gets nothing more and returns); looked at again at each
                // wake, so a watcher who may no longer see the conference is cut off.
                func over() async throws -> Bool {
                    guard let (now, _) = try await conferences.conference(id: id), ConferencesPolicy.read.allows(now)
                    else { throw Self.notFound(conference.name) }
                    return [.ended, .cancelled].contains(now.state) && last >= now.lastSequence
                }
                if try await deliver() { return }
                if try await over() { return }
                for await _ in signals {
                    if try await deliver() { return }
                    if try await over() { return }
                }
            }
        }
    }

    // MARK: Helpers

    /// Who is connected now, from the log's joins and leaves, in order of joining.
    func connected(_ id: String) async throws -> [String] {
        var present: [String] = []
        for event in try await conferences.joinsAndLeaves(of: id) {
            if event.kind == .joined, !present.contains(event.participant) { present.append(event.participant) }
            if event.kind == .left { present.removeAll { $0 == event.participant } }
        }
        return present
    }

    /// Changes the conference's state (and what `adjust` sets) with its event, in one
    /// transaction; frees its bookings when it ends or is cancelled; tells everyone invited of
    /// a cancellation.
    func change(
        _ current: Conference, to state: Conference.State, event kind: Event.Kind, note: String,
        _ adjust: @escaping (inout Conference) throws -> Void
    ) async throws -> Conference {
        try await record(
            current,
            .with {
                $0.kind = kind; $0.note = note
            }
        ) { conference in
            try adjust(&conference)
            conference.state = state
        } after: { conference, tx in
            if [.ended, .cancelled].contains(state) { try await conferences.release(Self.id(conference.name), in: tx) }
            if state == .cancelled {
                try await tx.enqueue(
                    topic: "conferences.conference.cancelled", key: conference.name,
                    payload: try conference.serializedBytes())
            }
        }
    }

    /// Records `event` on the conference, changed by `adjust` (which may refuse), in one
    /// transaction, and wakes its watchers.
    func record(
        _ current: Conference, _ event: Event, _ adjust: @escaping (inout Conference) throws -> Void,
        after: @escaping (Conference, Transaction) async throws -> Void = { _, _ in }
    ) async throws -> Conference {
        let id = Self.id(current.name)
        var event = event
        event.actor = RequestContext.actor
        let recorded = event
        let saved = try await store.write { tx in
            guard let (found, version) = try await conferences.conference(id: id, in: tx) else {
                throw Self.notFound(current.name)
            }
            var conference = found
            try adjust(&conference)
            if conference != found {
                guard try await conferences.update(conference, id: id, version: version, in: tx) else {
                    throw Self.concurrentChange
                }
            }
            try await after(conference, tx)
            _ = try await conferences.append(recorded, to: id, in: tx)
            return try await conferences.conference(id: id, in: tx)!.0
        }
        feed.publish(saved.name)
        return saved
    }

    /// The conference `name` if the caller may see it, NOT_FOUND otherwise.
    func visibleConference(_ name: String, field: String) async throws -> (Conference, Int64) {
        let id = Self.id(name)
        guard name.hasPrefix("conferences/"), !id.isEmpty, id.utf8.count <= 64, !id.contains("/") else {
            throw Self.errors.invalidArgument(
                "INVALID_CONFERENCE_NAME", field: field, "must be conferences/{id}, got '\(Clip.text(name, 128))'")
        }
        guard RequestContext.current?.user != nil else {
            throw Self.errors.unauthenticated("AUTHENTICATION_REQUIRED", "Signing in is required to see conferences.")
        }
        guard let found = try await conferences.conference(id: id), ConferencesPolicy.read.allows(found.0) else {
            throw Self.notFound(name)
        }
        return found
    }

    /// The agency of an invited participant (`bridgePoints/{id}`, or the person's for
    /// `people/{id}`); INVALID_ARGUMENT naming `field` when it is not invited.
    func participantAgency(_ participant: String, of conference: Conference, field: String) async throws -> String {
        if participant.hasPrefix("bridgePoints/"), conference.bridgePoints.contains(participant),
            let point = try await bridgePoints.bridgePoint(id: String(participant.dropFirst("bridgePoints/".count)))
        {
            return point.agency
        }
        if participant.hasPrefix("people/"),
            conference.invitedPeople.contains(participant) || conference.chair == participant
        {
            return ""
        }
        throw Self.errors.invalidArgument(
            "INVALID_PARTICIPANT", field: field, "must be an invited bridgePoints/{id} or people/{person}")
    }

    /// Books the conference's bridge points and chair for its time; FAILED_PRECONDITION
    /// BOOKING_CLASH naming what clashes with which conference.
    func book(_ conference: Conference, id: String, in tx: Transaction) async throws {
        do {
            try await conferences.book(
                conference.bridgePoints + [conference.chair], for: id, from: conference.startTime.micros,
                to: conference.endTime.micros, in: tx)
        } catch let clash as ConferenceRepository.Clash {
            let what = clash.resource.hasPrefix("people/") ? "The chair" : "Bridge point \(clash.resource)"
            throw Self.errors.failedPrecondition(
                "BOOKING_CLASH", "\(what) is booked by \(clash.conference) at an overlapping time.",
                metadata: ["resource": clash.resource, "conference": clash.conference])
        }
    }

    /// The invitees exist: active bridge points (their agencies become the invited agencies),
    /// an active official as chair, active officials as invited people.
    func checkedReferences(_ input: Conference) async throws -> Conference {
        var conference = input
        _ = try await agencies.requireActive(
            conference.hostAgency, field: "conference.host_agency", errors: Self.errors)
        var invitedAgencies: [String] = []
        for (index, name) in conference.bridgePoints.enumerated() {
            guard let point = try await bridgePoints.bridgePoint(id: String(name.dropFirst("bridgePoints/".count))),
                point.state == .active
            else {
                throw Self.errors.invalidArgument(
                    "BRIDGE_POINT_NOT_FOUND", field: "conference.bridge_points[\(index)]",
                    "'\(Clip.text(name, 100))' is not an active bridge point")
            }
            if !invitedAgencies.contains(point.agency) { invitedAgencies.append(point.agency) }
        }
        conference.invitedAgencies = invitedAgencies
        for (field, name) in [("conference.chair", conference.chair)]
            + conference.invitedPeople.enumerated().map({ ("conference.invited_people[\($0.offset)]", $0.element) })
        {
            guard let person = try await people.person(named: name), person.kind == .official, person.state == .active
            else {
                throw Self.errors.invalidArgument("PERSON_NOT_FOUND", field: field, "must name an active official")
            }
        }
        return conference
    }

    /// Checks a conference's own fields; returns them with output-only fields cleared.
    func validated(_ input: Conference, creating: Bool) throws -> Conference {
        var violations: [ErrorBuilder.Violation] = []
        let title = input.title.trimmingCharacters(in: .whitespacesAndNewlines)
        if title.isEmpty || title.count > 500 {
            violations.append(.init("conference.title", "is required, at most 500 characters"))
        }
        if AgencyCode.code(fromName: input.hostAgency) == nil {
            violations.append(.init("conference.host_agency", "must be agencies/{code}"))
        }
        if !input.chair.hasPrefix("people/") || input.chair.count <= "people/".count || input.chair.utf8.count > 100 {
            violations.append(.init("conference.chair", "must be people/{person}"))
        }
        if input.kind == .unspecified || !Conference.Kind.allCases.contains(input.kind) {
            violations.append(.init("conference.kind", "is required"))
        }
        let now = store.clock.micros
        if !input.hasStartTime {
            violations.append(.init("conference.start_time", "is required"))
        } else if creating && input.startTime.micros < now - 300_000_000 {
            violations.append(.init("conference.start_time", "must not be in the past"))
        }
        let end = input.hasEndTime ? input.endTime.micros : input.startTime.micros + 2 * 3_600_000_000
        if end <= input.startTime.micros || end - input.startTime.micros > 24 * 3_600_000_000 {
            violations.append(.init("conference.end_time", "must be after the start, within a day"))
        }
        if input.agendaItems.count > 100 {
            violations.append(.init("conference.agenda_items", "at most 100 items"))
        }
        for (index, item) in input.agendaItems.enumerated() {
            if item.title.trimmingCharacters(in: .whitespaces).isEmpty || item.title.count > 500
                || item.presenter.count > 300 || item.minutes < 0 || item.minutes > 24 * 60
            {
                violations.append(
                    .init(
                        "conference.agenda_items[\(index)]",
                        "needs a title (at most 500 characters), a presenter of at most 300, minutes within a day"))
            }
        }
        for (field, names, prefix) in [
            ("conference.bridge_points", input.bridgePoints, "bridgePoints/"),
            ("conference.invited_people", input.invitedPeople, "people/"),
        ] {
            if names.count > 500 || Set(names).count != names.count {
                violations.append(.init(field, "at most 500, each once"))
            } else if let index = names.firstIndex(where: {
                !$0.hasPrefix(prefix) || $0.count == prefix.count || $0.utf8.count > 100
            }) {
                violations.append(.init("\(field)[\(index)]", "must be \(prefix){id}"))
            }
        }
        if !input.hostBridgePoint.isEmpty && !input.bridgePoints.contains(input.hostBridgePoint) {
            violations.append(.init("conference.host_bridge_point", "must be one of the invited bridge points"))
        }
        if !violations.isEmpty { throw Self.errors.invalidArgument("INVALID_CONFERENCE", violations) }
        if input.recordingUri.utf8.count > 2000
            || (!input.recordingUri.isEmpty
                && !["https", "http", "s3", "file"].contains(URL(string: input.recordingUri)?.scheme ?? ""))
        {
            throw Self.errors.invalidArgument(
                "INVALID_CONFERENCE", field: "conference.recording_uri", "must be a URI, at most 2000 bytes")
        }
        // What the caller sets; the rest is the service's: kept from the stored conference on
        // an update, empty on creation.
        var conference = creating ? Conference() : input
        if creating {
            conference.hostAgency = input.hostAgency
            conference.chair = input.chair
            conference.kind = input.kind
            conference.startTime = input.startTime
            conference.agendaItems = input.agendaItems
            conference.bridgePoints = input.bridgePoints
            conference.invitedPeople = input.invitedPeople
            conference.restricted = input.restricted
            conference.hostBridgePoint = input.hostBridgePoint
        }
        conference.title = title
        conference.endTime = .init(micros: end)
        conference.agenda = input.agendaItems.map(\.title)
        conference.invitedAgencies = []
        conference.etag = ""
        conference.lastSequence = 0
        return conference
    }

    static func note(_ text: String) throws -> String {
        let note = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard note.count <= 2000 else {
            throw errors.invalidArgument("INVALID_NOTE", field: "note", "at most 2000 characters")
        }
        return note
    }

    static func requireScheduled(_ conference: Conference) throws {
        guard conference.state == .scheduled else {
            throw errors.failedPrecondition(
                "ILLEGAL_STATE", "The conference is \(conference.state); this is done while it is scheduled.",
                metadata: ["state": "\(conference.state.rawValue)"])
        }
    }

    static func requireLive(_ conference: Conference) throws {
        guard conference.state == .live else {
            throw errors.failedPrecondition(
                "ILLEGAL_STATE", "The conference is \(conference.state); this is done while it is live.",
                metadata: ["state": "\(conference.state.rawValue)"])
        }
    }

    static func id(_ name: String) -> String { String(name.dropFirst("conferences/".count)) }

    static func notFound(_ name: String) -> GoogleRPCStatus {
        errors.notFound("CONFERENCE_NOT_FOUND", resource: name, "Conference '\(Clip.text(name, 128))' does not exist.")
    }

    static let concurrentChange = errors.failedPrecondition(
        "CONCURRENT_CHANGE", "The conference was changed by someone else at the same time; read it again.")
}
