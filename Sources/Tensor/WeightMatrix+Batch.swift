import CKernels

/// One product `y = W · x` of a batch of products run in a single parallel region.
public struct MatrixProduct {
    public let matrix: WeightMatrix
    public let x: UnsafePointer<Float>
    public let xStride: Int
    public let y: UnsafeMutablePointer<Float>
    public let yStride: Int

    public init(_ matrix: WeightMatrix, x: UnsafePointer<Float>, xStride: Int, y: UnsafeMutablePointer<Float>, yStride: Int) {
        self.matrix = matrix
        self.x = x
        self.xStride = xStride
        self.y = y
        self.yStride = yStride
    }
}

extension WeightMatrix {
    /// Runs independent products over the same `count` input rows in one parallel region: each
    /// thread takes its share of every matrix's rows (Q, K and V of a layer; or gate and up), so a
    /// decode step pays one barrier instead of one per matrix. `scratch`: threadCount × the largest
    /// `scratchFloatCount`.
    public static func multiply(_ products: [MatrixProduct], count: Int, pool: ThreadPool, scratch: UnsafeMutablePointer<Float>) {
        let granularity = count <= matvecMaxBatch ? 2 : Int(CK_PANEL_ROWS)
        let perThread = products.map(\.matrix.scratchFloatCount).max() ?? 0
        let threads = pool.threadCount
        pool.run { index in
            for p in products {
                let units = (p.matrix.rowCount + granularity - 1) / granularity
                let lo = min(p.matrix.rowCount, units * index / threads * granularity)
                let hi = min(p.matrix.rowCount, units * (index + 1) / threads * granularity)
                p.matrix.multiply(rows: lo..<hi, x: p.x, xStride: p.xStride, count: count, y: p.y, yStride: p.yStride,
                                  scratch: scratch + index * perThread)
            }
        }
    }
}
