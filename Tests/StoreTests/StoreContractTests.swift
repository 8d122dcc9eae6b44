import Foundation
import Testing
import Store

/// The `Store` contract, run over every implementation (in memory and on disk).
@Suite struct StoreContractTests {
    @Test(arguments: StoreKind.allCases)
    func submitIsIdempotentAndAddsOnlyNewDocuments(kind: StoreKind) throws {
        let f = try StoreFixture(kind)
        let first = try f.store.submit(f.submission(documents: ["/d/a.txt", "/d/b.txt"]))
        #expect(first == SubmitReceipt(jobID: "aaaaaaaaaaaa", created: true, unitsAdded: 2, unitCount: 2))
        let again = try f.store.submit(f.submission(documents: ["/d/a.txt", "/d/b.txt"]))
        #expect(again == SubmitReceipt(jobID: "aaaaaaaaaaaa", created: false, unitsAdded: 0, unitCount: 2))
        let grown = try f.store.submit(f.submission(documents: ["/d/a.txt", "/d/b.txt", "/d/c.txt", "/d/a.txt"]))
        #expect(grown == SubmitReceipt(jobID: "aaaaaaaaaaaa", created: false, unitsAdded: 1, unitCount: 3))
        #expect(try f.store.jobs().count == 1)
        // The same document in another job is the same document row, but another unit.
        let other = try f.store.submit(f.submission(id: "bbbbbbbbbbbb", name: "other", documents: ["/d/a.txt"]))
        #expect(other.created && other.unitCount == 1)
        #expect(try f.store.leasableUnitCount() == 4)
    }

    @Test(arguments: StoreKind.allCases)
    func jobsAreFoundByIdOrLatestName(kind: StoreKind) throws {
        let f = try StoreFixture(kind)
        _ = try f.store.submit(f.submission(id: "aaaaaaaaaaaa", name: "same", documents: ["/d/a.txt"]))
        f.clock.advance(1)
        _ = try f.store.submit(f.submission(id: "bbbbbbbbbbbb", name: "same", documents: ["/d/a.txt"]))
        #expect(try f.store.job("aaaaaaaaaaaa").id == "aaaaaaaaaaaa")
        #expect(try f.store.job("same").id == "bbbbbbbbbbbb")
        #expect(throws: StoreError.jobNotFound(reference: "nope")) { try f.store.job("nope") }
        #expect(try f.store.jobs().map(\.id) == ["aaaaaaaaaaaa", "bbbbbbbbbbbb"])
    }

    @Test(arguments: StoreKind.allCases)
    func eachUnitIsLeasedOnceUntilItsLeaseExpires(kind: StoreKind) throws {
        let f = try StoreFixture(kind)
        _ = try f.store.submit(f.submission(documents: ["/d/a.txt", "/d/b.txt", "/d/c.txt"]))
        var leased: [LeasedUnit] = []
        while let unit = try f.store.leaseNextUnit(owner: "runner-\(leased.count % 2)", leaseSeconds: 60) {
            leased.append(unit)
        }
        #expect(leased.count == 3)
        #expect(Set(leased.map(\.lease.unitID)).count == 3)
        #expect(leased.allSatisfy { $0.lease.attempt == 1 && $0.unit.state == .leased && $0.previousOwner == nil })
        #expect(leased.map(\.document.path) == ["/d/a.txt", "/d/b.txt", "/d/c.txt"])
        #expect(try f.store.leasableUnitCount() == 0)

        // Renewal keeps a unit; expiry frees it for another runner, who gets a new token.
        f.clock.advance(50)
        try f.store.renew(leased[0].lease, leaseSeconds: 60)
        f.clock.advance(20)
        #expect(try f.store.leasableUnitCount() == 2)
        let retaken = try #require(try f.store.leaseNextUnit(owner: "rescuer", leaseSeconds: 60))
        #expect(retaken.lease.unitID != leased[0].lease.unitID)
        #expect(retaken.lease.attempt == 2)
        #expect(retaken.previousOwner == leased.first { $0.lease.unitID == retaken.lease.unitID }?.lease.owner)

        // The runner whose lease was retaken can write nothing more for the unit.
        let stale = try #require(leased.first { $0.lease.unitID == retaken.lease.unitID }).lease
        let lost = StoreError.leaseLost(unitID: stale.unitID, owner: stale.owner)
        #expect(throws: lost) { try f.store.complete(stale, outputs: outputs(for: stale, prompts: 2), metrics: metrics(for: stale)) }
        #expect(throws: lost) { try f.store.renew(stale, leaseSeconds: 60) }
        #expect(throws: lost) { try f.store.fail(stale, error: "x", final: true) }
        #expect(throws: lost) { try f.store.release(stale) }
        #expect(try f.store.results(jobID: "aaaaaaaaaaaa").isEmpty)
    }

