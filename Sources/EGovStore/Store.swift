public import EGovKit
import Foundation
public import GRPCCore
import GRPCProtobuf
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

/// The database cannot be reached now (down, restarting, every connection busy): the call may
/// be retried. Clients get UNAVAILABLE with reason DATABASE_UNAVAILABLE; a write that failed
/// this way while committing may or may not have been kept, which is why writes carry
/// request ids.
public struct StoreUnavailable: Error, CustomStringConvertible, RPCErrorConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }

    public var rpcErrorCode: RPCError.Code { .unavailable }
    public var rpcErrorMessage: String { "The service's database is unavailable; try again shortly." }
    public var rpcErrorMetadata: Metadata {
        RPCError(
            ErrorBuilder(domain: "store.egov").unavailable("DATABASE_UNAVAILABLE", rpcErrorMessage)
        ).metadata
    }

    /// Whether `error` means the database could not be reached, rather than a refused
    /// statement: a dropped or refused connection, or a server shutting down or starting up.
    static func isConnectionFailure(_ error: any Error) -> Bool {
        if error is StoreUnavailable { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
            return true
        case .server:
            // Class 08: connection exception; 57P01-57P03: shutting down, crashed, starting up.
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state)
        default:
            return false
        }
    }
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
    /// The time every repository of the process records and compares with: the system's, or a test's.
    public let clock: WallClock

    /// Opens `url`: `sqlite:///absolute/path.sqlite`, `sqlite://relative/path.sqlite`,
    /// `sqlite::memory:` is not supported (durability is the point), or
    /// `postgres://user:password@host:port/database`.
    public init(url: String, logger: Logger, poolSize: Int = 8, clock: WallClock = .system) throws {
        self.logger = logger
        self.clock = clock
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
            // SQLite has one writer: writes queue behind it, and a burst may queue for long.
            // A local file cannot vanish the way a server can, so the waits are generous.
            self.writers = LeasePool(capacity: 1, acquireTimeout: .seconds(120), open: open)
            self.readers = LeasePool(capacity: 2, acquireTimeout: .seconds(120), open: open)
        } else if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            var configuration: SQLPostgresConfiguration
            do {
                configuration = try SQLPostgresConfiguration(url: url)
                // Loopback connects take milliseconds, but a busy machine was seen to take over 3 s
                // to start a backend: a refused or dead server still fails at once.
                configuration.coreConfiguration.options.connectTimeout = .seconds(10)
            } catch {
                throw StoreError("database.url is not a valid PostgreSQL URL: \(error)")
            }
            self.engine = .postgres
            self.displayURL = url.redactingPassword
            let core = configuration.coreConfiguration
            let ids = Atomic<Int>(0)
            let open: @Sendable () async throws -> Connection = {
                let id = ids.add(1, ordering: .relaxed).newValue
                do {
                    let connection = try await PostgresConnection.connect(
                        on: MultiThreadedEventLoopGroup.singleton.any(),
                        configuration: core, id: id, logger: logger
                    ).get()
                    return .postgres(connection, ClosingWatch(connection))
                } catch {
                    // The caller gets UNAVAILABLE without the details; the operators get them here.
                    logger.warning(
                        "cannot open a database connection", metadata: ["error": .string(String(reflecting: error))])
                    throw error
                }
            }
            // A vanished server is noticed by the lease watchdog; connecting is bounded too.
            let pool = LeasePool(capacity: poolSize, acquireTimeout: .seconds(60), maxLease: .seconds(60), open: open)
            self.writers = pool
            self.readers = pool
        } else {
            throw StoreError("database.url must start with sqlite:// or postgres://, got '\(url.redactingPassword)'")
        }
    }

    /// Runs `body` in a transaction and commits it; any error rolls it back. Losing the
    /// database on the way throws `StoreUnavailable`.
    public func write<T: Sendable>(_ body: (Transaction) async throws -> T) async throws -> T {
        try await Self.unavailableOnConnectionFailure {
            try await writers.lease { connection in
                let database = connection.sql
                let _: Void = try await database.raw(engine == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN").run()
                do {
                    let result = try await body(Transaction(database: database, engine: engine, clock: clock))
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
    }

    /// Runs `body` on a connection that sees every committed write. Losing the database on
    /// the way throws `StoreUnavailable`.
    public func read<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await Self.unavailableOnConnectionFailure {
            try await readers.lease { connection in try await body(connection.sql) }
        }
    }

    /// `body`, with a lost or refused database connection turned into `StoreUnavailable`.
    private static func unavailableOnConnectionFailure<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch  where StoreUnavailable.isConnectionFailure(error) {
            throw error as? StoreUnavailable ?? StoreUnavailable("the database connection failed: \(error)")
        }
    }

    /// Checks that the database answers within `timeout`; nil when it does, the reason otherwise.
    public func ping(timeout: Duration = .seconds(3)) async -> String? {
        // A read stuck on a vanished server must not stall the health monitor with it.
        await firstOf(timeout: timeout, orElse: "\(engine.rawValue) did not answer within \(timeout)") {
            do {
                let _: [any SQLRow] = try await self.read { try await $0.raw("SELECT 1 AS ok").all() }
                return nil
            } catch {
                return "\(self.engine.rawValue) unreachable: \(String(describing: error).prefix(200))"
            }
        }
    }

    /// The connection pools' state: connections open (leased or idle), idle, and callers waiting.
    public var poolCounts: (open: Int, idle: Int, waiting: Int) {
        let (writing, reading) = (writers.counts, readers.counts)
        return writers === readers ? writing : (writing.0 + reading.0, writing.1 + reading.1, writing.2 + reading.2)
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
    /// The store's clock: what the transaction records as "now".
    public let clock: WallClock
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
    case postgres(PostgresConnection, ClosingWatch)

    var sql: any SQLDatabase {
        switch self {
        case .sqlite(let connection): connection.sql()
        case .postgres(let connection, let watch): ClosingAwarePostgres(watch: watch, database: connection.sql())
        }
    }

    var isClosed: Bool {
        switch self {
        case .sqlite(let connection): connection.isClosed
        case .postgres(let connection, _): connection.isClosed
        }
    }

    /// Closes the connection even when the caller is cancelled (a shutdown running past its
    /// grace period): sqlite-nio skips the close of a cancelled task and would leave the file
    /// open, which its debug builds trap on.
    func close() async {
        await Task.detached {
            switch self {
            case .sqlite(let connection): try? await connection.close()
            case .postgres(let connection, _): try? await connection.close()
            }
        }.value
    }
}

/// A small fair pool: at most `capacity` connections, opened on demand, handed out in the
/// order they were asked for. A connection found closed is replaced. Every wait is bounded,
/// so a database that is down or restarting makes calls fail fast instead of hanging:
/// - a caller waits at most `acquireTimeout` for a connection (then `StoreUnavailable`), or
///   until its RPC is cancelled; the wait is long, as a busy pool is no outage: a database
///   that is down fails each open at once, and every waiter's turn comes quickly;
/// - opening a connection, handshake included, is bounded by `openTimeout`; a failed open
///   hands its slot to the next waiter, who tries again;
/// - a lease held longer than `maxLease` has its connection closed, which fails the statement
///   it is stuck in (a peer that vanished without closing the socket) and frees the slot.
final class LeasePool: Sendable {
    typealias Item = Connection
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Item?, any Error>
    }

    private struct State {
        var idle: [Item] = []
        var open = 0
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
        var closed = false
    }

    private let capacity: Int
    private let openConnection: @Sendable () async throws -> Item
    private let acquireTimeout: Duration
    private let openTimeout: Duration = .seconds(15)
    private let maxLease: Duration?
    private let state = Mutex(State())

    init(
        capacity: Int, acquireTimeout: Duration, maxLease: Duration? = nil,
        open: @escaping @Sendable () async throws -> Item
    ) {
        self.capacity = capacity
        self.acquireTimeout = acquireTimeout
        self.maxLease = maxLease
        self.openConnection = open
    }

    func lease<T>(_ body: (Item) async throws -> T) async throws -> T {
        let item = try await acquire()
        // The watchdog: a lease that outlives maxLease is stuck on a dead peer.
        let watchdog = maxLease.map { maxLease in
            Task {
                try await Task.sleep(for: maxLease)
                await item.close()
            }
        }
        defer { watchdog?.cancel() }
        do {
            let result = try await body(item)
            release(item)
            return result
        } catch {
            release(item)
            throw error
        }
    }

    private enum Next { case use(Item), open, wait(UInt64) }

    private func acquire() async throws -> Item {
        let deadline = ContinuousClock.now + acquireTimeout
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
                state.nextID += 1
                return .wait(state.nextID)
            }
            switch next {
            case .use(let item):
                return item
            case .open:
                do {
                    // Bounded as a whole: a server restarting was seen to leave a connection
                    // attempt hanging after the TCP connect, holding its slot for good.
                    return try await withTimeout(openTimeout, openConnection) { late in await late.close() }
                } catch {
                    // The slot is free again: the next waiter may try its own open.
                    let waiter: CheckedContinuation<Item?, any Error>? = state.withLock { state in
                        state.open -= 1
                        return state.waiters.isEmpty ? nil : state.waiters.removeFirst().continuation
                    }
                    waiter?.resume(returning: nil)
                    throw StoreUnavailable("cannot open a database connection: \(error)")
                }
            case .wait(let id):
                let left = deadline - ContinuousClock.now
                guard left > .zero else {
                    throw StoreUnavailable("no database connection became free within \(acquireTimeout)")
                }
                let timeout = acquireTimeout
                let handed: Item? = try await withTaskCancellationHandler {
                    try await withCheckedThrowingContinuation { continuation in
                        let closed = state.withLock { state in
                            if state.closed { return true }
                            state.waiters.append(Waiter(id: id, continuation: continuation))
                            return false
                        }
                        if closed {
                            continuation.resume(throwing: StoreError("the store is closed"))
                            return
                        }
                        // Armed once the waiter is listed, so neither can miss it.
                        if Task.isCancelled { self.expire(id, CancellationError()) }
                        Task {
                            try await Task.sleep(for: left)
                            self.expire(id, StoreUnavailable("no database connection became free within \(timeout)"))
                        }
                    }
                } onCancel: {
                    self.expire(id, CancellationError())
                }
                if let handed { return handed }
            // A slot was freed: loop to open a new connection.
            }
        }
    }

    /// Fails waiter `id` with `error`, if it is still waiting.
    private func expire(_ id: UInt64, _ error: any Error) {
        let waiter = state.withLock { state -> CheckedContinuation<Item?, any Error>? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index).continuation
        }
        waiter?.resume(throwing: error)
    }

    private func release(_ item: Item) {
        enum Next { case hand(CheckedContinuation<Item?, any Error>, Item?), keep, close }
        // Decided under one lock: after `close` took the idle list, the connection is closed
        // here rather than parked where nobody will close it.
        let next: Next = state.withLock { state in
            if state.closed {
                state.open -= 1
                return item.isClosed ? .keep : .close
            }
            let usable = !item.isClosed
            if !usable { state.open -= 1 }
            if !state.waiters.isEmpty {
                return .hand(state.waiters.removeFirst().continuation, usable ? item : nil)
            }
            if usable { state.idle.append(item) }
            return .keep
        }
        switch next {
        case .hand(let continuation, let item): continuation.resume(returning: item)
        case .close: Task { await item.close() }
        case .keep: break
        }
    }

    /// Connections open, idle and callers waiting, for diagnostics.
    var counts: (open: Int, idle: Int, waiting: Int) {
        state.withLock { ($0.open, $0.idle.count, $0.waiters.count) }
    }

    func close() async {
        let (idle, waiters) = state.withLock { state in
            state.closed = true
            let result = (state.idle, state.waiters)
            state.idle = []
            state.waiters = []
            return result
        }
        for waiter in waiters { waiter.continuation.resume(throwing: StoreError("the store is closed")) }
        for item in idle { await item.close() }
    }
}

