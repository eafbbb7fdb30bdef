import Foundation
public import Logging

/// Limits every gRPC server sets explicitly (the transport's defaults are unlimited streams).
public struct ServerLimits: Sendable, Hashable {
    public var maxMessageBytes: Int
    public var maxConcurrentStreams: Int
    public var keepaliveTime: Duration
    public var keepaliveTimeout: Duration
    public var maxIdleTime: Duration
    public var maxConnectionAge: Duration
    public var maxConnectionAgeGrace: Duration

    public init(
        maxMessageBytes: Int = 4 << 20,
        maxConcurrentStreams: Int = 256,
        keepaliveTime: Duration = .seconds(30),
        keepaliveTimeout: Duration = .seconds(10),
        maxIdleTime: Duration = .seconds(300),
        maxConnectionAge: Duration = .seconds(3600),
        maxConnectionAgeGrace: Duration = .seconds(30)
    ) {
        self.maxMessageBytes = maxMessageBytes
        self.maxConcurrentStreams = maxConcurrentStreams
        self.keepaliveTime = keepaliveTime
        self.keepaliveTimeout = keepaliveTimeout
        self.maxIdleTime = maxIdleTime
        self.maxConnectionAge = maxConnectionAge
        self.maxConnectionAgeGrace = maxConnectionAgeGrace
    }
}

/// A peer service this process calls.
public struct PeerEndpoint: Sendable, Hashable {
    public var name: String
    public var host: String
    public var port: Int

    public var target: String { "\(host):\(port)" }

    /// Parses `host:port`.
    public init?(name: String, target: String) {
        guard let colon = target.lastIndex(of: ":"), let port = Int(target[target.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        self.name = name
        self.host = String(target[..<colon])
        self.port = port
    }
}

/// The settings every egov process has, read from its `Configuration`.
public struct ProcessSettings: Sendable {
    /// Short name: `identity`, `documents`, `procedures`, `conferences`, `gateway`.
    public var name: String
    public var dataDirectory: String
    public var listenHost: String
    public var listenPort: Int
    public var adminHost: String
    public var adminPort: Int
    public var tls: TLSFiles
    /// The lowest TLS version the gRPC port accepts.
    public var minimumTLSVersion: TLSMinimumVersion
    public var devPKI: Bool
    public var databaseURL: String
    public var limits: ServerLimits
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    public var peers: [PeerEndpoint]
    public var defaultDeadline: Duration
    public var shutdownGrace: Duration

    /// The well-known local ports of each process: gRPC and admin (metrics, health over HTTP).
    public static let defaultPorts: [String: (grpc: Int, admin: Int)] = [
        "identity": (7101, 9101), "documents": (7102, 9102), "procedures": (7103, 9103),
        "conferences": (7104, 9104), "gateway": (7443, 9100),
    ]

    /// The configuration keys common to every process; `peers` are the services it calls.
    public static func keys(for name: String, peers: [String], database: Bool = true) -> [ConfigKey] {
        let ports = defaultPorts[name] ?? (7100, 9100)
        var keys: [ConfigKey] = [
            ConfigKey("data_dir", default: "data", help: "Directory for the database, the dev PKI and other state."),
            ConfigKey("listen.host", default: "127.0.0.1", help: "Address the gRPC port binds to."),
            ConfigKey("listen.port", .integer(0...65535), default: String(ports.grpc), help: "gRPC port (TLS)."),
            ConfigKey("admin.host", default: "127.0.0.1", help: "Address the admin HTTP port binds to."),
            ConfigKey(
                "admin.port", .integer(0...65535), default: String(ports.admin),
                help: "Admin HTTP port: /metrics (Prometheus text), /healthz."
            ),
            ConfigKey("tls.ca", default: "", help: "CA certificate (PEM) trusted for peers. Default: the dev CA."),
            ConfigKey("tls.cert", default: "", help: "This process's certificate chain (PEM). Default: dev PKI."),
            ConfigKey("tls.key", default: "", help: "This process's private key (PEM). Default: dev PKI."),
            ConfigKey(
                "tls.min_version", .choice(TLSMinimumVersion.allCases.map(\.rawValue)), default: "1.3",
                help: "Lowest TLS version the gRPC port accepts; older ClientHellos get a protocol_version alert."
            ),
            ConfigKey(
                "tls.dev_pki", .boolean, default: "true",
                help: "Create a development CA and certificates under data_dir/pki when missing."
            ),
            ConfigKey(
                "limits.max_message_bytes", .integer(1024...(64 << 20)), default: String(4 << 20),
                help: "Largest request message accepted, in bytes."
            ),
            ConfigKey(
                "limits.max_concurrent_streams", .integer(1...10_000), default: "256",
                help: "Concurrent RPCs allowed on one connection."
            ),
            ConfigKey("limits.keepalive_seconds", .integer(1...86_400), default: "30", help: "Ping interval."),
            ConfigKey(
                "limits.keepalive_timeout_seconds", .integer(1...3600), default: "10",
                help: "Close a connection whose ping is not answered within this time."
            ),
            ConfigKey(
                "limits.max_idle_seconds", .integer(1...86_400), default: "300",
                help: "Close a connection with no RPCs for this long."
            ),
            ConfigKey(
                "limits.max_connection_age_seconds", .integer(1...604_800), default: "3600",
                help: "Ask clients to reconnect after this long (spreads load after restarts)."
            ),
            ConfigKey(
                "limits.max_connection_age_grace_seconds", .integer(0...3600), default: "30",
                help: "Time in-flight RPCs get to finish when a connection reaches its age."
            ),
            ConfigKey(
                "rpc.default_deadline_ms", .integer(10...600_000), default: "5000",
                help: "Deadline for calls to peers when the incoming call has none."
            ),
            ConfigKey(
                "shutdown.grace_seconds", .integer(0...600), default: "10",
                help: "Time in-flight RPCs get to finish on SIGTERM/SIGINT."
            ),
            ConfigKey(
                "log.level", .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]),
                default: "info", help: "Least severe level logged."
            ),
            ConfigKey("log.format", .choice(["logfmt", "json"]), default: "logfmt", help: "Log line format."),
        ]
        if database {
            keys.append(
                ConfigKey(
                    "database.url", default: "",
                    help: "sqlite:///path/file.sqlite or postgres://user:pass@host:port/db. "
                        + "Default: sqlite under data_dir."
                )
            )
        }
        for peer in peers {
            let port = defaultPorts[peer]?.grpc ?? 0
            keys.append(
                ConfigKey("peers.\(peer)", default: "127.0.0.1:\(port)", help: "host:port of the \(peer) service.")
            )
        }
        return keys
    }

