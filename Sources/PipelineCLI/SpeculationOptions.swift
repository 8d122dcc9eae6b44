import ArgumentParser
import Attention
import Model
import Tensor

/// Speculative decoding options shared by generate and bench.
struct SpeculationOptions: ParsableArguments {
    @Option(help: "Speculative decoding: off, lookup (n-grams of document, prompt and answer), self (same weights, topk attention over the KV), hier (lookup, self where lookup has no match); bench takes a comma-separated list.")
    var speculate = "off"
    @Option(help: "Most draft tokens per verification pass (γ; adapted to acceptance below it).")
    var draftTokens = 8
    @Option(help: "self/hier: keys per KV head the self draft's topk attention reads beyond its sinks and 64-token window.")
    var draftBudget = 256

    func validate() throws {
        guard (1...64).contains(draftTokens) else { throw ValidationError("--draft-tokens must be between 1 and 64") }
        guard draftBudget >= 1 else { throw ValidationError("--draft-budget must be ≥ 1") }
        for name in sourceNames where name != "off" && DraftSourceKind(rawValue: name) == nil {
            throw ValidationError("unknown --speculate \(name) (known: off, \(DraftSourceKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    var sourceNames: [String] { speculate.split(separator: ",").map { String($0) } }

    /// The draft source `name` over `model` (nil for off).
    func makeSource(_ name: String, model: LlamaModel, pool: ThreadPool) -> DraftSource? {
        guard let kind = DraftSourceKind(rawValue: name) else { return nil }
        return DraftSources.make(kind, model: model, pool: pool, budget: draftBudget)
    }
}

/// Speculation figures as generate and bench print them in JSON.
struct SpeculationReport: Encodable {
    let source: String
    let draftedTokens: Int
    let acceptedTokens: Int
    let acceptanceRate: Double
    let meanAcceptedLength: Double
    let verificationPasses: Int

    init(source: String, _ s: SpeculationStatistics) {
        self.source = source
        draftedTokens = s.draftedTokenCount
        acceptedTokens = s.acceptedTokenCount
        acceptanceRate = s.acceptanceRate
        meanAcceptedLength = s.meanAcceptedLength
        verificationPasses = s.verificationPassCount
    }

    enum CodingKeys: String, CodingKey {
        case source
        case draftedTokens = "drafted_tokens", acceptedTokens = "accepted_tokens", acceptanceRate = "acceptance_rate"
        case meanAcceptedLength = "mean_accepted_length", verificationPasses = "verification_passes"
    }
}
