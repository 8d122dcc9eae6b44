import CKernels

/// The KV cache of one sequence in any `KVFormat`: 64-token pages per (layer, KV head), sealed when
/// full, optionally kept under a `KVMemoryBudget` by spilling sealed pages to a file.
///
/// Page lifecycle: `reserve` allocates pages in the format's write kind (f16 for f16 and int4,
/// int8 for int8; int8 quantizes each token as it is stored, per token per head). `commit` seals
/// the pages it completes; an int4 cache (KIVI) quantizes a page once it is full and all its tokens
/// are at least `int4WindowTokenCount` tokens old, so the newest ≥ 128 tokens stay f16 and per-channel
/// key statistics cover whole 32-token groups (half pages); the pages one commit quantizes share one allocation per
/// stream (`allocateRun`), in reading order. Sealed pages may leave RAM (`PagedKVCache+Residency.swift`)
/// and be saved as a document snapshot (`PagedKVCache+Snapshot.swift`).
///
/// Truncating into a sealed page reopens it; into an int4 page, expands it back to f16 (its tokens
/// keep the int4 values attention already saw; the page is quantized again when it is next old
/// enough). Pages of an int4 cache that a truncation brings back into the recent window stay int4.
public final class PagedKVCache: KVCache {
    public let geometry: KVGeometry
    public let format: KVFormat
    public let budget: KVMemoryBudget?
    public internal(set) var tokenCount = 0
    /// An int4 cache's recent window: pages whose tokens are all this much older than the newest
    /// token are quantized (KIVI's residual length R = 128).
    public static let int4WindowTokenCount = 128

