import Foundation
import Synchronization

/// Tells the watchers of a record in this process (a dossier, a conference) that it changed,
/// the moment a change commits here. Changes committed by another replica reach them
/// through a slower re-read, since the store is the one place every replica writes.
public final class ChangeFeed: Sendable {
    private let subscribers = Mutex<[String: [UUID: AsyncStream<Void>.Continuation]]>([:])

    public init() {}

    /// Wakes the watchers of `code`.
    public func publish(_ code: String) {
        subscribers.withLock { all in all[code]?.values.forEach { $0.yield() } }
    }

    /// Runs `body` with a signal each time `code` may have changed: at once for changes made
    /// here, and every `fallback` for those made elsewhere. The subscription ends with `body`.
    public func watch<Result: Sendable>(
        _ code: String, fallback: Duration, _ body: (AsyncStream<Void>) async throws -> Result
    ) async throws -> Result {
        let id = UUID()
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        subscribers.withLock { $0[code, default: [:]][id] = continuation }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: fallback)
                continuation.yield()
            }
        }
        defer {
            ticker.cancel()
            continuation.finish()
            subscribers.withLock { all in
                all[code]?[id] = nil
                if all[code]?.isEmpty == true { all[code] = nil }
            }
        }
        return try await body(stream)
    }

    /// How many watchers are subscribed, for tests.
    public var watcherCount: Int { subscribers.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}
