import EGovAPI
import EGovKit
import EGovTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GatewayService
import Glibc
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The API as HTTP/JSON, for clients without gRPC: a real HTTP server in front of the real
/// services, called with URLSession.
@Suite struct TranscodingTests {
    struct Reply {
        var status: Int
        var json: [String: Any]
        var text: String
        var requestID: String?
    }

    func withHTTPGateway(
        _ stack: Stack, idleTimeout: Duration = .seconds(300), corsOrigins: Set<String> = [],
        _ body: (_ port: Int, _ call: (String, String, [String: Any]?, String?) async throws -> Reply) async throws ->
            Void
    ) async throws {
        var clients: [String: GRPCClient<HTTP2ClientTransport.Posix>] = [:]
        for (name, port) in stack.ports {
            clients[name] = try makePeerClient(
                PeerEndpoint(name: name, target: "127.0.0.1:\(port)")!, tls: TestPKI.files("gateway"))
        }
        let verifier = TokenVerifier()
        let transcoder = try Transcoder(
            routes: try RouteTable.routes(), clients: clients, verifier: verifier,
            limiter: RateLimiter(anonymousPerSecond: 0, userPerSecond: 0), deadline: .seconds(60))
        let server = HTTPTranscodingServer(
            host: "127.0.0.1", port: 0, tls: nil, transcoder: transcoder, logger: .init(label: "test.http"),
            idleTimeout: idleTimeout,
            corsOrigins: corsOrigins)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients.values { group.addTask { try await client.runConnections() } }
            group.addTask { try await server.run() }
            _ = try await SigningKeysRefresher(
                client: clients["identity"]!, verifier: verifier, logger: .init(label: "test")
            ).refresh(timeout: .seconds(60))
            let port = try #require(await server.boundPort())
            func call(_ method: String, _ path: String, _ json: [String: Any]?, _ token: String?) async throws -> Reply
            {
                var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
                request.httpMethod = method
                if let json { request.httpBody = try JSONSerialization.data(withJSONObject: json) }
                if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
                let (data, response) = try await URLSession.shared.data(for: request)
                let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
                let http = response as! HTTPURLResponse
                return Reply(
                    status: http.statusCode, json: object, text: String(decoding: data, as: UTF8.self),
                    requestID: http.value(forHTTPHeaderField: "x-request-id"))
            }
            try await body(port, call)
            group.cancelAll()
            for client in clients.values { client.beginGracefulShutdown() }
        }
    }

    @Test func theAPIAnswersJSONOverHTTP() async throws {
        try await withStack { stack in
            try await seedCatalogue(stack)
            try await withHTTPGateway(stack) { _, call in
                let catalogue = try await call("GET", "/v1/procedures?page_size=1", nil, nil)
                #expect(catalogue.status == 200 && catalogue.requestID?.isEmpty == false)
                #expect(
                    ((catalogue.json["procedures"] as? [[String: Any]])?.first?["code"] as? String) == "1.001612.H41")

                // Errors keep their AIP-193 shape: the HTTP status, the reason, the bad field.
                let bad = try await call("GET", "/v1/agencies/not-a-code", nil, nil)
                let error = try #require(bad.json["error"] as? [String: Any])
                #expect(bad.status == 400 && error["status"] as? String == "INVALID_ARGUMENT")
                let details = error["details"] as? [[String: Any]] ?? []
                #expect(details.contains { $0["reason"] as? String == "INVALID_AGENCY_NAME" })
                #expect(
                    details.contains {
                        (($0["fieldViolations"] as? [[String: Any]])?.first?["field"] as? String) == "name"
                    })
                #expect(try await call("GET", "/v1/nowhere", nil, nil).status == 404)
                #expect(try await call("DELETE", "/v1/procedures", nil, nil).status == 405)
                #expect(try await call("POST", "/v1/people:register", nil, nil).status == 400)

                // A citizen registers, signs in and files, all in JSON.
                let person: [String: Any] = [
                    "kind": "KIND_CITIZEN", "display_name": "Trần Thị Bình", "citizen_id": "001090012345",
                    "birth_date": "1990-03-04",
                ]
                #expect(
                    try await call("POST", "/v1/people:register", ["person": person, "password": goodPassword], nil)
                        .status == 200)
                let session = try await call(
                    "POST", "/v1/sessions:login", ["login": "001090012345", "password": goodPassword], nil)
                let token = try #require(session.json["accessToken"] as? String)
                let filed = try await call(
                    "POST", "/v1/procedures/1.001612.H41/dossiers:submit", ["dossier": ["channel": "CHANNEL_ONLINE"]],
                    token)
                #expect(filed.status == 200)
                let name = try #require(filed.json["name"] as? String)
                let code = try #require(filed.json["code"] as? String)
                let secret = try #require(filed.json["lookupSecret"] as? String)
                #expect(
                    try await call("GET", "/v1/\(name)", nil, token).json["status"] as? String
                        == "STATUS_NEWLY_REGISTERED")
                let anonymous = try await call("GET", "/v1/\(name)", nil, nil)
                #expect(
                    anonymous.status == 401
                        && (anonymous.json["error"] as? [String: Any])?["status"] as? String == "UNAUTHENTICATED")
                let lookup = try await call("GET", "/v1/dossiers:lookup?code=\(code)&secret=\(secret)", nil, nil)
                #expect(lookup.status == 200 && lookup.json["status"] as? String == "STATUS_NEWLY_REGISTERED")

                // Server streams come as newline-delimited JSON; client streams stay gRPC.
                try await withPublicClient(port: stack.gatewayPort) { client in
                    let file = Array("%PDF-1.7 đơn đề nghị".utf8)
                    let stored = try await upload(
                        Procedures(wrapping: client), dossier: name, type: "application/pdf", content: file,
                        as: bearer(token))
                    let download = try await call(
                        "GET", "/v1/\(name)/attachments/\(stored.sha256):download", nil, token)
                    let lines = download.text.split(separator: "\n").map {
                        try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                    }
                    #expect(download.status == 200 && lines.count == 2)
                    #expect((lines.first??["attachment"] as? [String: Any])?["sha256"] as? String == stored.sha256)
                    #expect((lines.last??["chunk"] as? String).flatMap { Data(base64Encoded: $0) } == Data(file))
                }
                #expect(try await call("POST", "/v1/\(name):uploadAttachment", [:], token).status == 501)
            }
        }
    }

    /// Pages of the allowed origins may call from a browser; others are not answered for.
    @Test func browsersOfAllowedOriginsMayCall() async throws {
        try await withStack { stack in
            try await withHTTPGateway(stack, corsOrigins: ["https://dichvucong.tuyenquang.gov.vn"]) { port, _ in
                func ask(_ method: String, origin: String) async throws -> HTTPURLResponse {
                    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/procedures")!)
                    request.httpMethod = method
                    request.setValue(origin, forHTTPHeaderField: "Origin")
                    request.setValue("authorization", forHTTPHeaderField: "Access-Control-Request-Headers")
                    return try await URLSession.shared.data(for: request).1 as! HTTPURLResponse
                }
                let preflight = try await ask("OPTIONS", origin: "https://dichvucong.tuyenquang.gov.vn")
                #expect(preflight.statusCode == 204)
                #expect(
                    preflight.value(forHTTPHeaderField: "Access-Control-Allow-Origin")
                        == "https://dichvucong.tuyenquang.gov.vn")
                #expect(
                    preflight.value(forHTTPHeaderField: "Access-Control-Allow-Headers")?.contains("Authorization")
                        == true)
                let allowed = try await ask("GET", origin: "https://dichvucong.tuyenquang.gov.vn")
                #expect(
                    allowed.statusCode == 200 && allowed.value(forHTTPHeaderField: "Access-Control-Allow-Origin") != nil
                )
                let other = try await ask("GET", origin: "https://evil.example")
                #expect(other.value(forHTTPHeaderField: "Access-Control-Allow-Origin") == nil)
                #expect(
                    try await ask("OPTIONS", origin: "https://evil.example").value(
                        forHTTPHeaderField: "Access-Control-Allow-Origin") == nil)
            }
        }
    }

    /// A connection that sends nothing is closed once idle, not held for ever.
    @Test func anIdleConnectionIsClosed() async throws {
        try await withStack { stack in
            try await withHTTPGateway(stack, idleTimeout: .seconds(1)) { port, _ in
                let socket = try loopbackConnection(port: port)
                defer { close(socket) }
                // Waits at most 30 seconds for the server to hang up (0 bytes: closed).
                var wait = timeval(tv_sec: 30, tv_usec: 0)
                setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
                var byte: UInt8 = 0
                #expect(recv(socket, &byte, 1, 0) == 0)
            }
        }
    }
}