/// A PostgreSQL connection's SQL interface whose statements fail, instead of waiting for
/// ever, when the connection closes under them. postgres-nio 1.33 was seen to leave a
/// statement pending for good when its server was killed mid-statement (two of eight writers
/// stuck through a minute of restarts, their connections closed, their statements never
/// failed): this is that bug's fence, found by DatabaseRecoveryTests.
struct ClosingAwarePostgres: SQLDatabase {
    let watch: ClosingWatch
    let database: any SQLDatabase

    var logger: Logger { database.logger }
    var eventLoop: any EventLoop { database.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { database.version }
    var dialect: any SQLDialect { database.dialect }
    var queryLogLevel: Logger.Level? { database.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<
        Void
    > {
        let promise = eventLoop.makePromise(of: Void.self)
        let id = watch.track(promise)
        database.execute(sql: query, onRow).whenComplete { result in
            watch.untrack(id)
            promise.completeWith(result)
        }
        return promise.futureResult
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await execute(sql: query, onRow).get()
    }
}

/// The statements pending on one connection, failed together when it closes.
final class ClosingWatch: Sendable {
    private struct State {
        var closed = false
        var nextID = 0
        var pending: [Int: EventLoopPromise<Void>] = [:]
    }
    private let state = Mutex(State())

    init(_ connection: PostgresConnection) {
        connection.closeFuture.whenComplete { _ in
            let pending = self.state.withLock { state in
                state.closed = true
                defer { state.pending = [:] }
                return state.pending.values
            }
            for promise in pending {
                promise.fail(StoreUnavailable("the database connection closed during a statement"))
            }
        }
    }

    /// Tracks `promise` until `untrack`; fails it at once if the connection is closed.
    func track(_ promise: EventLoopPromise<Void>) -> Int {
        let id: Int? = state.withLock { state in
            if state.closed { return nil }
            state.nextID += 1
            state.pending[state.nextID] = promise
            return state.nextID
        }
        guard let id else {
            promise.fail(StoreUnavailable("the database connection is closed"))
            return -1
        }
        return id
    }

    func untrack(_ id: Int) {
        _ = state.withLock { $0.pending.removeValue(forKey: id) }
    }
}
