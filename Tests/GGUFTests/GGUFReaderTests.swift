import Foundation
import GGUF
import Testing
import TestSupport

/// Round trips through `GGUFWriter` and adversarial files crafted byte by byte. Every bad file
/// must fail with its specific `GGUFError`, never crash or read out of bounds.
@Suite struct GGUFReaderTests {
    static let allValues: [(String, GGUFValue)] = [
        ("general.architecture", .string("llama")),
        ("t.u8", .uint8(200)), ("t.i8", .int8(-100)), ("t.u16", .uint16(60000)), ("t.i16", .int16(-30000)),
        ("t.u32", .uint32(4_000_000_000)), ("t.i32", .int32(-2_000_000_000)),
        ("t.u64", .uint64(1 << 60)), ("t.i64", .int64(-(1 << 60))),
        ("t.f32", .float32(3.5)), ("t.f64", .float64(-2.25)), ("t.bool", .bool(true)),
        ("t.utf8", .string("héllo 中文 🙂")), ("t.empty", .string("")),
        ("t.a.u8", .array(.uint8([1, 2, 3]))), ("t.a.i8", .array(.int8([-1, 0, 1]))),
        ("t.a.u16", .array(.uint16([7]))), ("t.a.i16", .array(.int16([-7, 7]))),
        ("t.a.u32", .array(.uint32([1, 2]))), ("t.a.i32", .array(.int32([-5, 5]))),
        ("t.a.u64", .array(.uint64([9]))), ("t.a.i64", .array(.int64([-9]))),
        ("t.a.f32", .array(.float32([0.5, -1.5]))), ("t.a.f64", .array(.float64([1e300]))),
        ("t.a.bool", .array(.bool([true, false]))), ("t.a.str", .array(.string(["a", "", "ü"]))),
        ("t.a.nested", .array(.array([.int32([1, 2]), .string(["x"])]))), ("t.a.empty", .array(.float32([]))),
    ]

    func open(_ bytes: [UInt8]) throws -> GGUFFile {
        let dir = TemporaryDirectory()
        return try GGUFFile(path: dir.write("m.gguf", bytes))
    }

