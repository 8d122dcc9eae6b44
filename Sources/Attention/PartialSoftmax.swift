import CKernels
import KVCache

/// The online-softmax state of one KV head's GQA group of query rows over some set of keys:
/// running maxima m, sums l and unnormalised outputs acc (CKernels.h). States over disjoint key
/// sets merge exactly through log-sum-exp, which is how every sparse strategy combines its dense
/// part (sinks, window) with its sparse part, and how DA-TOP-k combines shards.
///
/// Layout in memory: m [group] | l [group] | acc [group][headDim] fp32.
struct PartialSoftmax {
    let base: UnsafeMutablePointer<Float>
    let group: Int
    let headDim: Int

    static func floatCount(group: Int, headDim: Int) -> Int { group * (headDim + 2) }

    var m: UnsafeMutablePointer<Float> { base }
    var l: UnsafeMutablePointer<Float> { base + group }
    var acc: UnsafeMutablePointer<Float> { base + 2 * group }

    /// The empty state (no keys seen).
    func reset() {
        m.initialize(repeating: -.infinity, count: group)
        l.initialize(repeating: 0, count: group)
        acc.initialize(repeating: 0, count: group * headDim)
    }

    /// Adds the first `count` tokens of page `page` of (layer, kvHead), attended by the group's
    /// query rows `q` (group × headDim, pre-scaled).
    func attend(_ cache: KVCache, layer: Int, kvHead: Int, page: Int, count: Int, q: UnsafePointer<Float>) {
        switch cache.page(layer: layer, kvHead: kvHead, index: page) {
        case let .f16(keys, values):
            ck_attn_decode_f16(q, Int32(group), Int32(headDim), keys, Int64(cache.pageTokenCount), values, Int64(headDim),
                               Int32(count), m, l, acc)
        case let .int8(base):
            ck_attn_decode_i8(q, Int32(group), Int32(headDim), base, Int32(count), m, l, acc)
        case let .int4(base):
            ck_attn_decode_i4(q, Int32(group), Int32(headDim), base, Int32(count), m, l, acc)
        }
    }

    /// Adds `other` (over keys disjoint from this state's).
    func merge(_ other: PartialSoftmax) {
        for g in 0..<group {
            ck_attn_merge(m + g, l + g, acc + g * headDim, other.m[g], other.l[g], other.acc + g * headDim, Int32(headDim))
        }
    }

    /// out[g] = acc[g] / l[g] (zero for a row that saw no keys).
    func normalize(into out: UnsafeMutablePointer<Float>) {
        for g in 0..<group {
            let inv = l[g] > 0 ? 1 / l[g] : 0
            for d in 0..<headDim { out[g * headDim + d] = acc[g * headDim + d] * inv }
        }
    }
}

/// Where `ck_sparse_accumulate` finds value rows: the page kind and the page's memory.
struct ValuePage {
    let kind: Int32
    let base: UnsafeRawPointer

    init(_ page: KVPage) {
        kind = Int32(page.kind.rawValue) // CK_SPARSE_* numbers the page kinds as CK_KV_* does
        base = page.baseAddress
    }
}
