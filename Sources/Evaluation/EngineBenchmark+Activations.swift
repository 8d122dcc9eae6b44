import Model
import Foundation
import KVCache
import Tensor

/// ppN and tgN over several activation formats and LM heads in one run: round r of the
/// repetitions runs every variant once, so a change of machine load hits all of them alike.
/// Rows are named `pp512/q8`, `tg128/f32+certified`.
extension EngineBenchmark {
    public struct Variant: Sendable, Equatable {
        public let activations: ActivationFormat
        public let lmHead: LMHeadMode
        public init(activations: ActivationFormat, lmHead: LMHeadMode) {
            self.activations = activations
            self.lmHead = lmHead
        }
        public var label: String { activations.rawValue + (lmHead == .full ? "" : "+" + lmHead.rawValue) }
    }

    private func use(_ v: Variant) {
        context.activations = v.activations
        context.lmHead = v.lmHead
    }

    private func variantRow(_ test: String, _ v: Variant, depth: Int, samples: [Double]) -> Row {
        Row(test: test + "/" + v.label, tokensPerSecond: median(samples), samples: samples, threads: context.pool.threadCount,
            depth: depth, kv: format.rawValue, attention: context.decodeAttention.name)
    }

    public func promptProcessing(tokens n: Int, variants: [Variant]) throws(ModelError) -> [Row] {
        let prompt = randomTokens(n, seed: 1)
        var samples = [[Double]](repeating: [], count: variants.count)
        for rep in 0...repetitions {
            for (i, v) in variants.enumerated() {
                use(v)
                let seq = try context.model.makeSequence(format: format, budget: budget)
                let t0 = DispatchTime.now().uptimeNanoseconds
                try context.prefill(seq, tokens: prompt)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                if rep > 0 { samples[i].append(Double(n) / seconds) }
            }
        }
        return variants.enumerated().map { variantRow("pp\(n)", $1, depth: 0, samples: samples[$0]) }
    }

    public func textGeneration(tokens n: Int, depth: Int, variants: [Variant]) throws(ModelError) -> [Row] {
        let tokens = randomTokens(n, seed: 2)
        let seq = try context.model.makeSequence(format: format, budget: budget)
        if depth > 0 { try context.prefill(seq, tokens: randomTokens(depth, seed: 3), logits: false) }
        var samples = [[Double]](repeating: [], count: variants.count)
        for rep in 0...repetitions {
            for (i, v) in variants.enumerated() {
                use(v)
                try seq.truncate(to: depth)
                let count = rep == 0 ? min(n, 4) : n
                let t0 = DispatchTime.now().uptimeNanoseconds
                for t in tokens.prefix(count) { _ = try context.forward([ForwardRequest(seq, tokens: [t])]) }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                if rep > 0 { samples[i].append(Double(n) / seconds) }
            }
        }
        let name = depth == 0 ? "tg\(n)" : "tg\(n)@d\(depth)"
        return variants.enumerated().map { variantRow(name, $1, depth: depth, samples: samples[$0]) }
    }
}
