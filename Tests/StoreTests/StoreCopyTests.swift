import Foundation
import Store
import Testing

/// Moving a store between backends (`pipeline store copy`): snapshot → restore keeps every job,
/// unit, output, metric, calibration row and profile, with their ids; runners can go on after it.
@Suite struct StoreCopyTests {
    static let pairs: [(StoreKind, StoreKind)] = StoreKind.allCases.contains(.postgres)
        ? [(.onDisk, .postgres), (.postgres, .onDisk), (.onDisk, .inMemory)] : [(.onDisk, .inMemory)]

    @Test(arguments: pairs)
    func aCopyKeepsJobsOutputsAndTheQueue(from: StoreKind, to: StoreKind) throws {
        let source = try StoreFixture(from), destination = try StoreFixture(to)
        let s = source.store
        _ = try s.submit(source.submission(documents: ["/d/a.txt", "/d/b.txt", "/d/c.txt", "/d/e.txt"], prompts: 2))
        let done = try #require(try s.leaseNextUnit(owner: "h1:1:x", leaseSeconds: 60))
        try s.complete(done.lease, outputs: outputs(for: done.lease, prompts: 2), metrics: metrics(for: done.lease))
        let failed = try #require(try s.leaseNextUnit(owner: "h1:1:x", leaseSeconds: 60))
        try s.fail(failed.lease, error: "boom", final: true)
        let abandoned = try #require(try s.leaseNextUnit(owner: "h2:7:y", leaseSeconds: 60))
        try s.record(CalibrationRecord(strategy: "topk", parameters: "k=1", kvFormat: "f16", contextTokens: 10, model: "m", steps: 1,
                                       documents: 1, meanKL: 0.1, maxKL: 0.2, top1Agreement: 1, confidentTop1Agreement: 1,
                                       perplexity: 2, referencePerplexity: 2, measuredAt: Date(timeIntervalSince1970: 1_800_000_000)))
        try s.saveMachineProfile(json: Data(#"{"threads":2}"#.utf8), threads: 2, source: "calibrate")

        // A live lease: refused, nothing copied.
        #expect(throws: StoreError.self) { try s.snapshot() }
        source.clock.advance(120)   // the abandoned lease expires: copied as pending, its attempt given back
        let snapshot = try s.snapshot()
        try destination.store.restore(snapshot)
        let d = destination.store

        #expect(try d.jobs() == s.jobs())
        #expect(try d.results(jobID: "aaaaaaaaaaaa") == s.results(jobID: "aaaaaaaaaaaa"))
        #expect(try d.calibrations() == s.calibrations())
        #expect(try d.latestMachineProfile(threads: 2) == Data(#"{"threads":2}"#.utf8))
        let units = try d.units(jobID: "aaaaaaaaaaaa")
        #expect(units.map(\.state) == [.done, .failed, .pending, .pending])
        #expect(units.first { $0.unitID == abandoned.lease.unitID }?.attempts == 0)
        let stats = try #require(try d.statistics(jobID: nil).first)
        #expect(stats.tokensIn == 1010 && stats.count(.done) == 1 && stats.count(.failed) == 1)
        #expect(try d.recordedUnits(limit: 10).map(\.metrics) == [metrics(for: done.lease)])

        // The copied queue goes on: new ids do not collide with copied ones.
        var leased: [Int64] = []
        while let unit = try d.leaseNextUnit(owner: "h3:1:z", leaseSeconds: 60) {
            leased.append(unit.lease.unitID)
            try d.complete(unit.lease, outputs: outputs(for: unit.lease, prompts: 2), metrics: metrics(for: unit.lease))
        }
        #expect(leased.count == 2)
        #expect(try d.results(jobID: "aaaaaaaaaaaa").count == 6)
        _ = try d.submit(destination.submission(id: "bbbbbbbbbbbb", name: "next", documents: ["/d/z.txt"]))
        var another = try #require(try d.calibrations().first)
        another.id = nil
        let recorded = try d.record(another).id
        #expect(recorded != nil && !snapshot.calibrations.map(\.id).contains(recorded))

        // A destination that holds jobs is refused.
        #expect(throws: StoreError.self) { try d.restore(snapshot) }
    }
}

/// `--db` / `PIPELINE_DB`: paths stay paths; anything with a scheme is an address.
@Suite struct StoreAddressTests {
    @Test func pathsAndAddresses() throws {
        let env = ["USER": "me"]
        #expect(try StoreAddress(parsing: "data/pipeline.sqlite", environment: env) == .sqlite(path: "data/pipeline.sqlite"))
        #expect(try StoreAddress(parsing: "/abs/a:b.sqlite", environment: env) == .sqlite(path: "/abs/a:b.sqlite"))
        #expect(try StoreAddress(parsing: "./postgres:x", environment: env) == .sqlite(path: "./postgres:x"))
        #expect(try StoreAddress(parsing: "postgres://runner@db.lan:5433/pipeline", environment: env)
                == .postgres(PostgresAddress(user: "runner", password: nil, host: "db.lan", port: 5433, database: "pipeline")))
        #expect(try StoreAddress(parsing: "postgresql://u:p%40ss@10.0.0.1/q", environment: env)
                == .postgres(PostgresAddress(user: "u", password: "p@ss", host: "10.0.0.1", port: 5432, database: "q")))
        #expect(try StoreAddress(parsing: "postgres://h/db", environment: ["USER": "me", "PGPASSWORD": "s"])
                == .postgres(PostgresAddress(user: "me", password: "s", host: "h", port: 5432, database: "db")))
        #expect(PostgresAddress(user: "u", password: "secret", host: "h", database: "d").description == "postgres://u@h:5432/d")
    }

    @Test(arguments: ["mysql://h/db", "sqlite://x.sqlite", "postgres:db", "postgres://h", "postgres://h/db?sslmode=require",
                      "postgres://h:99999/db", "postgres:///db", "file:x.sqlite"])
    func badAddressesAreRefusedNeverPaths(text: String) throws {
        #expect {
            try StoreAddress(parsing: text, environment: [:])
        } throws: { error in
            if case StoreError.unsupportedAddress = error { return true }
            return false
        }
    }

    @Test func aPasswordNeverReachesAMessage() throws {
        #expect {
            try StoreAddress(parsing: "postgres://u:secret@h/db?x=1", environment: [:])
        } throws: { error in
            "\(error)".contains("***") && !"\(error)".contains("secret")
        }
    }
}
