import Tensor

extension ForwardContext {
    /// The forward pass's matrix products: batched (one GEMM or multi-vector matvec over the rows),
    /// or row-exact (each row as a single-vector product, `WeightMatrix.multiplyRowExact`).
    func multiply(_ products: [MatrixProduct], count: Int, rowExact: Bool) {
        if rowExact {
            WeightMatrix.multiplyRowExact(products, count: count, pool: pool)
        } else {
            WeightMatrix.multiply(products, count: count, pool: pool, scratch: gemmScratch)
        }
    }
}
