import CKernels

/// The per-sequence key/value store: what a sequence's attention reads back at every step.
///
/// Tokens live in fixed-size pages per (layer, KV head). Keys are stored transposed within a
/// page (`[headDim][pageTokenCount]`), so scoring a query against a page is an outer product
/// with no horizontal sums; values row-major (`[pageTokenCount][headDim]`). Formats differ in
/// how a page encodes its numbers (`KVFormat`, layouts in CKernels' ck_kv.h); attention reads
/// pages through `KVPage`.
///
/// Writing happens layer by layer inside a forward pass: `reserve` makes room first (the only
/// call that allocates), then `store` may run concurrently for different tokens, and `commit`
/// publishes the new token count once every layer holds them (and seals full pages).
///
/// Reading: `page` may be called from many threads at once, but only for resident pages. A cache
/// under a memory budget keeps some sealed pages on disk only; the driver of a forward pass calls
/// `prefetch` (from one thread, before the parallel region) for the pages a layer will read. All
/// calls other than `store` and `page` come from one thread at a time.
public protocol KVCache: AnyObject {
    var geometry: KVGeometry { get }
    var format: KVFormat { get }
    /// Tokens stored in every layer.
    var tokenCount: Int { get }
    /// Makes room for tokens up to `tokenCount` (exclusive) in every layer.
    func reserve(tokenCount: Int) throws(KVCacheError)
    /// Stores one token's keys and values for all KV heads of `layer` (`[kvHeadCount][headDim]` fp32 each,
    /// keys after RoPE). `position` < the reserved capacity and ≥ the committed token count.
    func store(layer: Int, position: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>)
    /// Declares tokens `0..<tokenCount` written in every layer; seals (and, for int4, quantizes)
    /// the pages this completes; evicts sealed pages beyond the memory budget.
    func commit(tokenCount: Int) throws(KVCacheError)
    /// Forgets tokens from `tokenCount` on (e.g. to reuse a document's prefix for the next prompt).
    func truncate(to tokenCount: Int) throws(KVCacheError)
    /// Makes pages `pages` of every KV head of `layer` resident (reading them back from disk and
    /// checking their checksums) ahead of concurrent `page` reads, and evicts other layers' sealed
    /// pages beyond the budget. A page that fails its checksum throws: nothing computed from it is used.
    func prefetch(layer: Int, pages: Range<Int>) throws(KVCacheError)
    /// As `prefetch(layer:pages:)` for the listed pages of one KV head only: what a strategy that
    /// selects pages loads once it has selected them (from one thread, before its parallel reads).
    func prefetch(layer: Int, kvHead: Int, pages: [Int]) throws(KVCacheError)
    /// Whether page `index` of (`layer`, `kvHead`) is in RAM (readable by `page` without a prefetch).
    /// Safe to call concurrently with `page` reads, not with calls that load or evict pages.
    func isResident(layer: Int, kvHead: Int, index: Int) -> Bool
    /// Page `index` of (`layer`, `kvHead`); it must be resident (see `prefetch`). Which of its
    /// tokens are valid is the caller's knowledge: during a forward pass, tokens stored but not yet
    /// committed are read too.
    func page(layer: Int, kvHead: Int, index: Int) -> KVPage
    /// `page(layer:kvHead:index:)` without the read-ahead of the next page (for readers of a few
    /// rows per page, to whom the next page's keys are only traffic).
    func page(layer: Int, kvHead: Int, index: Int, readAhead: Bool) -> KVPage
    /// Counters: bytes in RAM and on disk, page reads and writes.
    var statistics: KVCacheStatistics { get }
}

extension KVCache {
    /// Caches without read-ahead serve both forms alike.
    public func page(layer: Int, kvHead: Int, index: Int, readAhead: Bool) -> KVPage { page(layer: layer, kvHead: kvHead, index: index) }

    public var pageTokenCount: Int { geometry.pageTokenCount }
    /// Pages holding tokens `0..<tokenCount`.
    public func pageCount(for tokenCount: Int) -> Int { (tokenCount + pageTokenCount - 1) / pageTokenCount }
    /// Bytes of KV held in RAM.
    public var residentByteCount: Int { statistics.residentByteCount }
}

