import EGovAPI
import EGovFuzzTargets
import EGovKit
import EGovTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import GatewayService
import Glibc
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SwiftProtobuf
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What a hostile anonymous caller can throw at the edge: every input bounded and refused
/// with a clear error naming the limit, and nobody else's calls hurt meanwhile.
@Suite struct EdgeAbuseTests {
    /// Other users' reads of an agency through the stack's gateway while `attack` runs;
    /// returns their (successes, failures).
    func withBystanders(
        _ stack: Stack, _ attack: () async throws -> Void
    ) async throws -> (succeeded: Int, failed: Int) {
        try await withTestClient(port: stack.ports["identity"]!) { client in
            _ = try await Egov_Identity_V1_IdentityService.Client(wrapping: client)
                .createAgency(.with { $0.agency = agency("000.00.00.H41", "UBND tỉnh", abbreviation: "UBND") })
        }
        let gatewayPort = stack.gatewayPort
        final class Tally: Sendable {
            let counts = Mutex((0, 0))
            let stop = Atomic(false)
        }
        let tally = Tally()
        try await withPublicClient(port: gatewayPort) { client in
            let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        while !tally.stop.load(ordering: .relaxed) {
                            do {
                                var options = CallOptions.defaults
                                options.timeout = .seconds(60)
                                _ = try await identity.getAgency(
                                    .with { $0.name = "agencies/000.00.00.H41" }, options: options)
                                tally.counts.withLock { $0.0 += 1 }
                            } catch {
                                tally.counts.withLock { $0.1 += 1 }
                            }
                        }
                    }
                }
                do {
                    try await attack()
                } catch {
                    tally.stop.store(true, ordering: .relaxed)
                    throw error
                }
                tally.stop.store(true, ordering: .relaxed)
                try await group.waitForAll()
            }
        }
        return tally.counts.withLock { $0 }
    }

    @Test func hugeNamesAndMessagesGetSmallClearErrorsAndBystandersAreUnharmed() async throws {
        try await withStack { stack in
            let (succeeded, failed) = try await withBystanders(stack) {
                try await withPublicClient(port: stack.gatewayPort) { client in
                    let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
                    for size in [4 << 10, 8 << 10, 12 << 10] {
                        for _ in 0..<10 {
                            do {
                                _ = try await identity.getAgency(
                                    .with { $0.name = "agencies/" + String(repeating: "9", count: size) })
                                Issue.record("a \(size)-byte name was accepted")
                            } catch let error as RPCError {
                                #expect(error.code == .invalidArgument)
                                // The error quotes the name, clipped: far below any header limit.
                                #expect(error.message.utf8.count <= 1024)
                                let size = error.metadata.reduce(0) { total, entry in
                                    if case .binary(let bytes) = entry.value { return total + bytes.count }
                                    if case .string(let text) = entry.value { return total + text.utf8.count }
                                    return total
                                }
                                #expect(size < 4096)
                            }
                        }
                    }
                    // Over the message limit: RESOURCE_EXHAUSTED naming it, not a reset stream.
                    do {
                        _ = try await identity.getAgency(.with { $0.name = String(repeating: "x", count: 5 << 20) })
                        Issue.record("a 5 MiB message was accepted")
                    } catch let error as RPCError {
                        #expect(error.code == .resourceExhausted)
                        let info = try #require(
                            try error.unpackGoogleRPCStatus()?.details.compactMap(\.errorInfo).first)
                        #expect(info.reason == "MESSAGE_TOO_LARGE" && info.metadata["limit"] == "max_message_bytes")
                        #expect(info.metadata["value"] == String(4 << 20))
                    }
                    // The connection still works after it.
                    _ = try await identity.getAgency(.with { $0.name = "agencies/000.00.00.H41" })
                }
            }
            print("bystander calls during the attack: \(succeeded) succeeded, \(failed) failed")
            #expect(failed == 0)
            #expect(succeeded > 0)
        }
    }

    @Test func idleSlowAndFloodingClientsDoNotStopOthers() async throws {
        try await withStack { stack in
            let (succeeded, failed) = try await withBystanders(stack) {
                // Idle connections that never say a word, and slow ones that trickle a
                // ClientHello a byte at a time.
                var sockets: [Int32] = []
                defer { sockets.forEach { close($0) } }
                for _ in 0..<64 { sockets.append(try loopbackConnection(port: stack.gatewayPort)) }
                let slow = try (0..<16).map { _ in try loopbackConnection(port: stack.gatewayPort) }
                sockets += slow
                let hello = ClientHelloSamples.tls13
                for byte in hello.prefix(40) {
                    for socket in slow {
                        _ = [byte].withUnsafeBytes { send(socket, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) }
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
                // A stream flood: 600 calls at once on one connection, over its 256 streams.
                final class Counts: Sendable { let value = Mutex((0, 0)) }
                let counts = Counts()
                try await withPublicClient(port: stack.gatewayPort) { client in
                    let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
                    await withTaskGroup(of: Void.self) { group in
                        for _ in 0..<600 {
                            group.addTask {
                                do {
                                    _ = try await identity.listAgencies(.init())
                                    counts.value.withLock { $0.0 += 1 }
                                } catch {
                                    counts.value.withLock { $0.1 += 1 }
                                }
                            }
                        }
                    }
                }
                let (served, refused) = counts.value.withLock { $0 }
                print("stream flood: \(served) served, \(refused) refused")
                #expect(served + refused == 600)
            }
            print("bystander calls meanwhile: \(succeeded) succeeded, \(failed) failed")
            #expect(failed == 0)
            #expect(succeeded > 0)
        }
    }

    /// Times and counts far outside any calendar are refused before any arithmetic on them
    /// (they used to trap the procedures process): over gRPC, where nothing bounds them.
    @Test func extremeTimesAndCountsAreRefusedNotTrapped() async throws {
        try await withStack { stack in
            try await seedCatalogue(stack)
            _ = try await createOfficial(stack, email: "lanhdao@syt.vn", roles: [.leader])
            try await withPublicClient(port: stack.gatewayPort) { client in
                let procedures = Procedures(wrapping: client)
                let far = Google_Protobuf_Timestamp(seconds: Int64.max / 2)
                #expect(
                    await failure {
                        _ = try await procedures.computeAppointment(
                            .with {
                                $0.receiveTime = far; $0.workingDays = 1
                            })
                    } == Failure(code: .invalidArgument, reason: "INVALID_TIME", field: "receive_time"))
                let leader = try await signIn(Identity(wrapping: client), "lanhdao@syt.vn")
                #expect(
                    await failure {
                        _ = try await procedures.getStatistics(
                            .with {
                                $0.agency = "agencies/000.00.06.H41"; $0.startTime = .init(seconds: 0); $0.endTime = far
                            },
                            metadata: leader)
                    } == Failure(code: .invalidArgument, reason: "INVALID_TIME", field: "end_time"))
                #expect(
                    await failure {
                        _ = try await procedures.listDossiers(
                            .with {
                                $0.agency = "agencies/000.00.06.H41"; $0.dueWithinDays = .max
                            }, metadata: leader)
                    } == Failure(code: .invalidArgument, reason: "INVALID_FILTER", field: "due_within_days"))
                // The service is still there.
                #expect(try await procedures.getWorkingDay(.with { $0.date = "2026-12-03" }).workingDay)
            }
        }
    }

    @Test func aServiceAnswersAnOversizedMessageWithResourceExhausted() async throws {
        try await withIdentity(verifier: TokenVerifier()) { port, _ in
            try await withTestClient(port: port) { client in
                let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
                for _ in 0..<2 {
                    let failed = await failure {
                        _ = try await identity.getAgency(
                            .with { $0.name = String(repeating: "x", count: (4 << 20) + 1) })
                    }
                    #expect(failed == Failure(code: .resourceExhausted, reason: "MESSAGE_TOO_LARGE"))
                }
                let small = await failure { _ = try await identity.getAgency(.with { $0.name = "agencies/x" }) }
                #expect(small?.code == .invalidArgument)
            }
        }
    }

    @Test func theGRPCPortsRefuseTLS12() async throws {
        try await withIdentity(verifier: TokenVerifier()) { port, _ in
            let old = try await handshake(port: port, maximum: .tlsv12)
            let current = try await handshake(port: port, maximum: .tlsv13)
            #expect(old == false)
            #expect(current == true)
        }
    }

    /// Whether a TLS handshake with the server on `port` completes, offering at most `maximum`.
    func handshake(port: Int, maximum: TLSVersion) async throws -> Bool {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.maximumTLSVersion = maximum
        configuration.trustRoots = .file(TestPKI.files("tester").caCertificate)
        configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(TestPKI.files("tester").certificate).map {
            .certificate($0)
        }
        configuration.privateKey = .privateKey(
            try NIOSSLPrivateKey(file: TestPKI.files("tester").privateKey, format: .pem))
        configuration.certificateVerification = .noHostnameVerification
        configuration.applicationProtocols = ["h2"]
        let context = try NIOSSLContext(configuration: configuration)
        let result = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: Bool.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(result: result))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let completed = try await result.futureResult.get()
        try? await channel.close()
        return completed
    }

    final class HandshakeWatcher: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let result: EventLoopPromise<Bool>
        init(result: EventLoopPromise<Bool>) { self.result = result }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case TLSUserEvent.handshakeCompleted = event { result.succeed(true) }
            context.fireUserInboundEventTriggered(event)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            result.succeed(false)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            result.succeed(false)
        }
    }

    @Test func theHTTPEdgeBoundsEveryPartOfARequest() async throws {
        try await withStack { stack in
            try await TranscodingTests().withHTTPGateway(stack) { port, call in
                func reason(_ reply: TranscodingTests.Reply) -> String? {
                    ((reply.json["error"] as? [String: Any])?["details"] as? [[String: Any]])?.compactMap {
                        $0["reason"] as? String
                    }.first
                }
                let deepPath = try await call(
                    "GET", "/v1/procedures?" + Array(repeating: "a", count: 9).joined(separator: ".") + "=1", nil, nil)
                #expect(deepPath.status == 400 && reason(deepPath) == "FIELD_PATH_TOO_DEEP")
                // The request that once crashed the gateway: 5,000 dotted parts.
                let dotted = try await call(
                    "GET", "/v1/procedures?" + String(repeating: "a.", count: 5000) + "a=1", nil, nil)
                #expect(dotted.status == 400 && reason(dotted) == "URI_TOO_LONG")
                let many = try await call(
                    "GET", "/v1/procedures?" + (0..<65).map { "page_size=\($0)" }.joined(separator: "&"), nil, nil)
                #expect(many.status == 400 && reason(many) == "TOO_MANY_PARAMETERS")

                var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/people:register")!)
                request.httpMethod = "POST"
                request.httpBody = Data(
                    (String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)
                var (data, response) = try await URLSession.shared.data(for: request)
                #expect((response as! HTTPURLResponse).statusCode == 400)
                #expect(String(decoding: data, as: UTF8.self).contains("JSON_TOO_DEEP"))

                request.httpBody = Data(count: (4 << 20) + 1)
                (data, response) = try await URLSession.shared.data(for: request)
                #expect((response as! HTTPURLResponse).statusCode == 413)
                #expect(String(decoding: data, as: UTF8.self).contains("RESOURCE_EXHAUSTED"))

                request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/procedures")!)
                request.setValue(String(repeating: "x", count: 20_000), forHTTPHeaderField: "X-Padding")
                (data, response) = try await URLSession.shared.data(for: request)
                #expect((response as! HTTPURLResponse).statusCode == 431)

                // And the edge still answers.
                #expect(try await call("GET", "/v1/procedures", nil, nil).status == 200)
            }
        }
    }
}
