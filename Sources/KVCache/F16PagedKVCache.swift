import CKernels

/// KV in f16, the format llama.cpp uses by default: lossless for a model computing in fp32 to
/// within f16 rounding. One allocation per page: keys `[headDim][64]` then values `[64][headDim]`.
public final class F16PagedKVCache: KVCache {
    public let geometry: KVGeometry
    public var format: KVFormat { .f16 }
    public private(set) var tokenCount = 0
    /// pages[layer * kvHeadCount + head][page]
    private var pages: [[UnsafeMutablePointer<UInt16>]]
    private let pageElementCount: Int

    public init(geometry: KVGeometry) {
        self.geometry = geometry
        pages = Array(repeating: [], count: geometry.layerCount * geometry.kvHeadCount)
        pageElementCount = 2 * geometry.pageTokenCount * geometry.headDim
    }

    deinit {
        for list in pages { for p in list { p.deallocate() } }
    }

    public func reserve(tokenCount: Int) {
        let needed = pageCount(for: tokenCount)
        for i in pages.indices where pages[i].count < needed {
            for _ in pages[i].count..<needed {
                let p = UnsafeMutablePointer<UInt16>.allocate(capacity: pageElementCount)
                p.initialize(repeating: 0, count: pageElementCount)
                pages[i].append(p)
            }
        }
    }

    public func store(layer: Int, position: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>) {
        let hd = geometry.headDim, pt = geometry.pageTokenCount
        let pageIndex = position / pt, slot = position % pt
        for h in 0..<geometry.kvHeadCount {
            let page = pages[layer * geometry.kvHeadCount + h][pageIndex]
            let k = keys + h * hd
            for d in 0..<hd { page[d * pt + slot] = ck_f32_to_f16_1(k[d]) }
            ck_f32_to_f16(values + h * hd, page + hd * pt + slot * hd, Int64(hd))
        }
    }

    public func commit(tokenCount: Int) {
        precondition(tokenCount <= (pages.first?.count ?? 0) * geometry.pageTokenCount)
        self.tokenCount = tokenCount
    }

    public func truncate(to tokenCount: Int) {
        precondition(tokenCount >= 0)
        self.tokenCount = min(self.tokenCount, tokenCount)
    }

    public func page(layer: Int, kvHead: Int, index: Int) -> KVPage {
        let p = pages[layer * geometry.kvHeadCount + kvHead][index]
        return .f16(keys: p, values: p + geometry.headDim * geometry.pageTokenCount)
    }

    public var residentByteCount: Int { pages.reduce(0) { $0 + $1.count } * pageElementCount * 2 }
}
