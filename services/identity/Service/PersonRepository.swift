import EGovAPI
import EGovKit
import EGovStore
import Foundation
import SQLKit
import SwiftProtobuf

/// People and their password hashes. The login (citizen id, tax code or official's e-mail)
/// is unique; resource names are random so no personal data ends up in names or logs.
struct PersonRepository: Sendable {
    let store: Store

    /// Every migration of these tables, the later ones declared beside their code; the store
    /// applies them in id order.
    static let migrations: [Migration] = [
        Migration(
            "0002_people",
            [
                """
                CREATE TABLE people (
                    id TEXT PRIMARY KEY,
                    login TEXT NOT NULL UNIQUE,
                    kind BIGINT NOT NULL,
                    agency TEXT NOT NULL,
                    state BIGINT NOT NULL,
                    detail TEXT NOT NULL,
                    password_hash TEXT NOT NULL,
                    create_time BIGINT NOT NULL,
                    update_time BIGINT NOT NULL,
                    version BIGINT NOT NULL
                )
                """,
                "CREATE INDEX people_by_agency ON people (agency, id)",
            ]
        ),
        totpMigration, searchMigration,
    ]

    static let totpMigration = Migration(
        "0007_totp",
        [
            "ALTER TABLE people ADD COLUMN totp_secret TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE people ADD COLUMN totp_pending TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE people ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd'",
        ])

    static let searchMigration = Migration(
        "0009_people_search", ["ALTER TABLE people ADD COLUMN search_text TEXT NOT NULL DEFAULT ''"])

    static func searchText(_ person: Egov_Identity_V1_Person) -> String {
        VietnameseText.fold("\(person.displayName) \(person.email)")
    }

    struct Account: Sendable {
        var person: Egov_Identity_V1_Person
        var passwordHash: String
        /// Base32 TOTP secret in force, or empty.
        var totpSecret: String
        var totpPending: String
        var totpLastStep: Int64
    }

    /// What a person's second-factor secret is sealed for: pending and enabled share it.
    static func totpContext(id: String) -> String { "people/\(id)/totp" }

    /// Seals the second-factor secrets stored in the clear before sealing existed.
    func sealPlaintextTotp(secrets: SecretBox) async throws -> Int {
        let rows = try await store.read { db in
            try await db.rows(
                """
                SELECT id, totp_secret, totp_pending FROM people
                WHERE (totp_secret <> '' AND totp_secret NOT LIKE 'sealed.v1:%') OR (totp_pending <> '' AND totp_pending NOT LIKE 'sealed.v1:%')
                """
            ).map {
                (
                    try $0.decode(column: "id", as: String.self), try $0.decode(column: "totp_secret", as: String.self),
                    try $0.decode(column: "totp_pending", as: String.self)
                )
            }
        }
        for (id, secret, pending) in rows {
            func sealed(_ value: String) throws -> String {
                value.isEmpty || SecretBox.isSealed(value)
                    ? value : try secrets.seal(value, for: Self.totpContext(id: id))
            }
            let (newSecret, newPending) = (try sealed(secret), try sealed(pending))
            try await store.write { tx in
                try await tx.database.execute(
                    "UPDATE people SET totp_secret = \(bind: newSecret), totp_pending = \(bind: newPending) WHERE id = \(bind: id)"
                )
            }
        }
        return rows.count
    }

    func setPendingTotp(id: String, secret: String, in tx: Transaction) async throws {
        try await tx.database.execute("UPDATE people SET totp_pending = \(bind: secret) WHERE id = \(bind: id)")
    }

    func enableTotp(id: String, step: Int64, in tx: Transaction) async throws {
        try await tx.database.execute(
            """
            UPDATE people SET totp_secret = totp_pending, totp_pending = '', totp_last_step = \(bind: step),
                update_time = \(bind: store.clock.micros), version = version + 1
            WHERE id = \(bind: id) AND totp_pending <> ''
            """)
    }

