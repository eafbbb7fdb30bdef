import EGovAPI
import EGovKit
import EGovTestSupport
import GRPCCore
import GRPCProtobuf
import GatewayService
import Testing

/// The gateway's budgets: per address for anonymous callers, per user for signed-in ones.
@Suite struct RateLimitTests {
    @Test func onlyATrustedProxyNamesTheClientsAddress() {
        let proxies = TrustedProxies(["10.0.0.5"])
        #expect(proxies.clientAddress(peer: "10.0.0.5", forwardedFor: "203.0.113.9, 198.51.100.7") == "198.51.100.7")
        #expect(proxies.clientAddress(peer: "192.0.2.1", forwardedFor: "198.51.100.7") == "192.0.2.1")
        #expect(proxies.clientAddress(peer: "10.0.0.5", forwardedFor: nil) == "10.0.0.5")
        #expect(proxies.clientAddress(peer: "10.0.0.5", forwardedFor: " , ") == "10.0.0.5")
    }

    @Test func bucketsRefillAtTheirRate() {
        let buckets = TokenBuckets(perSecond: 2, burst: 4)
        let start = ContinuousClock.now
        for _ in 0..<4 { #expect(buckets.take("a", now: start) == nil) }
        #expect(buckets.take("a", now: start) == .milliseconds(500))
        #expect(buckets.take("b", now: start) == nil)
        #expect(buckets.take("a", now: start + .milliseconds(500)) == nil)
        #expect(buckets.take("a", now: start + .milliseconds(500)) != nil)
        #expect(buckets.take("a", now: start + .seconds(60)) == nil)
    }

    /// Over the limit, a caller is told to wait and the service is not reached.
    @Test func aCallerOverTheLimitIsToldWhenToComeBack() async throws {
        let limit = RateLimitInterceptor(anonymousPerSecond: 0.01, userPerSecond: 0)
        try await withTestServer(services: [await healthService(for: ["egov.test.v1.Thing"])], interceptors: [limit]) {
            port in
            try await withTestClient(port: port) { client in
                let health = Grpc_Health_V1_Health.Client(wrapping: client)
                // A burst of at least one call, then nothing for 100 seconds.
                _ = try await health.check(.with { $0.service = "egov.test.v1.Thing" })
                let refused = await #expect(throws: RPCError.self) {
                    try await health.check(.with { $0.service = "egov.test.v1.Thing" })
                }
                #expect(refused?.code == .resourceExhausted)
                let status = try refused?.unpackGoogleRPCStatus()
                #expect(status?.details.compactMap(\.errorInfo).first?.reason == "RATE_LIMITED")
                // The RetryInfo says what the message and the ErrorInfo say, in whole seconds.
                let delay = try #require(status?.details.compactMap(\.retryInfo).first?.delay)
                let seconds = status?.details.compactMap(\.errorInfo).first?.metadata["retry_after_seconds"]
                #expect(delay == .seconds(Int64(seconds ?? "") ?? -1))
                #expect(refused?.message.contains("\(delay.components.seconds) second") == true)
            }
        }
    }

    /// Behind the province's load balancer, each user has their own budget, not the balancer's.
    @Test func limitsFollowTheForwardedAddressFromATrustedProxy() async throws {
        let limit = RateLimitInterceptor(anonymousPerSecond: 0.01, userPerSecond: 0)
        try await withTestServer(
            services: [await healthService(for: ["egov.test.v1.Thing"])],
            interceptors: [ForwardedForInterceptor(TrustedProxies(["127.0.0.1"])), limit]
        ) { port in
            try await withTestClient(port: port) { client in
                let health = Grpc_Health_V1_Health.Client(wrapping: client)
                func check(from address: String) async -> RPCError.Code? {
                    do {
                        _ = try await health.check(
                            .with { $0.service = "egov.test.v1.Thing" }, metadata: ["x-forwarded-for": "\(address)"])
                        return nil
                    } catch let error as RPCError {
                        return error.code
                    } catch {
                        return .unknown
                    }
                }
                #expect(await check(from: "198.51.100.7") == nil)
                #expect(await check(from: "198.51.100.7") == .resourceExhausted)
                #expect(await check(from: "203.0.113.9") == nil)
            }
        }
    }
}
