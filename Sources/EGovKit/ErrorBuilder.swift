import GRPCCore
public import GRPCProtobuf
public import SwiftProtobuf

/// Builds the errors services return, in the AIP-193 shape: a status code, a message that
/// tells the caller what to do, an `ErrorInfo` with a machine-readable reason, and for bad
/// input a `BadRequest` naming each offending field.
///
/// Messages, descriptions and metadata may quote what the caller sent; every builder clips
/// them (`Clip`), so an error never grows with the input: an 8 KB name gets an error of a
/// few hundred bytes, and its trailers stay far below any peer's header limit.
public struct ErrorBuilder: Sendable {
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
        let violations = violations.prefix(Clip.maxViolations).map {
            Violation(Clip.text($0.field, Clip.maxField), Clip.text($0.description, Clip.maxDescription))
        }
        let summary = violations.map { "\($0.field): \($0.description)" }.joined(separator: "; ")
        return GoogleRPCStatus(
            code: .invalidArgument,
            message: Clip.text("The request is invalid. \(summary)", Clip.maxMessage),
            details: [
                .errorInfo(reason: reason, domain: domain, metadata: ["field": violations.first?.field ?? ""]),
                .badRequest(violations: violations.map { .init(field: $0.field, description: $0.description) }),
            ]
        )
    }

    /// RESOURCE_EXHAUSTED for a request over one of the platform's limits, naming the limit
    /// (`max_message_bytes`) and its value in the ErrorInfo.
    public func resourceExhausted(_ reason: String, limit: String, _ value: Int, _ message: String) -> GoogleRPCStatus {
        GoogleRPCStatus(
            code: .resourceExhausted, message: Clip.text(message, Clip.maxMessage),
            details: [.errorInfo(reason: reason, domain: domain, metadata: ["limit": limit, "value": String(value)])]
        )
    }

    public func invalidArgument(_ reason: String, field: String, _ description: String) -> GoogleRPCStatus {
        invalidArgument(reason, [Violation(field, description)])
    }

    /// `time` if a request may carry it (1900-2199), else INVALID_ARGUMENT / INVALID_TIME naming `field`.
    public func acceptedTime(_ time: Google_Protobuf_Timestamp, field: String) throws(GoogleRPCStatus)
        -> Google_Protobuf_Timestamp
    {
        guard time.isAccepted else {
            throw invalidArgument("INVALID_TIME", field: field, "must be a time between 1900 and 2199")
        }
        return time
    }

    public func notFound(_ reason: String, resource: String, _ message: String) -> GoogleRPCStatus {
        GoogleRPCStatus(
            code: .notFound, message: Clip.text(message, Clip.maxMessage),
            details: [
                .errorInfo(reason: reason, domain: domain, metadata: ["resource": Clip.text(resource, Clip.maxField)])
            ]
        )
    }

    public func alreadyExists(_ reason: String, resource: String, _ message: String) -> GoogleRPCStatus {
        GoogleRPCStatus(
            code: .alreadyExists, message: Clip.text(message, Clip.maxMessage),
            details: [
                .errorInfo(reason: reason, domain: domain, metadata: ["resource": Clip.text(resource, Clip.maxField)])
            ]
        )
    }

    public func failedPrecondition(_ reason: String, _ message: String, metadata: [String: String] = [:])
        -> GoogleRPCStatus
    {
        GoogleRPCStatus(
            code: .failedPrecondition, message: Clip.text(message, Clip.maxMessage),
            details: [.errorInfo(reason: reason, domain: domain, metadata: Clip.metadata(metadata))]
        )
    }

    public func permissionDenied(_ reason: String, _ message: String) -> GoogleRPCStatus {
        GoogleRPCStatus(
            code: .permissionDenied, message: Clip.text(message, Clip.maxMessage),
            details: [.errorInfo(reason: reason, domain: domain, metadata: [:])]
        )
    }

    public func unavailable(_ reason: String, _ message: String, metadata: [String: String] = [:]) -> GoogleRPCStatus {
        GoogleRPCStatus(
            code: .unavailable, message: Clip.text(message, Clip.maxMessage),
            details: [.errorInfo(reason: reason, domain: domain, metadata: Clip.metadata(metadata))]
        )
    }

    /// INTERNAL: the service is in a state it should never be in; the operators must act.
    public func internalError(_ reason: String, _ message: String) -> GoogleRPCStatus {
        GoogleRPCStatus(
            code: .internalError, message: message, details: [.errorInfo(reason: reason, domain: domain, metadata: [:])]
        )
    }

    /// DATA_LOSS: stored data is damaged; the operators must act.
    public func dataLoss(_ reason: String, _ message: String) -> GoogleRPCStatus {
        GoogleRPCStatus(
            code: .dataLoss, message: message, details: [.errorInfo(reason: reason, domain: domain, metadata: [:])])
    }

    /// Page sizes: 0 means the default of 50; more than 1000 is capped (AIP-158).
    public func pageSize(_ requested: Int32) throws(GoogleRPCStatus) -> Int {
        if requested < 0 {
            throw invalidArgument("INVALID_PAGE_SIZE", field: "page_size", "must not be negative")
        }
        return requested == 0 ? 50 : min(Int(requested), 1000)
    }
}

/// Bounds on what an error may quote. Values are cut at a character boundary and marked
/// with an ellipsis, so the caller still sees which value was meant.
public enum Clip {
    public static let maxMessage = 512
    public static let maxDescription = 256
    public static let maxField = 128
    public static let maxViolations = 16
    public static let maxMetadataValue = 256
    public static let maxMetadataEntries = 16

    /// `text`, or its first characters and an ellipsis when it is longer than `limit` UTF-8 bytes.
    public static func text(_ text: String, _ limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var kept = ""
        var used = 0
        for character in text {
            let size = character.utf8.count
            if used + size > limit - 3 { break }
            kept.append(character)
            used += size
        }
        return kept + "…"
    }

    public static func metadata(_ metadata: [String: String]) -> [String: String] {
        var clipped: [String: String] = [:]
        for (key, value) in metadata.prefix(maxMetadataEntries) {
            clipped[text(key, maxField)] = text(value, maxMetadataValue)
        }
        return clipped
    }
}
