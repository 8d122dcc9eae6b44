// SQLite implementation of `Store`, on GRDB over the system libsqlite3.
//
// On disk: a `DatabasePool` (WAL journal; one writer connection, concurrent readers), so status and
// results read a consistent snapshot while a runner writes. In memory (tests): a `DatabaseQueue`.
// Every change that keeps an invariant is one `write { db in … }`; GRDB 7 opens write transactions
// with `BEGIN IMMEDIATE`, so two processes never both read-then-write the same rows: the second
// waits (busy timeout) for the first to commit. Schema: `SQLiteStore+Migrations.swift`.
import Foundation
import GRDB

public final class SQLiteStore: Store {
    /// Where the data lives: a file path, or ":memory:".
    public let path: String
    let writer: any DatabaseWriter
    let reader: any DatabaseReader
    let now: @Sendable () -> Date

    /// Opens (and migrates) the store at `path`. With `createIfMissing` false a missing file is
    /// `StoreError.storeMissing` (status and results never create a store). `readOnly`: a reader
    /// (status, results, plan) that writes nothing — no migration unless the store is from an older
    /// version — so it answers at once while a runner holds a write transaction (WAL snapshot
    /// reads); an empty file is then `storeMissing` too. A file that is an SQLite
    /// database of something else is `notAPipelineStore` and is never written. `busyTimeout`: how
    /// long a write waits for another process before `StoreError.busy`. `now`: the clock, for tests.
    public init(path: String, createIfMissing: Bool = true, readOnly: Bool = false, busyTimeout: TimeInterval = 10,
                now: @escaping @Sendable () -> Date = { Date() }) throws {
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isFolder) {
            if isFolder.boolValue { throw StoreError.cannotOpen(path: path, reason: "it is a folder") }
            let size = (try? fm.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            if size == 0 && (readOnly || !createIfMissing) { throw StoreError.storeMissing(path: path) }
        } else if !createIfMissing || readOnly {
            throw StoreError.storeMissing(path: path)
        } else {
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty {
                do {
                    try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
                } catch {
                    throw StoreError.cannotOpen(path: path, reason: "cannot create folder \(folder)")
                }
            }
        }
        self.path = path
        self.now = now
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "pipeline-store"
        // Identity first, over a read-only connection: opening the pool switches the file to WAL,
        // which would already write to another application's database.
        if fm.fileExists(atPath: path) {
            var probing = configuration
            probing.readonly = true
            try Self.checkIdentity(path: path, try Self.mapErrors(path: path, operation: "open") {
                try DatabaseQueue(path: path, configuration: probing)
            })
        }
        let pool = try Self.mapErrors(path: path, operation: "open") {
            try DatabasePool(path: path, configuration: configuration)
        }
        writer = pool
        reader = pool
        if readOnly {
            // A reader migrates only a store an older version left behind (a one-time upgrade).
            let complete = try Self.mapErrors(path: path, operation: "check the schema") {
                try pool.read { db in try Self.migrator.hasCompletedMigrations(db) }
            }
            if !complete { try migrate() }
        } else {
            try migrate()
        }
    }

    /// A private in-memory store (tests; a second backend's contract tests).
    public init(inMemory now: @escaping @Sendable () -> Date = { Date() }) throws {
        path = ":memory:"
        self.now = now
        let queue = try Self.mapErrors(path: ":memory:", operation: "open") { try DatabaseQueue() }
        writer = queue
        reader = queue
        try migrate()
    }

    // MARK: Transactions with errors as data

    /// One write transaction (`BEGIN IMMEDIATE`), its errors mapped to `StoreError`.
    func write<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        try Self.mapErrors(path: path, operation: operation) { try writer.write(body) }
    }

    /// One read transaction on a reader connection (a WAL snapshot when on disk).
    func read<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        try Self.mapErrors(path: path, operation: operation) { try reader.read(body) }
    }

    static func mapErrors<T>(path: String, operation: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            switch error.resultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                throw StoreError.busy(path: path, operation: operation)
            case .SQLITE_NOTADB:
                throw StoreError.notADatabase(path: path)
            case .SQLITE_CORRUPT:
                throw StoreError.corrupt(path: path, detail: error.message ?? "database disk image is malformed")
            case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY:
                throw StoreError.cannotOpen(path: path, reason: error.message ?? "\(error.resultCode)")
            default:
                throw StoreError.database(path: path, operation: operation, code: error.extendedResultCode.rawValue,
                                          message: error.message ?? "")
            }
        }
    }

    /// Refuses an SQLite database that is not a pipeline store, before anything is written: one
    /// that has tables but not this store's migration record. An empty database (new file) passes.
    static func checkIdentity(path: String, _ reader: any DatabaseReader) throws {
        try Self.mapErrors(path: path, operation: "check the store") {
            try reader.read { db in
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                guard !tables.isEmpty else { return }
                var ours = false
                if tables.contains("grdb_migrations") {
                    ours = try Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM grdb_migrations WHERE identifier = ?",
                                             arguments: [firstMigration]) ?? false
                }
                if !ours { throw StoreError.notAPipelineStore(path: path, tables: tables.sorted()) }
            }
        }
    }
}
