/// SplitMix64: a small deterministic generator so fixtures and synthetic models are the same on
/// every run and machine.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Float {
        let u1 = max(Double.leastNonzeroMagnitude, Double.random(in: 0..<1, using: &self))
        let u2 = Double.random(in: 0..<1, using: &self)
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    public mutating func normals(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in normal() * scale }
    }
}

@_silgen_name("log") private func _log(_ x: Double) -> Double
@_silgen_name("cos") private func _cos(_ x: Double) -> Double
