import ArgumentParser
import Foundation
import Model
import Tensor

/// `--activations` and `--lm-head` of generate, bench and perplexity: how the matmuls multiply
/// (ActivationFormat) and how the output layer is computed (LMHeadMode).
struct ComputeOptions: ParsableArguments {
    @Option(help: "Activation format of the matmuls: f32 (exact), q8 (int8 per 32-block), bf16 (not implemented: needs vdpbf16ps). bench takes a comma-separated list, run interleaved.")
    var activations = "f32"
    @Option(help: "Output layer: full, or certified (HiRE: a Q4_0 copy scores every token, a certificate proves the argmax; greedy decoding without repetition penalty, else full). bench takes a list.")
    var lmHead = "full"
    @Option(help: "The certified head's compressed copy: q4_0 (HiRE-Q), or q8_0 (no byte saving; tests the certificate).")
    var lmHeadCopy = "q4_0"

    init() {}
    init(activations: String) { self.activations = activations }

    func activationFormats() throws -> [ActivationFormat] {
        let list = try activations.split(separator: ",").map { name -> ActivationFormat in
            guard let f = ActivationFormat(rawValue: String(name)) else {
                throw CLIFailure(.usage, "unknown --activations \(name) (known: \(ActivationFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard f.isImplemented else {
                throw CLIFailure(.usage, "--activations \(name) is not implemented: this CPU class has no bf16 dot product (vdpbf16ps) and no emulation was written")
            }
            return f
        }
        guard !list.isEmpty else { throw CLIFailure(.usage, "--activations names no format") }
        return list
    }

    func heads() throws -> [LMHeadMode] {
        let list = try lmHead.split(separator: ",").map { name -> LMHeadMode in
            guard let m = LMHeadMode(rawValue: String(name)) else {
                throw CLIFailure(.usage, "unknown --lm-head \(name) (known: \(LMHeadMode.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return m
        }
        guard !list.isEmpty else { throw CLIFailure(.usage, "--lm-head names no mode") }
        return list
    }

    /// The single format and head of generate/perplexity, set on `context`; q8's fp32 fallbacks on stderr.
    func apply(to context: ForwardContext) throws {
        let formats = try activationFormats(), modes = try heads()
        guard formats.count == 1, modes.count == 1 else { throw CLIFailure(.usage, "--activations and --lm-head take one value here") }
        context.activations = formats[0]
        context.lmHead = modes[0]
        try applyCopy(to: context)
        Self.reportFallbacks(context)
    }

    func applyCopy(to context: ForwardContext) throws {
        guard let copy = CertifiedHeadCopy(rawValue: lmHeadCopy) else {
            throw CLIFailure(.usage, "unknown --lm-head-copy \(lmHeadCopy) (known: \(CertifiedHeadCopy.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        context.certifiedHeadCopy = copy
    }

    static func describe(_ s: CertifiedLMHead.Statistics, copyBytes: Int, fullBytes: Int) -> String {
        let perStep = s.certified > 0 ? String(format: "%.1f", Double(s.exactRows) / Double(s.certified)) : "-"
        return "certified LM head: \(s.certified) of \(s.rows) rows certified, \(s.fallbacks) computed in full; rows scored exactly per certified row \(perStep) (max \(s.maxExactRows)); compressed copy \(String(format: "%.1f", Double(copyBytes) / 1e6)) MB, full head \(String(format: "%.1f", Double(fullBytes) / 1e6)) MB"
    }

    static func reportFallbacks(_ context: ForwardContext) {
        guard context.activations == .q8 else { return }
        let names = context.q8Fallbacks
        if !names.isEmpty {
            FileHandle.standardError.write(Data("q8 activations: \(names.count) matrices stay fp32 (no integer codes for their type): \(names.joined(separator: ", "))\n".utf8))
        }
    }
}
