import Crypto
import EGovAPI
import EGovKit
import EGovStore
import Foundation
import SQLKit
import SwiftProtobuf

/// Dossiers and the per-agency, per-day counters their codes come from.
struct DossierRepository: Sendable {
    let store: Store

    /// Every migration of these tables, the later ones declared beside their code; the store
    /// applies them in id order.
    static let migrations: [Migration] = [
        Migration(
            "0003_dossiers",
            [
                """
                CREATE TABLE dossier_counters (
                    agency TEXT NOT NULL,
                    day TEXT NOT NULL,
                    last BIGINT NOT NULL,
                    PRIMARY KEY (agency, day)
                )
                """,
                """
                CREATE TABLE dossiers (
                    code TEXT PRIMARY KEY,
                    procedure_code TEXT NOT NULL,
                    agency TEXT NOT NULL,
                    applicant TEXT NOT NULL,
                    status BIGINT NOT NULL,
                    receive_time BIGINT NOT NULL,
                    appointment_time BIGINT NOT NULL,
                    secret_sha256 TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    update_time BIGINT NOT NULL,
                    version BIGINT NOT NULL
                )
                """,
                "CREATE INDEX dossiers_by_applicant ON dossiers (applicant, receive_time)",
                "CREATE INDEX dossiers_by_agency ON dossiers (agency, status, appointment_time)",
            ]
        ),
        eventMigration, worklistMigration, representativeAndOverdueMigration, stepMigration, receptionPointsMigration,
    ]

    /// The next sequence number of `agency` on `day`, inside `tx`: the counter row is locked
    /// until the transaction ends, so concurrent submissions get consecutive numbers and a
    /// rolled-back one leaves no gap.
    func nextSequence(agency: String, day: String, in tx: Transaction) async throws -> Int {
        let row = try await tx.database.row(
            """
            INSERT INTO dossier_counters (agency, day, last) VALUES (\(bind: agency), \(bind: day), 1)
            ON CONFLICT (agency, day) DO UPDATE SET last = dossier_counters.last + 1
            RETURNING last
            """)
        return Int(try row!.decode(column: "last", as: Int64.self))
    }

    func insert(_ dossier: Egov_Procedures_V1_Dossier, procedureCode: String, secret: String, in tx: Transaction)
        async throws
    {
        try await tx.database.execute(
            """
            INSERT INTO dossiers (code, procedure_code, agency, deciding_agency, applicant, status, receive_time, appointment_time,
                                  secret_sha256, detail, update_time, version, channel, filed_by)
            VALUES (\(bind: dossier.code), \(bind: procedureCode), \(bind: dossier.agency), \(bind: dossier.decidingAgency),
                    \(bind: dossier.applicant),
                    \(bind: dossier.status.rawValue), \(bind: dossier.receiveTime.micros), \(bind: dossier.appointmentTime.micros),
                    \(bind: Self.digest(secret)), \(bind: try dossier.jsonString()), \(bind: store.clock.micros), 1,
                    \(bind: Int64(dossier.channel.rawValue)), \(bind: dossier.filedBy))
            """)
    }

    func dossier(code: String) async throws -> (dossier: Egov_Procedures_V1_Dossier, secretDigest: String)? {
        try await store.read { db in
            try await db.row("SELECT * FROM dossiers WHERE code = \(bind: code)").map { row in
                (try self.decode(row), try row.decode(column: "secret_sha256", as: String.self))
            }
        }
    }

    static let openStatuses: Set<Egov_Procedures_V1_Dossier.Status> = [.newlyRegistered, .accepted, .processing]
    /// The open statuses as an SQL list, e.g. `1,2,4`.
    static let openStatusList = openStatuses.map { String($0.rawValue) }.sorted().joined(separator: ",")

    /// The appointment as stored, and whether it has passed (or the overdue scan found it
    /// passed) on an open dossier whose clock runs.
    func withDerivedFields(_ dossier: Egov_Procedures_V1_Dossier, row: any SQLRow) -> Egov_Procedures_V1_Dossier {
        var dossier = dossier
        if let appointment = try? row.decode(column: "appointment_time", as: Int64.self) {
            dossier.appointmentTime = .init(micros: appointment)
        }
        return withOverdue(dossier)
    }

