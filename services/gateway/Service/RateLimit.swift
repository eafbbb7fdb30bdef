public import EGovKit
public import GRPCCore
public import GRPCProtobuf
import Synchronization

/// Token buckets by key: each key may spend `perSecond` calls a second on average and up to
/// `burst` at once. Idle keys are forgotten when there are too many, so memory stays bounded.
public final class TokenBuckets: Sendable {
    struct Bucket {
        var tokens: Double
        var last: ContinuousClock.Instant
    }

    let perSecond: Double
    let burst: Double
    let maxKeys: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(perSecond: Double, burst: Double, maxKeys: Int = 100_000) {
        self.perSecond = perSecond
        self.burst = burst
        self.maxKeys = maxKeys
    }

    /// Spends one call of `key`: nil when allowed, else how long until one is.
    public func take(_ key: String, now: ContinuousClock.Instant = .now) -> Duration? {
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, last: now)
            let elapsed = bucket.last.duration(to: now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + max(0, seconds) * perSecond)
            bucket.last = now
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return .milliseconds(Int64(((1 - bucket.tokens) / perSecond * 1000).rounded(.up)))
            }
            bucket.tokens -= 1
            buckets[key] = bucket
            if buckets.count > maxKeys {
                // Forget the keys that would be full again anyway: they have been idle long enough.
                let idle = burst / perSecond
                buckets = buckets.filter { now - $0.value.last < .milliseconds(Int64(idle * 1000)) }
            }
            return nil
        }
    }
}

/// How fast one client may call: signed-in users by their account, anonymous callers by
/// their address. Shared by the gRPC port and the HTTP/JSON port, so one budget covers both.
public struct RateLimiter: Sendable {
    let anonymous: TokenBuckets?
    let users: TokenBuckets?

    /// Calls per second, with bursts of twice as many; 0 leaves that kind of caller unlimited.
    public init(anonymousPerSecond: Double, userPerSecond: Double) {
        anonymous =
            anonymousPerSecond > 0
            ? TokenBuckets(perSecond: anonymousPerSecond, burst: max(1, 2 * anonymousPerSecond)) : nil
        users = userPerSecond > 0 ? TokenBuckets(perSecond: userPerSecond, burst: max(1, 2 * userPerSecond)) : nil
    }

    /// Spends one call: nil when allowed, else the RESOURCE_EXHAUSTED error (reason
    /// RATE_LIMITED, with a RetryInfo) to answer.
    public func check(user: String?, address: String) -> GoogleRPCStatus? {
        let wait = user.map { users?.take("user:\($0)") } ?? anonymous?.take("address:\(address)")
        guard let wait else { return nil }
        let seconds = max(1, wait.components.seconds + (wait.components.attoseconds > 0 ? 1 : 0))
        // The message, the ErrorInfo and the RetryInfo say the same whole number of seconds.
        return GoogleRPCStatus(
            code: .resourceExhausted,
            message: "Too many requests; try again in \(seconds) second\(seconds == 1 ? "" : "s").",
            details: [
                .errorInfo(reason: "RATE_LIMITED", domain: "egov", metadata: ["retry_after_seconds": "\(seconds)"]),
                .retryInfo(delay: .seconds(seconds)),
            ])
    }
}

/// Applies a `RateLimiter` to gRPC calls: a caller over the limit gets RESOURCE_EXHAUSTED,
/// reason RATE_LIMITED, with a RetryInfo saying when to try again; nothing reaches the service.
public struct RateLimitInterceptor: ServerInterceptor {
    let limiter: RateLimiter

    public init(_ limiter: RateLimiter) { self.limiter = limiter }

    public init(anonymousPerSecond: Double, userPerSecond: Double) {
        limiter = RateLimiter(anonymousPerSecond: anonymousPerSecond, userPerSecond: userPerSecond)
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let current = RequestContext.current
        if let refusal = limiter.check(user: current?.user?.sub, address: current?.clientAddress ?? "") {
            throw refusal
        }
        return try await next(request, context)
    }
}

/// The end user's address when a trusted proxy (the province's load balancer) stands in
/// front: the last address that proxy added to `X-Forwarded-For`. From anyone else the header
/// is ignored, so a client cannot pick the address its limits and sign-in throttling use.
public struct TrustedProxies: Sendable {
    let addresses: Set<String>

    public init(_ addresses: Set<String>) { self.addresses = addresses }

    public func clientAddress(peer: String, forwardedFor: String?) -> String {
        guard addresses.contains(peer), let forwardedFor,
            let last = forwardedFor.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty,
            last.utf8.count <= 64
        else { return peer }
        return last
    }
}

/// Takes the end user's address from `x-forwarded-for` on calls from a trusted proxy.
public struct ForwardedForInterceptor: ServerInterceptor {
    let proxies: TrustedProxies

    public init(_ proxies: TrustedProxies) { self.proxies = proxies }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard var current = RequestContext.current else { return try await next(request, context) }
        let forwarded = request.metadata[stringValues: "x-forwarded-for"].first(where: { _ in true })
        let address = proxies.clientAddress(peer: current.clientAddress, forwardedFor: forwarded)
        guard address != current.clientAddress else { return try await next(request, context) }
        current.clientAddress = address
        return try await RequestContext.serving(current) { try await next(request, context) }
    }
}
