/// Tensor element types as numbered by ggml (`enum ggml_type`), with their block geometry.
/// A block of `blockSize` consecutive elements of a row occupies `blockByteCount` bytes.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_XXS = 16, iq2_XS = 17, iq3_XXS = 18, iq1_S = 19, iq4_NL = 20, iq3_S = 21, iq2_S = 22, iq4_XS = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_M = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39

    /// The types this engine computes with; any other type is rejected at load with the tensor's name.
    public static let supported: Set<GGMLType> = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    public var isSupported: Bool { Self.supported.contains(self) }

    /// Elements per block, and bytes per block, for the supported types (nil otherwise).
    public var blockGeometry: (blockSize: Int, blockByteCount: Int)? {
        switch self {
        case .f32: (1, 4)
        case .f16, .bf16: (1, 2)
        case .q4_0: (32, 18)   // f16 d, 16 bytes of nibbles
        case .q4_1: (32, 20)   // f16 d, f16 m, 16 bytes of nibbles
        case .q5_0: (32, 22)   // f16 d, 4 bytes high bits, 16 bytes of nibbles
        case .q5_1: (32, 24)   // f16 d, f16 m, 4 bytes high bits, 16 bytes of nibbles
        case .q8_0: (32, 34)   // f16 d, 32 int8
        case .q4_K: (256, 144) // f16 d, f16 dmin, 12 bytes 6-bit scales/mins, 128 bytes nibbles
        case .q5_K: (256, 176) // as q4_K plus 32 bytes of high bits
        case .q6_K: (256, 210) // 128 bytes low nibbles, 64 bytes high 2 bits, 16 int8 scales, f16 d
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .q2_K: "Q2_K"
        case .q3_K: "Q3_K"
        case .q4_K: "Q4_K"
        case .q5_K: "Q5_K"
        case .q6_K: "Q6_K"
        case .q8_K: "Q8_K"
        default: "\(self)".uppercased()
        }
    }

    /// Name for a raw type number, also for numbers this enum does not know.
    public static func name(ofRawValue raw: UInt32) -> String {
        GGMLType(rawValue: raw)?.description ?? "unknown type \(raw)"
    }
}