    /// `dossier` with `overdue` set: open, its clock running, and past its appointment (or
    /// found past it by the overdue scan).
    func withOverdue(_ dossier: Egov_Procedures_V1_Dossier) -> Egov_Procedures_V1_Dossier {
        var dossier = dossier
        dossier.overdue =
            Self.openStatuses.contains(dossier.status)
            && (dossier.hasOverdueTime || dossier.appointmentTime.micros < store.clock.micros)
        return dossier
    }

    func decode(_ row: any SQLRow) throws -> Egov_Procedures_V1_Dossier {
        var dossier = try Egov_Procedures_V1_Dossier(jsonString: try row.decode(column: "detail", as: String.self))
        dossier.status = .init(rawValue: Int(try row.decode(column: "status", as: Int64.self))) ?? .unspecified
        // Dossiers filed before reception points were recorded carry it only in the column.
        dossier.decidingAgency = try row.decode(column: "deciding_agency", as: String.self)
        dossier.etag = String(try row.decode(column: "version", as: Int64.self))
        return withDerivedFields(dossier, row: row)
    }

    static func digest(_ secret: String) -> String {
        SHA256.hex(secret)
    }
}

extension DossierRepository {
    static let eventMigration = Migration(
        "0005_dossier_events",
        [
            """
            CREATE TABLE dossier_events (
                dossier TEXT NOT NULL,
                seq BIGINT NOT NULL,
                action BIGINT NOT NULL,
                from_status BIGINT NOT NULL,
                to_status BIGINT NOT NULL,
                actor TEXT NOT NULL,
                note TEXT NOT NULL,
                event_time BIGINT NOT NULL,
                PRIMARY KEY (dossier, seq)
            )
            """
        ])

    static let worklistMigration = Migration(
        "0006_dossier_worklists",
        [
            "ALTER TABLE dossiers ADD COLUMN assignee TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE dossiers ADD COLUMN channel BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE dossiers ADD COLUMN finish_time BIGINT",
            "ALTER TABLE dossiers ADD COLUMN rating BIGINT NOT NULL DEFAULT 0",
            "CREATE INDEX dossiers_worklist ON dossiers (agency, appointment_time, code)",
        ])

    /// Saves the changed dossier if nobody changed it since `version`, and records the event.
    func apply(
        _ dossier: Egov_Procedures_V1_Dossier, version: Int64, event: Egov_Procedures_V1_DossierEvent,
        in tx: Transaction
    ) async throws -> Bool {
        let updated = try await tx.database.rows(
            """
            UPDATE dossiers SET status = \(bind: dossier.status.rawValue), appointment_time = \(bind: dossier.appointmentTime.micros),
                detail = \(bind: try dossier.jsonString()), update_time = \(bind: store.clock.micros), version = version + 1,
                assignee = \(bind: dossier.assignee), rating = \(bind: Int64(dossier.rating)),
                current_step = \(bind: Int64(dossier.currentStep)),
                overdue_time = \(bind: dossier.hasOverdueTime ? dossier.overdueTime.micros : nil as Int64?),
                finish_time = COALESCE(finish_time, \(bind: event.toStatus == .finished && event.fromStatus != .finished ? event.time.micros : nil as Int64?))
            WHERE code = \(bind: dossier.code) AND version = \(bind: version) RETURNING code
            """)
        guard !updated.isEmpty else { return false }
        let next = try await tx.database.row(
            "SELECT COUNT(*) AS n FROM dossier_events WHERE dossier = \(bind: dossier.code)")
        let seq = (try next?.decode(column: "n", as: Int64.self) ?? 0) + 1
        try await tx.database.execute(
            """
            INSERT INTO dossier_events (dossier, seq, action, from_status, to_status, actor, note, event_time)
            VALUES (\(bind: dossier.code), \(bind: seq), \(bind: event.action.rawValue), \(bind: event.fromStatus.rawValue),
                    \(bind: event.toStatus.rawValue), \(bind: event.actor), \(bind: event.note), \(bind: event.time.micros))
            """)
        return true
    }

