import CKernels

/// The number format activations are multiplied with the weights in (the matmuls only; the
/// residual stream, norms and attention stay fp32).
///
/// - `f32`: dequantized weights × fp32 activations; the only format `exact` uses.
/// - `q8`: activations quantized per token in blocks of 32 (an fp32 scale per block), multiplied
///   with the weights' integer codes (ck_q8.h); block scales and Q4_1/Q5_1 minimums folded in
///   exactly. Weight types without integer codes (k-quants, f16, bf16, f32) stay fp32 — see
///   `WeightMatrix.supportsQ8Activations` and the fallback list a forward context reports.
/// - `bf16`: activations and weights rounded to bf16 and multiplied by `vdpbf16ps`. This CPU
///   class (AVX2 only) has no bf16 dot product, so the format is declared but not implemented:
///   `isImplemented` is false and the CLI refuses it.
public enum ActivationFormat: String, Sendable, CaseIterable, Codable {
    case f32, bf16, q8

    public var isImplemented: Bool { self != .bf16 }
}

extension WeightMatrix {
    /// Whether `multiply` can take q8 activations for this matrix's weight type.
    public var supportsQ8Activations: Bool { ck_q8_supported(Int32(type.rawValue)) != 0 }

    /// Bytes of one activation row of `columns` elements in the q8 format.
    public static func q8RowBytes(columns: Int) -> Int { columns / 32 * MemoryLayout<ck_block_q8a>.stride }

    /// Quantizes `count` rows of `columns` floats (`xStride` apart) into q8 rows `q8RowBytes` apart.
    public static func quantizeQ8(x: UnsafePointer<Float>, xStride: Int, columns: Int, count: Int,
                                  into out: UnsafeMutableRawPointer, pool: ThreadPool?) {
        let rowBytes = q8RowBytes(columns: columns)
        let body: (Range<Int>) -> Void = { range in
            for r in range {
                ck_quantize_q8a(x + r * xStride, Int64(columns), (out + r * rowBytes).assumingMemoryBound(to: ck_block_q8a.self))
            }
        }
        if let pool, count >= 16 { pool.parallelFor(count: count, body) } else { body(0..<count) }
    }
}
