public import Foundation

/// Base64url without padding (RFC 4648 §5), as JWTs, JWKs, page tokens and refresh tokens use
/// it: one encoder and one strict decoder for the whole platform. (Foundation has only the
/// standard alphabet; the transform is two lines, not worth a dependency.)
public enum Base64URL {
    public static func encode(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The bytes of `text`; nil unless it is unpadded base64url (letters, digits, `-`, `_`).
    public static func decode(_ text: some StringProtocol) -> Data? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            return nil
        }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
