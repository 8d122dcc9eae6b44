/// Where speculative decoding's draft tokens come from (Leviathan et al. 2023; TriForce,
/// arXiv 2404.11912, for the hierarchy). A source proposes tokens to follow a sequence; the
/// `SpeculativeDecoder` verifies them with exact dense attention and keeps only what the target
/// model would have produced. Every source here is deterministic given the sequence (a point-mass
/// draft distribution), which is what the decoder's acceptance rule at temperature > 0 assumes.
public protocol DraftSource: AnyObject {
    /// `lookup`, `self`, `hier`: the name jobs, reports and the CLI use.
    var name: String { get }
    /// Up to `limit` tokens to follow `pending` (the last token, sampled but not yet in the
    /// sequence's cache). `sequence` holds every verified token before it. A source may append to
    /// the sequence while drafting, but must leave it as it found it.
    func propose(sequence: SequenceState, pending: Int32, limit: Int) throws(ModelError) -> [Int32]
}

/// The draft sources by name, with their parameters.
public enum DraftSourceKind: String, Sendable, Codable, CaseIterable {
    /// n-gram lookup over the sequence's own tokens (document, prompt, generated).
    case lookup
    /// The same weights with a sparse decode attention over the sequence's own KV.
    case selfDraft = "self"
    /// lookup where it finds a match, self where it does not.
    case hier
}

/// Draft length adapted to recent acceptance: one more after a pass that kept every draft, the
/// accepted count plus one after a pass that did not (so a run of misses costs one row each).
public struct AdaptiveDraftLength: Sendable {
    public let maximum: Int
    public private(set) var current: Int

    public init(maximum: Int, initial: Int? = nil) {
        precondition(maximum >= 1)
        self.maximum = maximum
        current = min(maximum, initial ?? min(4, maximum))
    }

    public mutating func record(drafted: Int, accepted: Int) {
        guard drafted > 0 else { return }
        current = accepted == drafted ? min(maximum, current + 1) : max(1, min(maximum, accepted + 1))
    }
}
