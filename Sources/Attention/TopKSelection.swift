import CKernels
import KVCache

/// Budgets of the top-k strategies (topk, da-topk), per KV head and decode step.
public struct TopKBudget: Sendable, Equatable, Codable {
    /// Keys attended in the sparse range (besides sinks and window).
    public var k: Int
    /// Candidates k′ > k kept by the bucketed top-k over the sketch scores and scored exactly.
    public var candidateCount: Int
    /// Candidates each bucket keeps (1 or 2).
    public var bucketKeep: Int

    public init(k: Int = 128, candidateCount: Int = 512, bucketKeep: Int = 2) {
        precondition(k >= 1 && candidateCount >= 1 && (1...2).contains(bucketKeep))
        self.k = k
        self.candidateCount = candidateCount
        self.bucketKeep = bucketKeep
    }

    /// Pages per selection block: the unit of bucketing, of parallel work and of DA-TOP-k shards.
    public static let blockPageCount = 16
    static var blockTokenCount: Int { blockPageCount * 64 }

    /// Buckets per block so that all blocks together keep about `candidateCount` candidates out of
    /// `sparseTokens` keys. Depends only on the sparse range, so every block (whichever shard
    /// holds it) selects the same candidates.
    func bucketsPerBlock(sparseTokens: Int) -> Int {
        let perBlock = (candidateCount * Self.blockTokenCount + sparseTokens - 1) / max(1, sparseTokens)
        return min(max(1, (perBlock + bucketKeep - 1) / bucketKeep), Self.blockTokenCount / bucketKeep)
    }

    var parameterDescription: String { "k=\(k),k'=\(candidateCount),keep=\(bucketKeep)" }
}

/// What every block of one (query, KV head) is selected with: the query rows, each row's
/// reference maximum (the dense part's), the sketch lookup tables and the bucket count.
struct SelectionQuery {
    let q: UnsafePointer<Float>          // [group][headDim]
    let reference: UnsafePointer<Float>  // [group] max logit of the dense part per row
    let luts: UnsafePointer<Int8>        // [group][headDim/4][16]
    let bias: UnsafePointer<Int16>       // [group]
    let group: Int
    let sinks: Int
    let sparseEnd: Int
    let buckets: Int

    var blockCount: Int { (sparseEnd / 64 + TopKBudget.blockPageCount - 1) / TopKBudget.blockPageCount }

    /// Fills the lookup tables for rows `q` against `stream`'s sketch: the estimate of
    /// q_r·k − reference_r is Δ·(Σ lookups + bias_r), with the bias absorbing q_r·μ − reference_r.
    static func prepareTables(q: UnsafePointer<Float>, group: Int, headDim hd: Int, reference: UnsafePointer<Float>,
                              stream: SketchedKeys, luts: UnsafeMutablePointer<Int8>, bias: UnsafeMutablePointer<Int16>) {
        var offset = [Float](repeating: 0, count: group)
        for r in 0..<group { offset[r] = ck_dot_f32(q + r * hd, stream.mean, Int64(hd)) - reference[r] }
        ck_sketch_luts(q, Int32(group), Int32(hd), stream.sigma, offset, luts, bias)
    }
}

/// One block's selected keys (in no particular order): positions, combined score max_r (s_r − reference_r),
/// and the exact logits s_r per row (`exact[r * capacity + i]`).
struct BlockCandidates {
    let positions: UnsafeMutablePointer<Int32>
    let combined: UnsafeMutablePointer<Float>
    let exact: UnsafeMutablePointer<Float>
    let capacity: Int

    static func floatCount(capacity: Int, group: Int) -> Int { capacity * (2 + group) }

    /// Views `capacity` entries at `base` (positions stored as Int32 in the first floats).
    init(base: UnsafeMutablePointer<Float>, capacity: Int) {
        positions = UnsafeMutableRawPointer(base).assumingMemoryBound(to: Int32.self)
        combined = base + capacity
        exact = base + 2 * capacity
        self.capacity = capacity
    }
}

/// Scratch of one thread for `TopKSelection.select`.
final class SelectionScratch {
    let scores: UnsafeMutablePointer<Int16>
    let candidates: UnsafeMutablePointer<Int32>
    let order: UnsafeMutablePointer<Int32>
    let combined: UnsafeMutablePointer<Float>
    let exact: UnsafeMutablePointer<Float>
    let group: Int

    init(group: Int) {
        let n = TopKBudget.blockTokenCount
        self.group = group
        scores = .allocate(capacity: n)
        candidates = .allocate(capacity: n)
        order = .allocate(capacity: n)
        combined = .allocate(capacity: n)
        exact = .allocate(capacity: (group + 1) * n) // + selection scratch
    }

    deinit {
        scores.deallocate(); candidates.deallocate(); order.deallocate(); combined.deallocate(); exact.deallocate()
    }
}

/// HiRE's two stages on one block of the sparse range: sketch scores of every key, a bucketed
/// top-k keeping k′ candidates, exact logits of the candidates (against the key mirror), and the
/// block's best `keep` by the combined criterion. GQA: one selection per KV head, a key ranked by
/// its best row relative to that row's dense-part maximum (so a key any query head needs is kept).
enum TopKSelection {
    /// Selects in block `block`; returns how many entries were written to `out` (≤ out.capacity).
    static func select(block: Int, stream: SketchedKeys, query: SelectionQuery, keep: Int, bucketKeep: Int,
                       out: BlockCandidates, scratch: SelectionScratch) -> Int {
        let hd = stream.headDim, g = query.group
        let firstPage = block * TopKBudget.blockPageCount
        let pages = min(TopKBudget.blockPageCount, query.sparseEnd / 64 - firstPage)
        guard pages > 0 else { return 0 }
        let n = pages * 64, first = firstPage * 64
        ck_sketch_scores(stream.blocks + firstPage * stream.blockByteCount, Int32(pages), Int32(hd), query.luts, query.bias,
                         Int32(g), scratch.scores)
        for t in first..<max(first, min(first + n, query.sinks)) { scratch.scores[t - first] = Int16.min } // sinks are dense
        let count = Int(ck_bucket_topk_i16(scratch.scores, Int32(n), Int32(query.buckets), Int32(bucketKeep), scratch.candidates))
        for i in 0..<count { scratch.candidates[i] += Int32(first) }
        ck_gather_dot_f16(query.q, Int32(g), Int32(hd), stream.mirror.rows, Int64(hd), scratch.candidates, Int32(count),
                          scratch.exact, Int64(count))
        for i in 0..<count {
            var best = -Float.infinity
            for r in 0..<g { best = max(best, scratch.exact[r * count + i] - query.reference[r]) }
            scratch.combined[i] = best
        }
        let kept = Int(ck_select_topk_unsorted(scratch.combined, Int32(count), Int32(min(keep, out.capacity)), scratch.order,
                                               scratch.exact + g * count))
        for j in 0..<kept {
            let i = Int(scratch.order[j])
            out.positions[j] = scratch.candidates[i]
            out.combined[j] = scratch.combined[i]
            for r in 0..<g { out.exact[r * out.capacity + j] = scratch.exact[r * count + i] }
        }
        return kept
    }
}
