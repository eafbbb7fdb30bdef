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
