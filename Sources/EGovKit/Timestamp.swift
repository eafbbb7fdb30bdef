public import Foundation
public import SwiftProtobuf

extension Google_Protobuf_Timestamp {
    /// A timestamp from microseconds since 1970, the unit the stores keep.
    public init(micros: Int64) {
        self.init(seconds: micros.floorDiv(1_000_000), nanos: Int32(micros.floorMod(1_000_000) * 1000))
    }

    /// Microseconds since 1970.
    public var micros: Int64 { seconds * 1_000_000 + Int64(nanos / 1000) }
}

extension Int64 {
    fileprivate func floorDiv(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor < 0) ? quotient - 1 : quotient
    }

    fileprivate func floorMod(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}

/// The time as a process reads it, passed to everything that asks "now": the system's, or
/// one a test sets and moves. Signing in alone lives on the system clock: access tokens (every
/// process verifies them, with no way to share a test's clock) and second-factor codes (the
/// user's authenticator app reads the real time).
public struct WallClock: Sendable {
    private let read: @Sendable () -> Date

    public init(_ read: @escaping @Sendable () -> Date) { self.read = read }

    public static let system = WallClock { Date() }

    public var now: Date { read() }

    /// Microseconds since 1970, the unit the stores keep.
    public var micros: Int64 { Int64((read().timeIntervalSince1970 * 1_000_000).rounded(.down)) }
}

extension Google_Protobuf_Timestamp {
    /// The times a request may carry: 1900 to 2199, as the calendar knows them. Anything
    /// further would overflow microsecond arithmetic (and means nothing in a dossier).
    public static let acceptedSeconds: ClosedRange<Int64> = -2_208_988_800...7_258_118_399

    /// Whether this is a time a request may carry (1900-2199, valid nanoseconds).
    public var isAccepted: Bool { Self.acceptedSeconds.contains(seconds) && (0..<1_000_000_000).contains(nanos) }
}
