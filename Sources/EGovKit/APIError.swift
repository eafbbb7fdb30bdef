import GRPCCore
public import GRPCProtobuf

/// Builds the errors services return, in the AIP-193 shape: a status code, a message that
/// tells the caller what to do, an `ErrorInfo` with a machine-readable reason, and for bad
/// input a `BadRequest` naming each offending field.
public struct APIError: Sendable {
    /// The error domain, e.g. `identity.egov`.
    public let domain: String

    public init(domain: String) { self.domain = domain }

    /// One bad field of a request.
    public struct Violation: Sendable, Hashable {
        public var field: String
        public var description: String
        public init(_ field: String, _ description: String) {
            self.field = field
            self.description = description
        }
    }

    public func invalidArgument(_ reason: String, _ violations: [Violation]) -> GoogleRPCStatus {
        let summary = violations.map { "\($0.field): \($0.description)" }.joined(separator: "; ")
        return GoogleRPCStatus(
            code: .invalidArgument,
            message: "The request is invalid. \(summary)",
            details: [
                .errorInfo(reason: reason, domain: domain, metadata: ["field": violations.first?.field ?? ""]),
                .badRequest(violations: violations.map { .init(field: $0.field, description: $0.description) }),
            ]
        )
    }

    public func invalidArgument(_ reason: String, field: String, _ description: String) -> GoogleRPCStatus {
        invalidArgument(reason, [Violation(field, description)])
    }

    public func notFound(_ reason: String, resource: String, _ message: String) -> GoogleRPCStatus {
        GoogleRPCStatus(
            code: .notFound, message: message,
            details: [.errorInfo(reason: reason, domain: domain, metadata: ["resource": resource])]
        )
    }

    public func alreadyExists(_ reason: String, resource: String, _ message: String) -> GoogleRPCStatus {
        GoogleRPCStatus(
            code: .alreadyExists, message: message,
            details: [.errorInfo(reason: reason, domain: domain, metadata: ["resource": resource])]
        )
    }

    public func failedPrecondition(_ reason: String, _ message: String, metadata: [String: String] = [:])
        -> GoogleRPCStatus
    {
        GoogleRPCStatus(
            code: .failedPrecondition, message: message,
            details: [.errorInfo(reason: reason, domain: domain, metadata: metadata)]
        )
    }

    public func permissionDenied(_ reason: String, _ message: String) -> GoogleRPCStatus {
        GoogleRPCStatus(
            code: .permissionDenied, message: message,
            details: [.errorInfo(reason: reason, domain: domain, metadata: [:])]
        )
    }

    public func unavailable(_ reason: String, _ message: String, metadata: [String: String] = [:]) -> GoogleRPCStatus {
        GoogleRPCStatus(
            code: .unavailable, message: message,
            details: [.errorInfo(reason: reason, domain: domain, metadata: metadata)]
        )
    }

    /// INTERNAL: the service is in a state it should never be in; the operators must act.
    public func internalError(_ reason: String, _ message: String) -> GoogleRPCStatus {
        GoogleRPCStatus(code: .internalError, message: message, details: [.errorInfo(reason: reason, domain: domain, metadata: [:])])
    }

    /// DATA_LOSS: stored data is damaged; the operators must act.
    public func dataLoss(_ reason: String, _ message: String) -> GoogleRPCStatus {
        GoogleRPCStatus(code: .dataLoss, message: message, details: [.errorInfo(reason: reason, domain: domain, metadata: [:])])
    }

    /// Page sizes: 0 means the default of 50; more than 1000 is capped (AIP-158).
    public func pageSize(_ requested: Int32) throws(GoogleRPCStatus) -> Int {
        if requested < 0 {
            throw invalidArgument("INVALID_PAGE_SIZE", field: "page_size", "must not be negative")
        }
        return requested == 0 ? 50 : min(Int(requested), 1000)
    }
}
