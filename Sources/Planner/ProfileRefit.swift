import Foundation

/// One recorded unit as the refit sees it (from the store's metrics).
public struct UnitSample: Sendable, Equatable {
    /// Template head + kept document tokens (what was prefilled), and whether it came from a snapshot.
    public var documentTokens: Int
    public var snapshotLoaded: Bool
    public var documentPrefillSeconds: Double
    /// Prompts' decode: seconds, generated tokens, the mean depth of a step, the batch it shared.
    public var decodeSeconds: Double
    public var generatedTokens: Int
    public var meanDepth: Int
    public var batchSize: Int
    /// The mix's cost key (`topk+int8`).
    public var costKey: String
    /// Generated tokens over prompts × max_new_tokens.
    public var answerFraction: Double

    public init(documentTokens: Int, snapshotLoaded: Bool, documentPrefillSeconds: Double, decodeSeconds: Double,
                generatedTokens: Int, meanDepth: Int, batchSize: Int, costKey: String, answerFraction: Double) {
        self.documentTokens = documentTokens
        self.snapshotLoaded = snapshotLoaded
        self.documentPrefillSeconds = documentPrefillSeconds
        self.decodeSeconds = decodeSeconds
        self.generatedTokens = generatedTokens
        self.meanDepth = meanDepth
        self.batchSize = batchSize
        self.costKey = costKey
        self.answerFraction = answerFraction
    }
}

/// Refits a profile from what recorded units measured (least squares; FlexGen fits its cost
/// model's coefficients offline, we keep fitting them as runs accumulate):
///
///   prefill: documentPrefillSeconds ≈ a·n + b·n²/2 over units that prefilled (no snapshot) —
///            two-parameter least squares without intercept, kept only when both come out ≥ 0
///            and at least two distinct lengths were seen;
///   decode:  decodeSeconds / generated ≈ s · (w/B + c + attn_mix(depth) + i_mix·n/generated), the
///            last term the strategy's index built over the document — one scale s over
///            all units, s = Σ pred·meas / Σ pred² (per-token figures), applied to w, c and every
///            attention curve (the machine ran slower or faster than the probe measured, e.g.
///            under load);
///   answers: the mean share of max_new_tokens the answers used (what `decode` multiplies by).
public enum ProfileRefit {
    public struct Result: Sendable {
        public var profile: MachineProfile
        public var answerFraction: Double?
        public var prefillUnits: Int
        public var decodeUnits: Int
        public var decodeScale: Double?
    }

    public static func refit(_ profile: MachineProfile, samples: [UnitSample]) -> Result {
        var p = profile
        // Prefill.
        let prefilled = samples.filter { !$0.snapshotLoaded && $0.documentTokens > 0 && $0.documentPrefillSeconds > 0 }
        if Set(prefilled.map(\.documentTokens)).count >= 2 {
            var s11 = 0.0, s12 = 0.0, s22 = 0.0, y1 = 0.0, y2 = 0.0
            for u in prefilled {
                let x1 = Double(u.documentTokens), x2 = x1 * x1 / 2, y = u.documentPrefillSeconds
                s11 += x1 * x1; s12 += x1 * x2; s22 += x2 * x2; y1 += x1 * y; y2 += x2 * y
            }
            let det = s11 * s22 - s12 * s12
            if det > 0 {
                let a = (y1 * s22 - y2 * s12) / det, b = (s11 * y2 - s12 * y1) / det
                if a > 0 && b >= 0 { p.prefillSecondsPerToken = a; p.prefillSecondsPerPair = b }
            }
        }
        // Decode.
        var num = 0.0, den = 0.0, decodeUnits = 0
        for u in samples where u.generatedTokens > 0 && u.decodeSeconds > 0 {
            guard let attention = profile.attention[u.costKey] else { continue }
            let predicted = profile.decodeWeightSeconds / Double(max(1, u.batchSize)) + profile.decodePerSequenceSeconds
                + attention.seconds(atDepth: u.meanDepth)
                + attention.indexBuildSeconds(tokens: u.documentTokens) / Double(u.generatedTokens)
            let measured = u.decodeSeconds / Double(u.generatedTokens)
            num += predicted * measured
            den += predicted * predicted
            decodeUnits += 1
        }
        var scale: Double?
        if den > 0 {
            let s = num / den
            scale = s
            p.decodeWeightSeconds *= s
            p.decodePerSequenceSeconds *= s
            for (key, cost) in p.attention {
                p.attention[key] = MachineProfile.AttentionCost(depths: cost.depths, stepSeconds: cost.stepSeconds.map { $0 * s },
                                                                indexBuildSecondsPerToken: cost.indexBuildSecondsPerToken * s)
            }
        }
        p.refitUnits = samples.count
        p.measuredAt = Date()
        return Result(profile: p, answerFraction: meanAnswerFraction(samples), prefillUnits: prefilled.count, decodeUnits: decodeUnits,
                      decodeScale: scale)
    }

    /// The mean share of max_new_tokens the samples' answers used (at most 1; an answer that
    /// stopped at once counts as 0); nil without samples.
    public static func meanAnswerFraction(_ samples: [UnitSample]) -> Double? {
        samples.isEmpty ? nil : min(1, samples.reduce(0) { $0 + $1.answerFraction } / Double(samples.count))
    }
}
