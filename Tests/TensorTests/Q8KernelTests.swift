import CKernels
import Foundation
import GGUF
import Tensor
import Testing
import TestSupport

/// The q8-activation kernels (ck_q8.h) on every instruction-set level this CPU runs, against
/// double-precision references, with these written error bounds (w the dequantized weights,
/// x̃ = d·q the quantized activations, u = 2⁻²⁴, n = k/32 blocks):
///
///  1. the fold is exact up to float rounding: |y − Σ w_j x̃_j| ≤ 4(n + 16)·u·M, where
///     M = Σ_blocks Σ_j (|d·u_j| + |m|)·|x̃_j| bounds every term the kernel rounds;
///  2. against the fp32 activations: |y − Σ w_j x_j| ≤ Σ_blocks ‖w_block‖₁·(dx/2)(1 + 10⁻⁴) + bound 1,
///     since round-to-nearest moves each activation by at most half its block's step dx.
///
/// The bounds are the same formula for every covered type (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0); each
/// type's worst observed error relative to its bound is printed.
@Suite(.serialized) struct Q8KernelTests {
    static let levels: [Int32] = Array(0...ck_isa_supported())
    static let covered: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0]

    @Test func coverage() {
        for t in [GGMLType.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K] {
            #expect((ck_q8_supported(Int32(t.rawValue)) != 0) == Self.covered.contains(t), "\(t)")
        }
    }

    @Test func quantizerRoundsToNearest() {
        var rng = SeededRandom(seed: 3)
        let x = rng.normals(64, scale: 3)
        var q = [ck_block_q8a](repeating: ck_block_q8a(), count: 2)
        ck_quantize_q8a(x, 64, &q)
        for b in 0..<2 {
            let amax = x[(b * 32)..<(b * 32 + 32)].map(abs).max()!
            #expect(q[b].d == amax / 127)
            let codes = withUnsafeBytes(of: q[b].qs) { Array($0.bindMemory(to: Int8.self)) }
            #expect(codes.map { Int($0) }.max()! == 127 || codes.map { Int($0) }.min()! == -127)
            #expect(q[b].s == q[b].d * Float(codes.reduce(0) { $0 + Int($1) }))
            for j in 0..<32 { #expect(abs(Double(x[b * 32 + j]) - Double(q[b].d) * Double(codes[j])) <= Double(q[b].d) * 0.5001) }
        }
    }

    @Test(arguments: covered)
    func productsWithinBounds(type: GGMLType) throws {
        let rows = 45, columns = 512, nblk = columns / 32
        let bytes = RandomBlocks.make(type, rows: rows, columns: columns, seed: UInt64(type.rawValue) + 21)
        try bytes.withUnsafeBytes { raw in
            let m = try WeightMatrix(name: "w", type: type, rowCount: rows, columnCount: columns, base: raw.baseAddress!, owner: nil)
            // dequantized rows and each block's (d, m) for the magnitude M
            var w = [Float](repeating: 0, count: rows * columns)
            w.withUnsafeMutableBufferPointer { p in for r in 0..<rows { m.dequantizeRow(r, into: p.baseAddress! + r * columns) } }
            var rng = SeededRandom(seed: 41)
            var worst = (fold: 0.0, act: 0.0)
            for count in [1, 2, 3, 8, 9, 13] {
                let x = rng.normals(count * columns, scale: 2)
                var q = [ck_block_q8a](repeating: ck_block_q8a(), count: count * nblk)
                for t in 0..<count { x.withUnsafeBufferPointer { ck_quantize_q8a($0.baseAddress! + t * columns, Int64(columns), &q[t * nblk]) } }
                for level in Self.levels {
                    var y = [Float](repeating: .nan, count: count * rows)
                    var scratch = [Float](repeating: 0, count: m.scratchFloatCount)
                    KernelTests.withISA(level) {
                        q.withUnsafeBytes { qp in
                            x.withUnsafeBufferPointer { xp in
                                y.withUnsafeMutableBufferPointer { yp in
                                    scratch.withUnsafeMutableBufferPointer { sp in
                                        m.multiply(rows: 0..<rows, x: xp.baseAddress!, xStride: columns, count: count, y: yp.baseAddress!,
                                                   yStride: rows, scratch: sp.baseAddress!, xq: qp.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                    for t in 0..<count {
                        for r in 0..<rows {
                            var exactQ = 0.0, exactX = 0.0, mag = 0.0, actBound = 0.0
                            for b in 0..<nblk {
                                let blk = q[t * nblk + b]
                                let codes = withUnsafeBytes(of: blk.qs) { Array($0.bindMemory(to: Int8.self)) }
                                var l1 = 0.0
                                for j in 0..<32 {
                                    let wv = Double(w[r * columns + b * 32 + j]), xt = Double(blk.d) * Double(codes[j])
                                    exactQ += wv * xt
                                    exactX += wv * Double(x[t * columns + b * 32 + j])
                                    l1 += abs(wv)
                                    // |d·u| + |m| ≤ |w| + 2|m|, and |m| ≤ 128·|d| bounds every type's minimum term
                                    mag += (abs(wv) + 2 * Self.minimumBound(type, raw: raw, row: r, rowBytes: m.rowByteCount, block: b)) * abs(xt)
                                }
                                actBound += l1 * Double(blk.d) / 2 * (1 + 1e-4)
                            }
                            let foldBound = 4 * Double(nblk + 16) * 0x1p-24 * mag
                            let got = Double(y[t * rows + r])
                            let e1 = abs(got - exactQ), e2 = abs(got - exactX)
                            #expect(e1 <= foldBound, "\(type) ISA \(level) t \(t) r \(r): fold error \(e1) > \(foldBound)")
                            #expect(e2 <= actBound + foldBound, "\(type) ISA \(level) t \(t) r \(r): error \(e2) > \(actBound + foldBound)")
                            worst.fold = max(worst.fold, e1 / foldBound)
                            worst.act = max(worst.act, e2 / (actBound + foldBound))
                        }
                    }
                }
            }
            print("q8 \(type): worst error / bound — fold \(String(format: "%.3f", worst.fold)), vs fp32 activations \(String(format: "%.3f", worst.act))")
        }
    }

    /// |m| of block `block` of row `row` (0 for the symmetric types, whose offset is part of the code).
    static func minimumBound(_ type: GGMLType, raw: UnsafeRawBufferPointer, row: Int, rowBytes: Int, block: Int) -> Double {
        let (_, bb) = type.blockGeometry!
        let p = raw.baseAddress! + row * rowBytes + block * bb
        let d = Double(ck_f16_to_f32_1(p.loadUnaligned(as: UInt16.self)))
        switch type {
        case .q4_1, .q5_1: return abs(Double(ck_f16_to_f32_1(p.loadUnaligned(fromByteOffset: 2, as: UInt16.self))))
        case .q4_0: return 8 * abs(d)
        case .q5_0: return 16 * abs(d)
        default: return 0
        }
    }
}
