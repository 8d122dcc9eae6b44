import CKernels

extension WeightMatrix {
    /// `multiply(products, count:)` computed so that every input row's result is bit-identical to
    /// a product over that row alone (`count` 1): the GEMM (more than `matvecMaxBatch` rows) and
    /// the matrix-vector kernel above `CK_MATVEC_EXACT_BATCH` vectors sum in other orders than
    /// one vector does. Speculative verification needs the rows of one pass to equal the
    /// single-token decode steps they stand for. Work items are the single-vector ones (64 output
    /// rows); each item multiplies its rows into groups of as many vectors as the worker's path
    /// keeps exact (`ck_matvec_exact_batch`: 4 on AVX-512, 8 on AVX2), so the slice of weights is
    /// read from memory once and from cache for the other groups.
    public static func multiplyRowExact(_ products: [MatrixProduct], count: Int, pool: ThreadPool) {
        forEachSlice(of: products, rowsPerItem: 64, pool: pool) { p, rows, _ in
            let group = Int(ck_matvec_exact_batch())
            for t in stride(from: 0, to: count, by: group) {
                p.matrix.multiply(rows: rows, x: p.x + t * p.xStride, xStride: p.xStride, count: min(group, count - t),
                                  y: p.y + t * p.yStride, yStride: p.yStride, scratch: nil)
            }
        }
    }
}
