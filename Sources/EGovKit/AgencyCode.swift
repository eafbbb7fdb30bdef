public import GRPCProtobuf

/// QCVN 102:2016 agency codes: `000.00.00.H41` — three groups of digits (3, 2, 2) and a
/// group of a capital letter and two digits, separated by dots.
public enum AgencyCode {
    public static func isValid(_ code: String) -> Bool {
        let groups = code.split(separator: ".", omittingEmptySubsequences: false)
        guard groups.count == 4 else { return false }
        let digits: (Substring, Int) -> Bool = { group, count in
            group.count == count && group.allSatisfy { $0.isASCII && $0.isNumber }
        }
        let last = groups[3]
        return digits(groups[0], 3) && digits(groups[1], 2) && digits(groups[2], 2) && last.count == 3
            && last.first!.isASCII && last.first!.isUppercase && digits(last.dropFirst(), 2)
    }

    /// The code in a resource name `agencies/{code}`, or nil when it is not one.
    public static func code(fromName name: String) -> String? {
        guard name.hasPrefix("agencies/") else { return nil }
        let code = String(name.dropFirst("agencies/".count))
        return isValid(code) ? code : nil
    }
}

extension ErrorBuilder {
    /// The code in `agencies/{code}`, or INVALID_ARGUMENT / INVALID_AGENCY_NAME naming `field`.
    public func agencyCode(fromName name: String, field: String) throws(GoogleRPCStatus) -> String {
        guard let code = AgencyCode.code(fromName: name) else {
            throw invalidArgument(
                "INVALID_AGENCY_NAME", field: field, "must be agencies/{code} with a QCVN 102 code, got '\(name)'")
        }
        return code
    }
}
