import CKernels
import Foundation
import Testing
import TestSupport

/// The attention kernels against double-precision softmax attention, on every ISA path.
@Suite(.serialized) struct AttentionKernelTests {
    /// A KV page in the kernels' layout: keys transposed [hd][64], values row-major [64][hd].
    struct Page {
        var kt: [UInt16]
        var v: [UInt16]
        var keys: [[Float]]  // the f16-rounded keys per token, for the reference
        var values: [[Float]]
        init(tokens n: Int, hd: Int, rng: inout SeededRandom) {
            kt = [UInt16](repeating: 0x7E00, count: hd * 64) // NaN in unused slots: must never leak
            v = [UInt16](repeating: 0x7E00, count: 64 * hd)
            keys = []; values = []
            for j in 0..<n {
                let k = rng.normals(hd, scale: 2).map { ck_f16_to_f32_1(ck_f32_to_f16_1($0)) }
                let val = rng.normals(hd).map { ck_f16_to_f32_1(ck_f32_to_f16_1($0)) }
                for d in 0..<hd { kt[d * 64 + j] = ck_f32_to_f16_1(k[d]); v[j * hd + d] = ck_f32_to_f16_1(val[d]) }
                keys.append(k); values.append(val)
            }
        }
    }

    static func referenceAttention(q: [Float], keys: [[Float]], values: [[Float]]) -> [Double] {
        let scores = keys.map { k in zip(q, k).map { Double($0) * Double($1) }.reduce(0, +) }
        let mx = scores.max()!
        let w = scores.map { Foundation.exp($0 - mx) }
        let sum = w.reduce(0, +)
        var out = [Double](repeating: 0, count: q.count)
        for (wj, v) in zip(w, values) { for d in 0..<q.count { out[d] += wj * Double(v[d]) / sum } }
        return out
    }

    /// The rows of a verification pass (consecutive positions: every row sees one more token of
    /// the last page) against a page at once: each row's state bit-identical to decoding it alone.
    @Test(arguments: Array(Int32(0)...ck_isa_supported()))
    func verificationRowsEqualRowsDecodedAlone(level: Int32) {
        let saved = ck_isa(); ck_set_isa(level); defer { ck_set_isa(saved) }
        var rng = SeededRandom(seed: 23)
        for hd in [64, 128] {
            for (nq, counts) in [(3, [60, 61, 62, 63, 64]), (3, [17, 18, 19, 20, 21, 22, 23, 24, 25]), (1, [64, 64]), (4, [0, 1, 2])] {
                let full = Page(tokens: 64, hd: hd, rng: &rng)
                let rows = counts.count
                let q = (0..<rows).map { _ in rng.normals(nq * hd, scale: 0.3) }
                // States after one earlier page, so the merge of running max and sum is exercised too.
                let m0 = (0..<rows * nq).map { _ in Float.random(in: -1...1, using: &rng) }
                let l0 = (0..<rows * nq).map { _ in Float.random(in: 0.5...2, using: &rng) }
                let acc0 = rng.normals(rows * nq * hd)
                var m = m0, l = l0, acc = acc0
                var mAlone = m0, lAlone = l0, accAlone = acc0
                for r in 0..<rows {
                    mAlone.withUnsafeMutableBufferPointer { mp in lAlone.withUnsafeMutableBufferPointer { lp in
                        accAlone.withUnsafeMutableBufferPointer { ap in
                            ck_attn_decode_f16(q[r], Int32(nq), Int32(hd), full.kt, 64, full.v, Int64(hd), Int32(counts[r]),
                                               mp.baseAddress! + r * nq, lp.baseAddress! + r * nq, ap.baseAddress! + r * nq * hd)
                        }
                    } }
                }
                let ns = counts.map(Int32.init)
                let qAll = q.flatMap { $0 }
                qAll.withUnsafeBufferPointer { qb in
                    m.withUnsafeMutableBufferPointer { mp in l.withUnsafeMutableBufferPointer { lp in acc.withUnsafeMutableBufferPointer { ap in
                        let qp: [UnsafePointer<Float>?] = (0..<rows).map { qb.baseAddress! + $0 * nq * hd }
                        let mps: [UnsafeMutablePointer<Float>?] = (0..<rows).map { mp.baseAddress! + $0 * nq }
                        let lps: [UnsafeMutablePointer<Float>?] = (0..<rows).map { lp.baseAddress! + $0 * nq }
                        let aps: [UnsafeMutablePointer<Float>?] = (0..<rows).map { ap.baseAddress! + $0 * nq * hd }
                        ck_attn_decode_f16_rows(Int32(rows), qp, Int32(nq), Int32(hd), full.kt, 64, full.v, Int64(hd), ns, mps, lps, aps)
                    } } }
                }
                #expect(m.map(\.bitPattern) == mAlone.map(\.bitPattern), "hd \(hd) counts \(counts) ISA \(level): max")
                #expect(l.map(\.bitPattern) == lAlone.map(\.bitPattern), "hd \(hd) counts \(counts) ISA \(level): sum")
                #expect(acc.map(\.bitPattern) == accAlone.map(\.bitPattern), "hd \(hd) counts \(counts) ISA \(level): output")
            }
        }
    }