    @Test(arguments: StoreKind.allCases)
    func completeWritesOutputsMetricsAndStateTogether(kind: StoreKind) throws {
        let f = try StoreFixture(kind)
        _ = try f.store.submit(f.submission(documents: ["/d/a.txt", "/d/b.txt"], prompts: 3))
        let unit = try #require(try f.store.leaseNextUnit(owner: "r", leaseSeconds: 60))
        try f.store.complete(unit.lease, outputs: outputs(for: unit.lease, prompts: 3), metrics: metrics(for: unit.lease))
        // Completing again (a duplicate) is refused: the lease is gone.
        #expect(throws: StoreError.leaseLost(unitID: unit.lease.unitID, owner: "r")) {
            try f.store.complete(unit.lease, outputs: outputs(for: unit.lease, prompts: 3), metrics: metrics(for: unit.lease))
        }
        let results = try f.store.results(jobID: "aaaaaaaaaaaa")
        #expect(results.map(\.output.promptIndex) == [0, 1, 2])
        #expect(results.allSatisfy { $0.documentPath == "/d/a.txt" && $0.unitID == unit.lease.unitID })
        let stats = try #require(try f.store.statistics(jobID: "aaaaaaaaaaaa").first)
        #expect(stats.count(.done) == 1 && stats.count(.pending) == 1)
        #expect(stats.tokensIn == 1010 && stats.tokensOut == 14)
        #expect(stats.perPromptPrefillSeconds == 3.9 && stats.prefillSeconds == 2)
        #expect(stats.strategyMixes == ["dense+f16": 1])
        let units = try f.store.units(jobID: "aaaaaaaaaaaa")
        #expect(units.map(\.state) == [.done, .pending])
        #expect(units[0].tokenCount == 1000)
    }

    /// Units leased together overlap in wall time: a job's running time is the union of their
    /// spans (each ends at the unit's finish time), not their sum.
    @Test(arguments: StoreKind.allCases)
    func metricsCarryFinishTimesAndOverlappingUnitsCountOnce(kind: StoreKind) throws {
        let f = try StoreFixture(kind)
        _ = try f.store.submit(f.submission(documents: ["/d/a.txt", "/d/b.txt", "/d/c.txt"]))
        let a = try #require(try f.store.leaseNextUnit(owner: "r", leaseSeconds: 60))
        let b = try #require(try f.store.leaseNextUnit(owner: "r", leaseSeconds: 60))
        f.clock.advance(3)
        for unit in [a, b] { try f.store.complete(unit.lease, outputs: outputs(for: unit.lease, prompts: 1), metrics: metrics(for: unit.lease)) }
        f.clock.advance(10)
        let c = try #require(try f.store.leaseNextUnit(owner: "r", leaseSeconds: 60))
        f.clock.advance(3)
        try f.store.complete(c.lease, outputs: outputs(for: c.lease, prompts: 1), metrics: metrics(for: c.lease))
        let units = try f.store.metrics(jobID: "aaaaaaaaaaaa")
        #expect(units.count == 3 && units.allSatisfy { $0.finishedAt != nil && $0.metrics.wallSeconds == 2.5 })
        // a and b end together (one span of 2.5 s), c 13 s later (another): 5 s, not 7.5.
        #expect(abs(UnitMetrics.busySeconds(units) - 5) < 0.01, "\(UnitMetrics.busySeconds(units))")
        // The job's statistics (what status divides tokens by) use the same spans.
        let stats = try #require(try f.store.statistics(jobID: "aaaaaaaaaaaa").first)
        #expect(abs(stats.busySeconds - 5) < 0.01 && abs(stats.wallSeconds - 7.5) < 1e-9, "\(stats.busySeconds)")
        #expect(abs(units[0].metrics.engineSeconds - 2.2) < 1e-9)
    }

    @Test(arguments: StoreKind.allCases)
    func duplicateOutputsAreImpossibleAndRollBackTheUnit(kind: StoreKind) throws {
        let f = try StoreFixture(kind)
        _ = try f.store.submit(f.submission(documents: ["/d/a.txt"]))
        let unit = try #require(try f.store.leaseNextUnit(owner: "r", leaseSeconds: 60))
        let twice = outputs(for: unit.lease, prompts: 1) + outputs(for: unit.lease, prompts: 1)
        #expect(throws: StoreError.self) { try f.store.complete(unit.lease, outputs: twice, metrics: metrics(for: unit.lease)) }
        // Nothing of the failed transaction remains: still leased by us, no outputs, completable.
        #expect(try f.store.results(jobID: "aaaaaaaaaaaa").isEmpty)
        #expect(try f.store.units(jobID: "aaaaaaaaaaaa").first?.state == .leased)
        try f.store.complete(unit.lease, outputs: outputs(for: unit.lease, prompts: 2), metrics: metrics(for: unit.lease))
        #expect(try f.store.results(jobID: "aaaaaaaaaaaa").count == 2)
    }

    @Test(arguments: StoreKind.allCases)
    func failuresRetryThenStickAndReleaseDoesNotCount(kind: StoreKind) throws {
        let f = try StoreFixture(kind)
        _ = try f.store.submit(f.submission(documents: ["/d/a.txt"]))
        let first = try #require(try f.store.leaseNextUnit(owner: "r", leaseSeconds: 60))
        try f.store.release(first.lease)
        let second = try #require(try f.store.leaseNextUnit(owner: "r", leaseSeconds: 60))
        #expect(second.lease.attempt == 1)
        try f.store.fail(second.lease, error: "boom 1", final: false)
        #expect(try f.store.units(jobID: "aaaaaaaaaaaa").first?.state == .pending)
        let third = try #require(try f.store.leaseNextUnit(owner: "r", leaseSeconds: 60))
        #expect(third.lease.attempt == 2)
        try f.store.fail(third.lease, error: "boom 2", final: true)
        let unit = try #require(try f.store.units(jobID: "aaaaaaaaaaaa").first)
        #expect(unit.state == .failed && unit.attempts == 2 && unit.lastError == "boom 2" && unit.leaseOwner == nil)
        #expect(try f.store.leaseNextUnit(owner: "r", leaseSeconds: 60) == nil)
        #expect(try f.store.statistics(jobID: nil).first?.count(.failed) == 1)
    }
}
