import Foundation

/// Vietnamese text for searching: lower case without diacritics, `đ` as `d`, so
/// "quyet dinh" finds "Quyết định" and "Nguyễn" finds "nguyen".
public enum VietnameseText {
    public static func fold(_ text: String) -> String {
        text.replacingOccurrences(of: "đ", with: "d").replacingOccurrences(of: "Đ", with: "d")
            .folding(options: [.diacriticInsensitive, .caseInsensitive, .widthInsensitive], locale: nil)
            .lowercased()
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// Vietnamese text in plain ASCII letters, case kept ("Hồ sơ đã có kết quả" -> "Ho so da
    /// co ket qua"): what SMS gateways carry in one 160-character segment.
    public static func unaccented(_ text: String) -> String {
        text.replacingOccurrences(of: "đ", with: "d").replacingOccurrences(of: "Đ", with: "D")
            .folding(options: [.diacriticInsensitive, .widthInsensitive], locale: nil)
            .unicodeScalars.filter(\.isASCII).map(String.init).joined()
    }
}
