import CKernels
import Foundation
import Testing
import TestSupport

/// The int8 / int4 KV page kernels (ck_kv.h) on every ISA path: quantization error within each
/// format's bound, decode attention against double-precision softmax over the dequantized page,
/// prefill tiles with their causal mask, and the f16 expansion identical on every path. Nested in
/// AttentionKernelTests so its `.serialized` trait covers both (the ISA level a test forces is
/// per thread, `ck_set_isa`).
extension AttentionKernelTests { @Suite struct QuantizedPages {
    static let (F16, I8, I4) = (Int32(CK_KV_F16), Int32(CK_KV_I8), Int32(CK_KV_I4))
    static let levels = Array(Int32(0)...ck_isa_supported())

    /// A page of `n` random tokens (keys with per-channel magnitudes, as real keys have) in `kind`,
    /// with the original values and the page's own dequantization.
    struct QuantizedPage {
        let kind: Int32
        var bytes: [UInt8]
        var keys: [[Float]] = []    // original, per token
        var values: [[Float]] = []
        var dequantizedKeys: [[Float]] = []
        var dequantizedValues: [[Float]] = []

        init(kind: Int32, tokens n: Int, hd: Int, rng: inout SeededRandom) {
            self.kind = kind
            bytes = [UInt8](repeating: 0, count: ck_kv_page_bytes(kind, Int32(hd)))
            let channelScale: [Float] = (0..<hd).map { d in d % 7 == 0 ? 4 : 0.5 + Float(d % 5) * 0.3 }
            var f16Page = [UInt16](repeating: 0, count: 128 * hd)
            for j in 0..<64 {
                let k: [Float] = zip(rng.normals(hd), channelScale).map { $0 * $1 + 0.3 }
                let v = rng.normals(hd)
                if j < n { keys.append(k); values.append(v) }
                if kind == QuantizedPages.I8 {
                    ck_kv_store_i8(&bytes, Int32(hd), Int32(j), k, v)
                } else {
                    for d in 0..<hd { f16Page[d * 64 + j] = ck_f32_to_f16_1(k[d]); f16Page[64 * hd + j * hd + d] = ck_f32_to_f16_1(v[d]) }
                }
            }
            if kind == QuantizedPages.I4 { ck_kv_quantize_i4(f16Page, &bytes, Int32(hd)) }
            var dk = [Float](repeating: 0, count: n * hd), dv = dk
            ck_kv_dequantize_f32(kind, bytes, Int32(hd), Int32(n), &dk, &dv)
            dequantizedKeys = (0..<n).map { Array(dk[$0 * hd..<($0 + 1) * hd]) }
            dequantizedValues = (0..<n).map { Array(dv[$0 * hd..<($0 + 1) * hd]) }
        }
    }

    @Test(arguments: [Int32(CK_KV_I8), Int32(CK_KV_I4)])
    func quantizationErrorWithinBound(kind: Int32) {
        var rng = SeededRandom(seed: 21)
        let hd = 64
        let page = QuantizedPage(kind: kind, tokens: 64, hd: hd, rng: &rng)
        for j in 0..<64 {
            for d in 0..<hd {
                let (k, v) = (page.keys[j][d], page.values[j][d])
                let (ek, ev) = (abs(page.dequantizedKeys[j][d] - k), abs(page.dequantizedValues[j][d] - v))
                if kind == Self.I8 { // half a step of absmax / 127, plus f16 rounding of the scale
                    let kmax = page.keys[j].map(abs).max()!, vmax = page.values[j].map(abs).max()!
                    #expect(ek <= kmax / 254 * 1.01 + 1e-6 && ev <= vmax / 254 * 1.01 + 1e-6, "token \(j) channel \(d)")
                } else { // half a step of range / 15: keys per channel over the token's half page, values per 32-channel group
                    let channel = page.keys[(j / 32 * 32)..<(j / 32 * 32 + 32)].map { $0[d] }, group = page.values[j][(d / 32 * 32)..<(d / 32 * 32 + 32)]
                    let kRange = channel.max()! - channel.min()!, vRange = group.max()! - group.min()!
                    // f16 rounding of the key itself (the page is f16 before quantization), of min and scale
                    #expect(ek <= kRange / 30 * 1.02 + abs(k) / 1024 + 1e-3 && ev <= vRange / 30 * 1.02 + 1e-3, "token \(j) channel \(d)")
                }
            }
        }
    }

