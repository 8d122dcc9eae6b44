import CKernels
import Foundation
import Testing
import TestSupport

/// MagicPIG's hash tables (Elias–Fano coded), collision counting and inclusion weights.
@Suite(.serialized) struct LSHKernelTests {
    static func table(codes: [UInt16], tables: Int, column: Int, bits: Int) -> [UInt8] {
        let n = codes.count / tables
        var table = [UInt8](repeating: 0xAB, count: ck_lsh_table_bytes(Int32(n), Int32(bits)))
        var scratch = [Int32](repeating: 0, count: n + (1 << bits) + 1)
        codes.withUnsafeBufferPointer { c in
            ck_lsh_table_build(c.baseAddress! + column, Int64(tables), Int32(n), Int32(bits), &table, &scratch)
        }
        return table
    }

    @Test(arguments: [(1, 10), (2, 4), (63, 10), (64, 6), (1000, 10), (5000, 10), (3000, 12), (700, 1), (8192, 10)])
    func everyBucketDecodesToItsTokens(n: Int, bits: Int) {
        var rng = SeededRandom(seed: UInt64(n * 31 + bits))
        // skewed codes: a few large buckets, many empty ones
        let codes = (0..<n).map { _ in UInt16(min((1 << bits) - 1, Int(abs(rng.normal()) * Float(1 << bits) / 6))) }
        let table = Self.table(codes: codes, tables: 1, column: 0, bits: bits)
        var out = [Int32](repeating: -1, count: n)
        var seen = 0
        for code in 0..<(1 << bits) {
            let count = Int(ck_lsh_table_bucket(table, Int32(n), Int32(bits), Int32(code), &out))
            let expected = (0..<n).filter { Int(codes[$0]) == code }.map { Int32($0) }
            #expect(Array(out[0..<count]) == expected, "n \(n) bits \(bits) bucket \(code)")
            seen += count
        }
        #expect(seen == n)
        // Elias–Fano: 2 + ⌈log2(2^bits·2^T / n)⌉ bits per token plus the samples: 12–13 bits at bits 10
        // for thousands of tokens (a plain table of UInt16 token ids would take 16 plus bucket offsets).
        if n >= 5000 && bits == 10 { #expect(Double(ck_lsh_table_bytes(Int32(n), Int32(bits)) * 8) < Double(n) * 13.2) }
    }

    @Test(arguments: Array(Int32(0)...ck_isa_supported()))
    func collisionCountingMarksTokensSeenInOneAndInTwoTables(level: Int32) {
        let saved = ck_isa(); ck_set_isa(level); defer { ck_set_isa(saved) }
        var rng = SeededRandom(seed: 31)
        let n = 777, tables = 20, bits = 6, extTokens = 100, rowCount = 3
        let codes = (0..<(n * tables)).map { _ in UInt16.random(in: 0..<64, using: &rng) }
        let built = (0..<tables).map { Self.table(codes: codes, tables: tables, column: $0, bits: bits) }
        let stride = built[0].count
        let flat = built.flatMap { $0 }
        // extension pages [page][table][64]
        let extPages = (extTokens + 63) / 64
        let ext = (0..<(extPages * tables * 64)).map { _ in UInt16.random(in: 0..<64, using: &rng) }
        let total = n + extTokens, span = total + 5
        var state = [UInt8](repeating: 0xFF, count: rowCount * span) // stale bytes must be overwritten
        var collisions: [[Int]] = []
        for r in 0..<rowCount {
            let q = (0..<tables).map { _ in UInt16.random(in: 0..<64, using: &rng) }
            state.withUnsafeMutableBufferPointer { ck_lsh_count(flat, stride, Int32(n), Int32(bits), Int32(tables), q, ext, Int32(extTokens), $0.baseAddress! + r * span) }
            let counted = (0..<total).map { t in
                t < n ? (0..<tables).filter { codes[t * tables + $0] == q[$0] }.count
                      : (0..<tables).filter { ext[((t - n) / 64 * tables + $0) * 64 + (t - n) % 64] == q[$0] }.count
            }
            for t in 0..<total {
                #expect(state[r * span + t] & 1 == (counted[t] >= 1 ? 1 : 0), "row \(r) token \(t): \(counted[t]) collisions")
                #expect(state[r * span + t] & 2 == (counted[t] >= 2 ? 2 : 0), "row \(r) token \(t): \(counted[t]) collisions")
            }
            collisions.append(counted)
        }
        #expect(collisions.allSatisfy { $0.contains { $0 >= 2 } } && collisions.allSatisfy { $0.contains { $0 == 1 } })
        // The union over the rows of a token range, ascending, with each token's rows.
        for (lo, hi) in [(0, total), (3, 700), (5, 13), (777, total), (64, 64)] {
            var out = [Int32](repeating: -1, count: total), rows = [UInt32](repeating: 0, count: total)
            let count = Int(ck_lsh_union(state, Int64(span), Int32(rowCount), Int32(lo), Int32(hi), &out, &rows))
            var expected: [(Int32, UInt32)] = []
            for t in lo..<hi {
                let mask = (0..<rowCount).reduce(UInt32(0)) { $0 | (collisions[$1][t] >= 2 ? 1 << UInt32($1) : 0) }
                if mask != 0 { expected.append((Int32(t), mask)) }
            }
            #expect(Array(out[0..<count]) == expected.map(\.0), "tokens \(lo)..<\(hi)")
            #expect(Array(rows[0..<count]) == expected.map(\.1), "tokens \(lo)..<\(hi)")
        }
    }

    @Test func inclusionWeightFollowsMagicPIGsFormula() {
        for (bits, tables) in [(10, 150), (4, 20), (12, 300)] {
            var previous = -Double.infinity
            for c in stride(from: -0.95, through: 1.0, by: 0.05) {
                let p = Foundation.pow(1 - Foundation.acos(c) / Double.pi, Double(bits)), L = Double(tables)
                let direct = 1 - Foundation.pow(1 - p, L) - L * p * Foundation.pow(1 - p, L - 1)
                let got = ck_lsh_log_weight(c, Int32(bits), Int32(tables))
                if direct > 1e-9 { #expect(abs(Foundation.exp(got) - direct) < 1e-9 + 1e-7 * direct, "K \(bits) L \(tables) cos \(c)") }
                #expect(got >= previous, "the weight grows with the cosine")
                previous = got
            }
            #expect(ck_lsh_log_weight(1, Int32(bits), Int32(tables)) == 0) // p = 1: always sampled
        }
        // Tiny p: the series keeps relative accuracy where 1 − (1−p)^L − Lp(1−p)^(L−1) cancels: w ≈ C(L,2)·p².
        let c = -0.5, p = Foundation.pow(1 - Foundation.acos(c) / Double.pi, 10)
        #expect(abs(ck_lsh_log_weight(c, 10, 150) - Foundation.log(150 * 149 / 2 * p * p)) < 0.01)
    }
}
