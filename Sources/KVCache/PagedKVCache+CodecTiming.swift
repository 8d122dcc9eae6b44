import Foundation

/// How fast `LZ4PageCodec` encodes and decodes real pages, each with its kind's filter and
/// checksum: the work a spilled page costs on the way to disk and back (`pipeline calibrate`).
public struct KVCodecTiming: Sendable, Equatable {
    public var pages = 0
    /// Uncompressed bytes of the pages timed, and what the codec stored for them.
    public var rawBytes = 0
    public var storedBytes = 0
    public var encodeSeconds = 0.0
    public var decodeSeconds = 0.0

    public init() {}

    /// MB/s of uncompressed bytes.
    public var encodeMBPerSecond: Double { encodeSeconds > 0 ? Double(rawBytes) / encodeSeconds / 1e6 : 0 }
    public var decodeMBPerSecond: Double { decodeSeconds > 0 ? Double(rawBytes) / decodeSeconds / 1e6 : 0 }

    public mutating func merge(_ other: KVCodecTiming) {
        pages += other.pages
        rawBytes += other.rawBytes
        storedBytes += other.storedBytes
        encodeSeconds += other.encodeSeconds
        decodeSeconds += other.decodeSeconds
    }
}

extension PagedKVCache {
    /// Encodes and decodes every sealed page in RAM `repetitions` times, as spilling does (filter,
    /// LZ4, checksum; decode verifies the checksum), timing each call. A page that does not decode
    /// back to itself is a codec bug, so it stops the process rather than skewing a measurement.
    public func timeCodec(repetitions: Int = 1) -> KVCodecTiming {
        var timing = KVCodecTiming()
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: KVPageKind.allCases.map(byteCount).max()!, alignment: 64)
        defer { scratch.deallocate() }
        try? table.forEach { _, _, slot in
            guard slot.pointee.sealed, let memory = slot.pointee.memory else { return }
            let n = byteCount(slot.pointee.kind), filter = LZ4PageCodec.filter(for: slot.pointee.kind)
            for _ in 0..<repetitions {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let (bytes, encoding, checksum) = codec.encode(memory, byteCount: n, filter: filter)
                let t1 = DispatchTime.now().uptimeNanoseconds
                let failure = codec.decode(bytes, encoding: encoding, into: scratch, byteCount: n, checksum: checksum)
                let t2 = DispatchTime.now().uptimeNanoseconds
                precondition(failure == nil, "LZ4 page codec round trip failed: \(failure!)")
                timing.pages += 1
                timing.rawBytes += n
                timing.storedBytes += bytes.count
                timing.encodeSeconds += Double(t1 - t0) / 1e9
                timing.decodeSeconds += Double(t2 - t1) / 1e9
            }
        }
        return timing
    }
}