    public init(name: String, config: Configuration) throws(ConfigError) {
        self.name = name
        self.dataDirectory = config.string("data_dir")
        self.listenHost = config.string("listen.host")
        self.listenPort = config.int("listen.port")
        self.adminHost = config.string("admin.host")
        self.adminPort = config.int("admin.port")
        self.devPKI = config.bool("tls.dev_pki")
        self.minimumTLSVersion = TLSMinimumVersion(rawValue: config.string("tls.min_version")) ?? .tls13
        let dev = DevPKI(directory: "\(dataDirectory)/pki").files(for: name)
        self.tls = TLSFiles(
            caCertificate: config.optionalString("tls.ca") ?? dev.caCertificate,
            certificate: config.optionalString("tls.cert") ?? dev.certificate,
            privateKey: config.optionalString("tls.key") ?? dev.privateKey
        )
        let sqlitePath = URL(fileURLWithPath: "\(dataDirectory)/\(name).sqlite").standardizedFileURL.path
        self.databaseURL =
            config.keys.contains { $0.name == "database.url" }
            ? (config.optionalString("database.url") ?? "sqlite://\(sqlitePath)") : ""
        self.limits = ServerLimits(
            maxMessageBytes: config.int("limits.max_message_bytes"),
            maxConcurrentStreams: config.int("limits.max_concurrent_streams"),
            keepaliveTime: config.duration(seconds: "limits.keepalive_seconds"),
            keepaliveTimeout: config.duration(seconds: "limits.keepalive_timeout_seconds"),
            maxIdleTime: config.duration(seconds: "limits.max_idle_seconds"),
            maxConnectionAge: config.duration(seconds: "limits.max_connection_age_seconds"),
            maxConnectionAgeGrace: config.duration(seconds: "limits.max_connection_age_grace_seconds")
        )
        self.logLevel = Logger.Level(rawValue: config.string("log.level")) ?? .info
        self.logFormat = LogFormat(rawValue: config.string("log.format")) ?? .logfmt
        self.defaultDeadline = .milliseconds(config.int("rpc.default_deadline_ms"))
        self.shutdownGrace = config.duration(seconds: "shutdown.grace_seconds")
        var peers: [PeerEndpoint] = []
        for key in config.keys where key.name.hasPrefix("peers.") {
            let peerName = String(key.name.dropFirst("peers.".count))
            let target = config.string(key.name)
            guard let endpoint = PeerEndpoint(name: peerName, target: target) else {
                throw ConfigError("'\(key.name)' must be host:port, got '\(target)'")
            }
            peers.append(endpoint)
        }
        self.peers = peers
    }

    public func peer(_ name: String) -> PeerEndpoint {
        guard let peer = peers.first(where: { $0.name == name }) else {
            preconditionFailure("peer '\(name)' is not configured for \(self.name)")
        }
        return peer
    }
}
