import CKernels
import CLZ4
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Document snapshots: a cache's committed pages saved under a `KVSnapshotKey` and loaded back
/// bit-identical, so every prompt of a unit and later jobs on the same document skip the prefill.
///
/// File layout (little-endian):
///
///     0   magic "PLKVSNAP"                8   version u32 = 2       12  header bytes u32 (H)
///     16  format u8, 3 zero bytes          20  layers, KV heads, head dim, page tokens: u32 × 4
///     36  token count n u32                40  model digest u64       48  pages per stream P u32, 0 u32
///     56  token ids i32 × n
///         page directory, [layer][KV head][page] × P entries of 24 bytes:
///             kind u8, encoding u8 (LZ4PageCodec), 0 u16, stored bytes u32, offset u64, XXH64 of the raw page u64
///     H−8 XXH64 of bytes 0..<H−8
///     H   page records (LZ4PageCodec encodings)
///
/// Loading validates everything before the cache is used: magic, version, sizes, the header
/// checksum (a corrupt or truncated header), then every field of the key (a mismatched snapshot),
/// then every page record against the file size, its decoder and its checksum. Pages are read and
/// verified once at load; those beyond the memory budget are then dropped from RAM and read back
/// from the snapshot file on demand (still checksum-verified), never copied to a spill file.
extension PagedKVCache {
    static let snapshotMagic = Array("PLKVSNAP".utf8)
    /// 2 since int4 keys have a minimum and scale per half page (older snapshots are recomputed).
    static let snapshotVersion: UInt32 = 2
    static let snapshotEntryBytes = 24

    static func snapshotHeaderByteCount(tokenCount: Int, streams: Int, pagesPerStream: Int) -> Int {
        56 + 4 * tokenCount + snapshotEntryBytes * streams * pagesPerStream + 8
    }

    /// Writes the pages of the committed tokens to `path` atomically (a temporary file renamed over
    /// it). `key.tokens` are the committed tokens. Returns the file's size in bytes.
    @discardableResult
    public func writeSnapshot(to path: String, key: KVSnapshotKey) throws(KVCacheError) -> Int {
        precondition(key.tokens.count == tokenCount && key.format == format && key.geometry == geometry, "snapshot key of another cache")
        let pages = pageCount(for: tokenCount), streams = table.streamCount
        let headerBytes = Self.snapshotHeaderByteCount(tokenCount: tokenCount, streams: streams, pagesPerStream: pages)
        let temporary = "\(path).tmp-\(getpid())"
        let file = try PageFile.createRemovable(path: temporary) // removed unless renamed below
        var header = SnapshotHeaderWriter()
        header.bytes.append(contentsOf: Self.snapshotMagic)
        header.u32(Self.snapshotVersion); header.u32(UInt32(headerBytes))
        header.u32(UInt32(format.pageCode))
        for v in [geometry.layerCount, geometry.kvHeadCount, geometry.headDim, geometry.pageTokenCount, tokenCount] { header.u32(UInt32(v)) }
        header.u64(key.modelDigest); header.u32(UInt32(pages)); header.u32(0)
        for t in key.tokens { header.u32(UInt32(bitPattern: t)) }
        var offset = headerBytes
        for s in 0..<streams {
            for p in 0..<pages {
                let slot = table.slot(s, p).pointee, n = byteCount(slot.kind)
                let record: (bytes: UnsafeRawBufferPointer, encoding: LZ4PageCodec.Encoding, checksum: UInt64)
                if let memory = slot.memory {
                    record = codec.encode(memory, byteCount: n, filter: LZ4PageCodec.filter(for: slot.kind))
                } else {
                    let r = slot.record!
                    record = (try readRecord(r, from: files[r.file]), r.encoding, r.checksum)
                }
                try file.write(record.bytes, at: offset)
                header.bytes.append(slot.kind.rawValue); header.bytes.append(record.encoding.byte); header.bytes += [0, 0]
                header.u32(UInt32(record.bytes.count)); header.u64(UInt64(offset)); header.u64(record.checksum)
                offset += record.bytes.count
            }
        }
        header.u64(header.bytes.withUnsafeBytes { ck_xxh64($0.baseAddress, $0.count, 0) })
        assert(header.bytes.count == headerBytes)
        try file.write(header.bytes, at: 0)
        guard rename(temporary, path) == 0 else { throw .io(path: path, operation: "rename", code: errno) }
        file.keepOnClose()
        return offset
    }

