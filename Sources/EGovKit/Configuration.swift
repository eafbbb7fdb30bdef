public import Foundation

/// One configuration key a process accepts: its name, what it means and its default.
public struct ConfigKey: Sendable, Hashable {
    /// What values the key takes; checked when the configuration is loaded.
    public enum Kind: Sendable, Hashable {
        case string
        case integer(ClosedRange<Int>)
        case boolean
        case choice([String])
    }

    public var name: String
    public var kind: Kind
    public var defaultValue: String?
    public var help: String

    public init(_ name: String, _ kind: Kind = .string, default defaultValue: String? = nil, help: String) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.help = help
    }

    /// The environment variable that sets this key: `EGOV_` and the name in capitals,
    /// dots and dashes as underscores (`listen.port` -> `EGOV_LISTEN_PORT`).
    public var environmentName: String {
        "EGOV_" + name.uppercased().map { $0 == "." || $0 == "-" ? "_" : $0 }.map(String.init).joined()
    }
}

/// Why a configuration could not be loaded. The description names the key and the source.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A process's validated configuration: file, then environment, then flags, later ones winning.
///
/// Unknown keys in the file or on the command line are errors, as are values of the wrong
/// kind. Unknown `EGOV_` environment variables are ignored, since one shell's environment is
/// shared by every process of the platform.
public struct Configuration: Sendable {
    public let keys: [ConfigKey]
    private let values: [String: String]
    /// Where each value came from, for the start-up log.
    public let sources: [String: String]

