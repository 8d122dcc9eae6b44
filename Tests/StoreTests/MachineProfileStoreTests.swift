import Foundation
import Store
import Testing

/// Machine profiles (pipeline calibrate → router), over every store implementation.
@Suite struct MachineProfileStoreTests {
    @Test(arguments: StoreKind.allCases)
    func theNewestProfileIsReadBackPerThreadCount(kind: StoreKind) throws {
        let f = try StoreFixture(kind)
        #expect(try f.store.latestMachineProfile(threads: nil) == nil)
        let two = Data(#"{"threads":2,"gemmGFLOPS":10}"#.utf8), four = Data(#"{"threads":4}"#.utf8)
        let refit = Data(#"{"threads":2,"gemmGFLOPS":11}"#.utf8)
        try f.store.saveMachineProfile(json: two, threads: 2, source: "calibrate")
        try f.store.saveMachineProfile(json: four, threads: 4, source: "calibrate")
        #expect(try f.store.latestMachineProfile(threads: 2) == two)
        #expect(try f.store.latestMachineProfile(threads: nil) == four)
        #expect(try f.store.latestMachineProfile(threads: 8) == nil)
        try f.store.saveMachineProfile(json: refit, threads: 2, source: "refit")
        #expect(try f.store.latestMachineProfile(threads: 2) == refit)
        #expect(try f.store.latestMachineProfile(threads: 4) == four)
    }

    @Test(arguments: StoreKind.allCases)
    func anUnknownSourceIsRejected(kind: StoreKind) throws {
        let f = try StoreFixture(kind)
        #expect(throws: StoreError.self) { try f.store.saveMachineProfile(json: Data("{}".utf8), threads: 2, source: "guess") }
        #expect(try f.store.latestMachineProfile(threads: nil) == nil)
    }
}
