import CKernels
import CLZ4

/// The on-disk encoding of a sealed page (spill files and snapshots): an optional shuffle filter,
/// then LZ4 (the system liblz4, `LZ4_compress_default`), stored raw whenever LZ4 does not shrink
/// the page; an XXH64 checksum of the page's raw bytes is verified after every decode, so a page
/// read back is bit-identical to the page written or it is rejected.
///
/// KV is close to incompressible without loss (measured per format in
/// docs/kv-cache.md): quantization is the compression, LZ4 adds a few percent at best. The filter
/// per page kind is the one that measured best on real documents (`filter(for:)`).
@_spi(Evaluation) public final class LZ4PageCodec {
    /// A filter applied before LZ4.
    public enum Filter: UInt8, CaseIterable, Sendable {
        case none = 0
        /// Byte shuffle of 2-byte elements: the high (sign/exponent) bytes of f16 values together.
        case byteShuffle2 = 1
        /// Zigzag + bit-plane shuffle of bytes: the high planes of small signed int8 codes are zero.
        case bitShuffle = 2
    }

    /// How a stored page was encoded: one byte (filter, bit 7 = LZ4-compressed).
    struct Encoding: Equatable {
        var filter: Filter
        var compressed: Bool
        var byte: UInt8 { filter.rawValue | (compressed ? 0x80 : 0) }
        init(filter: Filter, compressed: Bool) { self.filter = filter; self.compressed = compressed }
        init?(byte: UInt8) {
            guard let f = Filter(rawValue: byte & 0x7f) else { return nil }
            filter = f
            compressed = byte & 0x80 != 0
        }
    }

    /// The filter for each page kind, from the measurements in docs/kv-cache.md: bit shuffle only
    /// helps int8 codes (keys: ~1.1×); f16 planes and int4 nibbles gain nothing from either filter.
    static func filter(for kind: KVPageKind) -> Filter { kind == .int8 ? .bitShuffle : .none }

    private let capacity: Int
    private let filtered: UnsafeMutableRawPointer
    private let compressed: UnsafeMutableRawPointer
    private let compressedCapacity: Int32

    /// A codec for pages of at most `maxPageByteCount` bytes. Not for concurrent use.
    init(maxPageByteCount: Int) {
        capacity = maxPageByteCount
        compressedCapacity = LZ4_compressBound(Int32(maxPageByteCount))
        filtered = .allocate(byteCount: maxPageByteCount, alignment: 64)
        compressed = .allocate(byteCount: Int(compressedCapacity), alignment: 64)
    }

    deinit {
        filtered.deallocate()
        compressed.deallocate()
    }

    static func checksum(_ page: UnsafeRawPointer, byteCount: Int) -> UInt64 { ck_xxh64(page, byteCount, 0) }

    /// Encodes a page; the returned bytes stay valid until the next call.
    func encode(_ page: UnsafeRawPointer, byteCount: Int, filter: Filter) -> (bytes: UnsafeRawBufferPointer, encoding: Encoding, checksum: UInt64) {
        precondition(byteCount <= capacity)
        let sum = Self.checksum(page, byteCount: byteCount)
        let source = apply(filter, to: page, byteCount: byteCount)
        let n = LZ4_compress_default(source.assumingMemoryBound(to: CChar.self), compressed.assumingMemoryBound(to: CChar.self),
                                     Int32(byteCount), compressedCapacity)
        if n > 0 && Int(n) < byteCount {
            return (UnsafeRawBufferPointer(start: compressed, count: Int(n)), Encoding(filter: filter, compressed: true), sum)
        }
        return (UnsafeRawBufferPointer(start: page, count: byteCount), Encoding(filter: .none, compressed: false), sum)
    }

    /// LZ4-compressed size of a page under `filter` (the page itself when LZ4 does not shrink it).
    func storedByteCount(_ page: UnsafeRawPointer, byteCount: Int, filter: Filter) -> Int {
        encode(page, byteCount: byteCount, filter: filter).bytes.count
    }

    /// Decodes stored bytes into `page` (`byteCount` bytes); returns why it failed, or nil when
    /// the page decoded and matched its checksum.
    func decode(_ stored: UnsafeRawBufferPointer, encoding: Encoding, into page: UnsafeMutableRawPointer, byteCount: Int,
                checksum: UInt64) -> String? {
        precondition(byteCount <= capacity)
        guard let base = stored.baseAddress else { return "empty record" }
        let target = encoding.filter == .none ? page : filtered
        if encoding.compressed {
            let n = LZ4_decompress_safe(base.assumingMemoryBound(to: CChar.self), target.assumingMemoryBound(to: CChar.self),
                                        Int32(stored.count), Int32(byteCount))
            guard n == Int32(byteCount) else { return "LZ4 data does not decode to \(byteCount) bytes" }
        } else {
            guard stored.count == byteCount else { return "raw record of \(stored.count) bytes, expected \(byteCount)" }
            target.copyMemory(from: base, byteCount: byteCount)
        }
        let out = page.assumingMemoryBound(to: UInt8.self), src = filtered.assumingMemoryBound(to: UInt8.self)
        switch encoding.filter {
        case .none: break
        case .byteShuffle2: ck_byte_unshuffle(src, out, byteCount, 2)
        case .bitShuffle: ck_bit_unshuffle(src, out, byteCount)
        }
        return Self.checksum(page, byteCount: byteCount) == checksum ? nil : "checksum mismatch"
    }

    private func apply(_ filter: Filter, to page: UnsafeRawPointer, byteCount: Int) -> UnsafeRawPointer {
        let src = page.assumingMemoryBound(to: UInt8.self), dst = filtered.assumingMemoryBound(to: UInt8.self)
        switch filter {
        case .none: return page
        case .byteShuffle2: ck_byte_shuffle(src, dst, byteCount, 2)
        case .bitShuffle: ck_bit_shuffle(src, dst, byteCount)
        }
        return UnsafeRawPointer(filtered)
    }
}
