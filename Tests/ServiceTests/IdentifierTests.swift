import EGovKit
import Foundation
import IdentityService
import Testing

@Suite struct CitizenIDTests {
    @Test(arguments: [
        ("001090012345", "1990-03-04", CitizenID.Sex.male),
        ("079195000001", "1995-12-31", .female),
        ("008203004567", "2003-01-01", .male),
        ("096310000000", "2010-06-15", .female),
        ("038999123456", "1899-01-01", .female),
    ])
    func validIDsMatchTheirBirthDate(id: String, birthDate: String, sex: CitizenID.Sex) throws {
        let parsed = try CitizenID.validate(id, birthDate: birthDate)
        #expect(parsed.provinceCode == String(id.prefix(3)))
        #expect(parsed.sex == sex)
    }

    @Test(arguments: [
        ("00109001234", "1990-03-04", CitizenID.Problem.format),
        ("00109001234a", "1990-03-04", .format),
        ("003090012345", "1990-03-04", .province),
        ("099090012345", "1990-03-04", .province),
        ("001090012345", "1991-03-04", .birthDateMismatch),
        ("001290012345", "1990-03-04", .birthDateMismatch),
        ("001090012345", "", .birthDateMismatch),
    ])
    func invalidIDsSayWhy(id: String, birthDate: String, problem: CitizenID.Problem) {
        #expect(throws: problem) { try CitizenID.validate(id, birthDate: birthDate) }
    }

    /// The platform keeps no sex on a person, so the message does not pretend to check it.
    @Test func theMismatchMessageNamesOnlyWhatIsChecked() {
        #expect(!CitizenID.Problem.birthDateMismatch.description.contains("sex"))
    }
}

@Suite struct TaxCodeTests {
    @Test(arguments: ["0300588569", "0101248141", "0300588569-001", "0101248141-999"])
    func validTaxCodes(code: String) { #expect(TaxCode.isValid(code)) }

    @Test(arguments: [
        "0300588568", "030058856", "03005885690", "0300588569-000", "0300588569-01", "0300588569-0011",
        "030058856X", "", "0300588569 ", "0300588569_001",
    ])
    func invalidTaxCodes(code: String) { #expect(!TaxCode.isValid(code)) }
}

@Suite struct TOTPTests {
    let secret = Array("12345678901234567890".utf8)

    @Test(arguments: [
        (Int64(59), "94287082"), (1_111_111_109, "07081804"), (1_234_567_890, "89005924"), (2_000_000_000, "69279037"),
    ])
    func rfc6238Vectors(time: Int64, expected: String) {
        #expect(TOTP.code(secret: secret, step: time / 30, digits: 8) == expected)
    }

    @Test func codesMatchWithinOneStepOnly() {
        let now = Date(timeIntervalSince1970: 1_111_111_109)
        let step = TOTP.step(at: now)
        #expect(TOTP.matchingStep(TOTP.code(secret: secret, step: step - 1), secret: secret, now: now) == step - 1)
        #expect(TOTP.matchingStep(TOTP.code(secret: secret, step: step - 2), secret: secret, now: now) == nil)
        #expect(TOTP.matchingStep("12345", secret: secret, now: now) == nil)
    }

    @Test func base32RoundTrips() {
        let bytes = TOTP.newSecret()
        #expect(TOTP.decodeBase32(TOTP.base32(bytes)) == bytes)
        #expect(TOTP.base32(Array("foobar".utf8)) == "MZXW6YTBOI")
    }
}

@Suite struct PhoneNumberTests {
    @Test(arguments: [
        ("0912 345 678", "0912345678"), ("+84 912.345.678", "0912345678"), ("84912345678", "0912345678"),
        ("0387-654-321", "0387654321"), ("024 3825 1234", "02438251234"),
    ])
    func numbersAreWrittenOneWay(text: String, expected: String) {
        #expect(PhoneNumber.normalized(text) == expected)
    }

    @Test(arguments: ["091234567", "0112345678", "09123456789", "0912a45678", "+1 415 555 0100", "", "٠٩١٢٣٤٥٦٧٨"])
    func otherTextIsNotANumber(text: String) {
        #expect(PhoneNumber.normalized(text) == nil)
    }

    @Test func smsTextLosesItsMarksNotItsCase() {
        #expect(
            VietnameseText.unaccented("Hồ sơ đã có kết quả. Đề nghị nộp lệ phí")
                == "Ho so da co ket qua. De nghi nop le phi")
    }
}
