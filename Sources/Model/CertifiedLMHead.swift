import CKernels
import GGUF
import Tensor

/// How the output layer is computed: every logit (`full`), or only the rows that can hold the
/// argmax, proven by a certificate (`certified`; for greedy decoding without repetition penalty).
public enum LMHeadMode: String, Sendable, CaseIterable, Codable { case full, certified }

/// The certified head's compressed copy of the output matrix: `q4_0` (HiRE-Q's 4-bit copy, about
/// half the bytes of a Q8_0 head) or `q8_0` (as many bytes as a Q8_0 head: no saving, a tight
/// bound; it exercises the certificate where the 4-bit bound is too loose to hold).
public enum CertifiedHeadCopy: String, Sendable, CaseIterable, Codable { case q4_0, q8_0 }

/// HiRE's first application (Samaga et al., arXiv 2402.09360), the output layer, made exact by a
/// certificate (ANCHORS.md §1). A Q4_0 (or Q8_0, CertifiedHeadCopy) copy W̃ of the output matrix W (built once,
/// ck_hire_compress) scores every token from q8 activations x̃: ã_i = w̃_i·x̃ (ck_matvec_q8). Each
/// row has a rigorous bound b_i ≥ |fl(w_i·x) − ã_i|, where fl(w_i·x) is the logit the full layer's
/// fp32 kernel computes:
///
///   b_i = (‖w_i − w̃_i‖·‖x‖ + ‖w̃_i‖·‖x − x̃‖ + γ(k+2)·max|w_i|·‖x‖₁ + 2γ(k/32+64)·c_i·‖x̃‖₁)(1 + 2⁻²⁰)
///
/// (Cauchy–Schwarz for the weight and activation errors; γ(n) = nu/(1 − nu), u = 2⁻²⁴, for the
/// fp32 rounding of the full layer's dot product and of the approximate one, whose rounded terms
/// are bounded by c_i = max over blocks of max |d·u| + |m| (Q4_0 23·|d|); the last factor covers rounding in computing b
/// itself in double precision). With L = maxᵢ(ãᵢ − bᵢ) a lower bound of the best logit, only rows
/// with ãᵢ + bᵢ ≥ L can win; they are scored exactly by the full layer's own kernel, in
/// decreasing order of ãᵢ + bᵢ, until the next upper bound is below the best exact logit. Every
/// row not scored is then strictly below it, so the argmax (first index on ties) equals the full
/// layer's. The logits row returned holds the exact values of the scored rows and −∞ elsewhere:
/// good for an argmax, not for a distribution. When more than `maxCandidates` rows pass the
/// filter, the full layer is computed instead (counted in `statistics.fallbacks`).
public final class CertifiedLMHead {
    public let output: WeightMatrix
    let compressed: WeightMatrix
    private let compressedBytes: UnsafeMutableRawPointer
    private let rowError, rowNorm, rowMax, rowCodeMax: UnsafeMutablePointer<Double>
    private let approx: UnsafeMutablePointer<Float>
    private let codes: UnsafeMutableRawPointer
    /// Above this many rows passing the filter, the full layer is computed.
    public var maxCandidates = 1024

    public struct Statistics: Sendable, Equatable {
        /// Logit rows asked for (one per sequence per step).
        public var rows = 0
        /// Rows whose argmax was certified from the candidates.
        public var certified = 0
        /// Rows computed in full because too many rows passed the filter.
        public var fallbacks = 0
        /// Rows scored exactly over the certified rows, and the largest such count (k').
        public var exactRows = 0
        public var maxExactRows = 0
        /// Rows that passed the filter (before the early stop), summed.
        public var filteredRows = 0
    }
    public private(set) var statistics = Statistics()

    public let copy: CertifiedHeadCopy

    public init(output: WeightMatrix, copy: CertifiedHeadCopy = .q4_0) {
        self.output = output
        self.copy = copy
        let v = output.rowCount, k = output.columnCount
        let copyType: GGMLType = copy == .q4_0 ? .q4_0 : .q8_0
        let rowBytes = k / 32 * copyType.blockGeometry!.1
        compressedBytes = .allocate(byteCount: v * rowBytes, alignment: 64)
        func doubles() -> UnsafeMutablePointer<Double> { .allocate(capacity: v) }
        rowError = doubles(); rowNorm = doubles(); rowMax = doubles(); rowCodeMax = doubles()
        ck_hire_compress(Int32(output.type.rawValue), output.base, output.rowByteCount, Int64(v), Int64(k),
                         Int32(copyType.rawValue), compressedBytes,
                         rowError, rowNorm, rowMax, rowCodeMax)
        compressed = try! WeightMatrix(name: output.name + ".hire-" + copy.rawValue, type: copyType, rowCount: v, columnCount: k,
                                       base: compressedBytes, owner: nil)
        approx = .allocate(capacity: v * WeightMatrix.matvecMaxBatch)
        codes = .allocate(byteCount: WeightMatrix.matvecMaxBatch * WeightMatrix.q8RowBytes(columns: k), alignment: 64)
    }

