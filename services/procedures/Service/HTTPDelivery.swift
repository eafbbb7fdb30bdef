public import EGovKit
public import EGovStore
public import Foundation

#if canImport(FoundationNetworking)
    public import FoundationNetworking
#endif

/// Carries a JSON document to a system outside the platform (the national portal, the SMS
/// gateway) and says how it answered (the HTTP status).
public protocol JSONTransport: Sendable {
    /// Sends `body`; `idempotencyKey` is the same on every retry of one event.
    func send(_ body: Data, idempotencyKey: String) async throws -> Int
}

/// `JSONTransport` over HTTPS: POSTs the document with a bearer token.
public struct HTTPJSONTransport: JSONTransport {
    let url: URL
    let token: String
    let session: URLSession

    /// `url` must be HTTPS, except on loopback (tests, a local relay); `setting` names the
    /// configuration key in errors.
    public init(url: URL, token: String, setting: String, timeout: TimeInterval = 10) throws {
        let loopback = ["127.0.0.1", "localhost", "::1"].contains(url.host ?? "")
        guard url.scheme == "https" || (url.scheme == "http" && loopback) else {
            throw ConfigError("\(setting): '\(url)' must be https:// (plain http only on loopback)")
        }
        self.url = url
        self.token = token
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        self.session = URLSession(configuration: configuration)
    }

    /// The transport a `<prefix>.url` and `<prefix>.token_file` setting describe, or nil when the url is empty.
    public static func configured(_ configuration: Configuration, prefix: String) throws -> HTTPJSONTransport? {
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
        return try HTTPJSONTransport(url: url, token: token, setting: "\(prefix).url")
    }

    public func send(_ body: Data, idempotencyKey: String) async throws -> Int {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json; charset=utf-8", forHTTPHeaderField: "Content-Type")
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
    public var description: String { "\(system) answered HTTP \(status); will retry" }
}

extension JSONTransport {
    /// Sends `body` and reads the answer: 2xx is done; 401, 403, 408, 429 and 5xx are
    /// `DeliveryUnavailable` (retried); any other 4xx means the system will never take it,
    /// an `OutboxRejection` naming `subject`.
    func deliver(_ body: Data, idempotencyKey: String, to system: String, about subject: String) async throws {
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
