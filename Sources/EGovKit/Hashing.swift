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