    /// Loads the snapshot at `path` for `key`. Throws `corruptSnapshot` for a damaged or truncated
    /// file and `snapshotMismatch` for an intact one made for another key; never returns a cache
    /// built from bytes that did not verify.
    public convenience init(snapshotAt path: String, key: KVSnapshotKey, budget: KVMemoryBudget? = nil) throws(KVCacheError) {
        try self.init(format: key.format, geometry: key.geometry, budget: budget)
        let file = try PageFile.openForReading(path: path)
        func corrupt(_ reason: String) -> KVCacheError { .corruptSnapshot(path: path, reason: reason) }
        guard file.byteCount >= 64 else { throw corrupt("\(file.byteCount) bytes is shorter than a header") }
        let fixed = try file.readBytes(count: 56, at: 0)
        var r = SnapshotHeaderReader(bytes: fixed)
        guard Array(fixed[0..<8]) == Self.snapshotMagic else { throw corrupt("bad magic") }
        r.offset = 8
        guard r.u32() == Self.snapshotVersion else { throw corrupt("unknown version") }
        let headerBytes = Int(r.u32()), formatCode = UInt8(truncatingIfNeeded: r.u32())
        let shape = (0..<4).map { _ in Int(r.u32()) }, n = Int(r.u32()), digest = r.u64(), pages = Int(r.u32())
        let streams = shape[0] * shape[1]
        guard n < 1 << 24, streams < 1 << 16, pages == (n + 63) / 64,
              headerBytes == Self.snapshotHeaderByteCount(tokenCount: n, streams: streams, pagesPerStream: pages) else {
            throw corrupt("inconsistent header sizes")
        }
        guard headerBytes <= file.byteCount else { throw corrupt("truncated header") }
        let header = try file.readBytes(count: headerBytes, at: 0)
        r = SnapshotHeaderReader(bytes: header)
        r.offset = headerBytes - 8
        let stored = r.u64()
        guard header.withUnsafeBytes({ ck_xxh64($0.baseAddress, headerBytes - 8, 0) }) == stored else { throw corrupt("header checksum mismatch") }
        // An intact header: compare the key.
        let expectedShape = [geometry.layerCount, geometry.kvHeadCount, geometry.headDim, geometry.pageTokenCount]
        guard formatCode == format.pageCode else { throw .snapshotMismatch(path: path, field: "KV format") }
        guard shape == expectedShape else { throw .snapshotMismatch(path: path, field: "KV geometry") }
        guard digest == key.modelDigest else { throw .snapshotMismatch(path: path, field: "model") }
        r.offset = 56
        guard n == key.tokens.count, key.tokens.allSatisfy({ $0 == Int32(bitPattern: r.u32()) }) else {
            throw .snapshotMismatch(path: path, field: "tokens")
        }
        // Pages: check the whole directory, then read and verify every page.
        let fileIndex = files.count
        r.offset = 56 + 4 * n
        var slots: [PageSlot] = []
        slots.reserveCapacity(streams * pages)
        var int4Pages: Int?
        for s in 0..<streams {
            var leadingInt4 = 0
            for p in 0..<pages {
                let kindByte = r.u8(), encodingByte = r.u8()
                r.offset += 2
                let storedBytes = Int(r.u32()), offset = Int(r.u64()), checksum = r.u64()
                guard let kind = KVPageKind(rawValue: kindByte), kind == format.writeKind || (format == .int4 && kind == .int4),
                      let encoding = LZ4PageCodec.Encoding(byte: encodingByte) else { throw corrupt("bad page entry \(s)/\(p)") }
                guard offset >= headerBytes, storedBytes <= Int(LZ4_compressBound(Int32(byteCount(kind)))),
                      offset + storedBytes <= file.byteCount else { throw corrupt("page \(s)/\(p) lies outside the file") }
                if kind == .int4 {
                    guard leadingInt4 == p, p < n / 64 else { throw corrupt("int4 page \(s)/\(p) out of place") }
                    leadingInt4 += 1
                }
                let record = PageRecord(file: fileIndex, offset: offset, storedByteCount: storedBytes, encoding: encoding, checksum: checksum)
                slots.append(PageSlot(memory: nil, kind: kind, sealed: false, record: record))
            }
            guard int4Pages == nil || int4Pages == leadingInt4 else { throw corrupt("int4 page counts differ between heads") }
            int4Pages = leadingInt4
        }
        // Seal as `commit` would have; unsealed pages (they may still change) forget the snapshot copy once read.
        let sealed = format == .int4 ? int4Pages ?? 0 : n / 64
        files.append(file)
        table.reserveCapacity(pages)
        for s in 0..<streams {
            for p in 0..<pages {
                var slot = slots[s * pages + p]
                slot.sealed = p < sealed
                table.slot(s, p).initialize(to: slot)
            }
        }
        table.pageCount = pages
        sealedPageCount = sealed
        tokenCount = n
        reservedTokenCount = n
        for s in 0..<streams {
            for p in 0..<pages {
                do { try load(s, p) } catch { throw corrupt("\(error)") }
                if p >= sealed { table.slot(s, p).pointee.record = nil }
            }
            try makeRoom(nextLayer: 0)
        }
    }
}

/// Little-endian header bytes.
struct SnapshotHeaderWriter {
    var bytes: [UInt8] = []
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
}

struct SnapshotHeaderReader {
    let bytes: [UInt8]
    var offset = 0
    mutating func u8() -> UInt8 { defer { offset += 1 }; return bytes[offset] }
    mutating func u32() -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(u8()) << (8 * $1) } }
    mutating func u64() -> UInt64 { UInt64(u32()) | UInt64(u32()) << 32 }
}
