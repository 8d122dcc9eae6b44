// What the LZ4 compression survey (Evaluation's KVCompressionSurvey) reads of a cache: its sealed
// pages in RAM and what the cache's own codec would store of them. SPI: measurement only.

extension PagedKVCache {
    /// Calls `body` with the kind, bytes and byte count of every sealed page in RAM.
    @_spi(Evaluation) public func forEachResidentSealedPage(_ body: (KVPageKind, UnsafeRawPointer, Int) -> Void) {
        try? table.forEach { _, _, slot in
            guard slot.pointee.sealed, let memory = slot.pointee.memory else { return }
            body(slot.pointee.kind, UnsafeRawPointer(memory), byteCount(slot.pointee.kind))
        }
    }

    /// The bytes LZ4 would store of `byteCount` bytes at `page` under `filter` (the raw size when
    /// LZ4 cannot shrink them, as the codec stores them).
    @_spi(Evaluation) public func storedByteCount(_ page: UnsafeRawPointer, byteCount: Int, filter: LZ4PageCodec.Filter) -> Int {
        codec.storedByteCount(page, byteCount: byteCount, filter: filter)
    }
}
