import CKernels
import KVCache
import Tensor

/// Exact causal attention for a chunk of consecutive tokens of one sequence (prefill), tiled as
/// in FlashAttention: a block of queries (all query heads of one KV head's group) visits the
/// cache one 64-token page at a time under an online softmax, so no context × context score
/// matrix is ever formed. Blocks are handed to threads dynamically (later blocks see more keys).
public final class PrefillAttention {
    /// Query tokens per work item.
    public static let blockTokenCount = 32
    private var perThread: [FloatScratch] = []

    public init() {}

    /// queries/out: `[count][headCount][headDim]` (queries pre-scaled by 1/sqrt(headDim)) for the
    /// tokens at positions `start ..< start + count`, whose keys are already stored in `cache`.
    public func run(cache: KVCache, layer: Int, start: Int, count: Int, headCount: Int,
                    queries: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let geometry = cache.geometry
        let hd = geometry.headDim, kvHeads = geometry.kvHeadCount, group = headCount / kvHeads
        let pt = geometry.pageTokenCount, bt = Self.blockTokenCount
        let rows = bt * group
        let tileScratch = Int(ck_attn_tile_scratch_floats(Int32(hd)))
        let floatsPerThread = rows * hd * 2 + rows * 3 + tileScratch
        while perThread.count < pool.threadCount { perThread.append(FloatScratch()) }
        let buffers = perThread.map { $0.reserve(floatsPerThread) }
        let blocks = (count + bt - 1) / bt

        pool.forEach(count: blocks * kvHeads) { item, thread in
            let block = item / kvHeads, head = item % kvHeads
            let t0 = block * bt, tokens = min(bt, count - t0), nrows = tokens * group
            let base = buffers[thread]
            let q = base, acc = base + rows * hd, m = acc + rows * hd, l = m + rows
            let qpos = UnsafeMutableRawPointer(l + rows).assumingMemoryBound(to: Int32.self)
            let scratch = l + 2 * rows
            // Gather rows (token t, head g) of this KV head's group.
            for t in 0..<tokens {
                for g in 0..<group {
                    let r = t * group + g
                    (q + r * hd).update(from: queries + ((t0 + t) * headCount + head * group + g) * hd, count: hd)
                    qpos[r] = Int32(start + t0 + t)
                    m[r] = -.infinity
                    l[r] = 0
                }
            }
            acc.initialize(repeating: 0, count: nrows * hd)
            let visible = start + t0 + tokens // keys 0..<visible matter to this block
            for p in 0..<((visible + pt - 1) / pt) {
                let n = min(pt, visible - p * pt)
                switch cache.page(layer: layer, kvHead: head, index: p) {
                case let .f16(keys, values):
                    ck_attn_tile_f16(q, Int64(hd), Int32(nrows), qpos, Int32(hd), keys, Int64(pt), values, Int64(hd),
                                     Int32(n), Int32(p * pt), m, l, acc, scratch)
                case let .int8(page):
                    ck_attn_tile_kv(Int32(CK_KV_I8), q, Int64(hd), Int32(nrows), qpos, Int32(hd), page, Int32(n), Int32(p * pt), m, l, acc, scratch)
                case let .int4(page):
                    ck_attn_tile_kv(Int32(CK_KV_I4), q, Int64(hd), Int32(nrows), qpos, Int32(hd), page, Int32(n), Int32(p * pt), m, l, acc, scratch)
                }
            }
            for t in 0..<tokens {
                for g in 0..<group {
                    let r = t * group + g
                    let dst = out + ((t0 + t) * headCount + head * group + g) * hd
                    let inv = 1 / l[r] // every query sees at least itself
                    for d in 0..<hd { dst[d] = acc[r * hd + d] * inv }
                }
            }
        }
    }
}
