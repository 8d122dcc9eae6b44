import Attention
import CKernels
import Foundation
import KVCache
import Model
import Planner
import Store
import Tensor

/// llama-bench-style measurements: `ppN` times the prefill of N random tokens into an empty
/// cache; `tgN@dD` prefills D tokens untimed, then times N single-token decode steps. Each test
/// runs once untimed (warm-up), then `repetitions` times; the median is reported with all samples.
public struct EngineBenchmark {
    public struct Row: Codable, Sendable {
        public let test: String
        public let tokensPerSecond: Double
        public let samples: [Double]
        public let threads: Int
        public let depth: Int
        public let kv: String
        public let attention: String
        /// tg tests: the first decode step after the prefill, timed alone in the warm-up (a sparse
        /// strategy builds its index over the whole context in it), and the test's tokens per
        /// second with that step's excess over a median step added to the timed steps (the index
        /// build amortized over the N steps measured).
        public var firstStepSeconds: Double?
        public var amortizedTokensPerSecond: Double?

        enum CodingKeys: String, CodingKey {
            case test, samples, threads, depth, kv, attention
            case tokensPerSecond = "tokens_per_second"
            case firstStepSeconds = "first_step_seconds"
            case amortizedTokensPerSecond = "amortized_tokens_per_second"
        }

        /// This row with its first step's seconds and the amortized rate over `n` steps.
        func amortizing(firstStepSeconds first: Double, steps n: Int) -> Row {
            var r = self
            r.firstStepSeconds = first
            if tokensPerSecond > 0 {
                let step = 1 / tokensPerSecond
                r.amortizedTokensPerSecond = Double(n) / (Double(n) * step + max(0, first - step))
            }
            return r
        }
    }

    public let context: ForwardContext
    public let format: KVFormat
    /// Memory budget of the benchmark's caches (nil: all KV in RAM).
    public var budget: KVMemoryBudget?
    public var repetitions = 3
    private var rng = SystemRandomNumberGenerator()

    public init(context: ForwardContext, format: KVFormat = .f16, repetitions: Int = 3) {
        self.context = context
        self.format = format
        self.repetitions = repetitions
    }

    func randomTokens(_ n: Int, seed: UInt64) -> [Int32] {
        var g = Xoshiro256(seed: seed)
        let vocab = UInt64(context.model.config.vocabularySize)
        return (0..<n).map { _ in Int32(g.next() % vocab) }
    }

    private func row(_ test: String, depth: Int, samples: [Double]) -> Row {
        Row(test: test, tokensPerSecond: median(samples), samples: samples, threads: context.pool.threadCount, depth: depth,
            kv: format.rawValue, attention: context.decodeAttention.name)
    }

    public func promptProcessing(tokens n: Int) throws(ModelError) -> Row {
        let prompt = randomTokens(n, seed: 1)
        var samples: [Double] = []
        for rep in 0...repetitions {
            let seq = try context.model.makeSequence(format: format, budget: budget)
            let t0 = DispatchTime.now().uptimeNanoseconds
            try context.prefill(seq, tokens: prompt)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            if rep > 0 { samples.append(Double(n) / seconds) }
        }
        return row("pp\(n)", depth: 0, samples: samples)
    }

    public func textGeneration(tokens n: Int, depth: Int) throws(ModelError) -> Row {
        let tokens = randomTokens(n, seed: 2)
        let seq = try context.model.makeSequence(format: format, budget: budget)
        if depth > 0 { try context.prefill(seq, tokens: randomTokens(depth, seed: 3), logits: false) }
        var samples: [Double] = [], first = 0.0
        for rep in 0...repetitions {
            try seq.truncate(to: depth)
            if rep == 0 { first = try timeFirstStep(seq, token: tokens[0]) }
            let count = rep == 0 ? min(n, 4) - 1 : n
            let t0 = DispatchTime.now().uptimeNanoseconds
            for t in tokens.prefix(count) { _ = try context.forward([ForwardRequest(seq, tokens: [t])]) }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            if rep > 0 { samples.append(Double(n) / seconds) }
        }
        return row(depth == 0 ? "tg\(n)" : "tg\(n)@d\(depth)", depth: depth, samples: samples)
            .amortizing(firstStepSeconds: first, steps: n)
    }

    /// One decode step of `token` after the prefill, timed (then rolled back): the step that
    /// builds a sparse strategy's index.
    func timeFirstStep(_ seq: SequenceState, token: Int32) throws(ModelError) -> Double {
        let start = seq.tokenCount
        let t0 = DispatchTime.now().uptimeNanoseconds
        _ = try context.forward([ForwardRequest(seq, tokens: [token])])
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        try seq.truncate(to: start)
        return seconds
    }
}

/// The middle sample (the mean of the middle two for an even count; 0 for none): benchmark and
/// calibration timings report medians, which one slow outlier does not move.
public func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return 0 }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
