import Foundation
import Store
import Testing

/// Calibration rows (pipeline eval → router), over every store implementation.
@Suite struct CalibrationStoreTests {
    @Test(arguments: StoreKind.allCases)
    func calibrationRowsAreAppendedAndReadBackInOrder(kind: StoreKind) throws {
        let f = try StoreFixture(kind)
        #expect(try f.store.calibrations().isEmpty)
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        let topk = CalibrationRecord(strategy: "topk", parameters: "k=128,k'=512", kvFormat: "f16", contextTokens: 5400,
                                     model: "m.gguf", steps: 256, documents: 8, meanKL: 0.0021, maxKL: 0.09, top1Agreement: 0.996, confidentTop1Agreement: 0.999,
                                     perplexity: 3.1, referencePerplexity: 3.09, needles: 12, needlesReferencePassed: 11,
                                     needlesKept: 11, indexBytes: 1000, indexedKVBytes: 4000, measuredAt: at)
        let lsh = CalibrationRecord(strategy: "lsh", parameters: "K=10,L=150", kvFormat: "int4", contextTokens: 5400, model: "m.gguf",
                                    steps: 256, documents: 8, meanKL: 0.01, maxKL: 0.3, top1Agreement: 0.98, confidentTop1Agreement: 0.99, perplexity: 3.3,
                                    referencePerplexity: 3.09, measuredAt: at)
        let first = try f.store.record(topk), second = try f.store.record(lsh)
        #expect(first.id != nil && second.id != nil && first.id != second.id)
        let rows = try f.store.calibrations()
        var expected = [topk, lsh]
        expected[0].id = first.id
        expected[1].id = second.id
        #expect(rows == expected)
    }
}
