import CKernels
import KVCache

/// A token-major f16 copy of one (layer, KV head)'s keys over whole pages `0..<pageCount`.
///
/// Why a copy: KV pages store keys transposed (`[headDim][64]`, what makes dense scoring an outer
/// product), so one key is spread over `headDim` rows of its page and gathering a few hundred
/// scattered keys touches almost every key row of every page — as much memory traffic as dense
/// attention. The sparse strategies score candidates exactly against this copy (one 128-byte row
/// per key at headDim 64) and read the cache only for the values of the keys they select. The
/// copy holds the keys as the cache returns them (dequantized for quantized formats), so exact
/// scores equal the dense path's. Cost: `2·headDim` bytes per token, reported in the index size.
final class KeyMirror {
    let headDim: Int
    static let pageTokenCount = 64
    /// `[capacity][headDim]` f16.
    private(set) var rows: UnsafeMutablePointer<UInt16>
    private var capacity = 0
    private(set) var pageCount = 0

    init(headDim: Int) {
        self.headDim = headDim
        rows = .allocate(capacity: 1)
    }

    deinit { rows.deallocate() }

    var tokenCount: Int { pageCount * Self.pageTokenCount }
    var byteCount: Int { capacity * headDim * 2 }

    /// Makes room for `pages` pages: exactly on the first call (an index built after prefill), by
    /// a quarter more on later growth (pages leaving the recent window one at a time).
    func reserve(pages: Int) {
        let needed = pages * Self.pageTokenCount
        guard needed > capacity else { return }
        let grown = capacity == 0 ? needed : max(needed, capacity + capacity / 4)
        let fresh = UnsafeMutablePointer<UInt16>.allocate(capacity: grown * headDim)
        fresh.update(from: rows, count: tokenCount * headDim)
        rows.deallocate()
        rows = fresh
        capacity = grown
    }

    /// Appends one page of keys (token-major fp32 `[64][headDim]`).
    func append(page keys: UnsafePointer<Float>) {
        reserve(pages: pageCount + 1)
        ck_f32_to_f16(keys, rows + tokenCount * headDim, Int64(Self.pageTokenCount * headDim))
        pageCount += 1
    }

    /// Keeps pages `0..<pages`.
    func truncate(pages: Int) { pageCount = min(pageCount, pages) }

    /// Rows of page `page` as fp32 `[64][headDim]`.
    func page(_ page: Int, into out: UnsafeMutablePointer<Float>) {
        let n = Self.pageTokenCount * headDim
        ck_f16_to_f32(rows + page * n, out, Int64(n))
    }
}

enum PageKeys {
    /// The keys of one cache page as token-major fp32 `[64][headDim]` (all 64 slots; slots past
    /// the page's valid tokens hold whatever the page holds). Quantized pages are dequantized
    /// (their values land in `scratch`, 64 × headDim floats).
    static func read(_ page: KVPage, headDim hd: Int, into out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        switch page {
        case let .int8(base), let .int4(base):
            ck_kv_dequantize_f32(Int32(page.kind.rawValue), base, Int32(hd), 64, out, scratch)
        case let .f16(keys, _):
            ck_f16_to_f32(keys, scratch, Int64(hd * 64)) // [hd][64]
            for d in 0..<hd {
                let row = scratch + d * 64
                for j in 0..<64 { out[j * hd + d] = row[j] }
            }
        }
    }
}
