import CKernels
import KVCache
import Tensor

/// HiRE's stage-1 sketch of one (layer, KV head), beside the key mirror it is derived from.
///
/// Each sealed page of keys is quantized to 4 bits per channel, KIVI-style (a min and a step per
/// channel over the page's 64 keys): 32 bytes per key at headDim 64 plus 8·headDim bytes of
/// min/step per page, 5/16 of the f16 keys. Stage 1 scores every key with an integer dot product
/// of its codes and the query's int8 codes (ck_sparse.h), so the estimate of q·k has the error of
/// an int4 key, not the error of a sign. A page is encoded once, when it is indexed.
final class SketchedKeys {
    let mirror: KeyMirror
    let headDim: Int
    /// `[capacityPages][40·headDim]` sketch blocks.
    private(set) var blocks: UnsafeMutablePointer<UInt8>
    private var capacityPages = 0
    /// The largest per-channel step over the encoded pages `[headDim]`: what one query scale must cover.
    let maxStep: UnsafeMutablePointer<Float>

    init(headDim: Int) {
        self.headDim = headDim
        mirror = KeyMirror(headDim: headDim)
        blocks = .allocate(capacity: 1)
        maxStep = .allocate(capacity: headDim)
        maxStep.initialize(repeating: 0, count: headDim)
    }

    deinit {
        blocks.deallocate()
        maxStep.deallocate()
    }

    var pageCount: Int { mirror.pageCount }
    var blockByteCount: Int { Int(ck_sketch_block_bytes(Int32(headDim))) }
    var byteCount: Int { mirror.byteCount + capacityPages * blockByteCount + headDim * 4 }

    func truncate(pages: Int) {
        mirror.truncate(pages: pages)
        maxStep.update(repeating: 0, count: headDim)
        for p in 0..<pageCount { widenMaxStep(page: p) }
    }

    /// Indexes pages `pageCount..<pages` of (layer, kvHead) from the cache. `scratch`: 2·64·headDim floats.
    func extend(to pages: Int, cache: KVCache, layer: Int, kvHead: Int, scratch: UnsafeMutablePointer<Float>) {
        let start = pageCount
        guard pages > start else { return }
        let rows = scratch, tmp = scratch + 64 * headDim
        mirror.reserve(pages: pages)
        if pages > capacityPages {
            let grown = capacityPages == 0 ? pages : max(pages, capacityPages + capacityPages / 4)
            let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: grown * blockByteCount)
            fresh.update(from: blocks, count: start * blockByteCount)
            blocks.deallocate()
            blocks = fresh
            capacityPages = grown
        }
        for p in start..<pages {
            PageKeys.read(cache.page(layer: layer, kvHead: kvHead, index: p), headDim: headDim, into: rows, scratch: tmp)
            mirror.append(page: rows)
            ck_sketch_encode(rows, 64, Int32(headDim), blocks + p * blockByteCount)
            widenMaxStep(page: p)
        }
    }

    private func widenMaxStep(page p: Int) {
        let steps = ck_sketch_steps(blocks + p * blockByteCount, Int32(headDim))!
        for d in 0..<headDim { maxStep[d] = max(maxStep[d], steps[d]) }
    }
}

/// The per-sequence index of the top-k strategies (topk, da-topk): a `SketchedKeys` per
/// (sparse layer, KV head), created when a layer is first decoded sparsely.
final class SketchIndex: AttentionIndex {
    let geometry: KVGeometry
    private var streams: [SketchedKeys?]

    init(geometry: KVGeometry) {
        self.geometry = geometry
        streams = Array(repeating: nil, count: geometry.layerCount * geometry.kvHeadCount)
    }

    func stream(layer: Int, kvHead: Int) -> SketchedKeys {
        let i = layer * geometry.kvHeadCount + kvHead
        if let s = streams[i] { return s }
        let s = SketchedKeys(headDim: geometry.headDim)
        streams[i] = s
        return s
    }

    func truncate(to tokenCount: Int) {
        for s in streams { s?.truncate(pages: tokenCount / geometry.pageTokenCount) }
    }

    var byteCount: Int { streams.reduce(0) { $0 + ($1?.byteCount ?? 0) } }
    /// Bytes of the sketches alone (without the key mirror).
    var sketchByteCount: Int { streams.reduce(0) { $0 + ($1.map { $0.byteCount - $0.mirror.byteCount } ?? 0) } }
    var indexedTokenCount: Int { streams.reduce(0) { $0 + ($1?.mirror.tokenCount ?? 0) } }

    /// The sequence's sketch index, replacing whatever other index the slot holds.
    static func of(_ slot: AttentionIndexSlot, geometry: KVGeometry) -> SketchIndex {
        if let index = slot.index as? SketchIndex, index.geometry == geometry { return index }
        let index = SketchIndex(geometry: geometry)
        slot.index = index
        return index
    }
}

extension SketchIndex {
    /// The sizes `indexByteCount` reports for the sketch index in `slot`, if it holds one.
    static func size(in slot: AttentionIndexSlot) -> IndexSize? {
        guard let index = slot.index as? SketchIndex else { return nil }
        return IndexSize(indexBytes: index.sketchByteCount, mirrorBytes: index.byteCount - index.sketchByteCount,
                         indexedKVBytes: index.indexedTokenCount * index.geometry.headDim * 4)
    }
}

extension SparseQueries where Stream == SketchedKeys {
    /// Every unit's sketch stream (the sequence's `SketchIndex`, created on its first sparse step),
    /// extended over the pages new since the last step.
    func extendSketches(pool: ThreadPool, readers: PerThread<ScratchBuffer<Float>>) throws(KVCacheError) {
        let geometry = queries[0].cache.geometry, layer = layer
        try extendIndexes(pool: pool, readers: readers) { SketchIndex.of($0.index, geometry: geometry).stream(layer: layer, kvHead: $1) }
    }
}
