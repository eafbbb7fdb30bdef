public import GRPCCore
public import Prometheus

/// The process's metrics, served in Prometheus text format on the admin port.
public final class Telemetry: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// Latency buckets from 250 µs (a loopback call) to 10 s (a stuck peer).
    static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
    ]

    nonisolated(unsafe) static let calls = MetricNameDescriptor(
        namespace: "egov", metricName: "rpc_calls", unitName: "total",
        helpText: "RPCs served, by method and final status."
    )
    nonisolated(unsafe) static let latency = MetricNameDescriptor(
        namespace: "egov", metricName: "rpc_duration", unitName: "seconds",
        helpText: "Time from the start of an RPC to its status, by method."
    )

    func recordCall(method: String, code: RPCError.Code?, duration: Duration) {
        let status = code.map { "\($0)" } ?? "ok"
        registry.makeCounter(descriptor: Self.calls, labels: [("method", method), ("code", status)]).increment()
        registry.makeDurationHistogram(
            descriptor: Self.latency, labels: [("method", method)], buckets: Self.latencyBuckets
        ).record(duration)
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

/// Counts calls and their latency per method and status.
public struct MetricsInterceptor: ServerInterceptor {
    let telemetry: Telemetry

    public init(telemetry: Telemetry) { self.telemetry = telemetry }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let start = ContinuousClock.now
        let method = "\(context.descriptor.service.fullyQualifiedService)/\(context.descriptor.method)"
        let telemetry = self.telemetry
        return try await observingOutcome(request: request, context: context, next: next) { code, _ in
            telemetry.recordCall(method: method, code: code, duration: ContinuousClock.now - start)
        }
    }
}
