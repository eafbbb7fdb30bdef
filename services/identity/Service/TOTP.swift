import Crypto
public import Foundation

/// Time-based one-time passwords (RFC 6238): HMAC-SHA1 over 30-second steps, six digits, as
/// every authenticator app computes them.
///
/// Written here rather than taken from HummingbirdOTP (hummingbird-auth 2.5): that library
/// keys the HMAC with the UTF-8 bytes of a `String` secret, so it cannot hold the 160 random
/// bits RFC 4226 §4 asks for, which every authenticator enrolled so far was given; moving to
/// it would invalidate them all. It also has no step window or replay rule, which are the
/// parts that matter here.
public enum TOTP {
    public static let period: Int64 = 30
    public static let digits = 6

    /// The code for `step` (seconds since 1970 / 30).
    public static func code(secret: [UInt8], step: Int64, digits: Int = digits) -> String {
        var counter = UInt64(step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Data($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary =
            (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: digits - value.count) + value
    }

    public static func step(at date: Date) -> Int64 { Int64(date.timeIntervalSince1970) / period }

    /// The step `code` matches within one step of `now`, or nil. Callers refuse a step at or
    /// before the last one accepted, so a code works once.
    public static func matchingStep(_ code: String, secret: [UInt8], now: Date = Date()) -> Int64? {
        guard code.count == digits, code.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let current = step(at: now)
        for candidate in [current, current - 1, current + 1] where Self.code(secret: secret, step: candidate) == code {
            return candidate
        }
        return nil
    }

    public static func newSecret() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    /// RFC 4648 base32 without padding, as authenticator apps take secrets.
    public static func base32(_ bytes: [UInt8]) -> String {
        var result = ""
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                result.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { result.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return result
    }

    public static func decodeBase32(_ text: String) -> [UInt8]? {
        var result: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for character in text.uppercased() where character != "=" {
            guard let index = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | UInt32(index)
            bits += 5
            if bits >= 8 {
                result.append(UInt8((buffer >> UInt32(bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return result
    }
}
