import Crypto
import EGovAPI
import EGovKit
import EGovStore
import Foundation
import SQLKit

/// How far back the list of ended sessions reaches: past the longest an access token lives
/// (5 minutes, with 30 s of clock leeway), so a token of an ended session is refused for as
/// long as it could otherwise be used.
enum RevokedSessions {
    static let window: Int64 = 600 * 1_000_000

    static func windowStart(now: Int64) -> Int64 { now - window }
}

/// Token signing keys, sessions and their refresh tokens. A session is a family of refresh
/// tokens: each use of one issues the next; a second use of any of them ends the session.
struct SessionRepository: Sendable {
    let store: Store

    /// Every migration of these tables, the later ones declared beside their code; the store
    /// applies them in id order.
    static let migrations: [Migration] = [
        Migration(
            "0003_sessions",
            [
                """
                CREATE TABLE signing_keys (
                    kid TEXT PRIMARY KEY,
                    private_key TEXT NOT NULL,
                    create_time BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE sessions (
                    id TEXT PRIMARY KEY,
                    person TEXT NOT NULL,
                    create_time BIGINT NOT NULL,
                    expire_time BIGINT NOT NULL,
                    end_time BIGINT,
                    end_reason TEXT
                )
                """,
                "CREATE INDEX sessions_by_person ON sessions (person)",
                """
                CREATE TABLE refresh_tokens (
                    token_sha256 TEXT PRIMARY KEY,
                    session TEXT NOT NULL,
                    create_time BIGINT NOT NULL,
                    use_time BIGINT
                )
                """,
            ]
        ),
        addressMigration, endTimeMigration,
    ]

    static let endTimeMigration = Migration(
        "0011_sessions_by_end_time", ["CREATE INDEX sessions_by_end_time ON sessions (end_time)"])

    /// The sessions ended after `since` (microseconds): the tokens issued in them may still
    /// be unexpired.
    func ended(since: Int64) async throws -> [String] {
        try await store.read { db in
            try await db.rows("SELECT id FROM sessions WHERE end_time > \(bind: since)").map {
                try $0.decode(column: "id", as: String.self)
            }
        }
    }

    static let addressMigration = Migration(
        "0006_session_address", ["ALTER TABLE sessions ADD COLUMN client_address TEXT NOT NULL DEFAULT ''"])

    // MARK: Signing keys

    struct SigningKey: Sendable {
        var kid: String
        var key: Curve25519.Signing.PrivateKey
        var createTime: Int64
    }

    static func context(kid: String) -> String { "signing_keys/\(kid)" }

