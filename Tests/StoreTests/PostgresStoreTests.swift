import Foundation
import PostgresStore
import Store
import TestSupport
import Testing

/// What only the PostgreSQL store does: migrations in their own table, refusing foreign or newer
/// databases, unreachable and busy servers, and many connections claiming from one queue.
@Suite(.enabled(if: !PostgresTestServer.disabled, "PIPELINE_TEST_NO_POSTGRES=1: this run has no PostgreSQL"))
struct PostgresStoreTests {
    @Test func migrationsAreNamedAppliedOnceAndKeepTheData() throws {
        let address = try PostgresFixture.newDatabase()
        let server = try PostgresTestServer.shared()
        let first = try PostgresStore(address: address)
        _ = try first.submit(try StoreFixture(.inMemory).submission(documents: ["/d/a.txt"]))
        let again = try PostgresStore(address: address)   // reopening migrates nothing and keeps the data
        #expect(try again.jobs().count == 1)
        #expect(try server.psql(address.database, "SELECT identifier FROM pipeline_migrations ORDER BY identifier")
                == ["1 jobs, documents, units with leases, outputs, metrics, calibration, machine profiles",
                    "2 abandoned leases, routes, fidelity tiers", "3 speculation"])
    }

    @Test func aStoreFromANewerVersionIsRefused() throws {
        let address = try PostgresFixture.newDatabase()
        _ = try PostgresStore(address: address)
        try PostgresTestServer.shared().psql(address.database, "INSERT INTO pipeline_migrations (identifier) VALUES ('99 from the future')")
        #expect(throws: StoreError.schemaFromNewerVersion(path: address.description)) { try PostgresStore(address: address) }
    }

    @Test func aDatabaseThatIsNotAPipelineStoreIsRefusedAndLeftAlone() throws {
        let address = try PostgresFixture.newDatabase()
        let server = try PostgresTestServer.shared()
        try server.psql(address.database, "CREATE TABLE invoices (id int)")
        #expect(throws: StoreError.notAPipelineStore(path: address.description, tables: ["invoices"])) {
            try PostgresStore(address: address)
        }
        #expect(try server.psql(address.database, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") == ["1"])
    }

    @Test func statusNeverCreatesAStore() throws {
        let address = try PostgresFixture.newDatabase()
        #expect(throws: StoreError.storeMissing(path: address.description)) { try PostgresStore(address: address, createIfMissing: false) }
        #expect(try PostgresTestServer.shared().psql(address.database, "SELECT to_regclass('pipeline_migrations') IS NULL") == ["t"])
    }

    @Test func anUnreachableServerIsATemporaryFailure() throws {
        let address = PostgresAddress(user: "pipeline", password: nil, host: "127.0.0.1", port: PostgresTestServer.freePort(), database: "x")
        #expect {
            try PostgresStore(address: address, connectTimeout: 2)
        } throws: { error in
            if case StoreError.unreachable(let name, _) = error { return name == address.description }
            return false
        }
    }

    /// A row lock held by another session longer than the busy timeout: `busy`, reads go on.
    @Test func aLockedQueueIsBusyForClaimsButNotForReaders() throws {
        let address = try PostgresFixture.newDatabase()
        let server = try PostgresTestServer.shared()
        let store = try PostgresStore(address: address, busyTimeout: 0.3)
        _ = try store.submit(try StoreFixture(.inMemory).submission(documents: ["/d/a.txt"]))
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: server.binaries + "/psql")
        holder.arguments = ["-X", "-q", "-h", "127.0.0.1", "-p", "\(server.port)", "-U", server.user, "-d", address.database,
                            "-c", "BEGIN; LOCK TABLE unit IN EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;"]
        holder.standardOutput = FileHandle.nullDevice
        holder.standardError = FileHandle.nullDevice
        try holder.run()
        defer { kill(holder.processIdentifier, SIGKILL); holder.waitUntilExit() }
        #expect(try eventuallyTrue(within: 10) {
            try server.psql(address.database, "SELECT count(*) FROM pg_locks WHERE mode = 'ExclusiveLock' AND relation = 'unit'::regclass") == ["1"]
        })
        #expect(throws: StoreError.busy(path: address.description, operation: "lease a unit")) {
            try store.leaseNextUnit(owner: "r", leaseSeconds: 60)
        }
        #expect(try store.statistics(jobID: nil).first?.count(.pending) == 1)
    }

    /// Eight connections claim from one queue of 120 units at once: each unit once (SKIP LOCKED).
    @Test func concurrentClaimsNeverShareAUnit() throws {
        let address = try PostgresFixture.newDatabase()
        let seed = try PostgresStore(address: address)
        let paths = (0..<120).map { "/d/\($0).txt" }
        _ = try seed.submit(try StoreFixture(.inMemory).submission(documents: paths))
        let stores = try (0..<8).map { _ in try PostgresStore(address: address) }
        let claimed = NSLock()
        nonisolated(unsafe) var units: [Int64] = []
        nonisolated(unsafe) var errors: [String] = []
        DispatchQueue.concurrentPerform(iterations: stores.count) { i in
            do {
                while let unit = try stores[i].leaseNextUnit(owner: "r\(i)", leaseSeconds: 60) {
                    claimed.withLock { units.append(unit.lease.unitID) }
                    try stores[i].complete(unit.lease, outputs: outputs(for: unit.lease, prompts: 2), metrics: metrics(for: unit.lease))
                }
            } catch {
                claimed.withLock { errors.append("\(error)") }
            }
        }
        #expect(errors.isEmpty, "\(errors)")
        #expect(units.count == 120 && Set(units).count == 120)
        let results = try seed.results(jobID: "aaaaaaaaaaaa")
        #expect(results.count == 240 && Set(results.map { "\($0.unitID)/\($0.output.promptIndex)" }).count == 240)
    }

    /// A server restart fails the calls in between as unreachable; the same store then reconnects.
    @Test func aStoreReconnectsAfterTheServerRestarts() throws {
        let server = try PostgresTestServer()
        defer { server.stop() }
        let address = PostgresAddress(user: server.user, password: nil, host: "127.0.0.1", port: server.port,
                                      database: try server.createDatabase())
        let store = try PostgresStore(address: address, connectTimeout: 2)
        _ = try store.submit(try StoreFixture(.inMemory).submission(documents: ["/d/a.txt"]))
        let unit = try #require(try store.leaseNextUnit(owner: "r", leaseSeconds: 60))
        try server.stopServer(mode: "fast")
        #expect {
            try store.renew(unit.lease, leaseSeconds: 60)
        } throws: { error in
            if case StoreError.unreachable = error { return true }
            return false
        }
        try server.start()
        try store.complete(unit.lease, outputs: outputs(for: unit.lease, prompts: 2), metrics: metrics(for: unit.lease))
        #expect(try store.results(jobID: "aaaaaaaaaaaa").count == 2)
    }

    /// Metrics travel as JSON: non-finite rates (a zero-second decode) are kept, as SQLite keeps them.
    @Test func nonFiniteMetricsAreStored() throws {
        let store = try PostgresStore(address: try PostgresFixture.newDatabase())
        _ = try store.submit(try StoreFixture(.inMemory).submission(documents: ["/d/a.txt"]))
        let unit = try #require(try store.leaseNextUnit(owner: "r", leaseSeconds: 30))
        var m = metrics(for: unit.lease)
        m.decodeTokensPerSecond = .infinity
        m.predictedSeconds = .nan
        try store.complete(unit.lease, outputs: outputs(for: unit.lease, prompts: 1), metrics: m)
        let stored = try #require(try store.recordedUnits(limit: 1).first?.metrics)
        #expect(stored.decodeTokensPerSecond == .infinity && stored.predictedSeconds?.isNaN == true)
    }

    /// Lease times are the server's: a lease taken now expires leaseSeconds after the server's now().
    @Test func leasesAreTimedByTheServersClock() throws {
        let address = try PostgresFixture.newDatabase()
        let store = try PostgresStore(address: address)
        _ = try store.submit(try StoreFixture(.inMemory).submission(documents: ["/d/a.txt"]))
        let unit = try #require(try store.leaseNextUnit(owner: "r", leaseSeconds: 30))
        let serverNow = try #require(try PostgresTestServer.shared().psql(address.database, "SELECT extract(epoch FROM now())").first.flatMap(Double.init))
        #expect(abs(unit.lease.acquiredAt.timeIntervalSince1970 - serverNow) < 5)
        #expect(abs(unit.lease.expiresAt.timeIntervalSince(unit.lease.acquiredAt) - 30) < 0.001)
        let leases = try store.activeLeases()
        #expect(leases.map(\.unitID) == [unit.lease.unitID] && leases[0].expiresInSeconds > 25)
    }
}

/// Polls `condition` every 50 ms until it holds or `seconds` pass.
func eventuallyTrue(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(50_000)
    }
    return try condition()
}
