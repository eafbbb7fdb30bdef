import Synchronization

// Bounds on waits for things that may never answer (a database that vanished mid-handshake,
// a peer that stopped reading). Unlike a task group, these do not wait for the work they
// give up on: it is detached and left to end on its own.

/// The result of `body`, or `fallback` once `timeout` passes without one.
public func firstOf<T: Sendable>(
    timeout: Duration, orElse fallback: T, _ body: @escaping @Sendable () async -> T
) async -> T {
    // `body` cannot throw, so the only error is the timeout.
    (try? await withTimeout(timeout, body)) ?? fallback
}

/// What `withTimeout` throws when the time ran out.
public struct TimedOut: Error, CustomStringConvertible {
    public let timeout: Duration
    public var description: String { "no answer within \(timeout)" }
}

/// The result of `body`, or `TimedOut` once `timeout` passes. A result that arrives after
/// that is handed to `late` (to close a connection nobody will use, say).
public func withTimeout<T: Sendable>(
    _ timeout: Duration, _ body: @escaping @Sendable () async throws -> T,
    late: @escaping @Sendable (T) async -> Void = { _ in }
) async throws -> T {
    let decided = Once()
    return try await withCheckedThrowingContinuation { continuation in
        let work = Task {
            do {
                let result = try await body()
                if decided.claim() { continuation.resume(returning: result) } else { await late(result) }
            } catch {
                if decided.claim() { continuation.resume(throwing: error) }
            }
        }
        Task {
            try? await Task.sleep(for: timeout)
            if decided.claim() {
                work.cancel()
                continuation.resume(throwing: TimedOut(timeout: timeout))
            }
        }
    }
}

/// True for the first caller of `claim` only: who of several racing parties resumes a
/// continuation.
public final class Once: Sendable {
    private let done = Mutex(false)
    public init() {}
    public func claim() -> Bool {
        done.withLock { old in
            defer { old = true }; return !old
        }
    }
}
