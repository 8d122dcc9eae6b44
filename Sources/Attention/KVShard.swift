import CKernels
import KVCache

/// One DA-TOP-k shard: it owns every `shardCount`-th selection block of each sequence's sparse
/// range (round-robin, so the assignment stays put as the sequence grows and hot regions spread
/// over shards) and answers the coordinator's byte messages (`ShardMessage`) about them.
///
/// Round 1 runs HiRE's two stages on its blocks (`TopKSelection`, the same code and the same
/// per-block budgets as topk, so the candidates do not depend on the number of shards) and
/// returns its best k′ keys; it keeps their exact logits for round 2, which adds the values of the
/// keys that made the global top-k to a fresh softmax state and returns that state.
///
/// Storage: here the shard reads its blocks from the sequence's cache and index in this process
/// (`ShardStorage`); a shard in another process would hold those blocks itself. Nothing but the
/// encoded messages passes between coordinator and shard.
final class KVShard {
    let shardIndex: Int
    let shardCount: Int
    /// Round 1's keys, per ticket: positions and exact logits `[group][count]`, best first.
    private var saved: [(positions: [Int32], exact: [Float])] = []

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
        var luts = [Int8](repeating: 0, count: group * hd / 4 * 16), bias = [Int16](repeating: 0, count: group)
        var positions: [Int32] = [], combined: [Float] = [], exact: [[Float]] = Array(repeating: [], count: group)
        request.rows.withUnsafeBufferPointer { rows in
            request.reference.withUnsafeBufferPointer { reference in
                SelectionQuery.prepareTables(q: rows.baseAddress!, group: group, headDim: hd, reference: reference.baseAddress!,
                                             stream: storage.stream, luts: &luts, bias: &bias)
                luts.withUnsafeBufferPointer { lutBuffer in
                    bias.withUnsafeBufferPointer { biasBuffer in
                        let query = SelectionQuery(q: rows.baseAddress!, reference: reference.baseAddress!, luts: lutBuffer.baseAddress!,
                                                   bias: biasBuffer.baseAddress!, group: group, sinks: Int(request.sinks),
                                                   sparseEnd: Int(request.sparseEnd), buckets: Int(request.buckets))
                        let block = UnsafeMutablePointer<Float>.allocate(capacity: BlockCandidates.floatCount(capacity: keep, group: group))
                        defer { block.deallocate() }
                        let out = BlockCandidates(base: block, capacity: keep)
                        for b in stride(from: shardIndex, to: query.blockCount, by: shardCount) {
                            let n = TopKSelection.select(block: b, stream: storage.stream, query: query, keep: keep,
                                                         bucketKeep: Int(request.bucketKeep), out: out, scratch: scratch)
                            positions += UnsafeBufferPointer(start: out.positions, count: n)
                            combined += UnsafeBufferPointer(start: out.combined, count: n)
                            for r in 0..<group { exact[r] += UnsafeBufferPointer(start: out.exact + r * keep, count: n) }
                        }
                    }
                }
            }
        }
        // The local top-k′, best first.
        var order = [Int32](repeating: 0, count: positions.count)
        let n = Int(ck_select_topk(combined, Int32(positions.count), Int32(keep), &order))
        let best = order.prefix(n).map(Int.init)
        let reply = ShardMessage.SelectReply(ticket: request.ticket, positions: best.map { positions[$0] }, combined: best.map { combined[$0] })
        saved[Int(request.ticket)] = (reply.positions, (0..<group).flatMap { r in best.map { exact[r][$0] } })
        return reply.encoded()
    }

    /// Round 2: the partial softmax state over the first `take` keys of this ticket's round-1 reply.
    func attend(_ message: [UInt8], storage: ShardStorage, scratch: GatherScratch, group: Int) throws(ShardMessage.DecodingError) -> [UInt8] {
        let request = try ShardMessage.AttendRequest(decoding: message)
        let (positions, exact) = saved[Int(request.ticket)]
        let hd = storage.stream.headDim, count = positions.count, take = min(Int(request.take), count)
        var state = [Float](repeating: 0, count: PartialSoftmax.floatCount(group: group, headDim: hd))
        state.withUnsafeMutableBufferPointer { buffer in
            let partial = PartialSoftmax(base: buffer.baseAddress!, group: group, headDim: hd)
            partial.reset()
            if take > 0 {
                _ = positions.withUnsafeBufferPointer { p in
                    exact.withUnsafeBufferPointer { e in
                        GatheredValues.accumulate(storage.cache, layer: storage.layer, kvHead: storage.kvHead, positions: p.baseAddress!,
                                                  scores: e.baseAddress!, scoreStride: count, count: take, into: partial, scratch: scratch)
                    }
                }
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