    deinit {
        compressedBytes.deallocate()
        for p in [rowError, rowNorm, rowMax, rowCodeMax] { p.deallocate() }
        approx.deallocate()
        codes.deallocate()
    }

    /// Bytes the approximate pass reads per step (the compressed copy).
    public var compressedByteCount: Int { compressed.byteCount }

    public func resetStatistics() { statistics = Statistics() }

    private static func gamma(_ n: Int) -> Double {
        let nu = Double(n) * 0x1p-24
        return nu / (1 - nu)
    }

    /// Logits of `count` ≤ matvecMaxBatch normed rows h (rows `columnCount` apart) into `out`
    /// (rows `rowCount` apart): exact where scored, −∞ elsewhere; or the full layer (fallback).
    public func logits(h: UnsafePointer<Float>, count: Int, out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        precondition(count >= 1 && count <= WeightMatrix.matvecMaxBatch)
        let v = output.rowCount, k = output.columnCount
        WeightMatrix.quantizeQ8(x: h, xStride: k, columns: k, count: count, into: codes, pool: nil)
        let q8 = UnsafeRawPointer(codes), approx = approx
        let rowsPerItem = 1024
        pool.forEach(count: (v + rowsPerItem - 1) / rowsPerItem) { item, _ in
            let lo = item * rowsPerItem, hi = min(v, lo + rowsPerItem)
            self.compressed.multiply(rows: lo..<hi, x: h, xStride: k, count: count, y: approx, yStride: v, scratch: nil, xq: q8)
        }
        let gExact = Self.gamma(k + 2), gApprox = 2 * Self.gamma(k / 32 + 64), slack = 1 + 0x1p-20
        var scored: [[(row: Int, value: Float)]] = []
        for b in 0..<count {
            var l2 = 0.0, l1 = 0.0, qerr = 0.0, ql1 = 0.0
            ck_q8a_norms(h + b * k, (q8 + b * WeightMatrix.q8RowBytes(columns: k)).assumingMemoryBound(to: ck_block_q8a.self),
                         Int64(k), &l2, &l1, &qerr, &ql1)
            let a = approx + b * v
            @inline(__always) func bound(_ i: Int) -> Double {
                (rowError[i] * l2 + rowNorm[i] * qerr + gExact * rowMax[i] * l1 + gApprox * rowCodeMax[i] * ql1) * slack
            }
            var lower = -Double.infinity
            for i in 0..<v { lower = max(lower, Double(a[i]) - bound(i)) }
            var candidates: [(row: Int, upper: Double)] = []
            for i in 0..<v {
                let u = Double(a[i]) + bound(i)
                if u >= lower {
                    candidates.append((i, u))
                    if candidates.count > maxCandidates { break }
                }
            }
            statistics.rows += 1
            if candidates.count > maxCandidates {
                statistics.fallbacks += count - b
                statistics.rows += count - b - 1
                full(h: h, count: count, out: out, pool: pool)
                return
            }
            statistics.filteredRows += candidates.count
            candidates.sort { $0.upper > $1.upper }
            var exact: [(row: Int, value: Float)] = []
            var best = -Float.infinity
            for c in candidates {
                if c.upper < Double(best) { break }
                let value = exactLogit(row: c.row, h: h, count: count, sequence: b)
                exact.append((c.row, value))
                best = max(best, value)
            }
            statistics.certified += 1
            statistics.exactRows += exact.count
            statistics.maxExactRows = max(statistics.maxExactRows, exact.count)
            scored.append(exact)
        }
        for b in 0..<count {
            let row = out + b * v
            row.update(repeating: -.infinity, count: v)
            for e in scored[b] { row[e.row] = e.value }
        }
    }

    /// Row `row` of the full layer for sequence `sequence`, computed by the same kernel call the
    /// full layer makes (all `count` vectors at once, so the fp32 sums are bit-identical).
    private func exactLogit(row: Int, h: UnsafePointer<Float>, count: Int, sequence: Int) -> Float {
        var y = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0))
        return withUnsafeMutableBytes(of: &y) { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: Float.self), k = output.columnCount
            ck_matvec(Int32(output.type.rawValue), output.base + row * output.rowByteCount, output.rowByteCount, 1, Int64(k),
                      h, Int64(k), Int32(count), p, 1)
            return p[sequence]
        }
    }

    private func full(h: UnsafePointer<Float>, count: Int, out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let v = output.rowCount, k = output.columnCount
        pool.forEach(count: (v + 63) / 64) { item, _ in
            let lo = item * 64, hi = min(v, lo + 64)
            self.output.multiply(rows: lo..<hi, x: h, xStride: k, count: count, y: out, yStride: v, scratch: nil)
        }
    }
}
