import CKernels
import KVCache
import Synchronization
import Tensor

/// da-topk: DA-TOP-k (HiRE, arXiv 2402.09360 §"distributed approximate top-k") over KV shards.
/// The sparse range of every (sequence, sparse layer, KV head) is spread over `shardCount`
/// shards by selection block (`KVShard`); each runs HiRE's two stages on its blocks and returns
/// only every query row's local top-k′ (positions and scores), the coordinator picks each row's
/// global top-k from the union (`TopKRule`), asks each shard for the partial softmax state of its
/// winners, and merges those with
/// its own dense part (sinks, window) through log-sum-exp. With k′ ≥ k the union holds the global
/// top-k, so the result equals topk's for any shard count (up to float summation order), and the
/// messages per step are O(S·k′), not O(context) (`statistics.bytesExchanged` counts them).
///
/// Shards run on the pool's threads here: work items (query, KV head, shard) per round.
public final class ShardedTopKAttention: SparseAttentionStrategy {
    public let budget: TopKBudget
    public let exemptions: DenseExemptions
    public let shardCount: Int
    /// k′ of the shards: keys each returns (≥ budget.k).
    public let shardKeep: Int
    public var name: String { "da-topk" }
    public var parameterDescription: String {
        budget.parameterDescription + ",shards=\(shardCount),shard_keep=\(shardKeep)," + exemptions.parameterDescription
    }
    public var prefetchesOwnPages: Bool { true }
    public private(set) var statistics = SparseAttentionStatistics()

    private let dense = DenseAttention()
    private let shards: [KVShard]
    private let states = ScratchBuffer<Float>()
    private let messages = ScratchBuffer<[UInt8]>()
    private let unitStatistics = ScratchBuffer<SparseAttentionStatistics>()
    private var selectors: PerThread<SelectionScratch>?
    private let gatherers = PerThread { GatherScratch(capacity: 256) }
    private let pageReaders = PerThread { ScratchBuffer<Float>() }

    public init(budget: TopKBudget = TopKBudget(), exemptions: DenseExemptions = DenseExemptions(), shardCount: Int = 4,
                shardKeep: Int? = nil) {
        precondition(shardCount >= 1)
        self.budget = budget
        self.exemptions = exemptions
        self.shardCount = shardCount
        self.shardKeep = max(shardKeep ?? budget.k, budget.k)
        shards = (0..<shardCount).map { KVShard(shardIndex: $0, shardCount: shardCount) }
    }

    public func resetStatistics() { statistics = SparseAttentionStatistics() }

    public func indexByteCount(_ slot: AttentionIndexSlot) -> IndexSize? { SketchIndex.size(in: slot) }

    public func decode(_ queries: [DecodeQuery], layer: Int, pool: ThreadPool) throws(KVCacheError) {
        guard let s = try SparseQueries<SketchedKeys>.split(queries, layer: layer, exemptions: exemptions, threshold: budget.k, dense: dense,
            pool: pool, statistics: &statistics) else { return }
        try s.extendSketches(pool: pool, readers: pageReaders)
        try attend(s, pool: pool)
        statistics.indexPagesRead += s.indexPagesRead
    }

