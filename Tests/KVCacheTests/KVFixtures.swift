import CKernels
import Foundation
@testable import KVCache
import Testing
import TestSupport

/// Where a cache under test keeps its sealed pages.
enum Residency: String, CaseIterable, Sendable {
    case inRAM
    /// A budget of 0 bytes: every sealed page is evicted at the next safe point.
    case spilled
}

/// One implementation under the contract: a format and a residency.
struct CacheCase: Sendable, CustomTestStringConvertible {
    let format: KVFormat
    let residency: Residency
    var testDescription: String { "\(format.rawValue), \(residency.rawValue)" }

    static let all: [CacheCase] = KVFormat.allCases.flatMap { f in Residency.allCases.map { CacheCase(format: f, residency: $0) } }
    static let spilled = all.filter { $0.residency == .spilled }
}

/// Synthetic KV: deterministic per (set, layer, position), keys with per-channel magnitudes and an
/// offset (as real keys have), values normal.
struct SyntheticKV {
    static let geometry = KVGeometry(layerCount: 3, kvHeadCount: 2, headDim: 64)
    let set: UInt64

    /// `[kvHeadCount][headDim]` keys and values of one token.
    func token(layer: Int, position: Int) -> (keys: [Float], values: [Float]) {
        var rng = SeededRandom(seed: set &* 1_000_003 &+ UInt64(layer) &* 65_537 &+ UInt64(position))
        let g = Self.geometry, n = g.kvHeadCount * g.headDim
        let keys = (0..<n).map { i -> Float in rng.normal() * (i % 7 == 0 ? 3 : 0.7) + 0.2 }
        return (keys, rng.normals(n))
    }
}

/// A temporary `data/kv` and the caches of one test.
final class CacheBench {
    let directory = TemporaryDirectory("kvcache")
    var storage: KVStorage { KVStorage(root: directory.path) }

    func make(_ c: CacheCase, budget: KVMemoryBudget? = nil) throws -> PagedKVCache {
        let b = budget ?? (c.residency == .spilled ? KVMemoryBudget(byteLimit: 0, spillDirectory: storage.spillDirectory) : nil)
        return try PagedKVCache(format: c.format, geometry: SyntheticKV.geometry, budget: b)
    }
}

extension PagedKVCache {
    /// Writes tokens `from..<to` of `data` in forward-pass order: reserve, every layer's stores, commit.
    func fill(_ data: SyntheticKV, from: Int, to: Int) throws {
        try reserve(tokenCount: to)
        for l in 0..<geometry.layerCount {
            for p in from..<to {
                let (k, v) = data.token(layer: l, position: p)
                store(layer: l, position: p, keys: k, values: v)
            }
        }
        try commit(tokenCount: to)
    }

    /// Every token's keys and values as the attention kernels would see them, `[layer][position][head·hd]`,
    /// read the way a forward pass does (prefetch a layer, then read its pages), with each page's kind.
    func readBack(tokens n: Int) throws -> (keys: [[[Float]]], values: [[[Float]]], kinds: [[KVPageKind]]) {
        let g = geometry, hd = g.headDim, pages = pageCount(for: n)
        var keys = [[[Float]]](repeating: [[Float]](repeating: [Float](repeating: 0, count: g.kvHeadCount * hd), count: n), count: g.layerCount)
        var values = keys
        var kinds = [[KVPageKind]](repeating: [], count: g.layerCount)
        var k = [Float](repeating: 0, count: 64 * hd), v = k
        for l in 0..<g.layerCount {
            try prefetch(layer: l, pages: 0..<pages)
            for h in 0..<g.kvHeadCount {
                for p in 0..<pages {
                    let page = page(layer: l, kvHead: h, index: p), kind = page.kind, base = page.baseAddress
                    if h == 0 { kinds[l].append(kind) }
                    let count = min(64, n - p * 64)
                    ck_kv_dequantize_f32(Int32(kind.rawValue), base, Int32(hd), Int32(count), &k, &v)
                    for j in 0..<count {
                        for d in 0..<hd {
                            keys[l][p * 64 + j][h * hd + d] = k[j * hd + d]
                            values[l][p * 64 + j][h * hd + d] = v[j * hd + d]
                        }
                    }
                }
            }
        }
        return (keys, values, kinds)
    }

    /// The raw bytes of every page holding tokens `0..<n` (for bit-identity checks).
    func pageBytes(tokens n: Int) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        for l in 0..<geometry.layerCount {
            try prefetch(layer: l, pages: 0..<pageCount(for: n))
            for h in 0..<geometry.kvHeadCount {
                for p in 0..<pageCount(for: n) {
                    let page = page(layer: l, kvHead: h, index: p), kind = page.kind, base = page.baseAddress
                    out.append([kind.rawValue] + Array(UnsafeRawBufferPointer(start: base, count: kind.byteCount(headDim: geometry.headDim))))
                }
            }
        }
        return out
    }
}

/// The largest error a page kind may add to each value of one page, from the page's original
/// tokens (`[token][head·hd]`, 64 of them): per element of keys and of values.
struct PageErrorBound {
    let keys: [[Float]]
    let values: [[Float]]

    /// f16 rounding: half an ulp.
    static func f16(_ x: Float) -> Float { abs(x) / 2048 + 1e-7 }

    init(kind: KVPageKind, keys k: [[Float]], values v: [[Float]], headDim hd: Int) {
        let width = k[0].count
        switch kind {
        case .f16:
            keys = k.map { $0.map(Self.f16) }
            values = v.map { $0.map(Self.f16) }
        case .int8: // half a step of absmax / 127 per token and head, plus f16 rounding of the scale
            func perToken(_ row: [Float]) -> [Float] {
                let heads = stride(from: 0, to: width, by: hd).map { h in row[h..<(h + hd)].map(abs).max()! / 254 * 1.01 + 1e-6 }
                return (0..<width).map { heads[$0 / hd] }
            }
            keys = k.map(perToken)
            values = v.map(perToken)
        case .int4: // half a step of range / 15: keys per channel over all tokens (bounds its 32-token groups), values per 32-channel group
            let channelRange = (0..<width).map { i in let c = k.map { $0[i] }; return c.max()! - c.min()! }
            keys = k.map { row in (0..<width).map { channelRange[$0] / 30 * 1.02 + Self.f16(row[$0]) + 1e-4 } }
            values = v.map { row in
                let groups = stride(from: 0, to: width, by: 32).map { g in row[g..<(g + 32)].max()! - row[g..<(g + 32)].min()! }
                return (0..<width).map { groups[$0 / 32] / 30 * 1.02 + Self.f16(row[$0]) + 1e-4 }
            }
        }
    }
}
