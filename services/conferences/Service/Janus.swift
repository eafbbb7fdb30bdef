import Crypto
import EGovKit
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// How this service reaches the media server, Janus WebRTC Server (Debian's `janus`), and
/// how Janus reaches it back.
struct JanusSettings: Sendable {
    /// Janus's HTTP API for this service, e.g. `http://127.0.0.1:8088/janus`.
    var url: URL
    /// The same API as participants reach it (what join grants name).
    var publicURL: String
    /// The VideoRoom plugin's `admin_key`: only its holders create rooms.
    var adminKey: String
    /// Janus's `token_auth_secret`: tokens are HMAC-SHA1 signatures made with it.
    var tokenSecret: String
    /// The password Janus's event handler sends (HTTP basic auth, user `janus`).
    var eventsPassword: String
    /// The loopback port Janus posts its events to.
    var eventsPort: Int

    /// The settings `janus.*` describe, or nil when `janus.url` is empty (no media).
    static func configured(_ configuration: Configuration) throws -> JanusSettings? {
        let address = configuration.string("janus.url")
        guard !address.isEmpty else { return nil }
        guard let url = URL(string: address), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ConfigError("janus.url: '\(address)' is not an http(s) URL")
        }
        func secret(_ key: String) throws -> String {
            let path = configuration.string(key)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigError("\(key): cannot read '\(path)'")
            }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard text.count >= 16 else { throw ConfigError("\(key): '\(path)' holds less than 16 characters") }
            return text
        }
        let publicURL = configuration.string("janus.public_url")
        return JanusSettings(
            url: url, publicURL: publicURL.isEmpty ? address : publicURL,
            adminKey: try secret("janus.admin_key_file"), tokenSecret: try secret("janus.token_secret_file"),
            eventsPassword: try secret("janus.events_password_file"), eventsPort: configuration.int("janus.events_port")
        )
    }

    /// A token Janus accepts until `expiry` for the VideoRoom plugin:
    /// `EXPIRY,janus,janus.plugin.videoroom:base64(HMAC-SHA1(secret, EXPIRY,janus,janus.plugin.videoroom))`.
    func token(expiring expiry: Date) -> String {
        let data = "\(Int64(expiry.timeIntervalSince1970)),janus,janus.plugin.videoroom"
        let signature = HMAC<Insecure.SHA1>.authenticationCode(
            for: Data(data.utf8), using: SymmetricKey(data: Data(tokenSecret.utf8)))
        return "\(data):\(Data(signature).base64EncodedString())"
    }
}

/// The calls this service makes to Janus's HTTP API: a session, the VideoRoom plugin
/// attached, one request, the session destroyed. Each answer is checked; Janus's errors
/// (403 for a bad token, 4xx of the plugin) become `JanusError`.
struct JanusClient: Sendable {
    let settings: JanusSettings
    let session: URLSession

    init(settings: JanusSettings) {
        self.settings = settings
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 5
        session = URLSession(configuration: configuration)
    }

    struct JanusError: Error, CustomStringConvertible {
        var description: String
    }

    /// Whether Janus answers: nil when it does, or why not.
    func problem() async -> String? {
        do {
            var request = URLRequest(url: settings.url.appendingPathComponent("info"))
            request.httpMethod = "GET"
            let (_, response) = try await session.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            return status == 200 ? nil : "Janus answered HTTP \(status)"
        } catch {
            return "Janus unreachable: \(error.localizedDescription)"
        }
    }

    /// Creates VideoRoom `room` with `pin` (to join) and `secret` (to manage), for at most
    /// `publishers` senders; an existing room of that number is left as it is.
    func createRoom(_ room: Int64, pin: String, secret: String, description: String, publishers: Int) async throws {
        let answer = try await videoroom([
            "request": "create", "room": room, "admin_key": settings.adminKey, "pin": pin, "secret": secret,
            "description": String(description.prefix(100)), "publishers": publishers, "permanent": false,
            // Not in the VideoRoom's `list`: a token holder cannot find other conferences' rooms.
            "is_private": true,
        ])
        let data = answer["data"] as? [String: Any]
        if data?["videoroom"] as? String == "created" { return }
        // 427: a room with that number exists already (a retry after a lost answer).
        if Self.number(data?["error_code"]) == 427 { return }
        throw JanusError(description: "room \(room) not created: \(data?["error"] ?? answer)")
    }

    /// Removes VideoRoom `room`.
    func destroyRoom(_ room: Int64, secret: String) async throws {
        let answer = try await videoroom(["request": "destroy", "room": room, "secret": secret])
        let data = answer["data"] as? [String: Any]
        // 426: no such room (already gone).
        guard data?["videoroom"] as? String == "destroyed" || Self.number(data?["error_code"]) == 426 else {
            throw JanusError(description: "room \(room) not destroyed: \(data?["error"] ?? answer)")
        }
    }

    /// Sends `body` to the VideoRoom plugin in a session of its own; returns the plugin's answer.
    func videoroom(_ body: [String: Any]) async throws -> [String: Any] {
        let token = settings.token(expiring: Date().addingTimeInterval(300))
        let created = try await post(settings.url, ["janus": "create", "token": token])
        guard let sessionID = Self.number((created["data"] as? [String: Any])?["id"]) else {
            throw JanusError(description: "no session: \(created)")
        }
        let sessionURL = settings.url.appendingPathComponent(String(sessionID))
        defer { Task { _ = try? await post(sessionURL, ["janus": "destroy", "token": token]) } }
        let attached = try await post(
            sessionURL, ["janus": "attach", "plugin": "janus.plugin.videoroom", "token": token])
        guard let handle = Self.number((attached["data"] as? [String: Any])?["id"]) else {
            throw JanusError(description: "VideoRoom not attached: \(attached)")
        }
        let answer = try await post(
            sessionURL.appendingPathComponent(String(handle)), ["janus": "message", "body": body, "token": token])
        guard let data = answer["plugindata"] as? [String: Any] else {
            throw JanusError(description: "no answer from the VideoRoom: \(answer)")
        }
        return data
    }

    /// A JSON number as JSONSerialization gives it (Int, or NSNumber on Linux).
    static func number(_ value: Any?) -> Int64? {
        if let value = value as? Int { return Int64(value) }
        if let value = value as? Int64 { return value }
        return (value as? NSNumber)?.int64Value
    }

    /// POSTs one request with a fresh transaction id; Janus's own errors become `JanusError`.
    func post(_ url: URL, _ body: [String: Any]) async throws -> [String: Any] {
        var body = body
        body["transaction"] = UUID().uuidString
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        // Each call is a short exchange now and then: no connection is kept open to Janus.
        request.setValue("close", forHTTPHeaderField: "Connection")
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let (data, _) = try await session.data(for: request)
        guard data.count <= 1 << 20, let answer = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw JanusError(description: "Janus's answer is not a JSON object")
        }
        if answer["janus"] as? String == "error" {
            throw JanusError(description: "Janus refused: \(answer["error"] ?? "")")
        }
        return answer
    }
}