    /// The keys `secrets` opens, newest first. A key sealed with another secrets key is
    /// skipped (and reported by `unreadable`): a new one is made when none is left.
    func signingKeys(secrets: SecretBox) async throws -> (keys: [SigningKey], unreadable: [String]) {
        let rows = try await store.read { db in
            try await db.rows("SELECT * FROM signing_keys ORDER BY create_time DESC").map { row in
                (
                    try row.decode(column: "kid", as: String.self),
                    try row.decode(column: "private_key", as: String.self),
                    try row.decode(column: "create_time", as: Int64.self)
                )
            }
        }
        var keys: [SigningKey] = []
        var unreadable: [String] = []
        for (kid, stored, createTime) in rows {
            guard let raw = try? secrets.open(stored, for: Self.context(kid: kid)),
                let bytes = Data(base64Encoded: raw),
                let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes)
            else {
                unreadable.append(kid)
                continue
            }
            keys.append(SigningKey(kid: kid, key: key, createTime: createTime))
        }
        return (keys, unreadable)
    }

    func addSigningKey(secrets: SecretBox) async throws -> SigningKey {
        let key = Curve25519.Signing.PrivateKey()
        // Keys live on the system clock with the tokens they sign (see WallClock).
        let now = WallClock.system.micros
        let kid = "k\(now / 1_000_000)-\(UUID().uuidString.prefix(8).lowercased())"
        let sealed = try secrets.seal(key.rawRepresentation.base64EncodedString(), for: Self.context(kid: kid))
        try await store.write { tx in
            try await tx.database.execute(
                """
                INSERT INTO signing_keys (kid, private_key, create_time)
                VALUES (\(bind: kid), \(bind: sealed), \(bind: now))
                """)
        }
        return SigningKey(kid: kid, key: key, createTime: now)
    }

    /// Seals the signing keys stored in the clear before sealing existed.
    func sealPlaintextKeys(secrets: SecretBox) async throws -> Int {
        let rows = try await store.read { db in
            try await db.rows("SELECT kid, private_key FROM signing_keys WHERE private_key NOT LIKE 'sealed.v1:%'").map
            {
                (try $0.decode(column: "kid", as: String.self), try $0.decode(column: "private_key", as: String.self))
            }
        }
        for (kid, plain) in rows {
            let sealed = try secrets.seal(plain, for: Self.context(kid: kid))
            try await store.write { tx in
                try await tx.database.execute(
                    "UPDATE signing_keys SET private_key = \(bind: sealed) WHERE kid = \(bind: kid)")
            }
        }
        return rows.count
    }

    // MARK: Sessions

    static func digest(_ token: String) -> String {
        SHA256.hex(token)
    }

    static func newRefreshToken() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        return "rt." + Base64URL.encode(bytes)
    }

    /// Starts a session; returns its id and first refresh token.
    func start(person: String, lifetime: Duration, amr: [String], in tx: Transaction) async throws
        -> (session: String, token: String, expire: Int64)
    {
        let session = UUID().uuidString.lowercased()
        let now = store.clock.micros
        let expire = now + Int64(lifetime.components.seconds) * 1_000_000
        let token = Self.newRefreshToken()
        try await tx.database.execute(
            """
            INSERT INTO sessions (id, person, create_time, expire_time, client_address, amr)
            VALUES (\(bind: session), \(bind: person), \(bind: now), \(bind: expire),
                    \(bind: RequestContext.current?.clientAddress ?? ""), \(bind: amr.joined(separator: " ")))
            """)
        try await tx.database.execute(
            """
            INSERT INTO refresh_tokens (token_sha256, session, create_time)
            VALUES (\(bind: Self.digest(token)), \(bind: session), \(bind: now))
            """)
        return (session, token, expire)
    }

    enum Rotation: Sendable {
        /// The token was good: here are the session, its person, how they signed in and the next token.
        case rotated(session: String, person: String, token: String, expire: Int64, amr: [String])
        /// No such token, or its session ended or expired.
        case invalid
        /// The token had been used already: the session was ended.
        case reused(session: String, person: String)
    }

    /// Uses a refresh token once.
    func rotate(_ token: String, in tx: Transaction) async throws -> Rotation {
        let now = store.clock.micros
        guard
            let row = try await tx.database.row(
                """
                SELECT r.session, r.use_time, s.person, s.expire_time, s.end_time, s.amr FROM refresh_tokens r
                JOIN sessions s ON s.id = r.session WHERE r.token_sha256 = \(bind: Self.digest(token))
                """)
        else { return .invalid }
        let session = try row.decode(column: "session", as: String.self)
        let person = try row.decode(column: "person", as: String.self)
        if try row.decode(column: "end_time", as: Int64?.self) != nil { return .invalid }
        if try row.decode(column: "use_time", as: Int64?.self) != nil {
            try await end(session: session, reason: "refresh token reused", in: tx)
            return .reused(session: session, person: person)
        }
        let expire = try row.decode(column: "expire_time", as: Int64.self)
        guard expire > now else { return .invalid }
        // Mark used only if still unused: two concurrent refreshes cannot both win.
        let claimed = try await tx.database.rows(
            """
            UPDATE refresh_tokens SET use_time = \(bind: now)
            WHERE token_sha256 = \(bind: Self.digest(token)) AND use_time IS NULL RETURNING session
            """)
        guard !claimed.isEmpty else {
            try await end(session: session, reason: "refresh token reused", in: tx)
            return .reused(session: session, person: person)
        }
        let next = Self.newRefreshToken()
        try await tx.database.execute(
            """
            INSERT INTO refresh_tokens (token_sha256, session, create_time)
            VALUES (\(bind: Self.digest(next)), \(bind: session), \(bind: now))
            """)
        let amr = try row.decode(column: "amr", as: String.self).split(separator: " ").map(String.init)
        return .rotated(session: session, person: person, token: next, expire: expire, amr: amr)
    }

    /// The session a refresh token belongs to, used or not.
    func session(ofToken token: String) async throws -> (session: String, person: String)? {
        try await store.read { db in
            try await db.row(
                """
                SELECT s.id, s.person FROM refresh_tokens r JOIN sessions s ON s.id = r.session
                WHERE r.token_sha256 = \(bind: Self.digest(token))
                """
            ).map { (try $0.decode(column: "id", as: String.self), try $0.decode(column: "person", as: String.self)) }
        }
    }

    func end(session: String, reason: String, in tx: Transaction) async throws {
        try await tx.database.execute(
            """
            UPDATE sessions SET end_time = \(bind: store.clock.micros), end_reason = \(bind: reason)
            WHERE id = \(bind: session) AND end_time IS NULL
            """)
    }

    /// Ends every open session of `person` except `keeping`; returns their ids (for the
    /// verifier to refuse their tokens at once, once the transaction commits).
    func endAll(person: String, keeping: String?, reason: String, in tx: Transaction) async throws -> [String] {
        let ended = try await tx.database.rows(
            """
            UPDATE sessions SET end_time = \(bind: store.clock.micros), end_reason = \(bind: reason)
            WHERE person = \(bind: person) AND end_time IS NULL AND id <> \(bind: keeping ?? "") RETURNING id
            """)
        return try ended.map { try $0.decode(column: "id", as: String.self) }
    }

    func isOpen(session: String) async throws -> Bool {
        try await store.read { db in
            try await db.row("SELECT id FROM sessions WHERE id = \(bind: session) AND end_time IS NULL") != nil
        }
    }
}

extension SessionRepository {
    /// The open sessions of `person`, newest first.
    func openSessions(person: String) async throws -> [Egov_Identity_V1_Session] {
        let now = store.clock.micros
        return try await store.read { db in
            try await db.rows(
                """
                SELECT * FROM sessions WHERE person = \(bind: person) AND end_time IS NULL AND expire_time > \(bind: now)
                ORDER BY create_time DESC LIMIT 1000
                """
            ).map { row in
                try .with {
                    $0.name = "\(person)/sessions/\(try row.decode(column: "id", as: String.self))"
                    $0.createTime = .init(micros: try row.decode(column: "create_time", as: Int64.self))
                    $0.expireTime = .init(micros: try row.decode(column: "expire_time", as: Int64.self))
                    $0.clientAddress = try row.decode(column: "client_address", as: String.self)
                }
            }
        }
    }

    /// Ends `session` of `person`; false when there is no such open session.
    func end(session: String, of person: String, reason: String, in tx: Transaction) async throws -> Bool {
        let ended = try await tx.database.rows(
            """
            UPDATE sessions SET end_time = \(bind: store.clock.micros), end_reason = \(bind: reason)
            WHERE id = \(bind: session) AND person = \(bind: person) AND end_time IS NULL RETURNING id
            """)
        return !ended.isEmpty
    }
}
