import CKernels
import Foundation

/// MagicPIG's hash family and importance weights (Chen et al., ICLR 2025, arXiv 2410.16179; the
/// v0.2 code: `models/attnserver.py`, `library/sparse_attention/sparse_attention.cc`).
///
/// SimHash: one Gaussian matrix R `[headDim][K·L]` (fp32, row-major over dimensions; MagicPIG
/// shares one across heads too); table t's code of a vector x is the K sign bits of x·R[:, tK ..< tK+K].
/// Keys are centred by their mean before hashing; queries are hashed as they are (sign bits do
/// not depend on the query's norm, and softmax does not depend on q·mean).
///
/// Weights: a key at angle θ to the query collides in one table with probability
/// p = (1 − θ/π)^K and is sampled (≥ 2 of L tables) with probability
/// w = 1 − (1−p)^L − L·p·(1−p)^(L−1); its logit becomes q·k − log(w + ε), with ε = 1e-4 as in
/// the reference kernel (`transform_kernel`), which bounds the boost of unlikely samples.
/// log(w + ε) is tabulated over cos θ ∈ [−1, 1] and interpolated linearly.
final class SimHashProjection: @unchecked Sendable {
    let headDim: Int
    let bits: Int
    let tables: Int
    let seed: UInt64
    /// `[headDim][bits · tables]`.
    let matrix: [Float]
    /// log(w + ε) at cos θ = −1 + 2i/intervals, i ∈ 0...intervals.
    let logWeights: [Float]
    static let intervals = 4096
    static let epsilon = 1e-4

    init(headDim: Int, bits: Int, tables: Int, seed: UInt64 = 0x5EED_5EED) {
        precondition((1...16).contains(bits) && tables >= 2)
        self.headDim = headDim
        self.bits = bits
        self.tables = tables
        self.seed = seed
        var rng = SplitMix64(seed: seed)
        matrix = (0..<(headDim * bits * tables)).map { _ in rng.normal() }
        logWeights = (0...Self.intervals).map { i in
            let c = -1 + 2 * Double(i) / Double(Self.intervals)
            return Float(Foundation.log(Foundation.exp(ck_lsh_log_weight(c, Int32(bits), Int32(tables))) + Self.epsilon))
        }
    }

    /// Row `bit`'s logits over keys `idx` (its exact scores) reweighted: s − log(w + ε) at each key's
    /// cosine to the query (`ck_lsh_weigh`); −∞ for keys outside the row's sample.
    func weigh(_ logits: UnsafeMutablePointer<Float>, keys idx: UnsafePointer<Int32>, rows: UnsafePointer<UInt32>, bit: UInt32, count n: Int,
               queryNorm: Float, queryMean: Float, norms: UnsafePointer<Float>) {
        logWeights.withUnsafeBufferPointer {
            ck_lsh_weigh(logits, idx, rows, bit, Int32(n), queryNorm, queryMean, norms, $0.baseAddress!, Int32(Self.intervals))
        }
    }

    /// Codes `[n][tables]` of n vectors `[n][headDim]` (centred by `mean` when given).
    func hash(_ x: UnsafePointer<Float>, count n: Int, mean: UnsafePointer<Float>?, into codes: UnsafeMutablePointer<UInt16>) {
        matrix.withUnsafeBufferPointer {
            ck_simhash(x, Int32(n), Int32(headDim), mean, $0.baseAddress!, Int32(bits), Int32(tables), codes)
        }
    }

    func matches(bits: Int, tables: Int, seed: UInt64) -> Bool { self.bits == bits && self.tables == tables && self.seed == seed }
}

/// SplitMix64 with Box–Muller normals: a fixed projection for a fixed seed on every machine.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), .leastNonzeroMagnitude), u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}
