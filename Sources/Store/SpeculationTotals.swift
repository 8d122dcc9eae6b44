/// Speculative decoding of a job's done units with one draft source (`status JOB`).
public struct SpeculationTotals: Sendable, Equatable {
    public var units: Int
    public var draftedTokens: Int
    public var acceptedTokens: Int
    public var verificationPasses: Int
    /// Passes that carried draft tokens.
    public var draftingPasses: Int

    public init(units: Int, draftedTokens: Int, acceptedTokens: Int, verificationPasses: Int, draftingPasses: Int) {
        self.units = units
        self.draftedTokens = draftedTokens
        self.acceptedTokens = acceptedTokens
        self.verificationPasses = verificationPasses
        self.draftingPasses = draftingPasses
    }

    public var acceptanceRate: Double { draftedTokens > 0 ? Double(acceptedTokens) / Double(draftedTokens) : 0 }
    /// Draft tokens kept per pass that carried drafts.
    public var meanAcceptedLength: Double { draftingPasses > 0 ? Double(acceptedTokens) / Double(draftingPasses) : 0 }
}
