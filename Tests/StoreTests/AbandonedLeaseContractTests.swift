import Foundation
import Store
import Testing

/// A lease that expired with its runner is counted on the unit (`abandonedLeases`), and such a
/// unit goes after fresh work: on every backend.
@Suite struct AbandonedLeaseContractTests {
    @Test(arguments: StoreKind.allCases)
    func anExpiredLeaseIsCountedAndItsUnitGoesLast(kind: StoreKind) throws {
        let f = try StoreFixture(kind)
        _ = try f.store.submit(f.submission(documents: ["/d/a.txt", "/d/b.txt"]))
        let dead = try #require(try f.store.leaseNextUnit(owner: "h:1:dead", leaseSeconds: 10))
        #expect(dead.unit.abandonedLeases == 0)
        f.clock.advance(11)
        let fresh = try #require(try f.store.leaseNextUnit(owner: "h:2:live", leaseSeconds: 10))
        #expect(fresh.lease.unitID != dead.lease.unitID && fresh.unit.abandonedLeases == 0)
        let retaken = try #require(try f.store.leaseNextUnit(owner: "h:2:live", leaseSeconds: 10))
        #expect(retaken.lease.unitID == dead.lease.unitID && retaken.previousOwner == "h:1:dead")
        #expect(retaken.unit.abandonedLeases == 1 && retaken.lease.attempt == 2)
    }
}
