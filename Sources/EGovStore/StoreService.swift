public import ServiceLifecycle

/// Keeps the store open while the process runs and closes it after everything that uses it
/// has stopped (it is started first, so it is shut down last).
public struct StoreService: Service {
    public let store: Store

    public init(store: Store) { self.store = store }

    public func run() async throws {
        try await gracefulShutdown()
        await store.close()
    }
}
