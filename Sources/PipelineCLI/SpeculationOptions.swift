import ArgumentParser
import Attention
import Model
import Pipeline
import Store
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


extension SpeculationReport {
    /// One generation's figures in the job report's form.
    init(_ s: SpeculationStatistics) {
        self.init(SpeculationTotals(units: 1, draftedTokens: s.draftedTokenCount, acceptedTokens: s.acceptedTokenCount,
                                    verificationPasses: s.verificationPassCount, draftingPasses: s.draftingPassCount))
    }
}

/// generate's JSON figures (the job report's form; a name for files that do not import Pipeline).
typealias SpeculationFigures = SpeculationReport
