import Store

/// A job's speculative decoding with one draft source, as `status` reports it.
public struct SpeculationReport: Codable, Sendable, Equatable {
    public var units: Int
    public var draftedTokens: Int
    public var acceptedTokens: Int
    public var acceptanceRate: Double
    public var meanAcceptedLength: Double
    public var verificationPasses: Int

    public init(_ t: SpeculationTotals) {
        units = t.units
        draftedTokens = t.draftedTokens
        acceptedTokens = t.acceptedTokens
        acceptanceRate = t.acceptanceRate
        meanAcceptedLength = t.meanAcceptedLength
        verificationPasses = t.verificationPasses
    }

    enum CodingKeys: String, CodingKey {
        case units
        case draftedTokens = "drafted_tokens", acceptedTokens = "accepted_tokens", acceptanceRate = "acceptance_rate"
        case meanAcceptedLength = "mean_accepted_length", verificationPasses = "verification_passes"
    }
}
