import Foundation
public import Logging

/// How log lines are written to standard error.
public enum LogFormat: String, Sendable {
    /// `ts=... level=info msg="..." key=value`: readable and still parseable.
    case logfmt
    /// One JSON object per line, for log shippers.
    case json
}

/// Writes structured log lines to standard error. Every line carries the process name and,
/// inside an RPC, its request id, method and caller (through `RequestContext`).
public struct StructuredLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: LogFormat

    public init(label: String, level: Logger.Level, format: LogFormat) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.metadataProvider = RequestContext.metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = self.metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        let time = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
        var line: String
        switch format {
        case .logfmt:
            line = "ts=\(time) level=\(event.level) logger=\(label) msg=\(Self.quote("\(event.message)"))"
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                line += " \(key)=\(Self.quote("\(value)"))"
            }
        case .json:
            var object: [String: String] = [
                "ts": time, "level": "\(event.level)", "logger": label, "msg": "\(event.message)",
            ]
            for (key, value) in fields { object[key] = "\(value)" }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            line = String(decoding: data, as: UTF8.self)
        }
        line += "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    private static func quote(_ text: String) -> String {
        if !text.isEmpty, !text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) {
            return text
        }
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }
}

extension LoggingSystem {
    /// Installs the structured handler once per process.
    public static func bootstrapEGov(process: String, level: Logger.Level, format: LogFormat) {
        LoggingSystem.bootstrap { label in
            var handler = StructuredLogHandler(label: label, level: level, format: format)
            handler.metadata["process"] = .string(process)
            return handler
        }
    }
}