    @Test(arguments: levels)
    func decodeMatchesSoftmaxOverDequantizedPage(level: Int32) {
        let saved = ck_isa(); ck_set_isa(level); defer { ck_set_isa(saved) }
        var rng = SeededRandom(seed: 22)
        for kind in [Self.I8, Self.I4] {
            for hd in [64, 128] {
                for (nq, lengths) in [(3, [64, 64, 17]), (1, [5]), (4, [64, 33]), (7, [1, 64]), (6, [64]), (16, [64])] {
                    let pages = lengths.map { QuantizedPage(kind: kind, tokens: $0, hd: hd, rng: &rng) }
                    let q = rng.normals(nq * hd, scale: 0.3)
                    var m = [Float](repeating: -.infinity, count: nq), l = [Float](repeating: 0, count: nq)
                    var acc = [Float](repeating: 0, count: nq * hd)
                    for (page, n) in zip(pages, lengths) {
                        if kind == Self.I8 { ck_attn_decode_i8(q, Int32(nq), Int32(hd), page.bytes, Int32(n), &m, &l, &acc) }
                        else { ck_attn_decode_i4(q, Int32(nq), Int32(hd), page.bytes, Int32(n), &m, &l, &acc) }
                    }
                    // The AVX2 path expands a page to f16 first (attn_quant_avx2.c): its reference rounds likewise.
                    // (Both references are tried, whichever path ran.)
                    let round: ([[Float]]) -> [[Float]] = { $0.map { $0.map { ck_f16_to_f32_1(ck_f32_to_f16_1($0)) } } }
                    let keys = pages.flatMap { $0.dequantizedKeys }, values = pages.flatMap { $0.dequantizedValues }
                    let (keys16, values16) = (round(keys), round(values))
                    for i in 0..<nq {
                        let qi = Array(q[i * hd..<(i + 1) * hd])
                        let exact = AttentionKernelTests.referenceAttention(q: qi, keys: keys, values: values)
                        let rounded = AttentionKernelTests.referenceAttention(q: qi, keys: keys16, values: values16)
                        let err = [exact, rounded].map { e in (0..<hd).map { abs(Double(acc[i * hd + $0] / l[i]) - e[$0]) }.max()! }
                            .min()!
                        #expect(err < 2e-5, "kind \(kind) hd \(hd) nq \(nq) row \(i) ISA \(level): error \(err)")
                    }
                }
            }
        }
    }