    func events(code: String) async throws -> [Egov_Procedures_V1_DossierEvent] {
        try await store.read { db in
            try await db.rows("SELECT * FROM dossier_events WHERE dossier = \(bind: code) ORDER BY seq").map { row in
                try .with {
                    $0.sequence = try row.decode(column: "seq", as: Int64.self)
                    $0.action = .init(rawValue: Int(try row.decode(column: "action", as: Int64.self))) ?? .unspecified
                    $0.fromStatus =
                        .init(rawValue: Int(try row.decode(column: "from_status", as: Int64.self))) ?? .unspecified
                    $0.toStatus =
                        .init(rawValue: Int(try row.decode(column: "to_status", as: Int64.self))) ?? .unspecified
                    $0.actor = try row.decode(column: "actor", as: String.self)
                    $0.note = try row.decode(column: "note", as: String.self)
                    $0.time = .init(micros: try row.decode(column: "event_time", as: Int64.self))
                }
            }
        }
    }
}

extension DossierRepository {
    static let representativeAndOverdueMigration = Migration(
        "0007_dossier_filers_and_overdue",
        [
            "ALTER TABLE dossiers ADD COLUMN filed_by TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE dossiers ADD COLUMN overdue_time BIGINT",
            "CREATE INDEX dossiers_by_filer ON dossiers (filed_by, receive_time)",
            "CREATE INDEX dossiers_unflagged ON dossiers (appointment_time) WHERE overdue_time IS NULL",
        ])

    static let stepMigration = Migration(
        "0008_dossier_steps",
        [
            "ALTER TABLE dossiers ADD COLUMN current_step BIGINT NOT NULL DEFAULT 0",
            "CREATE INDEX dossiers_by_step ON dossiers (agency, current_step, appointment_time)",
        ]
    ) { tx in
        // Dossiers stored before the column keep their step in their record.
        for row in try await tx.database.rows("SELECT detail FROM dossiers WHERE detail LIKE '%currentStep%'") {
            let dossier = try Egov_Procedures_V1_Dossier(jsonString: try row.decode(column: "detail", as: String.self))
            try await tx.database.execute(
                "UPDATE dossiers SET current_step = \(bind: Int64(dossier.currentStep)) WHERE code = \(bind: dossier.code)"
            )
        }
    }

    /// Open dossiers past their appointment at `now` that no scan flagged yet, oldest appointment first.
    func unflaggedOverdue(at now: Date, limit: Int) async throws -> [Egov_Procedures_V1_Dossier] {
        try await store.read { db in
            try await db.rows(
                """
                SELECT * FROM dossiers WHERE overdue_time IS NULL AND appointment_time < \(bind: Int64(now.timeIntervalSince1970 * 1_000_000))
                AND status IN (\(unsafeRaw: Self.openStatusList)) ORDER BY appointment_time, code LIMIT \(unsafeRaw: String(limit))
                """
            ).map(self.decode)
        }
    }
}

extension DossierRepository {
    /// Records the receiving agencies of each procedure and the deciding agency of each dossier;
    /// until now both were the procedure's agency.
    static let receptionPointsMigration = Migration(
        "0009_reception_points",
        [
            "ALTER TABLE procedures ADD COLUMN receiving_agencies TEXT NOT NULL DEFAULT ''",
            "UPDATE procedures SET receiving_agencies = '|' || agency || '|'",
            "ALTER TABLE dossiers ADD COLUMN deciding_agency TEXT NOT NULL DEFAULT ''",
            "UPDATE dossiers SET deciding_agency = agency",
            "CREATE INDEX dossiers_by_decider ON dossiers (deciding_agency, appointment_time, code)",
        ])
}

/// Which dossiers a list shows: an applicant's own, or an agency's worklist with its filters.
struct DossierQuery: Sendable {
    enum Scope: Sendable {
        /// Theirs, and those they filed online as someone's representative.
        case applicantSide(person: String)
        /// What the agency received at its desk, and what it decides.
        case agency(String)
    }

    var scope: Scope
    var statuses: [Egov_Procedures_V1_Dossier.Status] = []
    var currentStep: Int32? = nil
    var assignee = ""
    var overdueOnly = false
    var dueWithinDays: Int32 = 0
}

/// One row of an agency's figures as the database tallies it, with what averages need.
struct DossierTally: Sendable {
    var row = Egov_Procedures_V1_StatisticsRow()
    var online: Int64 = 0
    var processingMicros: Int64 = 0
    var ratings: Int64 = 0
    var ratingSum: Int64 = 0

