import CKernels
import GGUF

/// Random weight rows in a block format, with finite, modest scales (every byte pattern of the
/// quantized payload is valid). For kernel tests: correctness of the formats themselves is pinned
/// by the gguf-py fixture, so these only need to be valid blocks.
public enum RandomBlocks {
    /// `scale` bounds the blocks' main scale factor (d); float types draw normals of std `floatStd`.
    public static func make(_ type: GGMLType, rows: Int, columns: Int, seed: UInt64,
                            scale: ClosedRange<Float> = 0.002...0.05, floatStd: Float = 1) -> [UInt8] {
        var rng = SeededRandom(seed: seed)
        let (bs, bb) = type.blockGeometry!
        let blocks = rows * columns / bs
        var out = [UInt8](repeating: 0, count: blocks * bb)
        func half(_ x: Float) -> (UInt8, UInt8) {
            let h = ck_f32_to_f16_1(x)
            return (UInt8(h & 0xff), UInt8(h >> 8))
        }
        for b in 0..<blocks {
            let o = b * bb
            switch type {
            case .f32:
                let bits = (rng.normal() * floatStd).bitPattern
                for i in 0..<4 { out[o + i] = UInt8((bits >> (8 * UInt32(i))) & 0xff) }
            case .f16:
                (out[o], out[o + 1]) = half(rng.normal() * floatStd)
            case .bf16:
                let bits = (rng.normal() * floatStd).bitPattern >> 16
                (out[o], out[o + 1]) = (UInt8(bits & 0xff), UInt8(bits >> 8))
            default:
                for i in 0..<bb { out[o + i] = UInt8.random(in: 0...255, using: &rng) }
                let d = Float.random(in: scale, using: &rng)
                switch type {
                case .q4_0, .q5_0, .q8_0: (out[o], out[o + 1]) = half(d)
                case .q4_1, .q5_1:
                    (out[o], out[o + 1]) = half(d)
                    (out[o + 2], out[o + 3]) = half(Float.random(in: -4 * scale.upperBound...4 * scale.upperBound, using: &rng))
                case .q4_K, .q5_K:
                    (out[o], out[o + 1]) = half(d)
                    (out[o + 2], out[o + 3]) = half(Float.random(in: scale, using: &rng) / 2)
                case .q6_K: (out[o + 208], out[o + 209]) = half(d)
                default: break
                }
            }
        }
        return out
    }
}
