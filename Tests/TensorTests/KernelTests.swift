import CKernels
import Foundation
import GGUF
import Tensor
import Testing
import TestSupport

/// Every kernel on every instruction-set path this CPU has, against references nobody here wrote
/// (gguf-py's dequantization, committed as a fixture) or plain double-precision arithmetic.
/// Serialized, although the ISA level a test forces (`ck_set_isa`) applies to its own thread only.
@Suite(.serialized) struct KernelTests {
    static let levels: [Int32] = Array(0...ck_isa_supported())
    static let allTypes: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]

    static func withISA<R>(_ level: Int32, _ body: () throws -> R) rethrows -> R {
        let saved = ck_isa()
        ck_set_isa(level)
        defer { ck_set_isa(saved) }
        return try body()
    }

    /// One kernel table per level, each complete; forcing a level switches the calling thread's table.
    @Test func everyLevelHasACompleteKernelTable() {
        #expect(ck_kernel_table_missing_entries() == 0)
        let names = ["portable", "avx2", "avx512"]
        for level in Self.levels {
            Self.withISA(level) {
                let name = String(cString: ck_kernel_table_name())
                #expect(name == names[Int(level)] || (level == 2 && name == "avx512-vnni"), "level \(level): \(name)")
            }
        }
    }

    struct Fixture: Decodable { let row_length: Int; let rows: Int; let values: [String: [Double]] }

    @Test(arguments: levels)
    func dequantizationMatchesGGUFPy(level: Int32) throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: dir.appendingPathComponent("quant-blocks.json")))
        let file = try GGUFFile(path: dir.appendingPathComponent("quant-blocks.gguf").path)
        #expect(Set(fixture.values.keys) == Set(Self.allTypes.map(\.description)))
        try Self.withISA(level) {
            for info in file.tensors {
                let matrix = try WeightMatrix(info, in: file)
                let expected = try #require(fixture.values[info.name])
                var out = [Float](repeating: .nan, count: matrix.columnCount)
                for r in 0..<matrix.rowCount {
                    out.withUnsafeMutableBufferPointer { matrix.dequantizeRow(r, into: $0.baseAddress!) }
                    for (i, v) in out.enumerated() {
                        let e = expected[r * matrix.columnCount + i]
                        // gguf-py computes d·q + m without fused multiply-add; allow one rounding.
                        if abs(Double(v) - e) > 1e-6 * max(1, abs(e)) {
                            Issue.record("\(info.name) row \(r) [\(i)]: \(v) vs gguf-py \(e) (ISA \(level))")
                            return
                        }
                    }
                }
            }
        }
    }

    /// Reference product in double precision from the portable dequantization.
    static func reference(_ m: WeightMatrix, x: [Float], count: Int) -> [Double] {
        var row = [Float](repeating: 0, count: m.columnCount)
        var y = [Double](repeating: 0, count: count * m.rowCount)
        withISA(0) {
            for r in 0..<m.rowCount {
                row.withUnsafeMutableBufferPointer { m.dequantizeRow(r, into: $0.baseAddress!) }
                for t in 0..<count {
                    var s = 0.0
                    for k in 0..<m.columnCount { s += Double(row[k]) * Double(x[t * m.columnCount + k]) }
                    y[t * m.rowCount + r] = s
                }
            }
        }
        return y
    }

    @Test(arguments: allTypes)
    func matrixProductsAgreeOnEveryPath(type: GGMLType) throws {
        let rows = 45, columns = 512 // an odd number of rows exercises the panel and pair tails
        let bytes = RandomBlocks.make(type, rows: rows, columns: columns, seed: UInt64(type.rawValue) + 7)
        try bytes.withUnsafeBytes { raw in
            let m = try WeightMatrix(name: "w", type: type, rowCount: rows, columnCount: columns, base: raw.baseAddress!, owner: nil)
            var rng = SeededRandom(seed: 99)
            for count in [1, 2, 3, 8, 9, 12, 13, 30] {
                let x = rng.normals(count * columns)
                let expected = Self.reference(m, x: x, count: count)
                for level in Self.levels {
                    var y = [Float](repeating: .nan, count: count * rows)
                    var scratch = [Float](repeating: 0, count: m.scratchFloatCount)
                    Self.withISA(level) {
                        x.withUnsafeBufferPointer { xp in
                            y.withUnsafeMutableBufferPointer { yp in
                                scratch.withUnsafeMutableBufferPointer { sp in
                                    m.multiply(rows: 0..<rows, x: xp.baseAddress!, xStride: columns, count: count,
                                               y: yp.baseAddress!, yStride: rows, scratch: sp.baseAddress!)
                                }
                            }
                        }
                    }
                    let worst = zip(y, expected).map { abs(Double($0) - $1) }.max()!
                    let scale = expected.map(abs).max()!
                    #expect(worst <= 2e-5 * max(1, scale), "\(type) count \(count) ISA \(level): max error \(worst)")
                }
            }
        }
    }

    /// Speculative verification multiplies up to `ck_matvec_exact_batch()` rows in one call and
    /// needs each row bit-identical to a product over that row alone, on every path.
    @Test(arguments: [GGMLType.q4_1, .q4_0, .q8_0, .f16, .q6_K])
    func exactBatchRowsEqualSingleVectorProducts(type: GGMLType) throws {
        let rows = 45, columns = 512
        let bytes = RandomBlocks.make(type, rows: rows, columns: columns, seed: UInt64(type.rawValue) + 3)
        try bytes.withUnsafeBytes { raw in
            let m = try WeightMatrix(name: "w", type: type, rowCount: rows, columnCount: columns, base: raw.baseAddress!, owner: nil)
            var rng = SeededRandom(seed: 41)
            for level in Self.levels {
                Self.withISA(level) {
                    let count = Int(ck_matvec_exact_batch())
                    #expect(count >= Int(CK_MATVEC_EXACT_BATCH) && count <= WeightMatrix.matvecMaxBatch)
                    let x = rng.normals(count * columns)
                    var together = [Float](repeating: .nan, count: count * rows), alone = together
                    x.withUnsafeBufferPointer { xp in
                        together.withUnsafeMutableBufferPointer { yp in
                            m.multiply(rows: 0..<rows, x: xp.baseAddress!, xStride: columns, count: count, y: yp.baseAddress!,
                                       yStride: rows, scratch: nil)
                        }
                        alone.withUnsafeMutableBufferPointer { yp in
                            for t in 0..<count {
                                m.multiply(rows: 0..<rows, x: xp.baseAddress! + t * columns, xStride: columns, count: 1,
                                           y: yp.baseAddress! + t * rows, yStride: rows, scratch: nil)
                            }
                        }
                    }
                    #expect(together.map(\.bitPattern) == alone.map(\.bitPattern), "\(type) ISA \(level): \(count) rows")
                }
            }
        }
    }

    @Test(arguments: levels)
    func vectorOps(level: Int32) {
        var rng = SeededRandom(seed: 5)
        let n = 77
        let x = rng.normals(n), w = rng.normals(n), b = rng.normals(n)
        Self.withISA(level) {
            var out = [Float](repeating: 0, count: n)
            ck_rmsnorm(x, w, &out, Int64(n), 1e-5)
            let ms = x.map { Double($0) * Double($0) }.reduce(0, +) / Double(n)
            for i in 0..<n {
                let e = Double(x[i]) / (ms + 1e-5).squareRoot() * Double(w[i])
                #expect(abs(Double(out[i]) - e) < 1e-5 * max(1, abs(e)))
            }
            var a = x
            ck_swiglu(&a, b, Int64(n))
            for i in 0..<n {
                let xi = Double(x[i]), e = xi / (1 + Foundation.exp(-xi)) * Double(b[i])
                #expect(abs(Double(a[i]) - e) < 2e-6 * max(1, abs(e)), "swiglu[\(i)] ISA \(level)")
            }
            let dot = ck_dot_f32(x, w, Int64(n))
            let e = zip(x, w).map { Double($0) * Double($1) }.reduce(0, +)
            #expect(abs(Double(dot) - e) < 1e-5)
            var h = [UInt16](repeating: 0, count: n), back = [Float](repeating: 0, count: n)
            ck_f32_to_f16(x, &h, Int64(n))
            ck_f16_to_f32(h, &back, Int64(n))
            for i in 0..<n {
                #expect(h[i] == ck_f32_to_f16_1(x[i]), "f16 rounding differs from the scalar path at \(i)")
                #expect(abs(back[i] - x[i]) <= abs(x[i]) / 1024)
            }
        }
    }

    @Test func halfPrecisionConversionIsExactForAllValues() {
        // Every f16 bit pattern except NaNs converts to f32 and back unchanged.
        for h in 0...UInt16.max {
            let f = ck_f16_to_f32_1(h)
            if f.isNaN { continue }
            #expect(ck_f32_to_f16_1(f) == h)
            if ck_f32_to_f16_1(f) != h { break }
        }
        // Round-to-nearest-even at a tie: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10.
        #expect(ck_f32_to_f16_1(1 + 1.0 / 2048) == 0x3C00)
        #expect(ck_f32_to_f16_1(1 + 3.0 / 2048) == 0x3C02)
        #expect(ck_f32_to_f16_1(70000) == 0x7C00)
    }
}
