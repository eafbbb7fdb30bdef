import EGovKit
import Foundation
public import Logging
import NIOCore
import NIOPosix
import PostgresKit
public import SQLKit
import SQLiteKit
import Synchronization

/// Which database engine a store runs on.
public enum Engine: String, Sendable {
    /// The embedded default: one file per service, WAL, durable commits.
    case sqlite
    /// For replicas and larger deployments.
    case postgres
}

public struct StoreError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A service's database: one API over SQLite and PostgreSQL.
///
/// Writes run in transactions that are committed before `write` returns, so a reply sent
/// after it never acknowledges a lost write. On SQLite, write transactions of the process are
/// serialised (SQLite has one writer) and reads run on their own connections in parallel
/// (WAL); on PostgreSQL both come from one connection pool.
public final class Store: Sendable {
    public let engine: Engine
    /// The database URL with the password hidden, for logs.
    public let displayURL: String
    private let writers: LeasePool
    private let readers: LeasePool
    let logger: Logger

    /// Opens `url`: `sqlite:///absolute/path.sqlite`, `sqlite://relative/path.sqlite`,
    /// `sqlite::memory:` is not supported (durability is the point), or
    /// `postgres://user:password@host:port/database`.
    public init(url: String, logger: Logger, poolSize: Int = 8) throws {
        self.logger = logger
        if url.hasPrefix("sqlite://") {
            let path = String(url.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw StoreError("database.url '\(url)' names no file") }
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            self.engine = .sqlite
            self.displayURL = url
            let open: @Sendable () async throws -> Connection = {
                let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
                for pragma in [
                    "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA busy_timeout = 10000",
                    "PRAGMA foreign_keys = ON",
                ] {
                    _ = try await connection.query(pragma)
                }
                return .sqlite(connection)
            }
            self.writers = LeasePool(capacity: 1, open: open)
            self.readers = LeasePool(capacity: 2, open: open)
        } else if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            let configuration: SQLPostgresConfiguration
            do {
                configuration = try SQLPostgresConfiguration(url: url)
            } catch {
                throw StoreError("database.url is not a valid PostgreSQL URL: \(error)")
            }
            self.engine = .postgres
            self.displayURL = url.redactingPassword
            let ids = Atomic<Int>(0)
            let open: @Sendable () async throws -> Connection = {
                let id = ids.add(1, ordering: .relaxed).newValue
                let connection = try await PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.any(),
                    configuration: configuration.coreConfiguration, id: id, logger: logger
                ).get()
                return .postgres(connection)
            }
            let pool = LeasePool(capacity: poolSize, open: open)
            self.writers = pool
            self.readers = pool
        } else {
            throw StoreError("database.url must start with sqlite:// or postgres://, got '\(url.redactingPassword)'")
        }
    }

    /// Runs `body` in a transaction and commits it; any error rolls it back.
    public func write<T: Sendable>(_ body: (Transaction) async throws -> T) async throws -> T {
        try await writers.lease { connection in
            let database = connection.sql
            let _: Void = try await database.raw(engine == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN").run()
            do {
                let result = try await body(Transaction(database: database, engine: engine))
                let _: Void = try await database.raw("COMMIT").run()
                return result
            } catch {
                if !connection.isClosed {
                    try? await database.raw("ROLLBACK").run() as Void
                }
                throw error
            }
        }
    }

    /// Runs `body` on a connection that sees every committed write.
    public func read<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await readers.lease { connection in try await body(connection.sql) }
    }

    /// Checks that the database answers; nil when it does, the reason otherwise.
    public func ping() async -> String? {
        do {
            let _: [any SQLRow] = try await read { try await $0.raw("SELECT 1 AS ok").all() }
            return nil
        } catch {
            return "\(engine.rawValue) unreachable: \(String(describing: error).prefix(200))"
        }
    }

    /// Closes every connection. Later calls fail.
    public func close() async {
        await writers.close()
        await readers.close()
    }

    /// Whether `error` is a unique or primary-key violation.
    public static func isUniqueViolation(_ error: any Error) -> Bool {
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] == "23505" }
        if let error = error as? SQLiteError {
            return error.message.contains("UNIQUE constraint failed")
                || error.message.contains("PRIMARY KEY constraint failed")
        }
        return false
    }
}

