/// A little-endian cursor over a byte buffer in which every read is bounds-checked first and
/// fails with a `GGUFError` naming what was being read.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func need(_ count: Int, _ what: @autoclosure () -> String) throws(GGUFError) {
        guard count >= 0, count <= remaining else { throw .truncated(what: what(), offset: offset, byteCount: count) }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(GGUFError) -> T {
        try need(MemoryLayout<T>.size, what())
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func readFloat(_ what: @autoclosure () -> String) throws(GGUFError) -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    mutating func readDouble(_ what: @autoclosure () -> String) throws(GGUFError) -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// A GGUF string: u64 byte count, then that many UTF-8 bytes (no terminator).
    mutating func readString(_ what: @autoclosure () -> String) throws(GGUFError) -> String {
        let start = offset
        let count = try read(UInt64.self, what())
        guard count <= UInt64(remaining) else { throw .truncated(what: what(), offset: offset, byteCount: Int(clamping: count)) }
        let n = Int(count)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])
        guard let s = String(validating: slice.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw .invalidUTF8(what: what(), offset: start)
        }
        offset += n
        return s
    }

    /// Reads `count` fixed-width values in one copy after checking they all fit.
    mutating func readArray<T: FixedWidthInteger>(_: T.Type, count: Int, _ what: @autoclosure () -> String) throws(GGUFError) -> [T] {
        let (bytesNeeded, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.size)
        guard !overflow else { throw .countTooLarge(what: what(), count: UInt64(count)) }
        try need(bytesNeeded, what())
        let base = bytes.baseAddress! + offset
        let result = [T](unsafeUninitializedCapacity: count) { buf, initialized in
            memcpyBytes(buf.baseAddress!, base, bytesNeeded)
            initialized = count
        }
        offset += bytesNeeded
        return result.map { T(littleEndian: $0) }
    }

    mutating func skip(to newOffset: Int, _ what: @autoclosure () -> String) throws(GGUFError) {
        guard newOffset >= offset, newOffset <= bytes.count else {
            throw .truncated(what: what(), offset: offset, byteCount: newOffset - offset)
        }
        offset = newOffset
    }
}

@inline(__always)
private func memcpyBytes(_ dst: UnsafeMutableRawPointer, _ src: UnsafeRawPointer, _ n: Int) {
    dst.copyMemory(from: src, byteCount: n)
}
