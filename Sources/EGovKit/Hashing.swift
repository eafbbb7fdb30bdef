public import Crypto
import Foundation

extension Digest {
    /// Lower-case hexadecimal, as stored and compared across the platform.
    public var hex: String { map { String(format: "%02x", $0) }.joined() }
}

extension SHA256 {
    /// The SHA-256 of `text`'s UTF-8 bytes, in hexadecimal.
    public static func hex(_ text: String) -> String { hash(data: Data(text.utf8)).hex }
}

/// Whether two byte strings are equal, in time that depends only on their length, so a
/// comparison of secrets reveals nothing about where they differ.
public func constantTimeEquals(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
    lhs.count == rhs.count && zip(lhs, rhs).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
}
