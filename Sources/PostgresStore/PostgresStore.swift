// PostgreSQL implementation of `Store`, for many machines draining one queue (issue 16; the
// pattern of ANCHORS.md "Scale-out"): units are claimed with `FOR UPDATE SKIP LOCKED`, a lease
// lives on the unit row (token, owner, expiry in the server's clock: `now()`, never the runner's),
// heartbeats move the expiry, an expired lease is taken over by the next claim, and a unit's
// outputs and metrics are written only in the transaction that checks its lease token, behind a
// unique (unit_id, prompt_index) key. Schema: PostgresStore+Migrations.swift.
//
// Bridging: `Store` is synchronous. Each store holds one PostgresNIO connection; its I/O runs on
// NIO's event loop threads, and the calling thread waits for each reply (`EventLoopFuture.wait`),
// so a call from a plain thread or from an async command body never needs a Swift-concurrency
// thread to make progress (no deadlock on a 2-thread cooperative pool). Calls are serialised by a
// lock (a transaction is a sequence of statements on the one connection). A dropped connection
// (server restart), or one with no reply within the reply timeout (a cut link), fails the call
// with `StoreError.unreachable` and is closed; the next call reconnects.
import Foundation
import PostgresNIO
import Store

public final class PostgresStore: Store, @unchecked Sendable {
    public let address: PostgresAddress
    /// Seconds added to the server's `now()` in every lease computation: 0 in use; tests move it
    /// to expire leases without sleeping (the server's clock stays the only clock).
    let clockOffset: @Sendable () -> Double
    let connectTimeout: Double
    let busyTimeout: Double
    /// How long a statement's reply may take before the connection is given up: the busy timeout
    /// (a lock wait) plus 20 s.
    var replyTimeout: Double { busyTimeout + 20 }
    let logger: Logger
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var nextConnectionID = 1

    /// Connects and migrates (on first use) the store at `address`. With `createIfMissing` false a
    /// database holding no pipeline store is `StoreError.storeMissing` and nothing is written.
    /// `busyTimeout`: how long a statement waits for a row lock before `StoreError.busy`.
    public init(address: PostgresAddress, createIfMissing: Bool = true, connectTimeout: Double = 10,
                busyTimeout: Double = 10, clockOffset: @escaping @Sendable () -> Double = { 0 }) throws {
        self.address = address
        self.clockOffset = clockOffset
        self.connectTimeout = connectTimeout
        self.busyTimeout = busyTimeout
        var logger = Logger(label: "pipeline.store.postgres")
        logger.logLevel = .critical
        self.logger = logger
        try migrate(createIfMissing: createIfMissing)
    }

    deinit {
        if let connection {
            let closing: EventLoopFuture<Void> = connection.close()
            try? closing.wait()
        }
    }

    /// The store's name in messages: the address without its password.
    var name: String { address.description }

    // MARK: Statements and transactions

    /// A connection in use by one store call.
    struct Session {
        let connection: PostgresConnection
        let logger: Logger
        let offset: Double
        let replyTimeout: Double

        /// Runs one statement and returns its rows.
        @discardableResult
        func query(_ query: PostgresQuery) throws -> [PostgresRandomAccessRow] {
            try reply(connection.query(query, logger: logger)).rows.map { $0.makeRandomAccess() }
        }

        /// Number of rows a statement changed.
        func execute(_ query: PostgresQuery) throws -> Int {
            try reply(connection.query(query, logger: logger)).metadata.rows ?? 0
        }

        /// Waits for a reply, at most `replyTimeout` seconds: a connection whose packets stopped
        /// (a cut link, a machine gone) would otherwise hold the runner until TCP gives up.
        private func reply(_ future: EventLoopFuture<PostgresQueryResult>) throws -> PostgresQueryResult {
            let promise = future.eventLoop.makePromise(of: PostgresQueryResult.self)
            let timeout = replyTimeout
            let timer = future.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
                promise.fail(NoReply(seconds: timeout))
            }
            future.whenComplete { _ in timer.cancel() }
            future.cascade(to: promise)
            return try promise.futureResult.wait()
        }
    }

    /// No reply from the server within the reply timeout.
    struct NoReply: Error {
        var seconds: Double
    }

    /// One statement (its own transaction), errors mapped to `StoreError`.
    func single<T>(_ operation: String, _ body: (Session) throws -> T) throws -> T {
        try withSession(operation) { session in try body(session) }
    }

    /// One transaction: READ COMMITTED for writes (row locks do the work), a REPEATABLE READ
    /// snapshot for multi-statement reads (status, results never see half a unit).
    func transaction<T>(_ operation: String, readOnly: Bool = false, _ body: (Session) throws -> T) throws -> T {
        try withSession(operation) { session in
            try session.query(readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN")
            do {
                let value = try body(session)
                try session.query("COMMIT")
                return value
            } catch {
                _ = try? session.query("ROLLBACK")
                throw error
            }
        }
    }

    private func withSession<T>(_ operation: String, _ body: (Session) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        do {
            let connection = try connected()
            return try body(Session(connection: connection, logger: logger, offset: clockOffset(), replyTimeout: replyTimeout))
        } catch let error as StoreError {
            throw error
        } catch {
            let mapped = mapError(error, operation: operation)
            if case .unreachable = mapped { dropConnection() }
            throw mapped
        }
    }

    private func connected() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        var configuration = PostgresConnection.Configuration(host: address.host, port: address.port, username: address.user,
                                                             password: address.password, database: address.database, tls: .disable)
        configuration.options.connectTimeout = .milliseconds(Int64(connectTimeout * 1000))
        configuration.options.additionalStartupParameters = [
            ("application_name", "pipeline"),
            ("lock_timeout", "\(Int(busyTimeout * 1000))"),
            ("TimeZone", "UTC"),
        ]
        nextConnectionID += 1
        let connection = try PostgresConnection.connect(on: PostgresConnection.defaultEventLoopGroup.any(),
                                                        configuration: configuration, id: nextConnectionID, logger: logger).wait()
        self.connection = connection
        return connection
    }

    /// Closes a failed connection and waits for it (PostgresNIO requires a connection to be closed
    /// before it is released; closing is local, so a dead peer does not hold it up).
    private func dropConnection() {
        if let connection {
            let closing: EventLoopFuture<Void> = connection.close()
            try? closing.wait()
        }
        connection = nil
    }

    /// PostgresNIO and channel errors → `StoreError`: lost or refused connections and servers
    /// starting or stopping are `unreachable` (75), lock waits and conflicts `busy` (75).
    func mapError(_ error: any Error, operation: String) -> StoreError {
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState] {
                let message = error.serverInfo?[.message] ?? ""
                switch state {
                case "55P03", "40001", "40P01", "53300", "57014":
                    return .busy(path: name, operation: operation)
                case "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004":
                    return .unreachable(address: name, reason: message)
                case "3D000", "28000", "28P01", "42501":
                    return .cannotOpen(path: name, reason: message)
                default:
                    return .server(address: name, operation: operation, sqlState: state, message: message)
                }
            }
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .sslUnsupported:
                let reason = error.underlying.map { "\($0)" } ?? "\(error.code)"
                return .unreachable(address: name, reason: reason)
            default:
                return .server(address: name, operation: operation, sqlState: "", message: "\(error.code)")
            }
        }
        if let error = error as? NoReply {
            return .unreachable(address: name, reason: "no reply within \(Int(error.seconds)) s")
        }
        if error is ChannelError || error is IOError || error is NIOConnectionError {
            return .unreachable(address: name, reason: "\(error)")
        }
        return .server(address: name, operation: operation, sqlState: "", message: "\(error)")
    }
}
