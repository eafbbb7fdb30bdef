public import EGovAPI
import EGovKit
public import EGovStore
import Foundation
public import GRPCCore
import GRPCProtobuf
import Hummingbird
public import Logging
import SQLKit
public import ServiceLifecycle

/// Each conference's media room on Janus and the ids its participants join with: the room
/// is created when the conference is scheduled (or as soon as Janus answers), removed when it
/// ends; the participant ids map Janus's join and leave events back to who joined.
struct MediaRepository: Sendable {
    let store: Store

    static let migrations: [Migration] = [
        Migration(
            "0003_media",
            [
                """
                CREATE TABLE media_rooms (
                    conference_id TEXT PRIMARY KEY,
                    room BIGINT NOT NULL UNIQUE,
                    pin TEXT NOT NULL,
                    secret TEXT NOT NULL,
                    state BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE media_participants (
                    conference_id TEXT NOT NULL,
                    participant TEXT NOT NULL,
                    janus_id BIGINT NOT NULL UNIQUE,
                    PRIMARY KEY (conference_id, participant)
                )
                """,
            ])
    ]

    struct Room: Sendable {
        var conferenceID: String
        var room: Int64
        var pin: String
        var secret: String
        var state: Egov_Conferences_V1_MediaState
    }

    /// A random number no person picks: Janus room and participant ids (below 2^53, as
    /// JavaScript numbers hold them exactly).
    static func randomID() -> Int64 { Int64.random(in: 1_000_000...(1 << 53) - 1) }

    /// Plans conference `id`'s room: a number, a PIN to join, a secret to manage it.
    func plan(conferenceID id: String, in tx: Transaction) async throws {
        // 128 random bits: a PIN nobody guesses, since Janus does not limit attempts.
        let pin = (0..<2).map { _ in String(UInt64.random(in: .min ... .max), radix: 36) }.joined(separator: "-")
        let secret = (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 16) }.joined()
        try await tx.database.execute(
            """
            INSERT INTO media_rooms (conference_id, room, pin, secret, state)
            VALUES (\(bind: id), \(bind: Self.randomID()), \(bind: pin), \(bind: secret),
                    \(bind: Egov_Conferences_V1_MediaState.pending.rawValue))
            """)
    }

    func room(conferenceID id: String) async throws -> Room? {
        try await store.read { db in
            try await db.row("SELECT * FROM media_rooms WHERE conference_id = \(bind: id)").map(Self.decode)
        }
    }

    func room(number: Int64) async throws -> Room? {
        try await store.read { db in
            try await db.row("SELECT * FROM media_rooms WHERE room = \(bind: number)").map(Self.decode)
        }
    }

    /// Rooms to create (their conference scheduled or live) and to remove (it is over).
    func roomsToReconcile() async throws -> (open: [Room], close: [Room]) {
        try await store.read { db in
            let pending = Egov_Conferences_V1_MediaState.pending.rawValue
            let ready = Egov_Conferences_V1_MediaState.ready.rawValue
            let active = [Conference.State.scheduled, .live].map { String($0.rawValue) }.joined(separator: ",")
            let open = try await db.rows(
                """
                SELECT m.* FROM media_rooms m JOIN conferences c ON c.id = m.conference_id
                WHERE m.state = \(bind: pending) AND c.state IN (\(unsafeRaw: active)) LIMIT 50
                """
            ).map(Self.decode)
            let close = try await db.rows(
                """
                SELECT m.* FROM media_rooms m JOIN conferences c ON c.id = m.conference_id
                WHERE m.state = \(bind: ready) AND c.state NOT IN (\(unsafeRaw: active)) LIMIT 50
                """
            ).map(Self.decode)
            return (open, close)
        }
    }

    func setState(_ state: Egov_Conferences_V1_MediaState, of id: String, in tx: Transaction) async throws {
        try await tx.database.execute(
            "UPDATE media_rooms SET state = \(bind: state.rawValue) WHERE conference_id = \(bind: id)")
    }

    /// The id `participant` joins conference `id`'s room with, made the first time.
    func participantID(_ participant: String, conferenceID id: String) async throws -> Int64 {
        try await store.write { tx in
            let janusID = Self.randomID()
            try await tx.database.execute(
                """
                INSERT INTO media_participants (conference_id, participant, janus_id)
                VALUES (\(bind: id), \(bind: participant), \(bind: janusID))
                ON CONFLICT (conference_id, participant) DO NOTHING
                """)
            return try await tx.database.row(
                """
                SELECT janus_id FROM media_participants
                WHERE conference_id = \(bind: id) AND participant = \(bind: participant)
                """)!.decode(column: "janus_id", as: Int64.self)
        }
    }

    /// Who joins with `janusID` in conference `id`'s room.
    func participant(janusID: Int64, conferenceID id: String) async throws -> String? {
        try await store.read { db in
            try await db.row(
                """
                SELECT participant FROM media_participants
                WHERE conference_id = \(bind: id) AND janus_id = \(bind: janusID)
                """)?.decode(column: "participant", as: String.self)
        }
    }

    typealias Conference = Egov_Conferences_V1_Conference

    static func decode(_ row: any SQLRow) throws -> Room {
        Room(
            conferenceID: try row.decode(column: "conference_id", as: String.self),
            room: try row.decode(column: "room", as: Int64.self), pin: try row.decode(column: "pin", as: String.self),
            secret: try row.decode(column: "secret", as: String.self),
            state: .init(rawValue: Int(try row.decode(column: "state", as: Int64.self))) ?? .unspecified)
    }
}

