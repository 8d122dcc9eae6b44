import Foundation
import Model
import Testing

/// Samplers on hand-made logits: each filter removes exactly what it should, draws follow the
/// tempered distribution, and a seed fixes the sequence.
@Suite struct SamplerTests {
    static let logits: [Float] = [2.0, 1.0, 0.5, 3.0, -1.0, 2.9, 0.0, -3.0]

    func draws(_ p: SamplerParameters, count: Int = 4000, logits: [Float] = logits, history: [Int32] = []) -> [Int: Int] {
        var sampler = Sampler(p)
        var counts: [Int: Int] = [:]
        logits.withUnsafeBufferPointer { l in
            for _ in 0..<count { counts[Int(sampler.sample(l, history: history[...])), default: 0] += 1 }
        }
        return counts
    }

    @Test func greedyTakesTheArgmax() {
        #expect(draws(SamplerParameters(temperature: 0), count: 10) == [3: 10])
    }

    @Test func topKOneIsGreedyAtAnyTemperature() {
        #expect(draws(SamplerParameters(temperature: 5, topK: 1, topP: 1, minP: 0), count: 200) == [3: 200])
    }

    @Test func topKKeepsOnlyTheKBest() {
        let c = draws(SamplerParameters(temperature: 10, topK: 3, topP: 1, minP: 0))
        #expect(Set(c.keys) == [3, 5, 0])
    }

    @Test func topPKeepsTheSmallestNucleus() {
        // softmax of the logits: p(3) ≈ 0.39, p(5) ≈ 0.35, p(0) ≈ 0.14, ... → 0.39 + 0.35 < 0.8 ≤ + 0.14
        let c = draws(SamplerParameters(temperature: 1, topK: 0, topP: 0.8, minP: 0))
        #expect(Set(c.keys) == [3, 5, 0])
    }

    @Test func minPDropsTokensBelowTheFractionOfTheBest() {
        // p(i)/p(3) = exp(l_i - 3): token 0 → 0.37, token 1 → 0.14, token 2 → 0.08
        let c = draws(SamplerParameters(temperature: 1, topK: 0, topP: 1, minP: 0.1))
        #expect(Set(c.keys) == [3, 5, 0, 1])
    }

    @Test func drawsFollowTheTemperedDistribution() {
        let t: Float = 0.7, n = 20_000
        let c = draws(SamplerParameters(temperature: t, topK: 0, topP: 1, minP: 0, seed: 11), count: n)
        let w = Self.logits.map { Foundation.exp(Double($0 / t)) }
        let z = w.reduce(0, +)
        for (i, wi) in w.enumerated() {
            let expected = wi / z * Double(n)
            let sd = (expected * (1 - wi / z)).squareRoot()
            #expect(abs(Double(c[i, default: 0]) - expected) <= 5 * sd + 2, "token \(i): \(c[i, default: 0]) vs \(expected)")
        }
    }

    @Test func repetitionPenaltyDemotesRecentTokens() {
        // With 3 and 5 penalised (3.0/1.5 = 2.0, 2.9/1.5 ≈ 1.93), token 0 (2.0) ties 3 and wins on index.
        #expect(draws(SamplerParameters(temperature: 0, repetitionPenalty: 1.5), count: 5, history: [3, 5]) == [0: 5])
        // Negative logits are pushed further down, not up.
        let negative: [Float] = [-1, -1.2]
        #expect(draws(SamplerParameters(temperature: 0, repetitionPenalty: 2), count: 3, logits: negative, history: [0]) == [1: 3])
        // Only the window counts.
        #expect(draws(SamplerParameters(temperature: 0, repetitionPenalty: 1.5, penaltyWindow: 1), count: 3, history: [3, 5]) == [3: 3])
    }

    @Test func aSeedFixesTheSequence() {
        func sequence(_ seed: UInt64) -> [Int32] {
            var s = Sampler(SamplerParameters(temperature: 1, topK: 0, topP: 1, minP: 0, seed: seed))
            return Self.logits.withUnsafeBufferPointer { l in (0..<64).map { _ in s.sample(l, history: []) } }
        }
        #expect(sequence(42) == sequence(42))
        #expect(sequence(42) != sequence(43))
    }
}