    @Test(arguments: Array(Int32(0)...ck_isa_supported()))
    func decodeOverPagesMatchesSoftmax(level: Int32) {
        let saved = ck_isa(); ck_set_isa(level); defer { ck_set_isa(saved) }
        var rng = SeededRandom(seed: 11)
        for hd in [64, 128] {
            for (nq, lengths) in [(3, [64, 64, 17]), (1, [5]), (4, [64, 33]), (7, [1, 64])] {
                let pages = lengths.map { Page(tokens: $0, hd: hd, rng: &rng) }
                let q = rng.normals(nq * hd, scale: 0.3)
                var m = [Float](repeating: -.infinity, count: nq), l = [Float](repeating: 0, count: nq)
                var acc = [Float](repeating: 0, count: nq * hd)
                for (page, n) in zip(pages, lengths) {
                    ck_attn_decode_f16(q, Int32(nq), Int32(hd), page.kt, 64, page.v, Int64(hd), Int32(n), &m, &l, &acc)
                }
                for i in 0..<nq {
                    let qi = Array(q[i * hd..<(i + 1) * hd])
                    let expected = Self.referenceAttention(q: qi, keys: pages.flatMap(\.keys), values: pages.flatMap(\.values))
                    let got = (0..<hd).map { Double(acc[i * hd + $0] / l[i]) }
                    let err = zip(got, expected).map { abs($0 - $1) }.max()!
                    #expect(err < 1e-5, "hd \(hd) nq \(nq) row \(i) ISA \(level): error \(err)")
                }
            }
        }
    }

    @Test(arguments: Array(Int32(0)...ck_isa_supported()))
    func causalTileMasksFutureKeys(level: Int32) {
        let saved = ck_isa(); ck_set_isa(level); defer { ck_set_isa(saved) }
        var rng = SeededRandom(seed: 12)
        let hd = 64, n = 64, kpos0: Int32 = 100
        let page = Page(tokens: n, hd: hd, rng: &rng)
        // 20 query rows at positions before, inside and after the page's span
        let qpos: [Int32] = (0..<20).map { [90, 99, 100, 101, 120, 150, 163, 164, 200][$0 % 9] }
        let nq = qpos.count
        let q = rng.normals(nq * hd, scale: 0.3)
        var m = [Float](repeating: -.infinity, count: nq), l = [Float](repeating: 0, count: nq)
        var acc = [Float](repeating: 0, count: nq * hd)
        var scratch = [Float](repeating: 0, count: Int(ck_attn_tile_scratch_floats(Int32(hd))))
        ck_attn_tile_f16(q, Int64(hd), Int32(nq), qpos, Int32(hd), page.kt, 64, page.v, Int64(hd), Int32(n), kpos0,
                         &m, &l, &acc, &scratch)
        for i in 0..<nq {
            let visible = max(0, min(n, Int(qpos[i] - kpos0) + 1))
            if visible == 0 {
                #expect(m[i] == -.infinity && l[i] == 0 && acc[(i * hd)..<((i + 1) * hd)].allSatisfy { $0 == 0 })
                continue
            }
            let qi = Array(q[i * hd..<(i + 1) * hd])
            let expected = Self.referenceAttention(q: qi, keys: Array(page.keys[0..<visible]), values: Array(page.values[0..<visible]))
            let err = (0..<hd).map { abs(Double(acc[i * hd + $0] / l[i]) - expected[$0]) }.max()!
            #expect(err < 1e-5, "row \(i) at \(qpos[i]) ISA \(level): error \(err)")
        }
    }

    @Test func mergingSplitStatesEqualsOnePass() {
        var rng = SeededRandom(seed: 13)
        let hd = 64
        let pages = (0..<4).map { _ in Page(tokens: 64, hd: hd, rng: &rng) }
        let q = rng.normals(hd, scale: 0.5)
        func state(_ ps: ArraySlice<Page>) -> (Float, Float, [Float]) {
            var m: Float = -.infinity, l: Float = 0, acc = [Float](repeating: 0, count: hd)
            for p in ps { ck_attn_decode_f16(q, 1, Int32(hd), p.kt, 64, p.v, Int64(hd), 64, &m, &l, &acc) }
            return (m, l, acc)
        }
        let whole = state(pages[0..<4])
        var (m, l, acc) = state(pages[0..<1])
        let rest = state(pages[1..<4])
        ck_attn_merge(&m, &l, &acc, rest.0, rest.1, rest.2, Int32(hd))
        for d in 0..<hd { #expect(abs(acc[d] / l - whole.2[d] / whole.1) < 1e-6) }
        // merging an empty state changes nothing
        let before = acc
        ck_attn_merge(&m, &l, &acc, -.infinity, 0, [Float](repeating: 0, count: hd), Int32(hd))
        #expect(acc == before)
    }
}
