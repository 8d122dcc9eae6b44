import Foundation

/// A monotonic clock in nanoseconds (for the plan timings).
enum DispatchTimeNanoseconds {
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
