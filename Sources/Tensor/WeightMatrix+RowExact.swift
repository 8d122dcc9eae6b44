import CKernels

extension WeightMatrix {
    /// `multiply(products, count:)` computed so that every input row's result is bit-identical to
    /// a product over that row alone (`count` 1): the matrix-vector kernel's summation order
    /// depends on how many vectors it serves at once (one vector runs four FMA chains, several run
    /// two), and the GEMM's differs again. Speculative verification needs the rows of one pass to
    /// equal the single-token decode steps they stand for. The work items are the single-vector
    /// ones (64 output rows); each item multiplies its rows into every vector in turn, so the
    /// slice of weights is read from memory once and from cache for the other vectors.
    public static func multiplyRowExact(_ products: [MatrixProduct], count: Int, pool: ThreadPool) {
        forEachSlice(of: products, rowsPerItem: 64, pool: pool) { p, rows, _ in
            for t in 0..<count {
                p.matrix.multiply(rows: rows, x: p.x + t * p.xStride, xStride: p.xStride, count: 1,
                                  y: p.y + t * p.yStride, yStride: p.yStride, scratch: nil)
            }
        }
    }
}
