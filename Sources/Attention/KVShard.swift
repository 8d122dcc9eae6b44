import CKernels
import KVCache

/// One DA-TOP-k shard: it owns every `shardCount`-th selection block of each sequence's sparse
/// range (round-robin, so the assignment stays put as the sequence grows and hot regions spread
/// over shards) and answers the coordinator's byte messages (`ShardMessage`) about them.
///
/// Round 1 runs HiRE's two stages on its blocks (`TopKSelection`, the same code and the same
/// per-block budgets as topk, so the candidates do not depend on the number of shards) and
/// returns every query row's local top-k′ (`TopKRule`); it keeps them for round 2, which adds the
/// values of the keys that pass the global thresholds to a fresh softmax state and returns it.
///
/// Storage: here the shard reads its blocks from the sequence's cache and index in this process
/// (`ShardStorage`); a shard in another process would hold those blocks itself. Nothing but the
/// encoded messages passes between coordinator and shard.
final class KVShard {
    let shardIndex: Int
    let shardCount: Int
    /// Round 1's keys, per ticket: positions and exact logits `[group][count]`.
    private var saved: [(positions: [Int32], scores: [Float])] = []

    init(shardIndex: Int, shardCount: Int) {
        self.shardIndex = shardIndex
        self.shardCount = shardCount
    }

    /// Makes room for tickets `0..<count` (called before round 1, from one thread).
    func prepare(ticketCount: Int) {
        if saved.count < ticketCount { saved += Array(repeating: ([], []), count: ticketCount - saved.count) }
    }

    /// Round 1. Distinct tickets may be served concurrently.
    func select(_ message: [UInt8], storage: ShardStorage, scratch: SelectionScratch) throws(ShardMessage.DecodingError) -> [UInt8] {
        let request = try ShardMessage.SelectRequest(decoding: message)
        let group = request.reference.count, hd = storage.stream.headDim, keep = Int(request.keep)
        let blocks = Array(stride(from: shardIndex, to: SelectionQuery.blockCountFor(sparseEnd: Int(request.sparseEnd)), by: shardCount))
        let capacity = max(1, group * keep * blocks.count), blockCapacity = group * keep
        let all = UnsafeMutablePointer<Float>.allocate(capacity: BlockCandidates.floatCount(capacity: capacity, group: group))
        let one = UnsafeMutablePointer<Float>.allocate(capacity: BlockCandidates.floatCount(capacity: blockCapacity, group: group))
        defer { all.deallocate(); one.deallocate() }
        let entries = BlockCandidates(base: all, capacity: capacity), block = BlockCandidates(base: one, capacity: blockCapacity)
        var n = 0
        request.rows.withUnsafeBufferPointer { rows in
            request.reference.withUnsafeBufferPointer { reference in
                let query = SelectionQuery(q: rows.baseAddress!, reference: reference.baseAddress!,
                                           invDelta: SelectionQuery.scale(q: rows.baseAddress!, group: group, headDim: hd, stream: storage.stream),
                                           group: group, sinks: Int(request.sinks), sparseEnd: Int(request.sparseEnd), buckets: Int(request.buckets))
                for b in blocks {
                    let c = TopKSelection.select(block: b, stream: storage.stream, query: query, keep: keep,
                                                 bucketKeep: Int(request.bucketKeep), out: block, scratch: scratch)
                    (entries.positions + n).update(from: block.positions, count: c)
                    for r in 0..<group { (entries.exact + r * capacity + n).update(from: block.exact + r * blockCapacity, count: c) }
                    n += c
                }
            }
        }
        // The shard's local top-k′ of every row.
        var thresholds = [Float](repeating: 0, count: group), selection = [Float](repeating: 0, count: max(n, 1))
        TopKRule.thresholds(entries.exact, stride: capacity, count: n, group: group, k: keep, scratch: &selection, into: &thresholds)
        let passing = (0..<n).filter { TopKRule.passes(entries.exact, stride: capacity, index: $0, group: group, thresholds: thresholds) }
        let count = passing.count
        let positions = passing.map { entries.positions[$0] }
        let scores = [Float](unsafeUninitializedCapacity: group * count) { out, written in
            for r in 0..<group { for (j, i) in passing.enumerated() { out[r * count + j] = entries.exact[r * capacity + i] } }
            written = group * count
        }
        let reply = ShardMessage.SelectReply(ticket: request.ticket, positions: positions, scores: scores)
        saved[Int(request.ticket)] = (reply.positions, reply.scores)
        return reply.encoded()
    }

    /// Round 2: the partial softmax state over this ticket's round-1 keys that pass the thresholds.
    func attend(_ message: [UInt8], storage: ShardStorage, scratch: GatherScratch, group: Int) throws(ShardMessage.DecodingError) -> [UInt8] {
        let request = try ShardMessage.AttendRequest(decoding: message)
        let (positions, scores) = saved[Int(request.ticket)]
        let hd = storage.stream.headDim, count = positions.count
        var state = [Float](repeating: 0, count: PartialSoftmax.floatCount(group: group, headDim: hd))
        let keptBase = UnsafeMutablePointer<Float>.allocate(capacity: BlockCandidates.floatCount(capacity: max(count, 1), group: group))
        defer { keptBase.deallocate() }
        let kept = BlockCandidates(base: keptBase, capacity: max(count, 1))
        let n = positions.withUnsafeBufferPointer { p in
            scores.withUnsafeBufferPointer { s in
                TopKRule.keep(positions: p.baseAddress!, scores: s.baseAddress!, stride: count, count: count, group: group,
                              thresholds: request.thresholds, into: kept)
            }
        }
        state.withUnsafeMutableBufferPointer { buffer in
            let partial = PartialSoftmax(base: buffer.baseAddress!, group: group, headDim: hd)
            partial.reset()
            if n > 0 {
                GatheredValues.accumulate(storage.cache, layer: storage.layer, kvHead: storage.kvHead, positions: kept.positions,
                                          scores: kept.exact, scoreStride: kept.capacity, count: n, into: partial, scratch: scratch)
            }
        }
        return ShardMessage.AttendReply(ticket: request.ticket, m: Array(state[0..<group]), l: Array(state[group..<(2 * group)]),
                                        acc: Array(state[(2 * group)...])).encoded()
    }
}

/// The data a shard serves one (sequence, layer, KV head) from: the sequence's cache pages and
/// sketch stream (of which it reads only its own blocks).
struct ShardStorage {
    let cache: KVCache
    let stream: SketchedKeys
    let layer: Int
    let kvHead: Int
}
