import CKernels
import KVCache

/// Budgets of the top-k strategies (topk, da-topk), per KV head and decode step.
public struct TopKBudget: Sendable, Equatable, Codable {
    /// Keys each query head attends in the sparse range (besides sinks and window); a KV head
    /// reads the union of its query heads' keys.
    public var k: Int
    /// Candidates k′ > k per KV head kept by the bucketed top-k over the sketch scores and scored exactly.
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
/// reference maximum (the dense part's), the query scale of the sketch scores and the bucket count.
struct SelectionQuery {
    let q: UnsafePointer<Float>          // [group][headDim]
    let reference: UnsafePointer<Float>  // [group] max logit of the dense part per row
    let invDelta: Float                  // 1/Δ of ck_sketch_scores for these rows and this stream
    let group: Int
    let sinks: Int
    let sparseEnd: Int
    let buckets: Int

    var blockCount: Int { (sparseEnd / 64 + TopKBudget.blockPageCount - 1) / TopKBudget.blockPageCount }

    /// The query scale 1/Δ of rows `q` against `stream`'s sketch (every page's steps covered).
    static func scale(q: UnsafePointer<Float>, group: Int, headDim hd: Int, stream: SketchedKeys) -> Float {
        ck_sketch_inv_delta(q, Int32(group), Int32(hd), stream.maxStep)
    }
}

/// Keys kept by a selection step (in no particular order): positions and their exact logits per
/// query row (`exact[r * capacity + i]`).
struct BlockCandidates {
    let positions: UnsafeMutablePointer<Int32>
    let exact: UnsafeMutablePointer<Float>
    let capacity: Int

    static func floatCount(capacity: Int, group: Int) -> Int { capacity * (1 + group) }

    /// Views `capacity` entries at `base` (positions stored as Int32 in the first floats).
    init(base: UnsafeMutablePointer<Float>, capacity: Int) {
        positions = UnsafeMutableRawPointer(base).assumingMemoryBound(to: Int32.self)
        exact = base + capacity
        self.capacity = capacity
    }
}

/// The selection rule of topk and da-topk (GQA: every query head gets its own top-k): a key is
/// kept when, for some query row of the group, its exact logit is at least that row's k-th largest
/// among the keys considered — the union of the rows' top-k, ties included. Applied the same way
/// per block, over the union of the blocks, by each shard and by the coordinator, so the keys
/// attended do not depend on how the range was split (k′ ≥ k).
enum TopKRule {
    /// Per-row thresholds over `count` entries of `scores` (`[group][stride]`). `scratch`: count floats.
    static func thresholds(_ scores: UnsafePointer<Float>, stride: Int, count: Int, group: Int, k: Int,
                           scratch: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<group { out[r] = ck_kth_largest(scores + r * stride, Int32(count), Int32(k), scratch) }
    }

    @inline(__always)
    static func passes(_ scores: UnsafePointer<Float>, stride: Int, index i: Int, group: Int, thresholds: UnsafePointer<Float>) -> Bool {
        for r in 0..<group where scores[r * stride + i] >= thresholds[r] { return true }
        return false
    }

    /// Copies the entries of (`positions`, `scores`) that pass into `out` (starting at `start`); returns the new count.
    static func keep(positions: UnsafePointer<Int32>, scores: UnsafePointer<Float>, stride: Int, count: Int, group: Int,
                     thresholds: UnsafePointer<Float>, into out: BlockCandidates, start: Int = 0) -> Int {
        var n = start
        for i in 0..<count where n < out.capacity && passes(scores, stride: stride, index: i, group: group, thresholds: thresholds) {
            out.positions[n] = positions[i]
            for r in 0..<group { out.exact[r * out.capacity + n] = scores[r * stride + i] }
            n += 1
        }
        return n
    }
}

/// Scratch of one thread for `TopKSelection.select`.
final class SelectionScratch {
    let scores: UnsafeMutablePointer<Int16>
    let candidates: UnsafeMutablePointer<Int32>
    let selection: UnsafeMutablePointer<Float>
    let exact: UnsafeMutablePointer<Float>
    let thresholds: UnsafeMutablePointer<Float>
    let group: Int

    init(group: Int) {
        let n = TopKBudget.blockTokenCount
        self.group = group
        scores = .allocate(capacity: n)
        candidates = .allocate(capacity: n)
        selection = .allocate(capacity: n)
        exact = .allocate(capacity: group * n)
        thresholds = .allocate(capacity: group)
    }

    deinit {
        scores.deallocate(); candidates.deallocate(); selection.deallocate(); exact.deallocate(); thresholds.deallocate()
    }
}

/// HiRE's two stages on one block of the sparse range: sketch scores of every key, a bucketed
/// top-k keeping k′ candidates, exact logits of the candidates (against the key mirror), and the
/// block's best per query row. GQA: stage 1 ranks a key by its best row relative to that row's
/// dense-part maximum (one candidate set per KV head, so a key any query head needs can be kept);
/// stage 2 keeps each row's own top-k (`TopKRule`).
enum TopKSelection {
    /// Stage 1 on block `block`: the bucketed top-k of the sketch scores, as absolute positions in
    /// `scratch.candidates`; returns how many.
    static func candidates(block: Int, stream: SketchedKeys, query: SelectionQuery, bucketKeep: Int, scratch: SelectionScratch) -> Int {
        let hd = stream.headDim
        let firstPage = block * TopKBudget.blockPageCount
        let pages = min(TopKBudget.blockPageCount, query.sparseEnd / 64 - firstPage)
        guard pages > 0 else { return 0 }
        let n = pages * 64, first = firstPage * 64
        ck_sketch_scores(stream.blocks + firstPage * stream.blockByteCount, Int32(pages), Int32(hd), query.q, Int32(query.group),
                         query.reference, query.invDelta, scratch.scores)
        for t in first..<max(first, min(first + n, query.sinks)) { scratch.scores[t - first] = Int16.min } // sinks are dense
        let count = Int(ck_bucket_topk_i16(scratch.scores, Int32(n), Int32(query.buckets), Int32(bucketKeep), scratch.candidates))
        for i in 0..<count { scratch.candidates[i] += Int32(first) }
        return count
    }

    /// Both stages on block `block`: the candidates' exact logits, then the union of every row's
    /// best `keep` (`TopKRule`) into `out`; returns how many entries were written.
    static func select(block: Int, stream: SketchedKeys, query: SelectionQuery, keep: Int, bucketKeep: Int,
                       out: BlockCandidates, scratch: SelectionScratch) -> Int {
        let hd = stream.headDim, g = query.group
        let count = candidates(block: block, stream: stream, query: query, bucketKeep: bucketKeep, scratch: scratch)
        guard count > 0 else { return 0 }
        ck_gather_dot_f16(query.q, Int32(g), Int32(hd), stream.mirror.rows, Int64(hd), scratch.candidates, Int32(count),
                          scratch.exact, Int64(count))
        TopKRule.thresholds(scratch.exact, stride: count, count: count, group: g, k: keep, scratch: scratch.selection,
                            into: scratch.thresholds)
        return TopKRule.keep(positions: scratch.candidates, scores: scratch.exact, stride: count, count: count, group: g,
                             thresholds: scratch.thresholds, into: out)
    }
}
