/// A growable scratch buffer of any trivial element type (FloatScratch for other element types).
final class ScratchBuffer<Element> {
    private(set) var pointer: UnsafeMutablePointer<Element>
    private(set) var capacity: Int

    init(_ capacity: Int = 16) {
        self.capacity = max(capacity, 16)
        pointer = .allocate(capacity: self.capacity)
    }

    deinit { pointer.deallocate() }

    /// At least `count` elements; contents are not preserved when it grows.
    func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity {
            pointer.deallocate()
            capacity = count
            pointer = .allocate(capacity: count)
        }
        return pointer
    }
}

/// One scratch object per pool thread, created on demand.
final class PerThread<Value> {
    private var values: [Value] = []
    private let make: () -> Value

    init(_ make: @escaping () -> Value) { self.make = make }

    /// Values for `threadCount` threads (index = the pool's thread index).
    func reserve(_ threadCount: Int) -> [Value] {
        while values.count < threadCount { values.append(make()) }
        return values
    }
}
