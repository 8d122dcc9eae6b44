import Foundation
import Testing
import Store
import TestSupport

/// What only the on-disk store does: files, WAL readers beside a writer, busy timeouts, migrations.
@Suite struct SQLiteStoreFileTests {
    @Test func statusNeverCreatesAStore() throws {
        let folder = TemporaryDirectory()
        let path = folder.file("absent.sqlite")
        #expect(throws: StoreError.storeMissing(path: path)) { try SQLiteStore(path: path, createIfMissing: false) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aFileThatIsNotADatabaseIsRejected() throws {
        let folder = TemporaryDirectory()
        let path = folder.write("notes.sqlite", String(repeating: "not a database\n", count: 100))
        #expect(throws: StoreError.notADatabase(path: path)) { try SQLiteStore(path: path) }
    }

    @Test func aFolderIsRejected() throws {
        let folder = TemporaryDirectory()
        #expect(throws: StoreError.cannotOpen(path: folder.path, reason: "it is a folder")) { try SQLiteStore(path: folder.path) }
    }

    @Test func migrationsAreNamedAndAppliedOnce() throws {
        let folder = TemporaryDirectory()
        let path = folder.file("s.sqlite")
        _ = try SQLiteStore(path: path)
        _ = try SQLiteStore(path: path)   // reopening migrates nothing and keeps the data
        let names = try sqlite(path, "SELECT identifier FROM grdb_migrations ORDER BY rowid")
        #expect(names == ["1 jobs, documents, units", "2 leases", "3 outputs and metrics", "4 calibration", "5 machine profiles",
                          "6 predictions and KV snapshots", "7 speculation"])
        #expect(try sqlite(path, "PRAGMA journal_mode") == ["wal"])
    }

    @Test func aStoreFromANewerVersionIsRefused() throws {
        let folder = TemporaryDirectory()
        let path = folder.file("s.sqlite")
        _ = try SQLiteStore(path: path)
        _ = try sqlite(path, "INSERT INTO grdb_migrations VALUES ('4 from the future')")
        #expect(throws: StoreError.schemaFromNewerVersion(path: path)) { try SQLiteStore(path: path) }
    }

    /// A writer held by another process makes writes wait, then fail as `busy`; reads go on (WAL).
    @Test func aLockedStoreIsBusyForWritersButNotForReaders() throws {
        let folder = TemporaryDirectory()
        let path = folder.file("s.sqlite")
        let clockless = try SQLiteStore(path: path, busyTimeout: 0.2)
        let fixture = try StoreFixture(.inMemory)
        _ = try clockless.submit(fixture.submission(documents: ["/d/a.txt"]))

        let holder = try LockHolder(path: path)
        defer { holder.stop() }
        #expect(throws: StoreError.busy(path: path, operation: "lease a unit")) {
            try clockless.leaseNextUnit(owner: "r", leaseSeconds: 60)
        }
        #expect(try clockless.statistics(jobID: nil).first?.count(.pending) == 1)
        #expect(try clockless.leasableUnitCount() == 1)
    }

    /// The CLI turns a store that stays busy past its timeout (10 s) into exit 75, for cron to retry.
    @Test func aBusyStoreExits75() throws {
        let folder = TemporaryDirectory()
        let path = folder.file("s.sqlite")
        _ = try SQLiteStore(path: path)
        let job = folder.write("job.json", #"{"name": "j", "documents": ["a.txt"], "prompts": ["Q?"]}"#)
        let holder = try LockHolder(path: path)
        defer { holder.stop() }
        let process = Process()
        let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        process.executableURL = URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("pipeline")
        process.arguments = ["submit", "--db", path, job]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 75)
        #expect(message.contains("is busy"), "\(message)")
    }
}

/// Runs SQL with the sqlite3 Python module (another process, another SQLite connection).
func sqlite(_ path: String, _ sql: String) throws -> [String] {
    let script = """
    import sqlite3, sys
    c = sqlite3.connect(sys.argv[1], isolation_level=None)
    for row in c.execute(sys.argv[2]): print(row[0])
    """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, path, sql]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
}

/// Another process holding the write lock (BEGIN IMMEDIATE) until stopped.
final class LockHolder {
    let process = Process()
    let input = Pipe()

    init(path: String) throws {
        let script = """
        import sqlite3, sys
        c = sqlite3.connect(sys.argv[1], isolation_level=None)
        c.execute("BEGIN IMMEDIATE")
        print("locked", flush=True)
        sys.stdin.read()
        """
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        _ = output.fileHandleForReading.availableData   // "locked"
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
