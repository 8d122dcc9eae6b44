/// Where one page's bytes are: in RAM (`memory`), on disk (`record`), or both (a clean page read
/// back, or a snapshot page: evicting it again costs no write).
struct PageSlot {
    /// `kind.byteCount(headDim:)` bytes, 64-byte aligned; nil when the page lives on disk only.
    var memory: UnsafeMutableRawPointer?
    var kind: KVPageKind
    /// Full and final: no token will be written to it again (until a truncate reopens it). Only
    /// sealed pages are evicted.
    var sealed: Bool
    /// An on-disk copy identical to the page.
    var record: PageRecord?
}

/// One encoded page in a `PageFile`.
struct PageRecord: Equatable {
    /// Index into the cache's file list.
    var file: Int
    var offset: Int
    var storedByteCount: Int
    var encoding: LZ4PageCodec.Encoding
    /// XXH64 of the raw page bytes.
    var checksum: UInt64
}

/// The slots of every (layer, KV head) stream, `pageCount` pages each, in one raw allocation
/// (`[stream][capacity]`): attention threads read slots concurrently while nothing writes them,
/// and raw memory keeps those reads free of Swift's exclusivity checks on a class's array property.
final class PageTable {
    let streamCount: Int
    private(set) var capacity = 0
    /// Pages in use per stream.
    var pageCount = 0
    private var slots: UnsafeMutablePointer<PageSlot>

    init(streamCount: Int) {
        self.streamCount = streamCount
        slots = .allocate(capacity: 1)
    }

    deinit { slots.deallocate() } // slots are plain data: nothing to deinitialize

    /// The slot of page `page` of stream `stream` (`page < capacity`; initialized when `< pageCount`).
    @inline(__always)
    func slot(_ stream: Int, _ page: Int) -> UnsafeMutablePointer<PageSlot> { slots + stream * capacity + page }

    /// Grows every stream to at least `pages` slots, keeping the existing ones.
    func reserveCapacity(_ pages: Int) {
        guard pages > capacity else { return }
        let newCapacity = max(pages, capacity * 2, 16)
        let grown = UnsafeMutablePointer<PageSlot>.allocate(capacity: streamCount * newCapacity)
        for s in 0..<streamCount where pageCount > 0 {
            (grown + s * newCapacity).moveInitialize(from: slots + s * capacity, count: pageCount)
        }
        slots.deallocate()
        slots = grown
        capacity = newCapacity
    }

    /// Visits every slot in use.
    func forEach(_ body: (_ stream: Int, _ page: Int, UnsafeMutablePointer<PageSlot>) throws(KVCacheError) -> Void) throws(KVCacheError) {
        for s in 0..<streamCount {
            for p in 0..<pageCount { try body(s, p, slot(s, p)) }
        }
    }
}
