import Foundation
import Tensor
import Testing
@testable import Pipeline
import Planner

/// The activation format as a pinned dimension of a job's strategy mix (issue 14).
@Suite struct ActivationMixTests {
    let file = "jobs/x.json"
    func parse(_ json: String) throws -> JobSpec { try JobSpec.parse(Data(json.utf8), file: file) }

    @Test func aPinnedMixCarriesItsActivationFormat() throws {
        let spec = try parse(#"{"name": "j", "documents": ["a.txt"], "prompts": ["Q?"], "strategy": {"attention": "dense", "kv": "int8", "activations": "q8"}}"#)
        var expected = StrategyMix(.dense, kv: .int8)
        expected.activations = .q8
        #expect(spec.strategy == .pinned(expected))
        #expect(expected.label == "dense+int8+q8")
        #expect(try JobSpec.stored(spec.canonicalJSON(), jobID: "x") == spec)
    }

    /// A mix without the field (or with f32 spelled out) encodes as before the field existed.
    @Test func f32LeavesTheSpecAndItsIdentityUnchanged() throws {
        let plain = try parse(#"{"name": "j", "documents": ["a.txt"], "prompts": ["Q?"], "strategy": {"attention": "topk", "kv": "f16"}}"#)
        let spelled = try parse(#"{"name": "j", "documents": ["a.txt"], "prompts": ["Q?"], "strategy": {"attention": "topk", "kv": "f16", "activations": "f32"}}"#)
        #expect(try plain.canonicalJSON() == spelled.canonicalJSON())
        #expect(try !plain.canonicalJSON().contains("activations"))
        #expect(StrategyMix(.topk, kv: .f16).label == "topk+f16")
    }

    @Test func exactFidelityAndBF16AreRefused() throws {
        #expect(throws: PipelineError.self) {
            try parse(#"{"name": "j", "documents": ["a.txt"], "prompts": ["Q?"], "fidelity": "exact", "strategy": {"attention": "dense", "kv": "f16", "activations": "q8"}}"#)
        }
        #expect(throws: PipelineError.self) {
            try parse(#"{"name": "j", "documents": ["a.txt"], "prompts": ["Q?"], "strategy": {"attention": "dense", "kv": "f16", "activations": "bf16"}}"#)
        }
        #expect(throws: PipelineError.self) {
            try parse(#"{"name": "j", "documents": ["a.txt"], "prompts": ["Q?"], "strategy": {"attention": "dense", "kv": "f16", "activations": "int4"}}"#)
        }
    }
}
