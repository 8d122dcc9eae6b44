/// One answer being decoded under a grammar: the automaton's state, advanced by the bytes of
/// each token appended (sampled or forced). The decode loop asks `plan()` for the mask, samples,
/// then `accept`s the token's bytes and appends the forced bytes' tokens in the same forward pass.
public struct ConstrainedDecoder: Sendable {
    public let masker: TokenMasker
    public private(set) var state: GrammarState
    /// Seconds spent computing plans (masks, forced bytes) for this answer, and how many.
    public private(set) var planSeconds = 0.0
    public private(set) var planCount = 0

    public init(masker: TokenMasker) {
        self.masker = masker
        state = masker.machine.initial
    }

    public mutating func plan() -> StepPlan {
        let t0 = DispatchTimeNanoseconds.now()
        let plan = masker.plan(for: state)
        planSeconds += Double(DispatchTimeNanoseconds.now() - t0) / 1e9
        planCount += 1
        return plan
    }

    /// Advances by `bytes`; false (state unchanged) when they would break the grammar.
    @discardableResult
    public mutating func accept(_ bytes: [UInt8]) -> Bool {
        let next = masker.machine.feed(state, bytes)
        guard !next.isDead else { return false }
        state = next
        return true
    }

    public var isComplete: Bool { masker.machine.isComplete(state) }
    /// Complete, and nothing more could follow: the answer ends without asking the model.
    public var isClosed: Bool { masker.machine.isClosed(state) }
}
