import Foundation

/// Token sampling as llama.cpp's default chain orders it: repetition penalty → top-k → top-p →
/// min-p → temperature → draw. Temperature 0 is greedy (argmax after the penalty). Seeded: the
/// same seed and logits give the same tokens on every machine.
public struct SamplerParameters: Sendable, Equatable, Codable {
    public var temperature: Float = 0
    public var topK: Int = 40
    public var topP: Float = 0.95
    public var minP: Float = 0.05
    public var repetitionPenalty: Float = 1
    /// How many recent tokens the repetition penalty looks at.
    public var penaltyWindow: Int = 64
    public var seed: UInt64 = 0

    public init(temperature: Float = 0, topK: Int = 40, topP: Float = 0.95, minP: Float = 0.05,
                repetitionPenalty: Float = 1, penaltyWindow: Int = 64, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.penaltyWindow = penaltyWindow
        self.seed = seed
    }
}

/// Candidate tokens and their unnormalised weights, as a sampler draws them.
public struct TokenDistribution: Sendable {
    public var tokens: [Int32]
    public var weights: [Double]
    public init(tokens: [Int32], weights: [Double]) {
        self.tokens = tokens
        self.weights = weights
    }
    /// The probability of `token` (0 when it is not a candidate).
    public func probability(of token: Int32) -> Double {
        guard let i = tokens.firstIndex(of: token) else { return 0 }
        return weights[i] / weights.reduce(0, +)
    }
}

extension SamplerParameters {
    /// Greedy without repetition penalty: the argmax of the raw logits, which the certified LM
    /// head (CertifiedLMHead) proves without computing every logit. Top-k/top-p sampling keeps
    /// the full layer (a certified candidate set for them is not implemented).
    public var allowsCertifiedHead: Bool { temperature <= 0 && repetitionPenalty == 1 }
}

public struct Sampler {
    public let parameters: SamplerParameters
    private var rng: Xoshiro256

    public init(_ parameters: SamplerParameters) {
        self.parameters = parameters
        rng = Xoshiro256(seed: parameters.seed)
    }

    /// Picks the next token from `logits` given the tokens generated or read so far.
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>, history: ArraySlice<Int32>) -> Int32 {
        let d = distribution(logits, history: history)
        return parameters.temperature <= 0 ? d.tokens[0] : draw(d)
    }

    /// What `sample` draws from: greedy is one token of weight 1; otherwise the candidates left
    /// by top-k, top-p and min-p with their tempered, unnormalised weights.
    public func distribution(_ logits: UnsafeBufferPointer<Float>, history: ArraySlice<Int32>) -> TokenDistribution {
        let p = parameters
        var penalized: [Int: Float] = [:]
        if p.repetitionPenalty != 1 {
            for t in history.suffix(p.penaltyWindow) where penalized[Int(t)] == nil {
                let l = logits[Int(t)]
                penalized[Int(t)] = l > 0 ? l / p.repetitionPenalty : l * p.repetitionPenalty
            }
        }
        func logit(_ i: Int) -> Float { penalized[i] ?? logits[i] }

        if p.temperature <= 0 {
            var best = 0
            for i in 1..<logits.count where logit(i) > logit(best) { best = i }
            return TokenDistribution(tokens: [Int32(best)], weights: [1])
        }
        // Candidates sorted by logit; top-k bounds how many are ever considered.
        let k = p.topK > 0 ? min(p.topK, logits.count) : logits.count
        var candidates = topIndices(count: k, logit: logit, total: logits.count)
        // top-p and min-p on the untempered distribution.
        let maxLogit = logit(candidates[0])
        var probs = candidates.map { Double(Foundation.exp(logit($0) - maxLogit)) }
        let total = probs.reduce(0, +)
        probs = probs.map { $0 / total }
        if p.topP < 1 {
            var cumulative = 0.0, keep = probs.count
            for (i, pr) in probs.enumerated() {
                cumulative += pr
                if cumulative >= Double(p.topP) { keep = i + 1; break }
            }
            candidates.removeLast(candidates.count - keep)
        }
        if p.minP > 0 {
            let floor = Double(p.minP) * probs[0]
            let keep = max(1, probs.prefix(candidates.count).prefix { $0 >= floor }.count)
            candidates.removeLast(candidates.count - keep)
        }
        // Temperature.
        let weights = candidates.map { Foundation.exp(Double((logit($0) - maxLogit) / p.temperature)) }
        return TokenDistribution(tokens: candidates.map { Int32($0) }, weights: weights)
    }

    /// Draws a token of `d` with probability proportional to its weight (one random number).
    public mutating func draw(_ d: TokenDistribution) -> Int32 {
        var u = uniform() * d.weights.reduce(0, +)
        for (c, wgt) in zip(d.tokens, d.weights) {
            u -= wgt
            if u <= 0 { return c }
        }
        return d.tokens.last!
    }

    /// A uniform number in [0, 1) from the sampler's generator.
    public mutating func uniform() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }

    /// Indices of the `count` largest logits, largest first (ties: lower index first).
    private func topIndices(count: Int, logit: (Int) -> Float, total: Int) -> [Int] {
        if count == total { return (0..<total).sorted { logit($0) > logit($1) || (logit($0) == logit($1) && $0 < $1) } }
        var top: [Int] = []
        top.reserveCapacity(count + 1)
        for i in 0..<total {
            let l = logit(i)
            if top.count == count, l <= logit(top[count - 1]) { continue }
            var j = top.count
            while j > 0, logit(top[j - 1]) < l { j -= 1 }
            top.insert(i, at: j)
            if top.count > count { top.removeLast() }
        }
        return top
    }
}

/// xoshiro256** seeded through SplitMix64: fast, reproducible random numbers (sampling, random
/// benchmark inputs).
public struct Xoshiro256: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }
}
