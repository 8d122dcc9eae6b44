import CKernels
import Foundation
import GGUF

/// A deliberately plain llama/qwen2 forward pass in double precision over the dequantized
/// weights, written line by line after tools/reference/ref_forward.py (the project's float64
/// ground truth) — the yardstick for the engine's batched, tiled, threaded fp32 forward on
/// synthetic models. Keys and values can be rounded to f16 as the engine's cache stores them, so
/// that remaining differences are fp32 arithmetic only.
public final class ReferenceTransformer {
    let L, d, H, KV, hd, ffn, vocab: Int
    let eps, base: Double
    let neox: Bool
    let roundKVToF16: Bool
    var W: [String: [Double]] = [:]
    /// Per layer: [token][kvHead * hd]
    var K: [[[Double]]], V: [[[Double]]]

    public init(path: String, roundKVToF16: Bool = true) throws {
        let f = try GGUFFile(path: path)
        let arch = try f.string("general.architecture")!
        func int(_ k: String) throws -> Int { try f.requireInt("\(arch).\(k)") }
        L = try int("block_count"); d = try int("embedding_length"); H = try int("attention.head_count")
        KV = try f.int("\(arch).attention.head_count_kv") ?? H
        hd = d / H; ffn = try int("feed_forward_length")
        eps = try f.double("\(arch).attention.layer_norm_rms_epsilon") ?? 1e-5
        base = try f.double("\(arch).rope.freq_base") ?? 10000
        neox = arch == "qwen2"
        self.roundKVToF16 = roundKVToF16
        vocab = f.tensor(named: "token_embd.weight")!.rowCount
        for t in f.tensors {
            var out = [Float](repeating: 0, count: t.elementCount)
            let bytes = f.data(for: t)
            let rowBytes = t.byteCount / t.rowCount
            out.withUnsafeMutableBufferPointer { buf in
                for r in 0..<t.rowCount {
                    ck_dequantize_row(Int32(t.type.rawValue), bytes.baseAddress! + r * rowBytes, buf.baseAddress! + r * t.rowLength, Int64(t.rowLength))
                }
            }
            W[t.name] = out.map(Double.init)
        }
        K = Array(repeating: [], count: L)
        V = Array(repeating: [], count: L)
    }

    public var tokenCount: Int { K[0].count }

    public func truncate(to n: Int) {
        for l in 0..<L { K[l].removeLast(K[l].count - n); V[l].removeLast(V[l].count - n) }
    }

    /// y = M x for M stored row-major [rows][cols] (ggml: ne1 rows of ne0).
    func matvec(_ name: String, _ x: [Double], rows: Int) -> [Double] {
        let cols = x.count
        var y = [Double](repeating: 0, count: rows)
        W[name]!.withUnsafeBufferPointer { m in
            x.withUnsafeBufferPointer { xv in
                for r in 0..<rows {
                    var s = 0.0
                    for c in 0..<cols { s += m[r * cols + c] * xv[c] }
                    y[r] = s
                }
            }
        }
        return y
    }

    func rms(_ x: [Double], _ w: String) -> [Double] {
        let s = 1 / (x.reduce(0) { $0 + $1 * $1 } / Double(x.count) + eps).squareRoot()
        return zip(x, W[w]!).map { $0 * s * $1 }
    }

    func rope(_ x: inout [Double], heads: Int, pos: Int) {
        for h in 0..<heads {
            for i in 0..<hd / 2 {
                let theta = Double(pos) * Foundation.pow(base, -Double(2 * i) / Double(hd))
                let (a, b) = neox ? (h * hd + i, h * hd + i + hd / 2) : (h * hd + 2 * i, h * hd + 2 * i + 1)
                let x0 = x[a], x1 = x[b]
                x[a] = x0 * Foundation.cos(theta) - x1 * Foundation.sin(theta)
                x[b] = x0 * Foundation.sin(theta) + x1 * Foundation.cos(theta)
            }
        }
    }

    static func f16(_ v: Double) -> Double { Double(ck_f16_to_f32_1(ck_f32_to_f16_1(Float(v)))) }

    /// Appends `tokens` and returns the logits after each.
    public func forward(_ tokens: [Int32]) -> [[Double]] {
        tokens.map { forwardOne($0) }
    }

    func forwardOne(_ token: Int32) -> [Double] {
        let pos = tokenCount, g = H / KV
        var x = Array(W["token_embd.weight"]![(Int(token) * d)..<((Int(token) + 1) * d)])
        for l in 0..<L {
            let p = "blk.\(l)."
            let h = rms(x, p + "attn_norm.weight")
            var q = matvec(p + "attn_q.weight", h, rows: H * hd)
            var k = matvec(p + "attn_k.weight", h, rows: KV * hd)
            var v = matvec(p + "attn_v.weight", h, rows: KV * hd)
            if let b = W[p + "attn_q.bias"] { q = zip(q, b).map(+) }
            if let b = W[p + "attn_k.bias"] { k = zip(k, b).map(+) }
            if let b = W[p + "attn_v.bias"] { v = zip(v, b).map(+) }
            rope(&q, heads: H, pos: pos)
            rope(&k, heads: KV, pos: pos)
            if roundKVToF16 { k = k.map(Self.f16); v = v.map(Self.f16) }
            K[l].append(k); V[l].append(v)
            var o = [Double](repeating: 0, count: H * hd)
            for head in 0..<H {
                let kvh = head / g
                let scores = K[l].map { key in
                    var s = 0.0
                    for i in 0..<hd { s += q[head * hd + i] * key[kvh * hd + i] }
                    return s / Double(hd).squareRoot()
                }
                let mx = scores.max()!
                let e = scores.map { Foundation.exp($0 - mx) }, sum = e.reduce(0, +)
                for (j, val) in V[l].enumerated() { for i in 0..<hd { o[head * hd + i] += e[j] / sum * val[kvh * hd + i] } }
            }
            x = zip(x, matvec(p + "attn_output.weight", o, rows: d)).map(+)
            let h2 = rms(x, p + "ffn_norm.weight")
            let a = matvec(p + "ffn_gate.weight", h2, rows: ffn), b = matvec(p + "ffn_up.weight", h2, rows: ffn)
            let act = zip(a, b).map { $0 / (1 + Foundation.exp(-$0)) * $1 }
            x = zip(x, matvec(p + "ffn_down.weight", act, rows: d)).map(+)
        }
        let out = W["output.weight"] != nil ? "output.weight" : "token_embd.weight"
        return matvec(out, rms(x, "output_norm.weight"), rows: vocab)
    }
}
