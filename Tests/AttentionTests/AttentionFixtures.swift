import Attention
import CKernels
import Foundation
import KVCache
import Tensor
import TestSupport
import Testing

/// Every decode-attention strategy, as a value the contract tests can take as an argument.
enum StrategyCase: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case dense, topk, daTopk = "da-topk", lsh

    var testDescription: String { rawValue }

    /// The strategy at a budget that should keep the planted keys.
    func make(denseLayers: Int = 2) -> AttentionStrategy {
        let exemptions = DenseExemptions(denseLayerCount: denseLayers, sinkTokenCount: 4, windowTokenCount: 64)
        let budget = TopKBudget(k: 32, candidateCount: 128)
        switch self {
        case .dense: return DenseAttention()
        case .topk: return TopKAttention(budget: budget, exemptions: exemptions)
        case .daTopk: return ShardedTopKAttention(budget: budget, exemptions: exemptions, shardCount: 3)
        case .lsh: return LSHAttention(bits: 10, tables: 150, exemptions: exemptions)
        }
    }

    /// The strategy configured to attend (almost) every key: top-k budgets above the context; LSH
    /// with 1-bit codes in 64 tables, where every key but the nearly opposite ones is sampled with
    /// probability ≈ 1 (and weight ≈ 1).
    func makeExhaustive() -> AttentionStrategy {
        let exemptions = DenseExemptions(denseLayerCount: 2, sinkTokenCount: 4, windowTokenCount: 64)
        let budget = TopKBudget(k: 1 << 20, candidateCount: 1 << 20)
        switch self {
        case .dense: return DenseAttention()
        case .topk: return TopKAttention(budget: budget, exemptions: exemptions)
        case .daTopk: return ShardedTopKAttention(budget: budget, exemptions: exemptions, shardCount: 3)
        case .lsh: return LSHAttention(bits: 1, tables: 64, exemptions: exemptions)
        }
    }
}

/// One sequence's KV for attention tests: random keys and values in every layer, plus keys
/// planted along the test queries' directions (so attention is concentrated, as in real heads),
/// and a double-precision reference.
final class SyntheticSequence {
    static let geometry = KVGeometry(layerCount: 3, kvHeadCount: 2, headDim: 64)
    static let headCount = 6
    let cache: KVCache
    let slot = AttentionIndexSlot()
    /// [layer][head][token][hd] keys and values as stored (f16-rounded).
    private(set) var keys: [[[[Float]]]]
    private(set) var values: [[[[Float]]]]
    private var rng: SeededRandom

    init(tokens: Int, seed: UInt64, cache: KVCache? = nil) {
        let g = Self.geometry
        self.cache = try! cache ?? PagedKVCache(format: .f16, geometry: g)
        keys = Array(repeating: Array(repeating: [], count: g.kvHeadCount), count: g.layerCount)
        values = keys
        rng = SeededRandom(seed: seed)
        append(tokens)
    }

    var tokenCount: Int { cache.tokenCount }

    /// Appends `count` random tokens.
    func append(_ count: Int) {
        let g = Self.geometry, hd = g.headDim, start = cache.tokenCount
        try! cache.reserve(tokenCount: start + count)
        for t in start..<(start + count) {
            for l in 0..<g.layerCount {
                let k = (0..<(g.kvHeadCount * hd)).map { _ in SparseKernelRounding.f16(rng.normal()) }
                let v = (0..<(g.kvHeadCount * hd)).map { _ in SparseKernelRounding.f16(rng.normal()) }
                store(layer: l, position: t, keys: k, values: v)
            }
        }
        try! cache.commit(tokenCount: start + count)
    }

    /// Replaces token `position`'s keys in `layer` for KV head `head` by `key` (already in the cache's range).
    func plant(layer: Int, head: Int, position: Int, key: [Float]) {
        let g = Self.geometry, hd = g.headDim
        var k = (0..<g.kvHeadCount).flatMap { keys[layer][$0][position] }
        let v = (0..<g.kvHeadCount).flatMap { values[layer][$0][position] }
        for d in 0..<hd { k[head * hd + d] = SparseKernelRounding.f16(key[d]) }
        record(layer: layer, position: position, keys: k, values: v)
    }

    /// Rewrites tokens `position...` into the cache from the recorded keys and values (sealed
    /// pages are immutable: the cache is truncated to `position` and refilled, as a rollback and
    /// regeneration would; the index slot is truncated with it).
    func rewrite(from position: Int) {
        let end = tokenCount
        try! cache.truncate(to: position)
        slot.truncate(to: position)
        storeRecorded(position..<end, into: cache)
    }

    /// Stores the recorded keys and values of `tokens` into `target` (reserve, store, commit).
    private func storeRecorded(_ tokens: Range<Int>, into target: KVCache) {
        let g = Self.geometry
        try! target.reserve(tokenCount: tokens.upperBound)
        for t in tokens {
            for l in 0..<g.layerCount {
                let k = (0..<g.kvHeadCount).flatMap { keys[l][$0][t] }, v = (0..<g.kvHeadCount).flatMap { values[l][$0][t] }
                target.store(layer: l, position: t, keys: k, values: v)
            }
        }
        try! target.commit(tokenCount: tokens.upperBound)
    }