/// Keeps the media rooms in step with the conferences: creates the rooms of scheduled and
/// live conferences that have none yet (Janus was down, or the conference was scheduled on
/// another replica), and removes those of conferences that are over.
public struct MediaKeeper: Service {
    let service: ConferencesService
    let client: JanusClient
    let interval: Duration
    let logger: Logger

    init(service: ConferencesService, client: JanusClient, interval: Duration = .seconds(2), logger: Logger) {
        self.service = service
        self.client = client
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        var failing = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await reconcile()
                if failing { logger.info("media rooms in step with Janus again") }
                failing = false
            } catch {
                if !failing {
                    logger.warning("media rooms not in step with Janus", metadata: ["error": .string("\(error)")])
                }
                failing = true
            }
            await pauseUnlessShuttingDown(for: interval)
        }
    }

    /// Opens and closes what is due, each room on its own: one that fails does not hold up
    /// the others; the first failure is thrown after all were tried.
    func reconcile() async throws {
        let (open, close) = try await service.media.roomsToReconcile()
        var failure: (any Error)?
        for room in open {
            do { try await service.open(room, with: client) } catch { failure = failure ?? error }
        }
        for room in close {
            do {
                try await client.destroyRoom(room.room, secret: room.secret)
                try await service.store.write { tx in
                    try await service.media.setState(.closed, of: room.conferenceID, in: tx)
                }
                try await service.setMediaState(.closed, of: room.conferenceID)
            } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }
}

extension ConferencesService {
    public func getJoinGrant(
        request: Egov_Conferences_V1_GetJoinGrantRequest, context: ServerContext
    ) async throws -> Egov_Conferences_V1_JoinGrant {
        let (conference, _) = try await visibleConference(request.name, field: "name")
        let agency = try await participantAgency(request.participant, of: conference, field: "participant")
        try ConferencesPolicy.actFor.require(
            (conference, request.participant, agency), Self.errors, doing: "join for this participant")
        guard [.scheduled, .live].contains(conference.state) else {
            throw Self.errors.failedPrecondition(
                "ILLEGAL_STATE", "The conference is \(conference.state); nobody joins it now.",
                metadata: ["state": "\(conference.state.rawValue)"])
        }
        let id = Self.id(conference.name)
        guard let janus, let room = try await media.room(conferenceID: id), room.state == .ready else {
            throw Self.errors.failedPrecondition(
                "MEDIA_UNAVAILABLE", "The conference's media room is not ready; try again in a moment.")
        }
        let display: String
        if request.participant.hasPrefix("bridgePoints/") {
            display =
                try await bridgePoints.bridgePoint(id: String(request.participant.dropFirst("bridgePoints/".count)))?
                .displayName ?? request.participant
        } else {
            display = try await people.person(named: request.participant)?.displayName ?? request.participant
        }
        let expiry = conference.endTime.date.addingTimeInterval(3600)
        let participantID = try await media.participantID(request.participant, conferenceID: id)
        return .with {
            $0.conference = conference.name
            $0.participant = request.participant
            $0.serverURL = janus.publicURL
            $0.room = room.room
            $0.pin = room.pin
            $0.participantID = participantID
            $0.display = display
            $0.token = janus.token(expiring: expiry)
            $0.expireTime = .init(date: expiry)
        }
    }

    /// Creates `room` on Janus and marks it ready, on the conference too.
    func open(_ room: MediaRepository.Room, with client: JanusClient) async throws {
        guard let (conference, _) = try await conferences.conference(id: room.conferenceID) else { return }
        try await client.createRoom(
            room.room, pin: room.pin, secret: room.secret, description: conference.title,
            publishers: max(conference.bridgePoints.count + conference.invitedPeople.count + 1, 3))
        try await store.write { tx in try await media.setState(.ready, of: room.conferenceID, in: tx) }
        try await setMediaState(.ready, of: room.conferenceID)
    }

    /// Records the media room's state on conference `id`.
    func setMediaState(_ state: Egov_Conferences_V1_MediaState, of id: String) async throws {
        try await store.write { tx in
            guard let (conference, version) = try await conferences.conference(id: id, in: tx),
                conference.mediaState != state
            else { return }
            var changed = conference
            changed.mediaState = state
            _ = try await conferences.update(changed, id: id, version: version, in: tx)
        }
    }

