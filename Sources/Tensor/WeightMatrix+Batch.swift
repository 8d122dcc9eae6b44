import CKernels

/// One product `y = W · x` of a batch of products run in a single parallel region.
public struct MatrixProduct {
    public let matrix: WeightMatrix
    public let x: UnsafePointer<Float>
    public let xStride: Int
    public let y: UnsafeMutablePointer<Float>
    public let yStride: Int
    /// The same input rows in the q8 format (nil: fp32 activations).
    public let xq: UnsafeRawPointer?

    public init(_ matrix: WeightMatrix, x: UnsafePointer<Float>, xStride: Int, y: UnsafeMutablePointer<Float>, yStride: Int,
                xq: UnsafeRawPointer? = nil) {
        self.matrix = matrix
        self.x = x
        self.xStride = xStride
        self.y = y
        self.yStride = yStride
        self.xq = xq
    }
}

extension WeightMatrix {
    /// Runs independent products over the same `count` input rows in one parallel region (Q, K
    /// and V of a layer; or gate and up), so a decode step pays one barrier instead of one per
    /// matrix. Work items are slices of output rows — whole GEMM panels for prefill, a few dozen
    /// rows for decode — claimed dynamically. `scratch`: threadCount × the largest `scratchFloatCount`.
    public static func multiply(_ products: [MatrixProduct], count: Int, pool: ThreadPool, scratch: UnsafeMutablePointer<Float>) {
        let rowsPerItem = count <= matvecMaxBatch ? 64 : Int(CK_PANEL_ROWS) * max(1, 4 / max(1, count / 128))
        let perThread = products.map(\.matrix.scratchFloatCount).max() ?? 0
        forEachSlice(of: products, rowsPerItem: rowsPerItem, pool: pool) { p, rows, thread in
            p.matrix.multiply(rows: rows, x: p.x, xStride: p.xStride, count: count, y: p.y, yStride: p.yStride,
                              scratch: scratch + thread * perThread, xq: p.xq)
        }
    }

    /// Runs `body(product, output rows, thread)` over slices of `rowsPerItem` output rows of every
    /// product, claimed dynamically by the pool's threads.
    static func forEachSlice(of products: [MatrixProduct], rowsPerItem: Int, pool: ThreadPool,
                             _ body: (MatrixProduct, Range<Int>, Int) -> Void) {
        var starts: [Int] = [] // first item of each product
        var items = 0
        for p in products {
            starts.append(items)
            items += (p.matrix.rowCount + rowsPerItem - 1) / rowsPerItem
        }
        pool.forEach(count: items) { item, thread in
            var k = products.count - 1
            while starts[k] > item { k -= 1 }
            let p = products[k]
            let lo = (item - starts[k]) * rowsPerItem, hi = min(p.matrix.rowCount, lo + rowsPerItem)
            body(p, lo..<hi, thread)
        }
    }
}
