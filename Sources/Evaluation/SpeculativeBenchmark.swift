import Foundation
import KVCache
import Model
import Tensor

/// Speculative against plain dense decoding on real documents (acceptance depends on content, so
/// never random tokens). For each (document, prompt) the prefix is prefilled once; then, in
/// interleaved rounds, the same greedy answer is decoded plainly and with every draft source,
/// each from the same prefix (rolled back in between). Every speculative answer is checked
/// token-identical to the plain one. Medians over rounds; the first round is a warm-up.
///
/// The verification cost curve: the time of one row-exact pass of γ + 1 rows at a depth against
/// one plain decode step there (what the cost model charges a verification pass).
public struct SpeculativeBenchmark {
    public struct Case {
        public let name: String
        public let tokens: [Int32]
        public init(name: String, tokens: [Int32]) {
            self.name = name
            self.tokens = tokens
        }
    }

    public struct Row: Codable, Sendable {
        public let test: String
        public let source: String
        public let depth: Int
        public let generatedTokens: Int
        public let tokensPerSecond: Double
        public let samples: [Double]
        public let speedup: Double
        public let acceptanceRate: Double
        public let meanAcceptedLength: Double
        public let verificationPasses: Int
        public let identical: Bool
        enum CodingKeys: String, CodingKey {
            case test, source, depth, samples, speedup, identical
            case generatedTokens = "generated_tokens", tokensPerSecond = "tokens_per_second"
            case acceptanceRate = "acceptance_rate", meanAcceptedLength = "mean_accepted_length"
            case verificationPasses = "verification_passes"
        }
    }

    public struct CostRow: Codable, Sendable {
        public let depth: Int
        public let rows: Int
        /// Seconds of one pass of `rows` rows over one decode step's (medians).
        public let relativeCost: Double
        public let passSeconds: Double
        public let stepSeconds: Double
        enum CodingKeys: String, CodingKey {
            case depth, rows
            case relativeCost = "relative_cost", passSeconds = "pass_seconds", stepSeconds = "step_seconds"
        }
    }

    public let context: ForwardContext
    public let format: KVFormat
    public var repetitions = 3
    public var maxDraftTokens = 8

    public init(context: ForwardContext, format: KVFormat = .f16) {
        self.context = context
        self.format = format
    }

    /// `sources`: name → a fresh draft source (called once per case and round).
    public func run(_ c: Case, generateTokens n: Int, sources: [(String, () -> DraftSource)],
                    isEnd: (Int32) -> Bool) throws(ModelError) -> [Row] {
        let sequence = try context.model.makeSequence(format: format)
        let prefix = Array(c.tokens.dropLast())
        try context.prefill(sequence, tokens: prefix, logits: false)
        let greedy = SamplerParameters()
        var plainSamples: [Double] = [], reference: [Int32] = []
        var samples = [[Double]](repeating: [], count: sources.count)
        var stats = [SpeculationStatistics](repeating: SpeculationStatistics(), count: sources.count)
        var identical = [Bool](repeating: true, count: sources.count)
        for round in 0...repetitions {
            try sequence.truncate(to: prefix.count)
            let plain = try context.generate(sequence, prompt: [c.tokens.last!], maxNewTokens: n, sampler: greedy, isEnd: isEnd)
            if round == 0 { reference = plain.tokens } else { plainSamples.append(plain.decodeTokensPerSecond) }
            for (i, (_, make)) in sources.enumerated() {
                try sequence.truncate(to: prefix.count)
                let (r, s) = try context.generateSpeculatively(sequence, prompt: [c.tokens.last!], maxNewTokens: n, sampler: greedy,
                                                               draft: make(), maxDraftTokens: maxDraftTokens, isEnd: isEnd)
                identical[i] = identical[i] && r.tokens == reference
                stats[i] = stats[i] + s // acceptance does not depend on timing: every round counts
                if round > 0 { samples[i].append(r.decodeTokensPerSecond) }
            }
        }
        try sequence.truncate(to: 0)
        let base = median(plainSamples)
        var rows = [Row(test: c.name, source: "off", depth: prefix.count, generatedTokens: reference.count, tokensPerSecond: base,
                        samples: plainSamples, speedup: 1, acceptanceRate: 0, meanAcceptedLength: 0, verificationPasses: 0, identical: true)]
        for (i, (name, _)) in sources.enumerated() {
            let tps = median(samples[i])
            rows.append(Row(test: c.name, source: name, depth: prefix.count, generatedTokens: reference.count, tokensPerSecond: tps,
                            samples: samples[i], speedup: base > 0 ? tps / base : 0, acceptanceRate: stats[i].acceptanceRate,
                            meanAcceptedLength: stats[i].meanAcceptedLength,
                            verificationPasses: stats[i].verificationPassCount / (repetitions + 1), identical: identical[i]))
        }
        return rows
    }

    /// One row-exact pass of each of `rowCounts` rows against one decode step, at `depth` tokens
    /// of `filler` (cycled), interleaved over the repetitions.
    public func verificationCost(depth: Int, rowCounts: [Int], filler: [Int32]) throws(ModelError) -> [CostRow] {
        precondition(!filler.isEmpty)
        let sequence = try context.model.makeSequence(format: format)
        let tokens = (0..<(depth + 1)).map { filler[$0 % filler.count] }
        try context.prefill(sequence, tokens: Array(tokens.prefix(max(1, depth))), logits: false)
        let start = sequence.tokenCount
        let drafts = (0..<(rowCounts.max() ?? 1)).map { filler[(start + $0) % filler.count] }
        let timed = try Self.timeVerification(context, sequence: sequence, drafts: drafts, rowCounts: rowCounts, repetitions: repetitions)
        try sequence.truncate(to: 0)
        return rowCounts.indices.map {
            CostRow(depth: start, rows: rowCounts[$0], relativeCost: timed.passes[$0] / timed.step, passSeconds: timed.passes[$0],
                    stepSeconds: timed.step)
        }
    }

    /// Medians, at `sequence`'s depth, of one decode step of `drafts[0]` and of one row-exact pass
    /// over the first r of `drafts` for each r in `rowCounts`, interleaved over `repetitions` rounds
    /// after one untimed round; the sequence is rolled back after each. (`MachineProbe` times the
    /// verification cost for the cost model with it; `verificationCost` for the whole curve.)
    static func timeVerification(_ context: ForwardContext, sequence: SequenceState, drafts: [Int32], rowCounts: [Int],
                                 repetitions: Int) throws(ModelError) -> (step: Double, passes: [Double]) {
        let start = sequence.tokenCount
        func time(_ body: () throws(ModelError) -> Void) throws(ModelError) -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        var step: [Double] = [], pass = [[Double]](repeating: [], count: rowCounts.count)
        for round in 0...repetitions {
            try sequence.truncate(to: start)
            let s = try time { () throws(ModelError) in _ = try context.forward([ForwardRequest(sequence, tokens: [drafts[0]])]) }
            if round > 0 { step.append(s) }
            for (i, rows) in rowCounts.enumerated() {
                try sequence.truncate(to: start)
                let p = try time { () throws(ModelError) in
                    _ = try context.forward([ForwardRequest(sequence, tokens: Array(drafts.prefix(rows)), logits: .all)], rowExact: true)
                }
                if round > 0 { pass[i].append(p) }
            }
        }
        try sequence.truncate(to: start)
        return (median(step), pass.map(median))
    }
}