/// Shape of a model's KV.
public struct KVGeometry: Sendable, Equatable, Codable {
    public let layerCount: Int
    public let kvHeadCount: Int
    public let headDim: Int
    public let pageTokenCount: Int

    public init(layerCount: Int, kvHeadCount: Int, headDim: Int, pageTokenCount: Int = 64) {
        precondition(pageTokenCount == 64, "kernels assume 64-token pages")
        self.layerCount = layerCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.pageTokenCount = pageTokenCount
    }

    /// f16 bytes of keys + values per token across all layers and heads.
    public var f16BytesPerToken: Int { layerCount * kvHeadCount * headDim * 2 * 2 }
}

/// `KVFormat` under a name that modules with their own `KVFormat` (Pipeline's job spec) can use.
public typealias KVCacheFormat = KVFormat

/// How a cache encodes its numbers.
public enum KVFormat: String, Sendable, CaseIterable, Codable {
    /// f16 keys and values: lossless for a model computing in fp32, to within f16 rounding.
    case f16
    /// Symmetric int8, one f16 scale per token per KV head for keys and one for values.
    case int8
    /// KIVI-style asymmetric 4-bit: keys per channel over a page, values per token in groups of 32;
    /// the newest ≥ 128 tokens (whole pages) stay f16.
    case int4

    /// The page kind new tokens are written into.
    var writeKind: KVPageKind { self == .int8 ? .int8 : .f16 }
}

/// How one page encodes its numbers (`CK_KV_*` in ck_kv.h). An int4 cache holds both f16 pages
/// (its recent window) and int4 pages.
public enum KVPageKind: UInt8, Sendable, CaseIterable, Codable {
    case f16 = 1, int8 = 2, int4 = 3

    /// Bytes of one page; 0 when the kind cannot hold `headDim`.
    public func byteCount(headDim: Int) -> Int { ck_kv_page_bytes(Int32(rawValue), Int32(headDim)) }
    /// Bytes of one page holding its key parameters (empty for f16); the values follow.
    public func keyParameterRange(headDim: Int) -> Range<Int> {
        ck_kv_key_params_offset(Int32(rawValue), Int32(headDim))..<valuesOffset(headDim: headDim)
    }
    /// Where the values start in one page (the keys and their parameters come before).
    public func valuesOffset(headDim: Int) -> Int { ck_kv_values_offset(Int32(rawValue), Int32(headDim)) }
}

/// Read access to one page for the attention kernels. Pointers stay valid until the cache is
/// next reserved, committed, truncated, prefetched or released.
public enum KVPage {
    /// keys `[headDim][64]`, values `[64][headDim]`, both f16.
    case f16(keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>)
    /// A `CK_KV_I8` page (ck_kv.h): int8 codes with f16 scales per token.
    case int8(UnsafeRawPointer)
    /// A `CK_KV_I4` page (ck_kv.h): KIVI 4-bit codes with f16 per-channel / per-group parameters.
    case int4(UnsafeRawPointer)
}

extension KVPage {
    public var kind: KVPageKind {
        switch self {
        case .f16: .f16
        case .int8: .int8
        case .int4: .int4
        }
    }

    /// The page's first byte (its layout per kind in ck_kv.h; an f16 page starts with its keys).
    public var baseAddress: UnsafeRawPointer {
        switch self {
        case let .f16(keys, _): UnsafeRawPointer(keys)
        case let .int8(base), let .int4(base): base
        }
    }
}

/// What a cache holds and moved: the metrics a unit records.
public struct KVCacheStatistics: Sendable, Equatable, Codable {
    /// Bytes of pages in RAM now, and the most at any time.
    public var residentByteCount = 0
    public var peakResidentByteCount = 0
    /// Bytes of this cache's pages in its spill file (live records).
    public var spilledByteCount = 0
    /// Pages written to the spill file, and their bytes before and after the codec.
    public var pageWrites = 0
    public var rawBytesWritten = 0
    public var storedBytesWritten = 0
    /// Pages read back from disk (spill file or snapshot), and the bytes read.
    public var pageReads = 0
    public var storedBytesRead = 0

    public init() {}

    /// Raw / stored bytes of the pages written so far (1 when nothing was written).
    public var compressionRatio: Double { storedBytesWritten > 0 ? Double(rawBytesWritten) / Double(storedBytesWritten) : 1 }
}
