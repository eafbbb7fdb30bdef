import EGovAPI
import EGovKit
import EGovTestSupport
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Logging
import SwiftProtobuf
import Testing

/// Passes bytes through, for calling methods no stub knows.
struct Bytes: MessageSerializer, MessageDeserializer {
    func serialize<B: GRPCContiguousBytes>(_ message: [UInt8]) throws -> B { B(message) }
    func deserialize<B: GRPCContiguousBytes>(_ bytes: B) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
}

/// A service whose one method fails with an error no one classified.
struct FailingService: RegistrableRPCService {
    struct DatabaseExploded: Error {}
    static let method = MethodDescriptor(fullyQualifiedService: "egov.test.v1.FailingService", method: "Fail")

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(forMethod: Self.method, deserializer: Bytes(), serializer: Bytes()) { _, _ in
            throw DatabaseExploded()
        }
    }
}

@Suite struct ServerTests {
    func health() async -> HealthService {
        let monitor = HealthMonitor(services: ["egov.test.v1.Thing"], probes: [], logger: Logger(label: "test"))
        await monitor.refresh()
        return HealthService(monitor: monitor)
    }

    @Test func aPlatformCertificateGetsAnswersAndTheCallerIsKnown() async throws {
        let telemetry = Telemetry()
        try await withTestServer(services: [await health()], telemetry: telemetry) { port in
            try await withTestClient(port: port) { client in
                let health = Grpc_Health_V1_Health.Client(wrapping: client)
                let response = try await health.check(.with { $0.service = "egov.test.v1.Thing" })
                #expect(response.status == .serving)
                await #expect(throws: RPCError.self) { try await health.check(.with { $0.service = "nope" }) }
            }
        }
        let metrics = telemetry.exposition()
        #expect(metrics.contains(#"egov_rpc_calls_total{method="grpc.health.v1.Health/Check",code="ok"} 1"#))
        #expect(metrics.contains(#"code="notFound"} 1"#))
        #expect(metrics.contains("egov_rpc_duration_seconds_bucket"))
    }

