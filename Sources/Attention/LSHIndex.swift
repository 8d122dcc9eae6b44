import CKernels
import KVCache

/// MagicPIG's index of one (layer, KV head): L SimHash tables over the centred keys of the
/// sparse range, with the key norms ‖k − μ‖ the importance weights need, beside the key mirror.
///
/// Layout: a static part — the first `staticTokenCount` tokens, hashed after prefill, counting-
/// sorted and Elias–Fano coded per table (`ck_lsh_table_build`; ~12–13 bits per token per table at
/// K = 10 against 32 for MagicPIG's int32 tables) — and an extension of whole pages hashed as they
/// leave the recent window, kept as raw codes `[page][L][64]` and compared directly. When the
/// extension reaches a quarter of the static part (at least 8 pages), everything is rebuilt with
/// a fresh key mean. A rollback into the static part also forces a rebuild at the next step.
final class LSHStream: IndexedStream {
    let mirror: KeyMirror
    let projection: SimHashProjection
    let headDim: Int
    /// μ over the keys of the last build `[headDim]`.
    private(set) var mean: [Float]
    /// ‖k − μ‖ per mirrored token.
    private(set) var norms: [Float] = []
    private(set) var staticTokenCount = 0
    /// L tables of `tableByteCount` bytes each, over tokens `0..<staticTokenCount`.
    private(set) var tables: [UInt8] = []
    private(set) var tableByteCount = 0
    /// Codes of the pages after the static part, `[page][L][64]`.
    private(set) var extensionCodes: [UInt16] = []

    init(headDim: Int, projection: SimHashProjection) {
        self.headDim = headDim
        self.projection = projection
        mirror = KeyMirror(headDim: headDim)
        mean = [Float](repeating: 0, count: headDim)
    }

    var pageCount: Int { mirror.pageCount }
    var extensionTokenCount: Int { mirror.tokenCount - staticTokenCount }
    /// Bytes of the LSH structures (tables, extension codes, norms, mean), without the mirror.
    var indexByteCount: Int { tables.count + 2 * extensionCodes.count + 4 * norms.count + 4 * headDim }

    func truncate(pages: Int) {
        mirror.truncate(pages: pages)
        norms.removeLast(max(0, norms.count - mirror.tokenCount))
        if mirror.tokenCount < staticTokenCount {
            staticTokenCount = 0 // rebuilt at the next extension
            tables = []
            extensionCodes = []
        } else {
            extensionCodes.removeLast(max(0, extensionCodes.count - extensionTokenCount * projection.tables))
        }
    }

    func needsExtension(to pages: Int) -> Bool { pageCount < pages || staticTokenCount == 0 && pageCount > 0 }

    func extend(to pages: Int, cache: KVCache, layer: Int, kvHead: Int, scratch: UnsafeMutablePointer<Float>) {
        let start = pageCount
        guard needsExtension(to: pages) else { return }
        let rows = scratch, tmp = scratch + 64 * headDim
        mirror.reserve(pages: pages)
        for p in start..<max(start, pages) {
            PageKeys.read(cache.page(layer: layer, kvHead: kvHead, index: p), headDim: headDim, into: rows, scratch: tmp)
            mirror.append(page: rows)
        }
        let staticPages = staticTokenCount / 64
        if staticTokenCount == 0 || pageCount >= max(staticPages + 8, staticPages * 5 / 4) {
            rebuild(scratch: rows)
        } else {
            for p in start..<pageCount { hashExtension(page: p, scratch: rows) }
        }
    }

    /// μ, norms and the static tables over every mirrored token.
    private func rebuild(scratch rows: UnsafeMutablePointer<Float>) {
        let hd = headDim, n = mirror.tokenCount, L = projection.tables, K = projection.bits
        var sum = [Double](repeating: 0, count: hd)
        for p in 0..<pageCount {
            mirror.page(p, into: rows)
            for j in 0..<64 { for d in 0..<hd { sum[d] += Double(rows[j * hd + d]) } }
        }
        mean = sum.map { Float($0 / Double(n)) }
        norms = []
        norms.reserveCapacity(n)
        var codes = [UInt16](repeating: 0, count: n * L)
        codes.withUnsafeMutableBufferPointer { c in
            for p in 0..<pageCount {
                mirror.page(p, into: rows)
                appendNorms(rows)
                projection.hash(rows, count: 64, mean: mean, into: c.baseAddress! + p * 64 * L)
            }
        }
        staticTokenCount = n
        tableByteCount = ck_lsh_table_bytes(Int32(n), Int32(K))
        tables = [UInt8](repeating: 0, count: L * tableByteCount)
        var sortScratch = [Int32](repeating: 0, count: n + (1 << K) + 1)
        tables.withUnsafeMutableBytes { t in
            codes.withUnsafeBufferPointer { c in
                for table in 0..<L {
                    ck_lsh_table_build(c.baseAddress! + table, Int64(L), Int32(n), Int32(K), t.baseAddress! + table * tableByteCount, &sortScratch)
                }
            }
        }
        extensionCodes = []
    }

    private func hashExtension(page p: Int, scratch rows: UnsafeMutablePointer<Float>) {
        let L = projection.tables
        mirror.page(p, into: rows)
        appendNorms(rows)
        var codes = [UInt16](repeating: 0, count: 64 * L)
        projection.hash(rows, count: 64, mean: mean, into: &codes)
        for t in 0..<L { for j in 0..<64 { extensionCodes.append(codes[j * L + t]) } } // [L][64]
    }

    private func appendNorms(_ rows: UnsafePointer<Float>) {
        for j in 0..<64 {
            var s: Float = 0
            for d in 0..<headDim { let x = rows[j * headDim + d] - mean[d]; s += x * x }
            norms.append(s.squareRoot())
        }
    }
}

/// The per-sequence index of the lsh strategy: an `LSHStream` per (sparse layer, KV head), for
/// one hash configuration (K, L, seed); a strategy with another configuration replaces it.
final class LSHIndex: AttentionIndex {
    let geometry: KVGeometry
    let projection: SimHashProjection
    private var streams: [LSHStream?]

    init(geometry: KVGeometry, projection: SimHashProjection) {
        self.geometry = geometry
        self.projection = projection
        streams = Array(repeating: nil, count: geometry.layerCount * geometry.kvHeadCount)
    }

    func stream(layer: Int, kvHead: Int) -> LSHStream {
        let i = layer * geometry.kvHeadCount + kvHead
        if let s = streams[i] { return s }
        let s = LSHStream(headDim: geometry.headDim, projection: projection)
        streams[i] = s
        return s
    }

    func truncate(to tokenCount: Int) {
        for s in streams { s?.truncate(pages: tokenCount / geometry.pageTokenCount) }
    }

    var byteCount: Int { streams.reduce(0) { $0 + ($1.map { $0.indexByteCount + $0.mirror.byteCount } ?? 0) } }
    var lshByteCount: Int { streams.reduce(0) { $0 + ($1?.indexByteCount ?? 0) } }
    var indexedTokenCount: Int { streams.reduce(0) { $0 + ($1?.mirror.tokenCount ?? 0) } }

    static func of(_ slot: AttentionIndexSlot, geometry: KVGeometry, projection: SimHashProjection) -> LSHIndex {
        if let index = slot.index as? LSHIndex, index.geometry == geometry,
           index.projection.matches(bits: projection.bits, tables: projection.tables, seed: projection.seed) { return index }
        let index = LSHIndex(geometry: geometry, projection: projection)
        slot.index = index
        return index
    }
}