    let table: PageTable
    /// Tokens `reserve` made room for.
    var reservedTokenCount = 0
    /// Pages `0..<sealedPageCount` of every stream are sealed.
    var sealedPageCount = 0
    /// Files holding page records (`PageRecord.file`): the spill file, opened snapshots.
    var files: [PageFile] = []
    var spillFileIndex: Int?
    /// Per layer: bytes of resident sealed pages (what eviction may free).
    var evictableByteCount: [Int]
    var stats = KVCacheStatistics()
    lazy var codec = LZ4PageCodec(maxPageByteCount: KVPageKind.allCases.map { $0.byteCount(headDim: geometry.headDim) }.max()!)
    /// Read buffer for stored records.
    var readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 64)
    /// Page runs (`allocateRun`): the run holding each of their pages, and per run its live pages
    /// and bytes. A run is freed, and uncharged, with its last page.
    private var runOfPage: [UnsafeMutableRawPointer: UnsafeMutableRawPointer] = [:]
    private var runs: [UnsafeMutableRawPointer: (livePages: Int, byteCount: Int)] = [:]

    /// Bytes of an int4 page holding its key minimums and scales: what the read-ahead requests first.
    private let int4KeyParameters: Range<Int>

    /// An empty cache. Throws when the format cannot hold the geometry's head dimension.
    public init(format: KVFormat, geometry: KVGeometry, budget: KVMemoryBudget? = nil) throws(KVCacheError) {
        let hd = geometry.headDim
        guard format.writeKind.byteCount(headDim: hd) > 0, format != .int4 || KVPageKind.int4.byteCount(headDim: hd) > 0 else {
            throw .unsupportedGeometry(format: format, headDim: hd)
        }
        self.format = format
        self.geometry = geometry
        self.budget = budget
        int4KeyParameters = KVPageKind.int4.keyParameterRange(headDim: hd)
        table = PageTable(streamCount: geometry.layerCount * geometry.kvHeadCount)
        evictableByteCount = Array(repeating: 0, count: geometry.layerCount)
        budget?.register(self)
    }

    deinit {
        try? table.forEach { _, _, slot in
            if let m = slot.pointee.memory, runOfPage[m] == nil { m.deallocate() }
        }
        for run in runs.keys { run.deallocate() }
        budget?.add(-stats.residentByteCount)
        budget?.unregister(ObjectIdentifier(self))
        readBuffer.deallocate()
    }

    public var statistics: KVCacheStatistics { stats }

    /// The spill file, when pages were written to one (removed with the cache).
    public var spillFilePath: String? { spillFileIndex.map { files[$0].path } }

    @inline(__always) func stream(_ layer: Int, _ head: Int) -> Int { layer * geometry.kvHeadCount + head }
    @inline(__always) func layer(ofStream s: Int) -> Int { s / geometry.kvHeadCount }
    func byteCount(_ kind: KVPageKind) -> Int { kind.byteCount(headDim: geometry.headDim) }

    // MARK: - KVCache

    public func reserve(tokenCount: Int) throws(KVCacheError) {
        let needed = pageCount(for: tokenCount)
        if needed > table.pageCount {
            try makeRoom(for: (needed - table.pageCount) * table.streamCount * byteCount(format.writeKind), nextLayer: 0)
            table.reserveCapacity(needed)
            for s in 0..<table.streamCount {
                for p in table.pageCount..<needed {
                    table.slot(s, p).initialize(to: PageSlot(memory: allocatePage(format.writeKind), kind: format.writeKind, sealed: false))
                }
            }
            table.pageCount = needed
        }
        reservedTokenCount = max(reservedTokenCount, tokenCount)
    }

    public func store(layer: Int, position: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>) {
        let hd = geometry.headDim, pt = geometry.pageTokenCount
        let pageIndex = position / pt, slotIndex = position % pt
        for h in 0..<geometry.kvHeadCount {
            let slot = table.slot(stream(layer, h), pageIndex)
            assert(!slot.pointee.sealed && slot.pointee.memory != nil, "store into a sealed or evicted page")
            let k = keys + h * hd, v = values + h * hd
            switch slot.pointee.kind {
            case .f16:
                let page = slot.pointee.memory!.assumingMemoryBound(to: UInt16.self)
                for d in 0..<hd { page[d * pt + slotIndex] = ck_f32_to_f16_1(k[d]) }
                ck_f32_to_f16(v, page + hd * pt + slotIndex * hd, Int64(hd))
            case .int8:
                ck_kv_store_i8(slot.pointee.memory!, Int32(hd), Int32(slotIndex), k, v)
            case .int4:
                preconditionFailure("int4 pages are only made by quantizing sealed f16 pages")
            }
        }
    }

    public func commit(tokenCount: Int) throws(KVCacheError) {
        precondition(tokenCount >= self.tokenCount && tokenCount <= reservedTokenCount, "commit beyond the reserved tokens")
        self.tokenCount = tokenCount
        let pt = geometry.pageTokenCount
        // Pages a commit seals: full ones, and for int4 only those out of the recent window.
        let sealable = format == .int4 ? max(0, tokenCount - Self.int4WindowTokenCount) / pt : tokenCount / pt
        if sealedPageCount < sealable {
            let pages = sealedPageCount..<sealable
            for s in 0..<table.streamCount {
                if format == .int4 { try quantize(s, pages) }
                for p in pages { seal(table.slot(s, p), layer: layer(ofStream: s)) }
            }
            sealedPageCount = sealable
        }
        try makeRoom(nextLayer: 0)
    }

    public func truncate(to newCount: Int) throws(KVCacheError) {
        precondition(newCount >= 0)
        guard newCount < reservedTokenCount else { return }
        let pt = geometry.pageTokenCount, keep = pageCount(for: newCount)
        for s in 0..<table.streamCount {
            for p in keep..<table.pageCount { release(table.slot(s, p), layer: layer(ofStream: s)) }
        }
        table.pageCount = keep
        if newCount % pt != 0 { // reopen the page the new end falls into
            let p = newCount / pt
            for s in 0..<table.streamCount {
                let slot = table.slot(s, p)
                if slot.pointee.memory == nil { try load(s, p) }
                if slot.pointee.sealed {
                    slot.pointee.sealed = false
                    evictableByteCount[layer(ofStream: s)] -= byteCount(slot.pointee.kind)
                }
                dropRecord(slot)
                if slot.pointee.kind == .int4 { try expandToF16(slot) }
            }
        }
        sealedPageCount = min(sealedPageCount, newCount / pt)
        tokenCount = min(tokenCount, newCount)
        reservedTokenCount = newCount
    }

    public func prefetch(layer: Int, pages: Range<Int>) throws(KVCacheError) {
        let range = pages.clamped(to: 0..<table.pageCount)
        for h in 0..<geometry.kvHeadCount {
            for p in range { try load(stream(layer, h), p, nextLayer: layer, protecting: layer) }
        }
        try makeRoom(nextLayer: layer, protecting: layer)
    }

    public func prefetch(layer: Int, kvHead: Int, pages: [Int]) throws(KVCacheError) {
        let s = stream(layer, kvHead)
        for p in pages {
            precondition(p >= 0 && p < table.pageCount, "page \(p) beyond the reserved pages")
            try load(s, p, nextLayer: layer, protecting: layer)
        }
        try makeRoom(nextLayer: layer, protecting: layer)
    }

    public func isResident(layer: Int, kvHead: Int, index: Int) -> Bool {
        precondition(index < table.pageCount, "page \(index) beyond the reserved pages")
        return table.slot(stream(layer, kvHead), index).pointee.memory != nil
    }

    /// Read-ahead: pages are mostly read in order, so asking for page p also requests the first
    /// 2 KiB of page p+1 into the CPU cache; the kernel reading page p overlaps the DRAM latency of
    /// the next one (measured: int4 decode 4.0–6.9 → 2.8–3.0 ms per step at depth 8000, 2 threads).
    /// Of an int4 page, the key minimums and scales first: the kernel needs them before any code
    /// (measured, one thread, 90 streams × 125 pages: 4.7–4.8 → 4.4–4.5 ms).
    public func page(layer: Int, kvHead: Int, index: Int) -> KVPage { page(layer: layer, kvHead: kvHead, index: index, readAhead: true) }

    public func page(layer: Int, kvHead: Int, index: Int, readAhead: Bool) -> KVPage {
        precondition(index < table.pageCount, "page \(index) beyond the reserved pages")
        let s = stream(layer, kvHead)
        let slot = table.slot(s, index).pointee
        guard let memory = slot.memory else { preconditionFailure("page \(index) of layer \(layer) is not resident: prefetch it first") }
        if readAhead, index + 1 < table.pageCount {
            let next = table.slot(s, index + 1).pointee
            if let m = next.memory {
                if next.kind == .int4 { ck_prefetch(m + int4KeyParameters.lowerBound, Int64(int4KeyParameters.count)) }
                ck_prefetch(m, 32 * 64)
            }
        }
        switch slot.kind {
        case .f16:
            let keys = UnsafePointer(memory.assumingMemoryBound(to: UInt16.self))
            return .f16(keys: keys, values: keys + geometry.headDim * geometry.pageTokenCount)
        case .int8: return .int8(UnsafeRawPointer(memory))
        case .int4: return .int4(UnsafeRawPointer(memory))
        }
    }

    // MARK: - Pages in RAM

    /// A zeroed page of `kind`, charged to the budget.
    func allocatePage(_ kind: KVPageKind) -> UnsafeMutableRawPointer {
        let n = byteCount(kind)
        let p = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: n)
        account(n)
        return p
    }

    /// `count` zeroed pages of `kind` in one allocation (`byteCount(kind)` apart, so 64-byte aligned
    /// when that is a multiple of 64), charged to the budget as a whole; `freePage` frees each page,
    /// the run goes (and is uncharged) with its last one. Pages of a stream read in order then lie
    /// in order in memory, and the hardware prefetcher streams from one into the next: int4 decode
    /// attention over 125 pages × 90 streams measured 4.5–4.8 ms (one thread) with each stream's
    /// pages contiguous against 6.1–6.6 ms scattered as single allocations.
    func allocateRun(_ kind: KVPageKind, count: Int) -> UnsafeMutableRawPointer {
        let n = byteCount(kind)
        guard count > 1 else { return allocatePage(kind) }
        precondition(n % 64 == 0, "pages of a run must stay 64-byte aligned")
        let run = UnsafeMutableRawPointer.allocate(byteCount: n * count, alignment: 64)
        run.initializeMemory(as: UInt8.self, repeating: 0, count: n * count)
        account(n * count)
        runs[run] = (count, n * count)
        for i in 0..<count { runOfPage[run + i * n] = run }
        return run
    }

    func freePage(_ memory: UnsafeMutableRawPointer, _ kind: KVPageKind) {
        guard let run = runOfPage.removeValue(forKey: memory) else {
            memory.deallocate()
            account(-byteCount(kind))
            return
        }
        let r = runs[run]!
        if r.livePages > 1 {
            runs[run] = (r.livePages - 1, r.byteCount)
        } else {
            runs[run] = nil
            run.deallocate()
            account(-r.byteCount)
        }
    }

    private func account(_ delta: Int) {
        stats.residentByteCount += delta
        stats.peakResidentByteCount = max(stats.peakResidentByteCount, stats.residentByteCount)
        budget?.add(delta)
    }

    func seal(_ slot: UnsafeMutablePointer<PageSlot>, layer: Int) {
        guard !slot.pointee.sealed else { return }
        slot.pointee.sealed = true
        if slot.pointee.memory != nil { evictableByteCount[layer] += byteCount(slot.pointee.kind) }
    }

    /// Frees a page and forgets its disk copy.
    private func release(_ slot: UnsafeMutablePointer<PageSlot>, layer: Int) {
        if let m = slot.pointee.memory {
            if slot.pointee.sealed { evictableByteCount[layer] -= byteCount(slot.pointee.kind) }
            freePage(m, slot.pointee.kind)
        }
        dropRecord(slot)
        slot.deinitialize(count: 1)
    }

    /// Forgets a page's disk copy (its content is about to change or go).
    func dropRecord(_ slot: UnsafeMutablePointer<PageSlot>) {
        guard let r = slot.pointee.record else { return }
        if r.file == spillFileIndex { stats.spilledByteCount -= r.storedByteCount }
        slot.pointee.record = nil
    }

    /// Replaces the full f16 pages among `pages` of stream `s` by their int4 quantizations, in one run.
    private func quantize(_ s: Int, _ pages: Range<Int>) throws(KVCacheError) {
        let f16Pages = pages.filter { table.slot(s, $0).pointee.kind == .f16 }
        guard !f16Pages.isEmpty else { return }
        for p in f16Pages where table.slot(s, p).pointee.memory == nil { try load(s, p) }
        let n = byteCount(.int4)
        try makeRoom(for: f16Pages.count * n, nextLayer: 0)
        let run = allocateRun(.int4, count: f16Pages.count)
        for (i, p) in f16Pages.enumerated() {
            let slot = table.slot(s, p), int4 = run + i * n
            ck_kv_quantize_i4(slot.pointee.memory!.assumingMemoryBound(to: UInt16.self), int4, Int32(geometry.headDim))
            freePage(slot.pointee.memory!, .f16)
            dropRecord(slot)
            slot.pointee.memory = int4
            slot.pointee.kind = .int4
        }
    }

    /// Replaces a resident int4 page by its f16 expansion.
    private func expandToF16(_ slot: UnsafeMutablePointer<PageSlot>) throws(KVCacheError) {
        try makeRoom(for: byteCount(.f16), nextLayer: 0)
        let f16 = allocatePage(.f16)
        ck_kv_dequantize_f16(Int32(KVPageKind.int4.rawValue), slot.pointee.memory!, Int32(geometry.headDim),
                             f16.assumingMemoryBound(to: UInt16.self))
        freePage(slot.pointee.memory!, .int4)
        slot.pointee.memory = f16
        slot.pointee.kind = .f16
    }
}