    /// Applies what Janus reports: a participant joined or left a conference's room. Events
    /// of rooms and ids this service did not issue are ignored.
    func apply(_ event: JanusEvent) async throws {
        guard let kind = event.kind, let room = try await media.room(number: event.room),
            let participant = try await media.participant(janusID: event.id, conferenceID: room.conferenceID),
            let (conference, _) = try await conferences.conference(id: room.conferenceID),
            [.scheduled, .live].contains(conference.state)
        else { return }
        _ = try await store.write { tx in
            try await conferences.append(
                .with {
                    $0.kind = kind; $0.participant = participant; $0.actor = "services/janus"
                }, to: room.conferenceID, in: tx)
        }
        feed.publish(conference.name)
    }
}

/// One event Janus's HTTP event handler posts that this service uses: a participant joined
/// or left a VideoRoom. Read with bounds: the whole body at most `maxBytes`, decoded by
/// Foundation's JSON decoder into these few fields; anything else in it is ignored.
struct JanusEvent: Equatable, Sendable {
    var joined: Bool
    var room: Int64
    var id: Int64

    var kind: Egov_Conferences_V1_ConferenceEvent.Kind? { joined ? .joined : .left }

    static let maxBytes = 1 << 20

    private struct Wire: Decodable {
        struct Body: Decodable {
            var plugin: String?
            var data: Data?
        }
        struct Data: Decodable {
            var event: String?
            var room: Int64?
            var id: Int64?
        }
        var event: Body?
    }

    /// One element of a grouped post: an event of another shape leaves the rest readable.
    private struct Lenient: Decodable {
        var wire: Wire?
        init(from decoder: any Decoder) throws { wire = try? Wire(from: decoder) }
    }

    /// The join and leave events in a body Janus posted (one event, or an array of them when
    /// grouping); nothing for anything else.
    static func parse(_ body: [UInt8]) -> [JanusEvent] {
        guard body.count <= maxBytes else { return [] }
        let data = Foundation.Data(body)
        let decoder = JSONDecoder()
        let wires: [Wire]
        if let many = try? decoder.decode([Lenient].self, from: data) {
            wires = many.compactMap(\.wire)
        } else if let one = try? decoder.decode(Wire.self, from: data) {
            wires = [one]
        } else {
            return []
        }
        return wires.compactMap { wire in
            guard let body = wire.event, body.plugin == "janus.plugin.videoroom", let data = body.data,
                let room = data.room, let id = data.id, data.event == "joined" || data.event == "leaving"
            else { return nil }
            return JanusEvent(joined: data.event == "joined", room: room, id: id)
        }
    }
}

/// Where Janus's HTTP event handler posts (`backend`): a small HTTP listener on loopback,
/// on Hummingbird, taking `POST /janus/events` with HTTP basic auth (user `janus`, the
/// configured password) and a body of at most `JanusEvent.maxBytes`.
enum JanusEventsListener {
    static func application(
        service: ConferencesService, settings: JanusSettings, logger: Logger
    ) -> some Service {
        let expected = Array("Basic \(Data("janus:\(settings.eventsPassword)".utf8).base64EncodedString())".utf8)
        let router = Router()
        router.post("janus/events") { request, _ -> HTTPResponse.Status in
            // Compared in constant time: the listener is on loopback, but the password is a password.
            let given = Array((request.headers[.authorization] ?? "").utf8)
            guard given.count == expected.count, zip(given, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
                return .unauthorized
            }
            var request = request
            guard let body = try? await request.collectBody(upTo: JanusEvent.maxBytes) else {
                return .contentTooLarge
            }
            var failed = false
            for event in JanusEvent.parse(Array(buffer: body)) {
                do {
                    try await service.apply(event)
                } catch {
                    // Each event on its own: one that cannot be recorded does not drop the rest.
                    logger.error(
                        "Janus event not recorded",
                        metadata: [
                            "room": .stringConvertible(event.room), "id": .stringConvertible(event.id),
                            "error": .string("\(error)"),
                        ])
                    failed = true
                }
            }
            return failed ? .serviceUnavailable : .noContent
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: settings.eventsPort), serverName: nil),
            logger: logger)
    }
}

/// Janus's event reader as the events listener uses it, for the fuzzer.
public enum JanusEventReader {
    /// How many join and leave events `body` holds.
    public static func read(_ body: [UInt8]) -> Int { JanusEvent.parse(body).count }

    /// Events as Janus posts them, to start mutations from.
    public static let samples: [[UInt8]] = [
        #"{"type":64,"event":{"plugin":"janus.plugin.videoroom","data":{"event":"joined","room":4102,"id":7001,"display":"Phòng họp"}}}"#,
        #"[{"type":64,"event":{"plugin":"janus.plugin.videoroom","data":{"event":"leaving","room":4102,"id":7001}}},{"type":1,"event":{"name":"created"}}]"#,
        #"{"type":32,"event":{"name":"attached","plugin":"janus.plugin.videoroom"}}"#,
    ].map { Array($0.utf8) }
}
