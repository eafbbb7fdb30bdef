public import EGovKit

extension Store {
    /// Opens the process's configured database and brings its schema up to date.
    public static func open(for environment: ProcessEnvironment, migrations: [Migration]) async throws -> Store {
        let store = try Store(url: environment.settings.databaseURL, logger: environment.logger)
        try await store.migrate(migrations)
        return store
    }
}

extension HealthProbe {
    /// Healthy while the database answers.
    public static func database(_ store: Store) -> HealthProbe {
        HealthProbe(name: "database") { await store.ping() }
    }
}
