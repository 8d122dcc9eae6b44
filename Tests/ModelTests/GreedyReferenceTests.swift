import Foundation
import Model
import Tensor
import Testing
import TestSupport

/// Greedy continuations of the real model against the float64 reference (ref_forward.py), which
/// computes what the weights say exactly. Our engine keeps activations in fp32 and the KV in f16,
/// so it must reproduce every token up to the first step where the reference's top-1/top-2 logit
/// margin is below 0.02 (a near-tie that rounding may legitimately flip).
@Suite struct GreedyReferenceTests {
    struct Case: Decodable {
        let name: String
        let prompt_ids: [Int32]
        let f64_ids: [Int32]
        let f64_margins: [Double]
    }

    static func cases(_ file: String) throws -> [Case] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(file)")
        return try JSONDecoder().decode([Case].self, from: Data(contentsOf: url))
    }

    /// Steps an exact engine must reproduce: those before the first margin below 0.02.
    static func safeCount(_ margins: [Double]) -> Int { margins.firstIndex { $0 < 0.02 } ?? margins.count }

    @Test func sharedPromptsMatchTheFloat64Reference() throws {
        let model = try LlamaModel(path: try Paths.requireFile(Paths.realModel))
        let context = ForwardContext(model: model, pool: ThreadPool(threadCount: 2), maxTokens: 256)
        for c in try Self.cases("greedy-shared.json") {
            let seq = try model.makeSequence()
            var logits = try context.forward([ForwardRequest(seq, tokens: c.prompt_ids)])[0].last
            var ids: [Int32] = []
            for _ in 0..<c.f64_ids.count {
                let next = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
                ids.append(next)
                logits = try context.forward([ForwardRequest(seq, tokens: [next])])[0].last
            }
            let safe = Self.safeCount(c.f64_margins)
            #expect(Array(ids.prefix(safe)) == Array(c.f64_ids.prefix(safe)), "\(c.name): \(ids) vs reference \(c.f64_ids)")
            let agree = zip(ids, c.f64_ids).prefix { $0 == $1 }.count
            print("greedy \(c.name): \(agree)/\(c.f64_ids.count) tokens agree (safe prefix \(safe))")
        }
    }
}
