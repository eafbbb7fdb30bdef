import Crypto
import EGovStore
import Foundation
import SQLKit

/// Slows down password guessing, per account and per source address, persistently (a
/// restart does not reset it). After a few consecutive failures each further attempt waits
/// twice as long, up to 15 minutes; an account takes at most 100 failed attempts an hour.
/// The same applies whether or not the account exists, so locking reveals nothing.
struct LoginThrottle: Sendable {
    let store: Store
    /// Microseconds since 1970, on the store's clock (tests hold it still).
    func now() -> Int64 { store.clock.micros }

    struct Rule: Sendable {
        var freeFailures: Int64
        var perHour: Int64
    }

    static let account = Rule(freeFailures: 3, perHour: 100)
    /// Many people may share one address (an office, a mobile carrier's NAT).
    static let address = Rule(freeFailures: 20, perHour: 1000)
    static let longestWait: Int64 = 15 * 60

    static let migrations: [Migration] = [
        Migration(
            "0005_login_throttle",
            [
                """
                CREATE TABLE login_throttle (
                    throttle_key TEXT PRIMARY KEY,
                    window_start BIGINT NOT NULL,
                    failures_in_window BIGINT NOT NULL,
                    consecutive_failures BIGINT NOT NULL,
                    locked_until BIGINT NOT NULL
                )
                """
            ]
        )
    ]

    static func accountKey(_ login: String) -> String {
        "account:" + SHA256.hex(login)
    }

    static func addressKey(_ address: String) -> String { "address:" + address }

    /// Seconds to wait before another attempt is allowed, or nil when one is allowed now.
    func wait(_ keys: [String]) async throws -> Int64? {
        let now = self.now()
        var longest: Int64 = 0
        try await store.read { db in
            for key in keys {
                if let row = try await db.row(
                    "SELECT locked_until FROM login_throttle WHERE throttle_key = \(bind: key)")
                {
                    longest = max(longest, try row.decode(column: "locked_until", as: Int64.self) - now)
                }
            }
        }
        return longest > 0 ? (longest + 999_999) / 1_000_000 : nil
    }

    func recordFailure(key: String, rule: Rule) async throws {
        let now = self.now()
        let hour: Int64 = 3_600_000_000
        try await store.write { tx in
            let row = try await tx.database.row("SELECT * FROM login_throttle WHERE throttle_key = \(bind: key)")
            var windowStart = try row?.decode(column: "window_start", as: Int64.self) ?? now
            var inWindow = try row?.decode(column: "failures_in_window", as: Int64.self) ?? 0
            var consecutive = try row?.decode(column: "consecutive_failures", as: Int64.self) ?? 0
            if now - windowStart > hour {
                windowStart = now
                inWindow = 0
            }
            inWindow += 1
            consecutive += 1
            var lockedUntil: Int64 = 0
            if consecutive > rule.freeFailures {
                let seconds = min(Self.longestWait, Int64(1) << min(20, consecutive - rule.freeFailures - 1))
                lockedUntil = now + seconds * 1_000_000
            }
            if inWindow >= rule.perHour { lockedUntil = max(lockedUntil, windowStart + hour) }
            try await tx.database.execute(
                """
                INSERT INTO login_throttle (throttle_key, window_start, failures_in_window, consecutive_failures, locked_until)
                VALUES (\(bind: key), \(bind: windowStart), \(bind: inWindow), \(bind: consecutive), \(bind: lockedUntil))
                ON CONFLICT (throttle_key) DO UPDATE SET window_start = excluded.window_start,
                    failures_in_window = excluded.failures_in_window,
                    consecutive_failures = excluded.consecutive_failures, locked_until = excluded.locked_until
                """)
        }
    }

    /// A successful sign-in clears the account's run of failures (not the hourly count).
    func recordSuccess(key: String) async throws {
        try await store.write { tx in
            try await tx.database.execute(
                "UPDATE login_throttle SET consecutive_failures = 0, locked_until = 0 WHERE throttle_key = \(bind: key)"
            )
        }
    }
}
