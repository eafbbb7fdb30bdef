public import EGovAPI
public import GRPCCore
public import Logging
public import ServiceLifecycle
import Synchronization

/// Something the process needs in order to serve: its database, a required peer.
public struct HealthProbe: Sendable {
    public var name: String
    /// Whether the process serves only while it passes. An optional one (media for
    /// conferences) is reported, by its own name too, without stopping the process serving.
    public var required: Bool
    /// Returns nil when healthy, or why not.
    public var check: @Sendable () async -> String?

    public init(name: String, required: Bool = true, check: @escaping @Sendable () async -> String?) {
        self.name = name
        self.required = required
        self.check = check
    }
}

/// Keeps the process's serving state up to date by running its probes periodically. The
/// process serves only while every required probe passes; `grpc.health.v1.Health` and the
/// admin `/healthz` report this state, and each optional probe's under its own name.
public final class HealthMonitor: Service, Sendable {
    private struct State {
        var serving = false
        var failures: [String: String] = [:]
        var checked = false
    }

    /// The gRPC services this process serves; each reports the overall state.
    public let services: [String]
    private let probes: [HealthProbe]
    private let interval: Duration
    /// A probe that has not answered by then fails: a hung dependency is an unhealthy one.
    private let probeTimeout: Duration
    private let state = Mutex(State())
    private let logger: Logger

    public init(
        services: [String], probes: [HealthProbe], interval: Duration = .seconds(2),
        probeTimeout: Duration = .seconds(4),
        logger: Logger
    ) {
        self.probeTimeout = probeTimeout
        self.services = services
        self.probes = probes
        self.interval = interval
        self.logger = logger
    }

    /// Whether the process is serving, and the failing probes with their reasons.
    public var snapshot: (serving: Bool, failures: [String: String]) {
        state.withLock { ($0.serving, $0.failures) }
    }

    /// Runs every probe once and records the result.
    public func refresh() async {
        var failures: [String: String] = [:]
        var serving = true
        for probe in probes {
            let reason = await firstOf(timeout: probeTimeout, orElse: "did not answer within \(probeTimeout)") {
                await probe.check()
            }
            if let reason {
                failures[probe.name] = reason
                if probe.required { serving = false }
            }
        }
        let previous = state.withLock { state in
            let old = (state.checked, state.serving)
            state.serving = serving
            state.failures = failures
            state.checked = true
            return old
        }
        if !previous.0 || previous.1 != serving {
            if serving {
                logger.info("serving")
            } else {
                logger.warning(
                    "not serving",
                    metadata: [
                        "failing": .string(failures.map { "\($0.key): \($0.value)" }.sorted().joined(separator: "; "))
                    ]
                )
            }
        }
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await refresh()
            await pauseUnlessShuttingDown(for: interval)
        }
        // Draining: tell load balancers to stop sending new calls.
        state.withLock {
            $0.serving = false; $0.failures["process"] = "shutting down"
        }
    }

    func servingStatus(for service: String) -> Grpc_Health_V1_HealthCheckResponse.ServingStatus? {
        if probes.contains(where: { !$0.required && $0.name == service }) {
            return state.withLock { $0.checked && $0.failures[service] == nil ? .serving : .notServing }
        }
        guard service.isEmpty || services.contains(service) else { return nil }
        return state.withLock { $0.serving ? .serving : .notServing }
    }
}

/// The standard gRPC health service over a `HealthMonitor`.
public struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
    let monitor: HealthMonitor

    public init(monitor: HealthMonitor) { self.monitor = monitor }

    public func check(
        request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = monitor.servingStatus(for: request.service) else {
            throw RPCError(code: .notFound, message: "Unknown service '\(request.service)'.")
        }
        return .with { $0.status = status }
    }

    public func list(
        request: Grpc_Health_V1_HealthListRequest, context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthListResponse {
        var response = Grpc_Health_V1_HealthListResponse()
        for service in [""] + monitor.services {
            if let status = monitor.servingStatus(for: service) {
                response.statuses[service] = .with { $0.status = status }
            }
        }
        return response
    }

    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest,
        response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        var last: Grpc_Health_V1_HealthCheckResponse.ServingStatus?
        while !Task.isCancelled {
            let status = monitor.servingStatus(for: request.service) ?? .serviceUnknown
            if status != last {
                try await response.write(.with { $0.status = status })
                last = status
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }
}
