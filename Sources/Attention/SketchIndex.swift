import CKernels
import KVCache

/// HiRE's stage-1 sketch of one (layer, KV head), beside the key mirror it is derived from.
///
/// Each key is reduced to the sign bits of its centred channels, sign(k_d − μ_d) (64 bits at
/// headDim 64: 8 bytes per key, 1/16 of its f16 key), scored against a query as
/// Σ_d q_d·σ_d·(±1) with σ_d the channel's mean absolute deviation — the 1-bit quantization of
/// (k − μ), so the score estimates q·(k − μ), i.e. the exact logit up to the per-query constant q·μ.
/// Blocks are laid out for nibble lookups (ck_sparse.h): one 8·headDim-byte block per page.
/// μ and σ are measured over the keys indexed so far and re-measured (all blocks re-encoded)
/// whenever the indexed pages have doubled since, so early estimates do not stay forever.
final class SketchedKeys {
    let mirror: KeyMirror
    let headDim: Int
    /// `[capacityPages][8·headDim]` sketch blocks.
    private(set) var blocks: UnsafeMutablePointer<UInt8>
    private var capacityPages = 0
    /// Per-channel mean and mean absolute deviation `[headDim]` the blocks were encoded with.
    let mean: UnsafeMutablePointer<Float>
    let sigma: UnsafeMutablePointer<Float>
    private var statisticsPageCount = 0

    init(headDim: Int) {
        self.headDim = headDim
        mirror = KeyMirror(headDim: headDim)
        blocks = .allocate(capacity: 1)
        mean = .allocate(capacity: headDim)
        mean.initialize(repeating: 0, count: headDim)
        sigma = .allocate(capacity: headDim)
        sigma.initialize(repeating: 1, count: headDim)
    }

    deinit {
        blocks.deallocate()
        mean.deallocate()
        sigma.deallocate()
    }

    var pageCount: Int { mirror.pageCount }
    var blockByteCount: Int { Int(ck_sketch_block_bytes(Int32(headDim))) }
    var byteCount: Int { mirror.byteCount + capacityPages * blockByteCount + 2 * headDim * 4 }

    func truncate(pages: Int) {
        mirror.truncate(pages: pages)
        statisticsPageCount = min(statisticsPageCount, pages)
    }

    /// Indexes pages `pageCount..<pages` of (layer, kvHead) from the cache. `scratch`: 2·64·headDim floats.
    func extend(to pages: Int, cache: KVCache, layer: Int, kvHead: Int, scratch: UnsafeMutablePointer<Float>) {
        let start = pageCount
        guard pages > start else { return }
        let rows = scratch, tmp = scratch + 64 * headDim
        mirror.reserve(pages: pages)
        for p in start..<pages {
            PageKeys.read(cache.page(layer: layer, kvHead: kvHead, index: p), headDim: headDim, into: rows, scratch: tmp)
            mirror.append(page: rows)
        }
        if pages > capacityPages {
            let grown = capacityPages == 0 ? pages : max(pages, capacityPages + capacityPages / 4)
            let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: grown * blockByteCount)
            fresh.update(from: blocks, count: start * blockByteCount)
            blocks.deallocate()
            blocks = fresh
            capacityPages = grown
        }
        if pages >= 2 * statisticsPageCount {
            measureStatistics(scratch: rows)
            encode(0..<pages, scratch: rows)
        } else {
            encode(start..<pages, scratch: rows)
        }
    }

    private func encode(_ pages: Range<Int>, scratch rows: UnsafeMutablePointer<Float>) {
        for p in pages {
            mirror.page(p, into: rows)
            ck_sketch_encode(rows, 64, Int32(headDim), mean, blocks + p * blockByteCount)
        }
    }

    /// μ and σ over every mirrored key.
    private func measureStatistics(scratch rows: UnsafeMutablePointer<Float>) {
        let hd = headDim, n = Double(mirror.tokenCount)
        var sum = [Double](repeating: 0, count: hd), dev = [Double](repeating: 0, count: hd)
        for p in 0..<pageCount {
            mirror.page(p, into: rows)
            for j in 0..<64 { for d in 0..<hd { sum[d] += Double(rows[j * hd + d]) } }
        }
        for d in 0..<hd { mean[d] = Float(sum[d] / n) }
        for p in 0..<pageCount {
            mirror.page(p, into: rows)
            for j in 0..<64 { for d in 0..<hd { dev[d] += Double(abs(rows[j * hd + d] - mean[d])) } }
        }
        for d in 0..<hd { sigma[d] = Float(max(dev[d] / n, 1e-6)) }
        statisticsPageCount = pageCount
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