    func expect(_ error: GGUFError, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: error, sourceLocation: sourceLocation) { _ = try open(bytes) }
    }

    func sampleWriter(version: UInt32 = 3) -> GGUFWriter {
        var w = GGUFWriter(version: version)
        for (k, v) in Self.allValues { w.set(k, v) }
        w.addF32("a", dims: [4, 2], values: (0..<8).map(Float.init))
        w.add(.init(name: "b", type: .q8_0, dims: [32, 1], data: [UInt8](repeating: 1, count: 34)))
        w.addF32("c", dims: [3], values: [1, 2, 3])
        return w
    }

    @Test(arguments: [UInt32(2), 3])
    func roundTripsEveryValueType(version: UInt32) throws {
        let f = try open(sampleWriter(version: version).bytes())
        #expect(f.version == version)
        #expect(f.keys == Self.allValues.map(\.0))
        for (k, v) in Self.allValues { #expect(f.value(k) == v, "\(k)") }
        #expect(f.tensors.map(\.name) == ["a", "b", "c"])
        let a = try #require(f.tensor(named: "a"))
        #expect(a.dims == [4, 2] && a.type == .f32 && a.rowCount == 2 && a.byteCount == 32)
        let floats = f.data(for: a).bindMemory(to: Float.self)
        #expect(Array(floats) == (0..<8).map(Float.init))
        #expect(f.tensor(named: "b")?.byteCount == 34)
        #expect(f.dataOffset % 32 == 0)
        for t in f.tensors { #expect(Int(t.offset) % f.alignment == 0) }
    }

    @Test func honoursGeneralAlignment() throws {
        var w = sampleWriter()
        w.set("general.alignment", .uint32(64))
        let f = try open(w.bytes())
        #expect(f.alignment == 64 && f.dataOffset % 64 == 0)
        for t in f.tensors { #expect(t.offset % 64 == 0) }
        #expect(Array(f.data(for: f.tensor(named: "c")!).bindMemory(to: Float.self)) == [1, 2, 3])
    }

    @Test func typedAccessorsReportWrongTypes() throws {
        let f = try open(sampleWriter().bytes())
        #expect(try f.int("t.u32") == 4_000_000_000)
        #expect(try f.double("t.f32") == 3.5)
        #expect(try f.string("general.architecture") == "llama")
        #expect(try f.int("missing") == nil)
        #expect(throws: GGUFError.missingKey("missing")) { try f.requireInt("missing") }
        #expect(throws: GGUFError.wrongValueType(key: "t.utf8", expected: "integer", found: "string")) { try f.int("t.utf8") }
        #expect(try f.array("t.a.str")?.strings == ["a", "", "ü"])
        #expect(try f.array("t.a.i16")?.ints == [-7, 7])
    }

    /// Every strict prefix of a valid file is rejected with an error (truncation), never a crash.
    @Test func everyTruncationFailsCleanly() throws {
        let full = sampleWriter().bytes()
        let dir = TemporaryDirectory()
        let path = dir.file("t.gguf")
        for n in stride(from: 0, to: full.count, by: 1) {
            FileManager.default.createFile(atPath: path, contents: Data(full[0..<n]))
            do {
                _ = try GGUFFile(path: path)
                Issue.record("prefix of \(n) bytes opened")
            } catch {
                switch error {
                case .truncated, .countTooLarge, .tensorOutOfBounds: break
                default: Issue.record("prefix of \(n) bytes: unexpected \(error)")
                }
            }
        }
    }

    // MARK: - Hand-crafted hostile files

    /// Builds a header by hand so that fields can hold values the writer would never produce.
    struct Raw {
        var b: [UInt8] = []
        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        mutating func str(_ s: String) { u64(UInt64(s.utf8.count)); b += Array(s.utf8) }
        mutating func header(version: UInt32 = 3, tensors: UInt64, kvs: UInt64) {
            u32(GGUFFile.magic); u32(version); u64(tensors); u64(kvs)
        }
        mutating func tensorInfo(_ name: String, dims: [UInt64], type: UInt32, offset: UInt64) {
            str(name); u32(UInt32(dims.count)); dims.forEach { u64($0) }; u32(type); u64(offset)
        }
        /// Pads to 32 and appends `count` data bytes.
        mutating func data(_ count: Int) {
            b += [UInt8](repeating: 0, count: (32 - b.count % 32) % 32 + count)
        }
    }

    @Test func rejectsBadMagicAndVersions() {
        var r = Raw(); r.u32(0x1234_5678); r.u32(3); r.u64(0); r.u64(0)
        expect(.badMagic(found: 0x1234_5678), r.b)
        for v: UInt32 in [1, 4, 0x0300_0000] {
            var r = Raw(); r.header(version: v, tensors: 0, kvs: 0)
            expect(.unsupportedVersion(v), r.b)
        }
    }

    @Test func rejectsImplausibleCounts() {
        var r = Raw(); r.header(tensors: 0, kvs: 1 << 40)
        expect(.countTooLarge(what: "metadata", count: 1 << 40), r.b)
        r = Raw(); r.header(tensors: UInt64.max, kvs: 0)
        expect(.countTooLarge(what: "tensor", count: UInt64.max), r.b)
        // An array claiming 2^62 elements in a tiny file.
        r = Raw(); r.header(tensors: 0, kvs: 1); r.str("k"); r.u32(9); r.u32(4); r.u64(1 << 62)
        expect(.countTooLarge(what: "elements of k", count: 1 << 62), r.b)
        // A string claiming more bytes than remain.
        r = Raw(); r.header(tensors: 0, kvs: 1); r.str("k"); r.u32(8); r.u64(1000); r.b += [65, 66]
        expect(.truncated(what: "k", offset: r.b.count - 2, byteCount: 1000), r.b)
    }

    @Test func rejectsDuplicateKeysAndUnknownTypes() {
        var r = Raw(); r.header(tensors: 0, kvs: 2)
        r.str("k"); r.u32(4); r.u32(1); r.str("k"); r.u32(4); r.u32(2)
        expect(.duplicateKey("k"), r.b)
        r = Raw(); r.header(tensors: 0, kvs: 1); r.str("k"); r.u32(13); r.u32(0)
        expect(.unknownValueType(key: "k", rawValue: 13), r.b)
        r = Raw(); r.header(tensors: 0, kvs: 1); r.str("k"); r.u32(9); r.u32(99); r.u64(0)
        expect(.unknownValueType(key: "k", rawValue: 99), r.b)
    }

    @Test func rejectsInvalidUTF8() {
        var r = Raw(); r.header(tensors: 0, kvs: 1); r.str("k"); r.u32(8); r.u64(2); r.b += [0xC3, 0x28]
        expect(.invalidUTF8(what: "k", offset: 24 + 9 + 4), r.b) // header, key "k", type: the string starts there
    }

    @Test func rejectsBadAlignment() {
        var r = Raw(); r.header(tensors: 0, kvs: 1); r.str("general.alignment"); r.u32(4); r.u32(24)
        expect(.badAlignment(24), r.b)
        r = Raw(); r.header(tensors: 0, kvs: 1); r.str("general.alignment"); r.u32(6); r.u32(0)
        expect(.wrongValueType(key: "general.alignment", expected: "uint32", found: "float32"), r.b)
    }

    @Test func rejectsBadTensorInfos() {
        var r = Raw(); r.header(tensors: 2, kvs: 0)
        r.tensorInfo("w", dims: [4], type: 0, offset: 0); r.tensorInfo("w", dims: [4], type: 0, offset: 32); r.data(64)
        expect(.duplicateTensor("w"), r.b)

        r = Raw(); r.header(tensors: 1, kvs: 0); r.tensorInfo("w", dims: [1, 1, 1, 1, 1], type: 0, offset: 0); r.data(4)
        expect(.badDimensions(tensor: "w", dimensions: [0, 0, 0, 0, 0]), r.b)

        r = Raw(); r.header(tensors: 1, kvs: 0); r.tensorInfo("w", dims: [4, 0], type: 0, offset: 0); r.data(16)
        expect(.badDimensions(tensor: "w", dimensions: [4, 0]), r.b)

        r = Raw(); r.header(tensors: 1, kvs: 0); r.tensorInfo("w", dims: [1 << 40, 1 << 40], type: 0, offset: 0); r.data(16)
        expect(.badDimensions(tensor: "w", dimensions: [1 << 40, 1 << 40]), r.b)

        r = Raw(); r.header(tensors: 1, kvs: 0); r.tensorInfo("blk.0.w", dims: [32], type: 10, offset: 0); r.data(64)
        expect(.unsupportedTensorType(tensor: "blk.0.w", type: "Q2_K"), r.b)

        r = Raw(); r.header(tensors: 1, kvs: 0); r.tensorInfo("w", dims: [32], type: 77, offset: 0); r.data(64)
        expect(.unsupportedTensorType(tensor: "w", type: "unknown type 77"), r.b)

        r = Raw(); r.header(tensors: 1, kvs: 0); r.tensorInfo("w", dims: [33], type: 8, offset: 0); r.data(64)
        expect(.rowNotBlockAligned(tensor: "w", rowLength: 33, blockSize: 32), r.b)

        r = Raw(); r.header(tensors: 1, kvs: 0); r.tensorInfo("w", dims: [4], type: 0, offset: 8); r.data(64)
        expect(.tensorMisaligned(tensor: "w", offset: 8, alignment: 32), r.b)

        r = Raw(); r.header(tensors: 1, kvs: 0); r.tensorInfo("w", dims: [64], type: 0, offset: 0); r.data(100)
        expect(.tensorOutOfBounds(tensor: "w", offset: 0, byteCount: 256, dataByteCount: 100), r.b)

        r = Raw(); r.header(tensors: 1, kvs: 0); r.tensorInfo("w", dims: [4], type: 0, offset: UInt64.max - 31); r.data(16)
        expect(.tensorOutOfBounds(tensor: "w", offset: UInt64.max - 31, byteCount: 16, dataByteCount: 16), r.b)

        r = Raw(); r.header(tensors: 2, kvs: 0)
        r.tensorInfo("a", dims: [16], type: 0, offset: 0); r.tensorInfo("b", dims: [4], type: 0, offset: 32); r.data(96)
        expect(.tensorsOverlap("a", "b"), r.b)
    }

    @Test func rejectsMissingFilesAndFolders() {
        #expect(throws: GGUFError.self) { _ = try GGUFFile(path: "/nonexistent/model.gguf") }
        let dir = TemporaryDirectory()
        #expect(throws: GGUFError.cannotOpen(path: dir.path, reason: "not a regular file")) { _ = try GGUFFile(path: dir.path) }
        #expect(throws: GGUFError.truncated(what: "GGUF header", offset: 0, byteCount: 24)) {
            _ = try GGUFFile(path: dir.write("empty.gguf", []))
        }
    }
}