/// A write transaction.
public struct Transaction: Sendable {
    public let database: any SQLDatabase
    public let engine: Engine
}

extension SQLDatabase {
    /// Runs a statement that returns no rows.
    public func execute(_ query: SQLQueryString) async throws {
        let _: Void = try await raw(query).run()
    }

    /// Runs a query and returns all rows.
    public func rows(_ query: SQLQueryString) async throws -> [any SQLRow] {
        let rows: [any SQLRow] = try await raw(query).all()
        return rows
    }

    /// Runs a query and returns the first row, if any.
    public func row(_ query: SQLQueryString) async throws -> (any SQLRow)? {
        let row: (any SQLRow)? = try await raw(query).first()
        return row
    }
}

/// A pooled connection of either engine.
enum Connection: Sendable {
    case sqlite(SQLiteConnection)
    case postgres(PostgresConnection)

    var sql: any SQLDatabase {
        switch self {
        case .sqlite(let connection): connection.sql()
        case .postgres(let connection): connection.sql()
        }
    }

    var isClosed: Bool {
        switch self {
        case .sqlite(let connection): connection.isClosed
        case .postgres(let connection): connection.isClosed
        }
    }

    func close() async {
        switch self {
        case .sqlite(let connection): try? await connection.close()
        case .postgres(let connection): try? await connection.close()
        }
    }
}

/// A small fair pool: at most `capacity` connections, opened on demand, handed out in the
/// order they were asked for. A connection found closed is replaced.
final class LeasePool: Sendable {
    typealias Item = Connection
    private struct State {
        var idle: [Item] = []
        var open = 0
        var waiters: [CheckedContinuation<Item?, any Error>] = []
        var closed = false
    }

    private let capacity: Int
    private let openConnection: @Sendable () async throws -> Item
    private let state = Mutex(State())

    init(capacity: Int, open: @escaping @Sendable () async throws -> Item) {
        self.capacity = capacity
        self.openConnection = open
    }

    func lease<T>(_ body: (Item) async throws -> T) async throws -> T {
        let item = try await acquire()
        do {
            let result = try await body(item)
            release(item)
            return result
        } catch {
            release(item)
            throw error
        }
    }

    private enum Next { case use(Item), open, wait }

    private func acquire() async throws -> Item {
        while true {
            let next: Next = try state.withLock { state in
                if state.closed { throw StoreError("the store is closed") }
                while let item = state.idle.popLast() {
                    if !item.isClosed { return .use(item) }
                    state.open -= 1
                }
                if state.open < capacity {
                    state.open += 1
                    return .open
                }
                return .wait
            }
            switch next {
            case .use(let item):
                return item
            case .open:
                do {
                    return try await openConnection()
                } catch {
                    state.withLock { $0.open -= 1 }
                    throw StoreError("cannot open a database connection: \(error)")
                }
            case .wait:
                let handed: Item? = try await withCheckedThrowingContinuation { continuation in
                    let closed = state.withLock { state in
                        if state.closed { return true }
                        state.waiters.append(continuation)
                        return false
                    }
                    if closed { continuation.resume(throwing: StoreError("the store is closed")) }
                }
                if let handed { return handed }
                // A slot was freed: loop to open a new connection.
            }
        }
    }

    private func release(_ item: Item) {
        let waiter: (CheckedContinuation<Item?, any Error>, Item?)? = state.withLock { state in
            let usable = !item.isClosed
            if !usable { state.open -= 1 }
            if !state.waiters.isEmpty {
                let waiter = state.waiters.removeFirst()
                if usable { return (waiter, item) }
                return (waiter, nil)
            }
            if usable { state.idle.append(item) }
            return nil
        }
        if let (continuation, item) = waiter { continuation.resume(returning: item) }
    }

    func close() async {
        let (idle, waiters) = state.withLock { state in
            state.closed = true
            let result = (state.idle, state.waiters)
            state.idle = []
            state.waiters = []
            return result
        }
        for waiter in waiters { waiter.resume(throwing: StoreError("the store is closed")) }
        for item in idle { await item.close() }
    }
}