    @Test(arguments: levels)
    func prefillTileMasksFutureKeys(level: Int32) {
        let saved = ck_isa(); ck_set_isa(level); defer { ck_set_isa(saved) }
        var rng = SeededRandom(seed: 23)
        let hd = 64, kpos0: Int32 = 100
        for kind in [Self.I8, Self.I4] {
            let page = QuantizedPage(kind: kind, tokens: 64, hd: hd, rng: &rng)
            // The tile works on the page expanded to f16: the reference uses the same values.
            var f16 = [UInt16](repeating: 0, count: 128 * hd)
            ck_kv_dequantize_f16(kind, page.bytes, Int32(hd), &f16)
            let keys = (0..<64).map { j in (0..<hd).map { ck_f16_to_f32_1(f16[$0 * 64 + j]) } }
            let values = (0..<64).map { j in (0..<hd).map { ck_f16_to_f32_1(f16[64 * hd + j * hd + $0]) } }
            let qpos: [Int32] = (0..<20).map { [90, 99, 100, 101, 120, 150, 163, 164, 200][$0 % 9] }
            let nq = qpos.count, q = rng.normals(nq * hd, scale: 0.3)
            var m = [Float](repeating: -.infinity, count: nq), l = [Float](repeating: 0, count: nq)
            var acc = [Float](repeating: 0, count: nq * hd)
            var scratch = [Float](repeating: 0, count: Int(ck_attn_tile_scratch_floats(Int32(hd))))
            ck_attn_tile_kv(kind, q, Int64(hd), Int32(nq), qpos, Int32(hd), page.bytes, 64, kpos0, &m, &l, &acc, &scratch)
            for i in 0..<nq {
                let visible = max(0, min(64, Int(qpos[i] - kpos0) + 1))
                guard visible > 0 else { #expect(l[i] == 0); continue }
                let expected = AttentionKernelTests.referenceAttention(q: Array(q[i * hd..<(i + 1) * hd]), keys: Array(keys[0..<visible]),
                                                                       values: Array(values[0..<visible]))
                let err = (0..<hd).map { abs(Double(acc[i * hd + $0] / l[i]) - expected[$0]) }.max()!
                #expect(err < 1e-5, "kind \(kind) row \(i) ISA \(level): error \(err)")
            }
        }
    }

    @Test func f16ExpansionIsIdenticalOnEveryPath() {
        var rng = SeededRandom(seed: 24)
        for kind in [Self.I8, Self.I4] {
            for hd in [64, 128] {
                let page = QuantizedPage(kind: kind, tokens: 64, hd: hd, rng: &rng)
                let outputs = Self.levels.map { level -> [UInt16] in
                    let saved = ck_isa(); ck_set_isa(level); defer { ck_set_isa(saved) }
                    var f16 = [UInt16](repeating: 0, count: 128 * hd)
                    ck_kv_dequantize_f16(kind, page.bytes, Int32(hd), &f16)
                    return f16
                }
                #expect(Set(outputs).count == 1, "kind \(kind) hd \(hd)")
                // and equal to the fp32 expansion rounded to f16
                let f16 = outputs[0]
                #expect((0..<64).allSatisfy { j in (0..<hd).allSatisfy { f16[64 * hd + j * hd + $0] == ck_f32_to_f16_1(page.dequantizedValues[j][$0]) } })
            }
        }
    }

    @Test func pageSizes() {
        #expect(ck_kv_page_bytes(Self.F16, 64) == 16384)
        #expect(ck_kv_page_bytes(Self.I8, 64) == 8448)
        #expect(ck_kv_page_bytes(Self.I4, 64) == 5120)
        #expect(ck_kv_page_bytes(Self.I4, 80) == 0)
        // Regions (ck_kv.h): key parameters, then values to the page end.
        #expect((ck_kv_key_params_offset(Self.F16, 64), ck_kv_values_offset(Self.F16, 64)) == (8192, 8192))
        #expect((ck_kv_key_params_offset(Self.I8, 64), ck_kv_values_offset(Self.I8, 64)) == (4096, 4224))
        #expect((ck_kv_key_params_offset(Self.I4, 64), ck_kv_values_offset(Self.I4, 64)) == (2048, 2560))
        #expect(ck_kv_page_bytes(Self.I8, 80) == 128 * 80 + 256)
        #expect(ck_kv_page_bytes(Self.I8, 72) == 0)
    }

    /// XXH64 against the reference implementation (xxhash.h vendored by llama.cpp), bytes i·7+3.
    @Test func xxh64MatchesReference() {
        let bytes = (0..<200).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
        let expected: [(Int, UInt64, UInt64)] = [
            (0, 0xef46db3751d8e999, 0x95584af7701f808d), (1, 0x1f25c8d0bc1f4bb6, 0x9102786a712ff044),
            (3, 0x31d2363f52e564c9, 0xc6270ec97f034479), (4, 0x9bb64b7d66ee9fda, 0x6a3181371bbc2026),
            (7, 0x9a7b149959ce60d8, 0x6e596c9ec41c4637), (8, 0xdab99d95c6f90092, 0xbbcc4601a016b1e4),
            (31, 0xa2aa5f33cc4a6119, 0x8086bf60119a7308), (32, 0x23c3c17ef790fd97, 0x244c3905cf320c2d),
            (33, 0x50a7cfc7ba588784, 0x1edc993457cf1fd8), (63, 0x5e3e54b431c7493c, 0x0e4a6a50d61e6220),
            (100, 0xa61f8d4c170fe531, 0xacb8a02891fea7d2), (200, 0xa6cb3c09bc829b24, 0x9011d9d779932d3b),
        ]
        for (n, seed0, seed12345) in expected {
            #expect(ck_xxh64(bytes, n, 0) == seed0, "length \(n)")
            #expect(ck_xxh64(bytes, n, 12345) == seed12345, "length \(n), seed 12345")
        }
    }

    @Test func shufflesRoundTrip() {
        var rng = SeededRandom(seed: 25)
        let src = (0..<4096).map { _ in UInt8(truncatingIfNeeded: Int(rng.normal() * 20)) }
        var shuffled = [UInt8](repeating: 0, count: src.count), back = shuffled
        ck_byte_shuffle(src, &shuffled, src.count, 2)
        #expect(shuffled[0] == src[0] && shuffled[src.count / 2] == src[1])
        ck_byte_unshuffle(shuffled, &back, src.count, 2)
        #expect(back == src)
        ck_bit_shuffle(src, &shuffled, src.count)
        // plane b, byte k, bit i = bit b of zigzag(src[8k + i])
        let zz = { (b: UInt8) -> UInt8 in (b << 1) ^ UInt8(bitPattern: Int8(bitPattern: b) >> 7) }
        let planes = src.count / 8
        #expect((0..<8).allSatisfy { b in (0..<planes).allSatisfy { k in
            (0..<8).allSatisfy { i in (shuffled[b * planes + k] >> i) & 1 == (zz(src[8 * k + i]) >> b) & 1 } } })
        ck_bit_unshuffle(shuffled, &back, src.count)
        #expect(back == src)
    }
}
}