    /// Loads and validates. `arguments` excludes the program name. `--config PATH` (or
    /// `EGOV_CONFIG`) names a JSON file whose objects nest by the dots in key names.
    public static func load(
        keys: [ConfigKey],
        arguments: [String],
        environment: [String: String]
    ) throws(ConfigError) -> Configuration {
        let known = Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) })
        var values: [String: String] = [:]
        var sources: [String: String] = [:]
        for key in keys {
            if let value = key.defaultValue {
                values[key.name] = value
                sources[key.name] = "default"
            }
        }

        let flags = try parseFlags(arguments)
        let configPath = flags.first { $0.0 == "config" }?.1 ?? environment["EGOV_CONFIG"]
        if let configPath {
            for (name, value) in try readFile(configPath) {
                guard known[name] != nil else {
                    throw ConfigError("unknown key '\(name)' in \(configPath)\(suggestion(name, keys))")
                }
                values[name] = value
                sources[name] = configPath
            }
        }
        for key in keys {
            if let value = environment[key.environmentName] {
                values[key.name] = value
                sources[key.name] = key.environmentName
            }
        }
        for (name, value) in flags where name != "config" {
            guard known[name] != nil else {
                throw ConfigError("unknown flag '--\(name)'\(suggestion(name, keys))")
            }
            values[name] = value
            sources[name] = "--\(name)"
        }
        for (name, value) in values {
            guard let key = known[name] else { continue }
            try validate(value, for: key, source: sources[name] ?? "default")
        }
        return Configuration(keys: keys, values: values, sources: sources)
    }

    /// The value of a key that has a default or was set; a missing key is a programming error.
    public func string(_ name: String) -> String {
        guard let value = values[name] else { preconditionFailure("configuration key '\(name)' has no value") }
        return value
    }

    /// The value, or nil when the key has no default and was not set.
    public func optionalString(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    public func int(_ name: String) -> Int { Int(string(name))! }

    /// A comma-separated value as its items, blanks dropped.
    public func list(_ name: String) -> [String] {
        string(name).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public func bool(_ name: String) -> Bool { Self.truthy.contains(string(name).lowercased()) }

    public func duration(seconds name: String) -> Duration { .seconds(int(name)) }

    private static let truthy: Set<String> = ["true", "1", "yes", "on"]
    private static let falsy: Set<String> = ["false", "0", "no", "off"]

    private static func validate(_ value: String, for key: ConfigKey, source: String) throws(ConfigError) {
        switch key.kind {
        case .string:
            return
        case .integer(let range):
            guard let number = Int(value) else {
                throw ConfigError("'\(key.name)' from \(source) must be a whole number, got '\(value)'")
            }
            guard range.contains(number) else {
                throw ConfigError(
                    "'\(key.name)' from \(source) must be between \(range.lowerBound) and \(range.upperBound), got \(number)"
                )
            }
        case .boolean:
            guard truthy.contains(value.lowercased()) || falsy.contains(value.lowercased()) else {
                throw ConfigError("'\(key.name)' from \(source) must be true or false, got '\(value)'")
            }
        case .choice(let choices):
            guard choices.contains(value) else {
                throw ConfigError(
                    "'\(key.name)' from \(source) must be one of \(choices.joined(separator: ", ")), got '\(value)'"
                )
            }
        }
    }

    /// `--key value`, `--key=value`; a flag without a value is `true`.
    private static func parseFlags(_ arguments: [String]) throws(ConfigError) -> [(String, String)] {
        var result: [(String, String)] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw ConfigError("unexpected argument '\(argument)': flags look like --key=value")
            }
            let body = argument.dropFirst(2)
            if let equals = body.firstIndex(of: "=") {
                result.append((String(body[..<equals]), String(body[body.index(after: equals)...])))
            } else if index + 1 < arguments.count, !arguments[index + 1].hasPrefix("--") {
                result.append((String(body), arguments[index + 1]))
                index += 1
            } else {
                result.append((String(body), "true"))
            }
            index += 1
        }
        return result
    }

    private static func readFile(_ path: String) throws(ConfigError) -> [(String, String)] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigError("cannot read config file \(path): \(error.localizedDescription)")
        }
        return try decodeFile(data, path: path)
    }

    /// The largest config file read, and how deep its objects may nest.
    static let maxFileBytes = 1 << 20
    static let maxFileDepth = 16

    /// The settings a config file's JSON holds, flattened to dotted keys.
    public static func decodeFile(_ data: Data, path: String) throws(ConfigError) -> [(String, String)] {
        guard data.count <= maxFileBytes else {
            throw ConfigError("config file \(path) is larger than \(maxFileBytes) bytes")
        }
        guard JSONNesting.depth(of: data, over: maxFileDepth) == nil else {
            throw ConfigError("config file \(path) nests objects deeper than \(maxFileDepth) levels")
        }
        let root: [String: JSONValue]
        do {
            root = try JSONDecoder().decode([String: JSONValue].self, from: data)
        } catch {
            throw ConfigError("config file \(path) must hold a JSON object of strings, numbers, booleans and objects")
        }
        var flat: [(String, String)] = []
        func walk(_ object: [String: JSONValue], prefix: String) {
            for (name, value) in object.sorted(by: { $0.key < $1.key }) {
                let full = prefix.isEmpty ? name : "\(prefix).\(name)"
                switch value {
                case .object(let nested): walk(nested, prefix: full)
                case .scalar(let text): flat.append((full, text))
                }
            }
        }
        walk(root, prefix: "")
        return flat
    }

    private static func suggestion(_ name: String, _ keys: [ConfigKey]) -> String {
        let close = keys.map(\.name).filter { $0.hasSuffix(name) || name.hasSuffix($0) || $0.hasPrefix(name) }
        return close.isEmpty ? " (see --help for the keys)" : " (did you mean '\(close[0])'?)"
    }

    /// A help text listing every key with its default and environment variable.
    public static func help(program: String, keys: [ConfigKey]) -> String {
        var lines = [
            "usage: \(program) [--config FILE.json] [--KEY=VALUE ...]", "",
            "Settings (flags win over environment, environment over the file):",
        ]
        for key in keys {
            let fallback = key.defaultValue.map { " [default: \($0.isEmpty ? "none" : $0)]" } ?? ""
            lines.append("  --\(key.name)  (\(key.environmentName))\(fallback)")
            lines.append("      \(key.help)")
        }
        return lines.joined(separator: "\n")
    }
}

/// A config file value: a scalar kept as text, or a nested object.
private enum JSONValue: Decodable {
    case scalar(String)
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            self = .scalar(flag ? "true" : "false")
        } else if let number = try? container.decode(Int.self) {
            self = .scalar(String(number))
        } else if let text = try? container.decode(String.self) {
            self = .scalar(text)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}