    /// Records the step of an accepted code; false if a code of this or a later step was
    /// already used (a replay).
    func useTotpStep(id: String, step: Int64, in tx: Transaction) async throws -> Bool {
        let updated = try await tx.database.rows(
            """
            UPDATE people SET totp_last_step = \(bind: step)
            WHERE id = \(bind: id) AND totp_last_step < \(bind: step) RETURNING id
            """)
        return !updated.isEmpty
    }

    /// Inserts; throws `LoginTaken` when the login exists.
    func insert(_ person: Egov_Identity_V1_Person, login: String, passwordHash: String, in tx: Transaction) async throws
        -> Egov_Identity_V1_Person
    {
        var person = person
        let id = UUID().uuidString.lowercased()
        let now = store.clock.micros
        person.name = "people/\(id)"
        person.state = .active
        person.createTime = Google_Protobuf_Timestamp(micros: now)
        person.updateTime = person.createTime
        person.etag = "1"
        do {
            try await tx.database.execute(
                """
                INSERT INTO people (id, login, kind, agency, state, detail, password_hash, create_time, update_time, version,
                                    search_text)
                VALUES (\(bind: id), \(bind: login), \(bind: person.kind.rawValue), \(bind: person.agency),
                        \(bind: person.state.rawValue), \(bind: try person.jsonString()), \(bind: passwordHash),
                        \(bind: now), \(bind: now), 1, \(bind: Self.searchText(person)))
                """)
        } catch  where Store.isUniqueViolation(error) {
            throw LoginTaken()
        }
        return person
    }

    func account(login: String) async throws -> Account? {
        try await store.read { db in
            try await db.row("SELECT * FROM people WHERE login = \(bind: login)").map(Self.account)
        }
    }

    func account(id: String) async throws -> Account? {
        try await store.read { db in
            try await db.row("SELECT * FROM people WHERE id = \(bind: id)").map(Self.account)
        }
    }

    func setPasswordHash(id: String, _ hash: String, in tx: Transaction) async throws {
        try await tx.database.execute(
            """
            UPDATE people SET password_hash = \(bind: hash), update_time = \(bind: store.clock.micros),
                version = version + 1 WHERE id = \(bind: id)
            """)
    }

    /// Replaces the stored person (its detail, state and agency) if `version` is still current.
    func update(_ person: Egov_Identity_V1_Person, id: String, version: Int64, in tx: Transaction) async throws -> Bool
    {
        let updated = try await tx.database.rows(
            """
            UPDATE people SET detail = \(bind: try person.jsonString()), state = \(bind: person.state.rawValue),
                search_text = \(bind: Self.searchText(person)),
                agency = \(bind: person.agency), update_time = \(bind: store.clock.micros), version = version + 1
            WHERE id = \(bind: id) AND version = \(bind: version) RETURNING id
            """)
        return !updated.isEmpty
    }

    func people(agency: String?, query: String, after: String?, limit: Int) async throws -> [Egov_Identity_V1_Person] {
        try await store.read { db in
            let equals: [(column: String, value: SQLBind)] = agency.map { [("agency", SQLBind($0))] } ?? []
            let sql = keysetPageQuery(
                table: "people", key: "id", after: after, equals: equals, contains: ("search_text", query), limit: limit
            )
            return try await db.rows(sql).map { try Self.account($0).person }
        }
    }

    static func account(_ row: any SQLRow) throws -> Account {
        var person = try Egov_Identity_V1_Person(jsonString: try row.decode(column: "detail", as: String.self))
        person.state = .init(rawValue: Int(try row.decode(column: "state", as: Int64.self))) ?? .unspecified
        person.updateTime = Google_Protobuf_Timestamp(micros: try row.decode(column: "update_time", as: Int64.self))
        person.etag = String(try row.decode(column: "version", as: Int64.self))
        let totp = try row.decode(column: "totp_secret", as: String.self)
        person.twoFactorEnabled = !totp.isEmpty
        return Account(
            person: person, passwordHash: try row.decode(column: "password_hash", as: String.self), totpSecret: totp,
            totpPending: try row.decode(column: "totp_pending", as: String.self),
            totpLastStep: try row.decode(column: "totp_last_step", as: Int64.self))
    }
}

struct LoginTaken: Error {}
