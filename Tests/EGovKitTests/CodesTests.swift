import EGovKit
import Testing

@Suite struct AgencyCodeTests {
    @Test(arguments: ["000.00.00.H41", "000.00.01.H41", "001.23.45.G01"])
    func validCodes(code: String) { #expect(AgencyCode.isValid(code)) }

    @Test(arguments: [
        "", "000.00.00", "00.00.00.H41", "000.00.00.h41", "000.00.00.H4", "000.0a.00.H41",
        "000.00.00.H41.1", "000-00-00-H41", "000.00.00.141",
    ])
    func invalidCodes(code: String) { #expect(!AgencyCode.isValid(code)) }
}