    private func store(layer l: Int, position t: Int, keys k: [Float], values v: [Float]) {
        cache.store(layer: l, position: t, keys: k, values: v)
        record(layer: l, position: t, keys: k, values: v)
    }

    private func record(layer l: Int, position t: Int, keys k: [Float], values v: [Float]) {
        let g = Self.geometry, hd = g.headDim
        for h in 0..<g.kvHeadCount {
            let kh = Array(k[(h * hd)..<((h + 1) * hd)]), vh = Array(v[(h * hd)..<((h + 1) * hd)])
            if keys[l][h].count == t { keys[l][h].append(kh); values[l][h].append(vh) } else { keys[l][h][t] = kh; values[l][h][t] = vh }
        }
    }

    func truncate(to count: Int) {
        try! cache.truncate(to: count)
        slot.truncate(to: count)
        for l in keys.indices { for h in keys[l].indices { keys[l][h].removeLast(keys[l][h].count - count); values[l][h].removeLast(values[l][h].count - count) } }
    }

    /// Query rows `[headCount][hd]` with keys planted along each row's direction at `positions`
    /// of `layer` (their logits ≈ `boost` above the rest).
    func plantedQuery(layer: Int, positions: [Int], boost: Float = 10) -> [Float] {
        let g = Self.geometry, hd = g.headDim, group = Self.headCount / g.kvHeadCount
        let q = rng.normals(Self.headCount * hd, scale: 0.125)
        for (i, p) in positions.enumerated() {
            let head = i % g.kvHeadCount, row = head * group + (i / g.kvHeadCount) % group
            let qr = Array(q[(row * hd)..<((row + 1) * hd)])
            let norm2 = qr.reduce(0) { $0 + $1 * $1 }
            plant(layer: layer, head: head, position: p, key: qr.map { $0 * boost / norm2 })
        }
        if let first = positions.min() { rewrite(from: first) }
        return q
    }

    /// A cache of `format` holding this sequence's tokens (quantized pages cannot be planted into
    /// after they are sealed, so tests plant in f16 and copy).
    func copy(format: KVFormat) -> KVCache {
        let copy = try! PagedKVCache(format: format, geometry: Self.geometry)
        storeRecorded(0..<tokenCount, into: copy)
        return copy
    }

    /// Double-precision attention of query rows q over tokens 0..<visible of `layer`.
    func reference(q: [Float], layer: Int, visible: Int) -> [Double] {
        let g = Self.geometry, hd = g.headDim, group = Self.headCount / g.kvHeadCount
        var out = [Double](repeating: 0, count: Self.headCount * hd)
        for row in 0..<Self.headCount {
            let h = row / group, qr = q[(row * hd)..<((row + 1) * hd)]
            let scores = (0..<visible).map { t in zip(qr, keys[layer][h][t]).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
            let mx = scores.max()!
            let w = scores.map { Foundation.exp($0 - mx) }, sum = w.reduce(0, +)
            for t in 0..<visible { for d in 0..<hd { out[row * hd + d] += w[t] / sum * Double(values[layer][h][t][d]) } }
        }
        return out
    }

    /// Runs `strategy` on query rows `q` at `layer` over the whole sequence.
    func decode(_ strategy: AttentionStrategy, q: [Float], layer: Int, pool: ThreadPool, slot: AttentionIndexSlot? = nil,
                cache other: KVCache? = nil) -> [Float] {
        let cache = other ?? self.cache
        var out = [Float](repeating: .nan, count: q.count)
        // As the forward pass: a strategy that does not load its own pages reads a resident layer.
        if !strategy.prefetchesOwnPages { try! cache.prefetch(layer: layer, pages: 0..<cache.pageCount(for: tokenCount)) }
        q.withUnsafeBufferPointer { qp in
            out.withUnsafeMutableBufferPointer { op in
                try! strategy.decode([DecodeQuery(cache: cache, visibleTokenCount: tokenCount, q: qp.baseAddress!, out: op.baseAddress!,
                                             headCount: Self.headCount, index: slot ?? self.slot)], layer: layer, pool: pool)
            }
        }
        return out
    }
}

enum SparseKernelRounding {
    static func f16(_ x: Float) -> Float { ck_f16_to_f32_1(ck_f32_to_f16_1(x)) }
}

/// Largest |a − b| over the elements, relative to the largest |b| (at least 1e-3).
func relativeError(_ a: [Float], _ b: [Double]) -> Double {
    let scale = max(b.map { abs($0) }.max() ?? 0, 1e-3)
    return zip(a, b).map { abs(Double($0) - $1) }.max()! / scale
}

func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }
