/// Vietnam's 12-digit citizen identification number (căn cước công dân, Circular
/// 59/2021/TT-BCA): three digits for the province of birth, one for century and sex, two
/// for the year of birth, six of sequence.
public struct CitizenID: Sendable, Hashable {
    public enum Sex: Sendable, Hashable { case male, female }

    public let value: String
    public let provinceCode: String
    public let sex: Sex
    /// The century of birth, e.g. 1900 or 2000.
    public let century: Int
    public let birthYear: Int

    /// The province codes of birth in use (the 63 provinces before the 2025 mergers keep
    /// their codes on issued cards).
    public static let provinceCodes: Set<String> = [
        "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020", "022", "024",
        "025", "026", "027", "030", "031", "033", "034", "035", "036", "037", "038", "040", "042", "044", "045",
        "046", "048", "049", "051", "052", "054", "056", "058", "060", "062", "064", "066", "067", "068", "070",
        "072", "074", "075", "077", "079", "080", "082", "083", "084", "086", "087", "089", "091", "092", "093",
        "094", "095", "096",
    ]

    /// Why a value is not a citizen id, for the caller.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        case format, province, birthDateMismatch
        public var description: String {
            switch self {
            case .format: "must be 12 digits"
            case .province: "does not start with a province code of birth"
            case .birthDateMismatch: "does not match the year of birth (its century and year digits)"
            }
        }
    }

    public init(_ value: String) throws(Problem) {
        guard value.count == 12, value.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw .format }
        let digits = value.map { Int(String($0))! }
        let province = String(value.prefix(3))
        guard Self.provinceCodes.contains(province) else { throw .province }
        self.value = value
        self.provinceCode = province
        let centuryDigit = digits[3]
        self.sex = centuryDigit % 2 == 0 ? .male : .female
        // 0/1: 1900s, 2/3: 2000s, 4/5: 2100s, 6/7: 2200s, 8/9: 1800s.
        self.century = centuryDigit >= 8 ? 1800 : 1900 + (centuryDigit / 2) * 100
        self.birthYear = century + digits[4] * 10 + digits[5]
    }

    /// Checks the id against a date of birth `YYYY-MM-DD`. The sex digit is not checked: the
    /// platform does not record a person's sex.
    public static func validate(_ value: String, birthDate: String) throws(Problem) -> CitizenID {
        let id = try CitizenID(value)
        guard let year = Int(birthDate.prefix(4)), birthDate.count == 10, id.birthYear == year else {
            throw .birthDateMismatch
        }
        return id
    }
}

/// A Vietnamese tax code (mã số thuế): ten digits whose last is a check digit, or those ten,
/// a hyphen and a three-digit branch number (a dependent unit or branch).
public enum TaxCode {
    static let weights = [31, 29, 23, 19, 17, 13, 7, 5, 3]

    public static func isValid(_ code: String) -> Bool {
        let parts = code.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return false }
        let main = parts[0]
        guard main.count == 10, main.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        if parts.count == 2 {
            let branch = parts[1]
            guard branch.count == 3, branch.allSatisfy({ $0.isASCII && $0.isNumber }), branch != "000" else {
                return false
            }
        }
        let digits = main.map { Int(String($0))! }
        return checkDigit(digits.prefix(9)) == digits[9]
    }

    /// The check digit of the first nine digits, or nil when no valid code has them.
    public static func checkDigit(_ digits: some Collection<Int>) -> Int? {
        let sum = zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 }
        let check = 10 - sum % 11
        return check == 10 ? nil : check
    }
}

/// Vietnamese phone numbers: mobiles (10 digits, 03/05/07/08/09...) and landlines (11 digits,
/// 02...), written with or without spaces, dots or dashes, or with +84 / 84 for the leading 0.
public enum PhoneNumber {
    /// The number in its national form (`0912345678`), or nil when it is not a Vietnamese number.
    public static func normalized(_ text: String) -> String? {
        var digits = text.filter { !" .-()".contains($0) }
        if digits.hasPrefix("+84") {
            digits = "0" + digits.dropFirst(3)
        } else if digits.hasPrefix("84") && digits.count >= 11 {
            digits = "0" + digits.dropFirst(2)
        }
        guard digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), digits.hasPrefix("0") else { return nil }
        let mobile = digits.count == 10 && "35789".contains(digits[digits.index(after: digits.startIndex)])
        let landline = digits.count == 11 && digits.hasPrefix("02")
        return mobile || landline ? digits : nil
    }
}
