public import EGovKit
public import Foundation

#if canImport(FoundationNetworking)
    public import FoundationNetworking
#endif

/// Carries a document (JSON, an edXML envelope) to a system outside the platform (the
/// national portal, the SMS gateway, the national document exchange) and says how it
/// answered (the HTTP status). Outbox sinks deliver through it; tests put a recording
/// server behind the real transport.
public protocol DeliveryTransport: Sendable {
    /// Sends `body`; `idempotencyKey` is the same on every retry of one event.
    func send(_ body: Data, idempotencyKey: String) async throws -> Int
}

/// `DeliveryTransport` over HTTPS: POSTs the document with a bearer token.
public struct HTTPDeliveryTransport: DeliveryTransport {
    let url: URL
    let token: String
    let contentType: String
    let session: URLSession

    /// `url` must be HTTPS, except on loopback (tests, a local relay); `setting` names the
    /// configuration key in errors.
    public init(
        url: URL, token: String, setting: String, contentType: String = "application/json; charset=utf-8",
        timeout: TimeInterval = 10
    ) throws {
        let loopback = ["127.0.0.1", "localhost", "::1"].contains(url.host ?? "")
        guard url.scheme == "https" || (url.scheme == "http" && loopback) else {
            throw ConfigError("\(setting): '\(url)' must be https:// (plain http only on loopback)")
        }
        self.url = url
        self.token = token
        self.contentType = contentType
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        self.session = URLSession(configuration: configuration)
    }

    /// The transport a `<prefix>.url` and `<prefix>.token_file` setting describe, or nil when the url is empty.
    public static func configured(
        _ configuration: Configuration, prefix: String, contentType: String = "application/json; charset=utf-8"
    ) throws -> HTTPDeliveryTransport? {
        let address = configuration.string("\(prefix).url")
        guard !address.isEmpty else { return nil }
        guard let url = URL(string: address), url.host != nil else {
            throw ConfigError("\(prefix).url: '\(address)' is not a URL")
        }
        var token = ""
        let tokenFile = configuration.string("\(prefix).token_file")
        if !tokenFile.isEmpty {
            guard let contents = FileManager.default.contents(atPath: tokenFile) else {
                throw ConfigError("\(prefix).token_file: cannot read '\(tokenFile)'")
            }
            token = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return try HTTPDeliveryTransport(url: url, token: token, setting: "\(prefix).url", contentType: contentType)
    }

    public func send(_ body: Data, idempotencyKey: String) async throws -> Int {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        request.setValue(idempotencyKey, forHTTPHeaderField: "Idempotency-Key")
        if !token.isEmpty { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (_, response) = try await session.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }
}

/// The outside system did not take the document now (unreachable, overloaded, 5xx,
/// credentials being renewed): try again later.
public struct DeliveryUnavailable: Error, CustomStringConvertible {
    public var system: String
    public var status: Int
    public init(system: String, status: Int) {
        self.system = system
        self.status = status
    }
    public var description: String { "\(system) answered HTTP \(status); will retry" }
}

extension DeliveryTransport {
    /// Sends `body` and reads the answer: 2xx is done; 401, 403, 408, 429 and 5xx are
    /// `DeliveryUnavailable` (retried); any other 4xx means the system will never take it,
    /// an `OutboxRejection` naming `subject`.
    public func deliver(_ body: Data, idempotencyKey: String, to system: String, about subject: String) async throws {
        let status = try await send(body, idempotencyKey: idempotencyKey)
        switch status {
        case 200..<300:
            return
        case 401, 403, 408, 429:
            throw DeliveryUnavailable(system: system, status: status)
        case 400..<500:
            throw OutboxRejection("\(system) refused \(subject) with HTTP \(status)")
        default:
            throw DeliveryUnavailable(system: system, status: status)
        }
    }
}

extension OutboxRelay {
    /// The relay that gives `store`'s outbox to an outside system over HTTPS, as the settings
    /// `<prefix>.url` and `<prefix>.token_file` describe it; nil (and the events wait) when
    /// the url is empty.
    public static func outside(
        _ consumer: String, prefix: String, contentType: String = "application/json; charset=utf-8", store: Store,
        environment: ProcessEnvironment, sink: (HTTPDeliveryTransport) -> any OutboxSink
    ) throws -> OutboxRelay? {
        guard
            let transport = try HTTPDeliveryTransport.configured(
                environment.configuration, prefix: prefix, contentType: contentType)
        else { return nil }
        environment.logger.info(
            "outbox consumer connected",
            metadata: [
                "consumer": .string(consumer), "url": .string(environment.configuration.string("\(prefix).url")),
            ])
        return OutboxRelay(
            store: store, consumer: consumer, sink: sink(transport), interval: .seconds(1), logger: environment.logger)
    }
}