    mutating func add(_ other: DossierTally) {
        row.received += other.row.received
        row.finishedEarly += other.row.finishedEarly
        row.finishedOnTime += other.row.finishedOnTime
        row.finishedLate += other.row.finishedLate
        row.closedWithoutResult += other.row.closedWithoutResult
        row.pending += other.row.pending
        row.overdue += other.row.overdue
        online += other.online
        processingMicros += other.processingMicros
        ratings += other.ratings
        ratingSum += other.ratingSum
    }

    var figures: Egov_Procedures_V1_StatisticsRow {
        var figures = row
        let finished = row.finishedEarly + row.finishedOnTime + row.finishedLate
        figures.onlineShare = row.received == 0 ? 0 : Double(online) / Double(row.received)
        figures.averageProcessingDays =
            finished == 0 ? 0 : Double(processingMicros) / 86_400_000_000 / Double(finished)
        figures.averageRating = ratings == 0 ? 0 : Double(ratingSum) / Double(ratings)
        return figures
    }
}

extension DossierRepository {
    /// A page of what `query` selects at `now`, by appointment and code, after the keyset `after`.
    func list(
        _ query: DossierQuery, now: Int64, after: (time: Int64, code: String)?, limit: Int
    ) async throws -> [Egov_Procedures_V1_Dossier] {
        var sql = SQLQueryString("SELECT * FROM dossiers WHERE 1 = 1")
        switch query.scope {
        case .applicantSide(let person):
            sql.appendInterpolation(unsafeRaw: " AND (applicant = ")
            sql.appendInterpolation(bind: person)
            sql.appendInterpolation(unsafeRaw: " OR (filed_by = ")
            sql.appendInterpolation(bind: person)
            sql.appendInterpolation(unsafeRaw: " AND channel = \(Egov_Procedures_V1_Channel.online.rawValue)))")
        case .agency(let agency):
            sql.appendInterpolation(unsafeRaw: " AND (agency = ")
            sql.appendInterpolation(bind: agency)
            sql.appendInterpolation(unsafeRaw: " OR deciding_agency = ")
            sql.appendInterpolation(bind: agency)
            sql.appendInterpolation(unsafeRaw: ")")
        }
        if !query.statuses.isEmpty {
            let statuses = query.statuses.map { String($0.rawValue) }.joined(separator: ",")
            sql.appendInterpolation(unsafeRaw: " AND status IN (\(statuses))")
        }
        if let step = query.currentStep {
            sql.appendInterpolation(unsafeRaw: " AND current_step = ")
            sql.appendInterpolation(bind: Int64(step))
        }
        if !query.assignee.isEmpty {
            sql.appendInterpolation(unsafeRaw: " AND assignee = ")
            sql.appendInterpolation(bind: query.assignee)
        }
        // Overdue (appointment passed) or due soon: open dossiers whose appointment comes before a time.
        let before = [
            query.overdueOnly ? now : nil,
            query.dueWithinDays > 0 ? now + Int64(query.dueWithinDays) * 86_400_000_000 : nil,
        ]
        .compactMap { $0 }.min()
        if let before {
            sql.appendInterpolation(unsafeRaw: " AND status IN (\(Self.openStatusList)) AND appointment_time < ")
            sql.appendInterpolation(bind: before)
        }
        if let after {
            sql.appendInterpolation(unsafeRaw: " AND (appointment_time > ")
            sql.appendInterpolation(bind: after.time)
            sql.appendInterpolation(unsafeRaw: " OR (appointment_time = ")
            sql.appendInterpolation(bind: after.time)
            sql.appendInterpolation(unsafeRaw: " AND code > ")
            sql.appendInterpolation(bind: after.code)
            sql.appendInterpolation(unsafeRaw: "))")
        }
        sql.appendInterpolation(unsafeRaw: " ORDER BY appointment_time, code LIMIT \(limit)")
        return try await store.read { db in try await db.rows(sql).map(self.decode) }
    }

