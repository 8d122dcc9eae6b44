import CKernels
import Foundation
import Testing
import TestSupport

/// The sparse-attention kernels (ck_sparse.h) against plain references, on every ISA path.
@Suite(.serialized) struct SparseKernelTests {
    static let levels = Array(Int32(0)...ck_isa_supported())

    static func f16(_ x: Float) -> Float { ck_f16_to_f32_1(ck_f32_to_f16_1(x)) }

    @Test(arguments: levels)
    func sketchScoresAreTheInt4Estimate(level: Int32) {
        let saved = ck_isa(); ck_set_isa(level); defer { ck_set_isa(saved) }
        var rng = SeededRandom(seed: 21)
        for (hd, nq, nblocks) in [(64, 3, 3), (128, 2, 2), (64, 1, 1), (64, 7, 2), (64, 16, 1)] {
            // Channels with their own offsets and spreads, one of them an outlier channel.
            let offsets = rng.normals(hd, scale: 2), spreads = (0..<hd).map { d in d == 5 ? 9 : Float.random(in: 0.2...3, using: &rng) }
            let keys = (0..<(nblocks * 64 * hd)).map { i in offsets[i % hd] + spreads[i % hd] * rng.normal() }
            let q = rng.normals(nq * hd, scale: 0.3), reference = rng.normals(nq, scale: 3)
            let blockBytes = Int(ck_sketch_block_bytes(Int32(hd)))
            var blocks = [UInt8](repeating: 0, count: nblocks * blockBytes), maxStep = [Float](repeating: 0, count: hd)
            var steps = [[Float]]()
            let lastCount = 50 // a partial last block: missing keys get code 0
            for b in 0..<nblocks {
                let n = b == nblocks - 1 ? lastCount : 64
                blocks.withUnsafeMutableBufferPointer { out in
                    keys.withUnsafeBufferPointer { ck_sketch_encode($0.baseAddress! + b * 64 * hd, Int32(n), Int32(hd), out.baseAddress! + b * blockBytes) }
                    let step = ck_sketch_steps(out.baseAddress! + b * blockBytes, Int32(hd))!
                    steps.append((0..<hd).map { step[$0] })
                }
                for d in 0..<hd { maxStep[d] = max(maxStep[d], steps[b][d]) }
            }
            let inv = ck_sketch_inv_delta(q, Int32(nq), Int32(hd), maxStep)
            #expect(inv > 0)
            var got = [Int16](repeating: 0, count: nblocks * 64), portable = got
            ck_sketch_scores(blocks, Int32(nblocks), Int32(hd), q, Int32(nq), reference, inv, &got)
            ck_set_isa(0)
            ck_sketch_scores(blocks, Int32(nblocks), Int32(hd), q, Int32(nq), reference, inv, &portable)
            ck_set_isa(level)
            #expect(got == portable, "hd \(hd) nq \(nq): ISA \(level) differs from portable")
            let delta = Double(1 / inv), unit = delta * Double(1 << ck_sketch_shift(Int32(hd)))
            for i in 0..<((nblocks - 1) * 64 + lastCount) {
                let b = i / 64
                var best = -Double.infinity, bound = 0.0
                for r in 0..<nq {
                    var s = -Double(reference[r]), e = 0.0
                    for d in 0..<hd {
                        s += Double(q[r * hd + d]) * Double(keys[i * hd + d])
                        e += abs(Double(q[r * hd + d]) * Double(steps[b][d])) / 2 // the key's int4 rounding
                    }
                    best = max(best, s)
                    bound = max(bound, e + delta * Double(8 * hd + 1)) // query codes (≤ 15 · ½Δ per channel), lo terms, bias
                }
                bound += unit // the shift to int16
                let estimate = Double(got[i]) * unit
                #expect(abs(estimate - best) <= bound + 1e-3, "hd \(hd) key \(i): \(estimate) vs \(best) (bound \(bound))")
            }
            // The error is far below the spread of the logits: with one row the estimate ranks the keys.
            let valid = nblocks == 1 ? lastCount : 64
            let truth = (0..<valid).map { i in (0..<hd).reduce(0.0) { $0 + Double(q[$1]) * Double(keys[i * hd + $1]) } }
            let estimate = (0..<valid).map { Double(got[$0]) }
            if nq == 1 { #expect(Self.rankCorrelation(truth, estimate) > 0.97, "hd \(hd): ranks") }
        }
    }

    /// Spearman's rank correlation of two equally long lists.
    static func rankCorrelation(_ a: [Double], _ b: [Double]) -> Double {
        func ranks(_ x: [Double]) -> [Double] {
            var r = [Double](repeating: 0, count: x.count)
            for (rank, i) in x.indices.sorted(by: { x[$0] < x[$1] }).enumerated() { r[i] = Double(rank) }
            return r
        }
        let ra = ranks(a), rb = ranks(b), n = Double(a.count)
        let d2 = zip(ra, rb).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        return 1 - 6 * d2 / (n * (n * n - 1))
    }

    @Test(arguments: levels)
    func bucketTopKKeepsTheBestOfEveryBucket(level: Int32) {
        let saved = ck_isa(); ck_set_isa(level); defer { ck_set_isa(saved) }
        var rng = SeededRandom(seed: 22)
        for (n, buckets, keep) in [(1024, 32, 2), (1024, 64, 1), (1000, 40, 2), (64, 96, 2), (2048, 7, 2), (5, 32, 1)] {
            var scores = (0..<n).map { _ in Int16.random(in: -300...300, using: &rng) } // many ties
            for i in stride(from: 3, to: n, by: 11) { scores[i] = Int16.min } // excluded
            var out = [Int32](repeating: -1, count: keep * buckets)
            let count = Int(ck_bucket_topk_i16(scores, Int32(n), Int32(buckets), Int32(keep), &out))
            var expected: [Int32] = []
            for b in 0..<min(buckets, n) {
                let members = stride(from: b, to: n, by: buckets).filter { scores[$0] != Int16.min }
                let best = members.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(keep)
                expected += best.map { Int32($0) }
            }
            #expect(Array(out[0..<count]).sorted() == expected.sorted(), "n \(n) buckets \(buckets) keep \(keep) ISA \(level)")
        }
    }

    @Test func bucketRecallFormulaMatchesSimulation() {
        var rng = SeededRandom(seed: 23)
        for (n, buckets, keep, k) in [(1024, 64, 1, 32), (1024, 32, 2, 64), (2048, 128, 2, 128)] {
            let size = n / buckets
            var kept = 0, trials = 3000
            for _ in 0..<trials {
                // the top k items land on random positions; each bucket keeps its best `keep` of them
                var perBucket = [Int](repeating: 0, count: buckets)
                var positions = Array(0..<n)
                positions.shuffle(using: &rng)
                for p in positions.prefix(k) { perBucket[p / size] += 1 }
                kept += perBucket.reduce(0) { $0 + min($1, keep) }
            }
            let simulated = Double(kept) / Double(trials * k)
            let formula = ck_bucket_topk_recall(Int32(n), Int32(buckets), Int32(keep), Int32(k))
            #expect(abs(simulated - formula) < 0.01, "n \(n) B \(buckets) keep \(keep) k \(k): \(formula) vs simulated \(simulated)")
        }
        #expect(ck_bucket_topk_recall(1024, 64, 16, 100) == 1) // buckets keep everything
    }

    @Test(arguments: levels)
    func gatheredDotProductsAreExact(level: Int32) {
        let saved = ck_isa(); ck_set_isa(level); defer { ck_set_isa(saved) }
        var rng = SeededRandom(seed: 24)
        for (hd, nq, n) in [(64, 3, 37), (128, 2, 16), (64, 5, 1), (64, 3, 0), (32, 2, 20)] {
            let tokens = 300
            let rows = (0..<(tokens * hd)).map { _ in ck_f32_to_f16_1(rng.normal() * 2) }
            let q = rng.normals(nq * hd, scale: 0.4)
            let idx = (0..<n).map { _ in Int32.random(in: 0..<Int32(tokens), using: &rng) }
            var out = [Float](repeating: .nan, count: nq * max(n, 1))
            ck_gather_dot_f16(q, Int32(nq), Int32(hd), rows, Int64(hd), idx, Int32(n), &out, Int64(max(n, 1)))
            for r in 0..<nq {
                for i in 0..<n {
                    let t = Int(idx[i])
                    let ref = (0..<hd).reduce(0.0) { $0 + Double(q[r * hd + $1]) * Double(ck_f16_to_f32_1(rows[t * hd + $1])) }
                    #expect(abs(Double(out[r * max(n, 1) + i]) - ref) < 1e-4 * max(1, abs(ref)), "hd \(hd) row \(r) key \(i) ISA \(level)")
                }
            }
        }
    }

    @Test func topKSelectionMatchesSorting() {
        var rng = SeededRandom(seed: 25)
        for (n, k) in [(100, 10), (512, 128), (64, 128), (1, 1), (300, 300), (1000, 1)] {
            var scores = (0..<n).map { _ in Float(Int.random(in: -50...50, using: &rng)) / 4 } // ties
            if n > 10 { scores[7] = .nan; scores[9] = -.infinity }
            let expected = (0..<n).sorted {
                let a = scores[$0].isNaN ? -Float.infinity : scores[$0], b = scores[$1].isNaN ? -Float.infinity : scores[$1]
                return a != b ? a > b : $0 < $1
            }.prefix(k).map { Int32($0) }
            var sorted = [Int32](repeating: -1, count: n), unsorted = sorted, scratch = [Float](repeating: 0, count: n)
            let c1 = Int(ck_select_topk(scores, Int32(n), Int32(k), &sorted))
            let c2 = Int(ck_select_topk_unsorted(scores, Int32(n), Int32(k), &unsorted, &scratch))
            #expect(Array(sorted[0..<c1]) == expected, "sorted n \(n) k \(k)")
            #expect(Array(unsorted[0..<c2]).sorted() == expected.sorted(), "unsorted n \(n) k \(k)")
        }
    }

    @Test func kthLargestMatchesSorting() {
        var rng = SeededRandom(seed: 27)
        let special: [Float] = [.nan, -.infinity, .infinity, 0, -0.0, -1e-30, 1e-30, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
        for n in [1, 2, 7, 136, 545, 2000] {
            var scores = (0..<n).map { _ in Float.random(in: -20...20, using: &rng) }
            for i in 0..<n where i % 5 == 0 { scores[i] = Float(Int.random(in: -3...3, using: &rng)) } // ties
            for (i, x) in special.enumerated() where i < n / 3 { scores[n - 1 - i] = x }
            let sorted = scores.map { $0.isNaN ? -Float.infinity : $0 }.sorted(by: >)
            var scratch = [Float](repeating: 0, count: n)
            for k in Set([1, 2, n / 2, n - 1, n].filter { (1...n).contains($0) }) {
                let kth = ck_kth_largest(scores, Int32(n), Int32(k), &scratch)
                #expect(kth == sorted[k - 1], "n \(n) k \(k): \(kth) vs \(sorted[k - 1])")
            }
            #expect(ck_kth_largest(scores, Int32(n), Int32(n + 1), &scratch) == -.infinity)
            #expect(ck_kth_largest(scores, Int32(n), 0, &scratch) == .infinity)
        }
    }

    @Test(arguments: levels)
    func accumulateMatchesSoftmaxOverTheGatheredRows(level: Int32) {
        let saved = ck_isa(); ck_set_isa(level); defer { ck_set_isa(saved) }
        var rng = SeededRandom(seed: 26)
        for (hd, nq, n) in [(64, 3, 100), (128, 2, 7), (64, 1, 64), (64, 6, 130), (32, 2, 9)] {
            // Two pages of values; n tokens gathered from them in random order, on top of an initial state.
            let pages = (0..<2).map { _ in (0..<(128 * hd)).map { _ in ck_f32_to_f16_1(rng.normal()) } } // keys part unused
            let which = (0..<n).map { _ in Int.random(in: 0..<2, using: &rng) }
            let slots = (0..<n).map { _ in UInt8.random(in: 0..<64, using: &rng) }
            var scores = rng.normals(nq * n, scale: 2)
            for i in stride(from: 2, to: nq * n, by: 5) { scores[i] = -.infinity } // not in that row's set
            var m = rng.normals(nq, scale: 1), l = (0..<nq).map { _ in Float.random(in: 0.5...2, using: &rng) }
            var acc = rng.normals(nq * hd)
            let m0 = m, l0 = l, acc0 = acc
            pages[0].withUnsafeBufferPointer { p0 in
                pages[1].withUnsafeBufferPointer { p1 in
                    let ptrs: [UnsafeRawPointer?] = which.map { UnsafeRawPointer($0 == 0 ? p0.baseAddress! : p1.baseAddress!) }
                    ck_sparse_accumulate(Int32(CK_SPARSE_F16), scores, Int64(n), Int32(nq), Int32(hd), ptrs, slots, Int32(n), &m, &l, &acc)
                }
            }
            for r in 0..<nq {
                // reference: the old state as one pseudo-key with weight l0·e^m0 and output acc0/l0
                var mx = Double(m0[r])
                for i in 0..<n where scores[r * n + i] > -.infinity { mx = max(mx, Double(scores[r * n + i])) }
                var sum = Double(l0[r]) * Foundation.exp(Double(m0[r]) - mx)
                var out = (0..<hd).map { Double(acc0[r * hd + $0]) * Foundation.exp(Double(m0[r]) - mx) }
                for i in 0..<n where scores[r * n + i] > -.infinity {
                    let w = Foundation.exp(Double(scores[r * n + i]) - mx)
                    sum += w
                    for d in 0..<hd { out[d] += w * Double(ck_f16_to_f32_1(pages[which[i]][64 * hd + Int(slots[i]) * hd + d])) }
                }
                let got = (0..<hd).map { Double(acc[r * hd + $0] / l[r]) }
                let err = zip(got, out.map { $0 / sum }).map { abs($0 - $1) }.max()!
                #expect(err < 1e-5, "hd \(hd) nq \(nq) row \(r) ISA \(level): error \(err)")
                #expect(abs(Double(m[r]) - mx) < 1e-6)
            }
        }
    }

    @Test(arguments: levels)
    func simHashCodesAreProjectionSigns(level: Int32) {
        let saved = ck_isa(); ck_set_isa(level); defer { ck_set_isa(saved) }
        var rng = SeededRandom(seed: 27)
        for (hd, bits, tables, n) in [(64, 10, 150, 9), (64, 4, 3, 5), (128, 16, 7, 4), (32, 10, 13, 6)] {
            let keys = rng.normals(n * hd), mean = rng.normals(hd, scale: 0.3)
            let proj = rng.normals(hd * bits * tables)
            var codes = [UInt16](repeating: 0, count: n * tables)
            ck_simhash(keys, Int32(n), Int32(hd), mean, proj, Int32(bits), Int32(tables), &codes)
            for t in 0..<n {
                for tb in 0..<tables {
                    for b in 0..<bits {
                        let j = tb * bits + b
                        let dot = (0..<hd).reduce(0.0) { $0 + Double(keys[t * hd + $1] - mean[$1]) * Double(proj[$1 * bits * tables + j]) }
                        guard abs(dot) > 1e-4 else { continue } // a tie may go either way
                        #expect((codes[t * tables + tb] >> b & 1 == 1) == (dot > 0), "token \(t) table \(tb) bit \(b) ISA \(level)")
                    }
                }
            }
        }
    }
}
