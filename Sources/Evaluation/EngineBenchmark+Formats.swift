import Attention
import CKernels
import Foundation
import KVCache
import Model
import Planner
import Store
import Tensor

extension EngineBenchmark {
    /// tgN@dD for several KV formats in one run: every format's cache is prefilled once with the
    /// same D tokens, then the timed repetitions rotate through the formats (f16, int8, int4, f16,
    /// …), so that a change in the machine's load during the run hits every format alike — the
    /// ratios between formats are what this measures. One row per format (median of its samples).
    public func textGeneration(tokens n: Int, depth: Int, formats: [KVFormat]) throws(ModelError) -> [Row] {
        let tokens = randomTokens(n, seed: 2), context = randomTokens(depth, seed: 3)
        var sequences: [SequenceState] = []
        for format in formats {
            let seq = try self.context.model.makeSequence(format: format, budget: budget)
            if depth > 0 { try self.context.prefill(seq, tokens: context, logits: false) }
            sequences.append(seq)
        }
        var samples = [[Double]](repeating: [], count: formats.count), first = [Double](repeating: 0, count: formats.count)
        for rep in 0...repetitions {
            for (i, seq) in sequences.enumerated() {
                try seq.truncate(to: depth)
                if rep == 0 { first[i] = try timeFirstStep(seq, token: tokens[0]) }
                let count = rep == 0 ? min(n, 4) - 1 : n
                let t0 = DispatchTime.now().uptimeNanoseconds
                for t in tokens.prefix(count) { _ = try self.context.forward([ForwardRequest(seq, tokens: [t])]) }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                if rep > 0 { samples[i].append(Double(n) / seconds) }
            }
        }
        return formats.indices.map { i in
            Row(test: depth == 0 ? "tg\(n)" : "tg\(n)@d\(depth)", tokensPerSecond: median(samples[i]), samples: samples[i],
                threads: self.context.pool.threadCount, depth: depth, kv: formats[i].rawValue, attention: self.context.decodeAttention.name)
                .amortizing(firstStepSeconds: first[i], steps: n)
        }
    }
}