    /// The figures of the dossiers received in [start, end) that `agency` received or decides
    /// (every agency's when nil), one tally per deciding agency and procedure.
    func tallies(agency: String?, from start: Int64, to end: Int64, now: Int64) async throws -> [DossierTally] {
        // Tallied by the database, one row per deciding agency and procedure (the agency answerable
        // for the result), over what the agency received or decides. Days are the province's
        // (UTC+7): finished before, on or after the appointment's day.
        let day: Int64 = 86_400_000_000
        let offset: Int64 = 7 * 3_600_000_000
        let finished = "status IN (9, 10) AND finish_time IS NOT NULL"
        let finishDay = "(finish_time + \(offset)) / \(day)"
        let dueDay = "(appointment_time + \(offset)) / \(day)"
        let open = Self.openStatusList
        func count(_ condition: String) -> String {
            "CAST(COALESCE(SUM(CASE WHEN \(condition) THEN 1 ELSE 0 END), 0) AS BIGINT)"
        }
        let rows = try await store.read { db in
            try await db.rows(
                """
                SELECT deciding_agency, procedure_code, CAST(COUNT(*) AS BIGINT) AS received,
                    \(unsafeRaw: count("channel = \(Egov_Procedures_V1_Channel.online.rawValue)")) AS online,
                    \(unsafeRaw: count("\(finished) AND \(finishDay) < \(dueDay)")) AS early,
                    \(unsafeRaw: count("\(finished) AND \(finishDay) = \(dueDay)")) AS on_time,
                    \(unsafeRaw: count("\(finished) AND \(finishDay) > \(dueDay)")) AS late,
                    \(unsafeRaw: count("status IN (3, 7, 8)")) AS closed,
                    \(unsafeRaw: count("status IN (\(open)) AND (overdue_time IS NOT NULL OR appointment_time < \(now))")) AS overdue,
                    CAST(COALESCE(SUM(CASE WHEN \(unsafeRaw: finished) THEN finish_time - receive_time ELSE 0 END), 0) AS BIGINT) AS processing,
                    \(unsafeRaw: count("rating > 0")) AS ratings,
                    CAST(COALESCE(SUM(rating), 0) AS BIGINT) AS rating_sum
                FROM dossiers
                WHERE (agency = \(bind: agency ?? "") OR deciding_agency = \(bind: agency ?? "")
                        OR \(unsafeRaw: agency == nil ? "1 = 1" : "1 = 0"))
                    AND receive_time >= \(bind: start) AND receive_time < \(bind: end)
                GROUP BY deciding_agency, procedure_code ORDER BY deciding_agency, procedure_code
                """)
        }
        return try rows.map { row in
            var tally = DossierTally()
            tally.row.agency = try row.decode(column: "deciding_agency", as: String.self)
            tally.row.procedure = "procedures/\(try row.decode(column: "procedure_code", as: String.self))"
            tally.row.received = try row.decode(column: "received", as: Int64.self)
            tally.row.finishedEarly = try row.decode(column: "early", as: Int64.self)
            tally.row.finishedOnTime = try row.decode(column: "on_time", as: Int64.self)
            tally.row.finishedLate = try row.decode(column: "late", as: Int64.self)
            tally.row.closedWithoutResult = try row.decode(column: "closed", as: Int64.self)
            tally.row.overdue = try row.decode(column: "overdue", as: Int64.self)
            tally.row.pending =
                tally.row.received - tally.row.finishedEarly - tally.row.finishedOnTime - tally.row.finishedLate
                - tally.row.closedWithoutResult
            tally.online = try row.decode(column: "online", as: Int64.self)
            tally.processingMicros = try row.decode(column: "processing", as: Int64.self)
            tally.ratings = try row.decode(column: "ratings", as: Int64.self)
            tally.ratingSum = try row.decode(column: "rating_sum", as: Int64.self)
            return tally
        }
    }

    /// The ledger's dossiers (Mẫu 06): received in [start, end) by `agency` or decided by it, in
    /// order of receipt, with when each was finished.
    func ledger(
        agency: String, from start: Int64, to end: Int64
    ) async throws -> [(dossier: Egov_Procedures_V1_Dossier, finishTime: Int64?)] {
        try await store.read { db in
            try await db.rows(
                """
                SELECT * FROM dossiers WHERE (agency = \(bind: agency) OR deciding_agency = \(bind: agency))
                    AND receive_time >= \(bind: start) AND receive_time < \(bind: end)
                ORDER BY receive_time, code LIMIT 100000
                """
            ).map { (try self.decode($0), try $0.decode(column: "finish_time", as: Int64?.self)) }
        }
    }
}