    private func attend(_ s: SparseQueries<SketchedKeys>, pool: ThreadPool) throws(KVCacheError) {
        let hd = s.headDim, group = s.group, units = s.unitCount, shardCount = shardCount
        let stateFloats = PartialSoftmax.floatCount(group: group, headDim: hd)
        let stateBase = states.reserve(units * stateFloats)
        let stats = unitStatistics.reserve(units)
        let items = units * shardCount
        let requests = messages.reserve(2 * items), replies = requests + items
        requests.initialize(repeating: [], count: 2 * items)
        defer { requests.deinitialize(count: 2 * items) }
        if selectors == nil { selectors = PerThread { SelectionScratch(group: group) } }
        let selectorList = selectors!.reserve(pool.threadCount), gatherList = gatherers.reserve(pool.threadCount)
        for shard in shards { shard.prepare(ticketCount: units) }
        func storage(_ unit: Int) -> ShardStorage {
            let (query, _, head) = s.unit(unit)
            return ShardStorage(cache: query.cache, stream: s.stream(unit), layer: s.layer, kvHead: head)
        }

        // The coordinator's dense part (sinks, window) per unit; its maxima are the shards' reference.
        pool.forEach(count: units) { unit, _ in
            let (query, plan, head) = s.unit(unit)
            let state = PartialSoftmax(base: stateBase + unit * stateFloats, group: group, headDim: hd)
            stats[unit] = s.attendDense(unit, into: state)
            let request = ShardMessage.SelectRequest(
                ticket: Int32(unit), layer: Int32(s.layer), kvHead: Int32(head), sinks: Int32(plan.sinks), sparseEnd: Int32(plan.sparseEnd),
                buckets: Int32(budget.bucketsPerBlock(sparseTokens: plan.sparseTokenCount)), bucketKeep: Int32(budget.bucketKeep),
                keep: Int32(shardKeep), rows: Array(UnsafeBufferPointer(start: query.q + head * group * hd, count: group * hd)),
                reference: Array(UnsafeBufferPointer(start: state.m, count: group))).encoded()
            for shard in 0..<shardCount { requests[unit * shardCount + shard] = request }
            stats[unit].sparseTokens = plan.sparseTokenCount
            stats[unit].sparsePages = plan.sparsePageCount
        }
        // Every row's global top-k over the union of the shards' replies (the thresholds) and the
        // round-2 requests of `unit`: run by whichever thread finishes the unit's last round-1 item.
        let k = budget.k
        let winnerPages = UnsafeMutablePointer<[Int]>.allocate(capacity: units)
        winnerPages.initialize(repeating: [], count: units)
        defer { winnerPages.deinitialize(count: units); winnerPages.deallocate() }
        func choose(_ unit: Int) {
            let list = (0..<shardCount).map { shard in
                let item = unit * shardCount + shard
                stats[unit].bytesExchanged += requests[item].count + replies[item].count
                return Self.check { () throws(ShardMessage.DecodingError) in try ShardMessage.SelectReply(decoding: replies[item]) }
            }
            let n = list.reduce(0) { $0 + $1.positions.count }
            let positions = list.flatMap { $0.positions }
            let flat = [Float](unsafeUninitializedCapacity: group * n) { out, written in // [group][n]
                var at = 0
                for reply in list {
                    let c = reply.positions.count
                    for r in 0..<group { for j in 0..<c { out[r * n + at + j] = reply.scores[r * c + j] } }
                    at += c
                }
                written = group * n
            }
            var thresholds = [Float](repeating: 0, count: group), selection = [Float](repeating: 0, count: max(n, 1))
            TopKRule.thresholds(flat, stride: n, count: n, group: group, k: k, scratch: &selection, into: &thresholds)
            var winners = 0, marked = [UInt64](repeating: 0, count: s.plans[unit / s.kvHeadCount].sparsePageCount / 64 + 1)
            for i in 0..<n where TopKRule.passes(flat, stride: n, index: i, group: group, thresholds: thresholds) {
                let page = Int(positions[i] >> 6)
                marked[page >> 6] |= 1 << UInt64(page & 63)
                winners += 1
            }
            let request = ShardMessage.AttendRequest(ticket: Int32(unit), thresholds: thresholds).encoded()
            for shard in 0..<shardCount { requests[unit * shardCount + shard] = request }
            stats[unit].candidateTokens = n
            stats[unit].selectedTokens = winners
            var pages: [Int] = [] // ascending
            for (w, word) in marked.enumerated() {
                var bits = word
                while bits != 0 { pages.append(64 * w + bits.trailingZeroBitCount); bits &= bits - 1 }
            }
            stats[unit].valuePagesRead = pages.count
            winnerPages[unit] = pages
        }
        // The shards' states merged into the dense part's and normalised: run by whichever thread
        // finishes the unit's last round-2 item.
        func merge(_ unit: Int) {
            let (query, _, head) = s.unit(unit)
            let state = PartialSoftmax(base: stateBase + unit * stateFloats, group: group, headDim: hd)
            var partial = [Float](repeating: 0, count: stateFloats)
            for shard in 0..<shardCount {
                let item = unit * shardCount + shard
                stats[unit].bytesExchanged += requests[item].count + replies[item].count
                let reply = Self.check { () throws(ShardMessage.DecodingError) in try ShardMessage.AttendReply(decoding: replies[item]) }
                partial.withUnsafeMutableBufferPointer { p in
                    let other = PartialSoftmax(base: p.baseAddress!, group: group, headDim: hd)
                    other.m.update(from: reply.m, count: group)
                    other.l.update(from: reply.l, count: group)
                    other.acc.update(from: reply.acc, count: group * hd)
                    state.merge(other)
                }
            }
            state.normalize(into: query.out + head * group * hd)
            stats[unit].sparseHeadSteps = 1
        }

        // Round 1: every shard's local top-k′; a unit's thresholds as soon as all its shards replied.
        let selected = Countdown(units: units, each: shardCount)
        pool.forEach(count: items) { item, thread in
            let unit = item / shardCount, shard = item % shardCount
            replies[item] = Self.check { () throws(ShardMessage.DecodingError) in
                try shards[shard].select(requests[item], storage: storage(unit), scratch: selectorList[thread])
            }
            if selected.finish(unit) { choose(unit) }
        }
        // The shards here read the sequence's cache: the winners' pages on disk are loaded now, on
        // the driving thread, before round 2 (a shard in another process would hold its blocks' pages itself).
        for unit in 0..<units {
            let (query, _, head) = s.unit(unit)
            try query.cache.prefetch(layer: s.layer, kvHead: head, pages: winnerPages[unit])
        }
        // Round 2: partial states over the winners; a unit's merge as soon as all its shards replied.
        let attended = Countdown(units: units, each: shardCount)
        pool.forEach(count: items) { item, thread in
            let unit = item / shardCount, shard = item % shardCount
            replies[item] = Self.check { () throws(ShardMessage.DecodingError) in
                try shards[shard].attend(requests[item], storage: storage(unit), scratch: gatherList[thread], group: group)
            }
            if attended.finish(unit) { merge(unit) }
        }
        for unit in 0..<units { statistics.add(stats[unit]) }
    }

    /// A message from our own shard or coordinator that does not decode is a programming error.
    private static func check<T>(_ body: () throws(ShardMessage.DecodingError) -> T) -> T {
        do { return try body() } catch { preconditionFailure("malformed shard message: \(error)") }
    }
}

/// Per unit, how many of its work items are still running; `finish` tells the thread that ends a
/// unit's last item (the lock orders the other items' writes before what that thread reads).
private final class Countdown: Sendable {
    private let remaining: Mutex<[Int]>

    init(units: Int, each: Int) { remaining = Mutex(Array(repeating: each, count: units)) }

    func finish(_ unit: Int) -> Bool {
        remaining.withLock { counts in
            counts[unit] -= 1
            return counts[unit] == 0
        }
    }
}