    /// A peer is dialled by its service name: a process holding another platform
    /// certificate at that address is not taken for it.
    @Test func aPeerMustHoldItsOwnServicesCertificate() async throws {
        try await withTestServer(process: "documents", services: [await health()]) { port in
            func check(as peer: String) async throws -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
                let client = try makePeerClient(
                    PeerEndpoint(name: peer, target: "127.0.0.1:\(port)")!, tls: TestPKI.files("procedures"))
                return try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await client.runConnections() }
                    defer { client.beginGracefulShutdown() }
                    var options = CallOptions.defaults
                    options.timeout = .seconds(60)  // catches a hang only; the impostor is refused at once
                    return try await Grpc_Health_V1_Health.Client(wrapping: client)
                        .check(.with { $0.service = "egov.test.v1.Thing" }, options: options).status
                }
            }
            let genuine = try await check(as: "documents")
            #expect(genuine == .serving)
            let impostor = await #expect(throws: RPCError.self) { _ = try await check(as: "identity") }
            #expect(impostor?.code == .unavailable)
        }
    }

    /// grpcurl and generic clients find the services and their messages without .proto files.
    @Test func reflectionDescribesWhatIsServed() async throws {
        let reflection = ReflectionService(serviceNames: ["egov.procedures.v1.ProceduresService"])
        try await withTestServer(services: [await health(), reflection]) { port in
            try await withTestClient(port: port) { client in
                let questions: [Grpc_Reflection_V1_ServerReflectionRequest] = [
                    .with { $0.listServices = "" },
                    .with { $0.fileContainingSymbol = "egov.procedures.v1.ProceduresService" },
                    .with { $0.fileContainingSymbol = "egov.procedures.v1.Dossier.Status" },
                    .with {
                        $0.fileContainingExtension = .with {
                            $0.containingType = "google.protobuf.MethodOptions"; $0.extensionNumber = 72_295_728
                        }
                    },
                    .with { $0.fileContainingSymbol = "egov.nothing.v1.Nowhere" },
                ]
                let answers = try await Grpc_Reflection_V1_ServerReflection.Client(wrapping: client)
                    .serverReflectionInfo { writer in
                        try await writer.write(contentsOf: questions)
                    } onResponse: { response in
                        var all: [Grpc_Reflection_V1_ServerReflectionResponse] = []
                        for try await answer in response.messages { all.append(answer) }
                        return all
                    }
                #expect(answers.count == 5)
                #expect(
                    answers[0].listServicesResponse.service.map(\.name)
                        == ["egov.procedures.v1.ProceduresService", "grpc.reflection.v1.ServerReflection"])
                func files(_ answer: Grpc_Reflection_V1_ServerReflectionResponse) throws -> [String] {
                    try answer.fileDescriptorResponse.fileDescriptorProto.map {
                        try Google_Protobuf_FileDescriptorProto(serializedBytes: $0).name
                    }
                }
                let service = try files(answers[1])
                #expect(service.first == "egov/procedures/v1/procedures_service.proto")
                #expect(
                    service.contains("egov/procedures/v1/dossier.proto")
                        && service.contains("google/protobuf/timestamp.proto"))
                #expect(try files(answers[2]).first == "egov/procedures/v1/dossier.proto")
                #expect(try files(answers[3]).first == "google/api/annotations.proto")
                #expect(answers[4].errorResponse.errorCode == 5)
            }
        }
    }

    @Test func theRequestIDIsEchoedOrMadeUp() async throws {
        try await withTestServer(services: [await health()]) { port in
            try await withTestClient(port: port) { client in
                let health = Grpc_Health_V1_Health.Client(wrapping: client)
                let sent = try await health.check(
                    Grpc_Health_V1_HealthCheckRequest(), metadata: ["x-request-id": "abc-123"]
                ) { try $0.accepted.get().metadata[stringValues: "x-request-id"].map { $0 } }
                #expect(sent == ["abc-123"])
                let made = try await health.check(Grpc_Health_V1_HealthCheckRequest()) {
                    try $0.accepted.get().metadata[stringValues: "x-request-id"].map { $0 }
                }
                #expect(made.count == 1 && made[0].count == 36)
            }
        }
    }

    @Test(arguments: ["none", "rogue", "plaintext"])
    func callersWithoutATrustedCertificateAreRefused(kind: String) async throws {
        try await withTestServer(services: [await health()]) { port in
            let security: HTTP2ClientTransport.Posix.TransportSecurity
            switch kind {
            case "none":
                security = .tls {
                    $0.trustRoots = .certificates([.file(path: TestPKI.files("tester").caCertificate, format: .pem)])
                }
            case "rogue":
                let rogue = TestPKI.rogue
                security = .mTLS(
                    certificateChain: [.file(path: rogue.certificate, format: .pem)],
                    privateKey: .file(path: rogue.privateKey, format: .pem)
                ) { $0.trustRoots = .certificates([.file(path: TestPKI.files("tester").caCertificate, format: .pem)]) }
            default:
                security = .plaintext
            }
            let transport = try HTTP2ClientTransport.Posix(
                target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: security)
            try await withGRPCClient(transport: transport) { client in
                var options = CallOptions.defaults
                options.timeout = .seconds(5)
                await #expect {
                    try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: options)
                } throws: { error in
                    guard let error = error as? RPCError else { return false }
                    return error.code == .unavailable || error.code == .deadlineExceeded
                }
            }
            // The server is unharmed and still serves a proper caller.
            try await withTestClient(port: port) { client in
                let status = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init()).status
                #expect(status == .serving)
            }
        }
    }

    @Test func anOversizedMessageIsRefused() async throws {
        try await withTestServer(services: [await health()], limits: ServerLimits(maxMessageBytes: 1024)) { port in
            try await withTestClient(port: port) { client in
                let health = Grpc_Health_V1_Health.Client(wrapping: client)
                await #expect {
                    try await health.check(.with { $0.service = String(repeating: "x", count: 4096) })
                } throws: { error in
                    // The transport refuses the frame: RESOURCE_EXHAUSTED, or a reset stream.
                    let code = (error as? RPCError)?.code
                    return code == .resourceExhausted || code == .unavailable
                }
                let status = try await health.check(.init()).status
                #expect(status == .serving)
            }
        }
    }

    @Test func aMalformedMessageIsAnInvalidArgument() async throws {
        try await withTestServer(services: [await health()]) { port in
            try await withTestClient(port: port) { client in
                await #expect {
                    try await client.unary(
                        request: ClientRequest(message: [0xFF, 0xFF, 0xFF]),
                        descriptor: Grpc_Health_V1_Health.Method.Check.descriptor,
                        serializer: Bytes(), deserializer: Bytes(), options: .defaults
                    ) { try $0.message }
                } throws: { error in
                    let status = try? (error as? RPCError)?.unpackGoogleRPCStatus()
                    return status?.code == .invalidArgument
                        && status?.details.first?.errorInfo?.reason == "MALFORMED_MESSAGE"
                }
            }
        }
    }

    @Test func anUnknownMethodIsUnimplemented() async throws {
        try await withTestServer(services: [await health()]) { port in
            try await withTestClient(port: port) { client in
                await #expect {
                    try await client.unary(
                        request: ClientRequest(message: []), descriptor: FailingService.method,
                        serializer: Bytes(), deserializer: Bytes(), options: .defaults
                    ) { try $0.message }
                } throws: { ($0 as? RPCError)?.code == .unimplemented }
            }
        }
    }

    @Test func unclassifiedErrorsBecomeInternalWithAReasonAndNoDetails() async throws {
        try await withTestServer(services: [FailingService()]) { port in
            try await withTestClient(port: port) { client in
                do {
                    _ = try await client.unary(
                        request: ClientRequest(message: []), descriptor: FailingService.method,
                        serializer: Bytes(), deserializer: Bytes(), options: .defaults
                    ) { try $0.message }
                    Issue.record("the call should fail")
                } catch let error as RPCError {
                    #expect(error.code == .internalError)
                    #expect(!error.message.contains("DatabaseExploded"))
                    let status = try #require(try error.unpackGoogleRPCStatus())
                    #expect(status.details.compactMap(\.errorInfo).first?.reason == "INTERNAL")
                }
            }
        }
    }

    @Test func theGRPCTimeoutBecomesTheDeadlineForPeers() {
        let context = RequestContext(requestID: "r", method: "m", deadline: ContinuousClock.now + .milliseconds(300))
        let options = RequestContext.$current.withValue(context) { RequestContext.callOptions(fallback: .seconds(5)) }
        #expect(options.timeout! <= .milliseconds(300))
        #expect(RequestContext.callOptions(fallback: .seconds(5)).timeout == .seconds(5))
    }
}
