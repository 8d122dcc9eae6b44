import CKernels
import GGUF

/// A read-only weight matrix in its GGUF block format, inside the model's memory mapping.
/// `rowCount` outputs × `columnCount` inputs; row r holds the weights of output r (ggml `ne1 × ne0`).
///
/// Products are computed by the C kernels with weights dequantized in registers and fp32
/// activations: `matvec`-style for a few vectors (decode), panel GEMM for many (prefill).
public struct WeightMatrix: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let rowCount: Int
    public let columnCount: Int
    public let rowByteCount: Int
    public let base: UnsafeRawPointer
    /// Keeps the mapping that `base` points into alive.
    private let owner: AnyObject?

    /// Up to this many vectors use the matvec kernel (one weight read shared by all vectors);
    /// more use the panel GEMM.
    public static let matvecMaxBatch = Int(CK_MATVEC_MAX_BATCH)

    public init(name: String, type: GGMLType, rowCount: Int, columnCount: Int, base: UnsafeRawPointer, owner: AnyObject?) throws(TensorError) {
        guard let (blockSize, blockBytes) = type.blockGeometry, columnCount % blockSize == 0, columnCount > 0 else {
            throw .unsupportedMatrix(tensor: name, type: type.description, rowLength: columnCount)
        }
        self.name = name
        self.type = type
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.rowByteCount = columnCount / blockSize * blockBytes
        self.base = base
        self.owner = owner
    }

    /// The 2-D tensor `info` of `file` (ne0 = columns, ne1 = rows).
    public init(_ info: GGUFTensorInfo, in file: GGUFFile) throws(TensorError) {
        let bytes = file.data(for: info)
        try self.init(name: info.name, type: info.type, rowCount: info.rowCount, columnCount: info.rowLength,
                      base: bytes.baseAddress!, owner: file)
    }

    public var byteCount: Int { rowCount * rowByteCount }

    /// Dequantizes row `r` into `out[0..<columnCount]` (embedding lookup).
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < rowCount)
        ck_dequantize_row(Int32(type.rawValue), base + r * rowByteCount, out, Int64(columnCount))
    }

    /// y[t][r] = Σ_k W[r][k] · x[t][k] for `count` input rows, on the calling thread only, for the
    /// output rows `rows`. x rows are `xStride` floats apart, y rows `yStride` apart.
    /// `scratch` must hold `scratchFloatCount` floats when count > matvecMaxBatch.
    /// With `xq` (the same rows in the q8 format, ActivationFormat.swift, `q8RowBytes` apart) and a
    /// weight type that `supportsQ8Activations`, the product uses the integer-code kernels.
    public func multiply(rows: Range<Int>, x: UnsafePointer<Float>, xStride: Int, count: Int,
                         y: UnsafeMutablePointer<Float>, yStride: Int, scratch: UnsafeMutablePointer<Float>?,
                         xq: UnsafeRawPointer? = nil) {
        guard !rows.isEmpty, count > 0 else { return }
        let w = base + rows.lowerBound * rowByteCount
        let t = Int32(type.rawValue)
        if let xq, supportsQ8Activations {
            let blocks = xq.assumingMemoryBound(to: ck_block_q8a.self), stride = Int64(columnCount / 32)
            if count <= Self.matvecMaxBatch {
                ck_matvec_q8(t, w, rowByteCount, Int64(rows.count), Int64(columnCount), blocks, stride, Int32(count),
                             y + rows.lowerBound, Int64(yStride))
            } else {
                ck_gemm_q8(t, w, rowByteCount, Int64(rows.count), Int64(columnCount), blocks, stride, Int64(count),
                           y + rows.lowerBound, Int64(yStride), scratch!)
            }
        } else if count <= Self.matvecMaxBatch {
            ck_matvec(t, w, rowByteCount, Int64(rows.count), Int64(columnCount), x, Int64(xStride), Int32(count),
                      y + rows.lowerBound, Int64(yStride))
        } else {
            ck_gemm(t, w, rowByteCount, Int64(rows.count), Int64(columnCount), x, Int64(xStride), Int64(count),
                    y + rows.lowerBound, Int64(yStride), scratch!)
        }
    }

    /// Floats of scratch one thread needs for `multiply` with many input rows.
    public var scratchFloatCount: Int { Int(ck_gemm_scratch_floats(Int64(columnCount))) }

    /// Parallel product over the pool: output rows are split between threads (in whole GEMM
    /// panels), each thread uses its own slice of `scratch` (threadCount × scratchFloatCount).
    public func multiply(x: UnsafePointer<Float>, xStride: Int, count: Int, y: UnsafeMutablePointer<Float>, yStride: Int,
                         pool: ThreadPool, scratch: UnsafeMutablePointer<Float>, xq: UnsafeRawPointer? = nil) {
        Self.multiply([MatrixProduct(self, x: x, xStride: xStride, y: y, yStride: yStride, xq: xq)], count: count, pool: pool,
                      scratch: scratch)
    }
}
