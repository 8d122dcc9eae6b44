/// Keeping a cache's resident pages under its `KVMemoryBudget`: eviction of sealed pages to the
/// cache's spill file (LZ4PageCodec records, XXH64-checked) and reading them back on `prefetch`.
///
/// Eviction order. A forward pass visits layers cyclically (0, 1, …, L−1, then 0 again at the next
/// step), and dense attention reads every page of the layer it visits. Least-recently-used would
/// evict exactly the pages needed soonest (the classic failure of LRU on cyclic scans); Belady's
/// rule — evict what is needed farthest in the future — picks the layer visited just before the
/// current one. So with the next layer to run being `l`, victims come from layers l−1, l−2, …, l+1
/// (cyclically), never from a protected layer being read; within a layer, the oldest pages first.
/// In steady-state decode this reads back only the part of the KV that does not fit. Across the
/// caches of one budget, the least recently used cache gives up its pages first (`KVMemoryBudget`).
extension PagedKVCache {
    /// Evicts sealed pages of the budget's caches, least recently used cache first, until the
    /// budget's total plus `bytes` about to be allocated is within its limit (or nothing is
    /// evictable): room is made before pages are allocated, so the limit holds at every moment down
    /// to the floor of pages that cannot be evicted. `nextLayer` and `protected` are this cache's
    /// position in its forward pass; a batch runs all its caches at the same layer.
    func makeRoom(for bytes: Int = 0, nextLayer: Int, protecting protected: Int? = nil) throws(KVCacheError) {
        guard let budget else { return }
        budget.touch(self)
        guard budget.isOverLimit(adding: bytes) else { return }
        for cache in budget.evictionCandidates() {
            try cache.evictOwnPages(adding: bytes, nextLayer: nextLayer, protecting: protected, budget: budget)
            if !budget.isOverLimit(adding: bytes) { return }
        }
    }

    /// Evicts this cache's sealed pages in the Belady layer order until `budget` has room for `bytes`.
    private func evictOwnPages(adding bytes: Int, nextLayer: Int, protecting protected: Int?, budget: KVMemoryBudget) throws(KVCacheError) {
        let layers = geometry.layerCount
        for k in 1...layers {
            let l = ((nextLayer - k) % layers + layers) % layers
            guard l != protected, evictableByteCount[l] > 0 else { continue }
            for p in 0..<table.pageCount {
                for h in 0..<geometry.kvHeadCount {
                    let slot = table.slot(stream(l, h), p)
                    guard slot.pointee.sealed, slot.pointee.memory != nil else { continue }
                    try evict(slot, layer: l)
                    if !budget.isOverLimit(adding: bytes) { return }
                }
            }
        }
    }

    /// Writes a sealed page to the spill file unless it has a disk copy already, then frees it.
    func evict(_ slot: UnsafeMutablePointer<PageSlot>, layer: Int) throws(KVCacheError) {
        guard let memory = slot.pointee.memory else { return }
        let kind = slot.pointee.kind, n = byteCount(kind)
        if slot.pointee.record == nil {
            let file = try spillFile()
            let encoded = codec.encode(memory, byteCount: n, filter: LZ4PageCodec.filter(for: kind))
            let offset = try files[file].append(encoded.bytes)
            slot.pointee.record = PageRecord(file: file, offset: offset, storedByteCount: encoded.bytes.count,
                                             encoding: encoded.encoding, checksum: encoded.checksum)
            stats.pageWrites += 1
            stats.rawBytesWritten += n
            stats.storedBytesWritten += encoded.bytes.count
            stats.spilledByteCount += encoded.bytes.count
        }
        evictableByteCount[layer] -= n
        freePage(memory, kind)
        slot.pointee.memory = nil
    }

    /// Reads page `p` of stream `s` back from its record (making room for it first, as `makeRoom`);
    /// a page that fails to decode or to match its checksum throws and stays on disk only.
    func load(_ s: Int, _ p: Int, nextLayer: Int = 0, protecting protected: Int? = nil) throws(KVCacheError) {
        let slot = table.slot(s, p)
        guard slot.pointee.memory == nil else { return }
        guard let record = slot.pointee.record else { preconditionFailure("a page is neither in RAM nor on disk") }
        let file = files[record.file], kind = slot.pointee.kind, n = byteCount(kind)
        try makeRoom(for: n, nextLayer: nextLayer, protecting: protected)
        let stored = try readRecord(record, from: file)
        let memory = allocatePage(kind)
        if let reason = codec.decode(stored, encoding: record.encoding, into: memory, byteCount: n, checksum: record.checksum) {
            freePage(memory, kind)
            throw .corruptPage(path: file.path, layer: layer(ofStream: s), kvHead: s % geometry.kvHeadCount, page: p, reason: reason)
        }
        slot.pointee.memory = memory
        if slot.pointee.sealed { evictableByteCount[layer(ofStream: s)] += n }
        stats.pageReads += 1
        stats.storedBytesRead += record.storedByteCount
    }

    /// The stored bytes of a record, in the cache's read buffer (valid until the next read).
    func readRecord(_ record: PageRecord, from file: PageFile) throws(KVCacheError) -> UnsafeRawBufferPointer {
        if readBuffer.count < record.storedByteCount {
            readBuffer.deallocate()
            readBuffer = .allocate(byteCount: max(record.storedByteCount, 2 * readBuffer.count), alignment: 64)
        }
        try file.read(into: readBuffer.baseAddress!, count: record.storedByteCount, at: record.offset)
        return UnsafeRawBufferPointer(rebasing: readBuffer[0..<record.storedByteCount])
    }

    /// Index of the spill file in `files`, created on first use.
    private func spillFile() throws(KVCacheError) -> Int {
        if let spillFileIndex { return spillFileIndex }
        guard let budget else { preconditionFailure("eviction without a budget") }
        files.append(try PageFile.createRemovable(path: try budget.makeSpillPath()))
        spillFileIndex = files.count - 1
        return files.count - 1
    }
}
