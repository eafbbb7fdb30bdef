public import EGovKit

extension Store {
    /// Opens the process's configured database and brings its schema up to date. A database
    /// that is not up yet (started together with the platform, or restarting) is waited for
    /// up to `patience`, with a log line per try, rather than failing the start.
    public static func open(
        for environment: ProcessEnvironment, migrations: [Migration], patience: Duration = .seconds(60)
    ) async throws -> Store {
        let store = try Store(
            url: environment.settings.databaseURL, logger: environment.logger, clock: environment.clock)
        let giveUp = ContinuousClock.now + patience
        while true {
            do {
                try await store.migrate(migrations)
                return store
            } catch let error as StoreUnavailable where ContinuousClock.now < giveUp {
                environment.logger.warning(
                    "database not reachable yet; retrying",
                    metadata: ["database": .string(store.displayURL), "error": .string(error.description)])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}

extension HealthProbe {
    /// Healthy while the database answers.
    public static func database(_ store: Store) -> HealthProbe {
        HealthProbe(name: "database") { await store.ping() }
    }
}
