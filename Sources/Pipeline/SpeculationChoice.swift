import Foundation
import Model

/// A job's `speculate` field (issue 15): `"auto"` (the default: the router speculates where its
/// cost model predicts a gain, at temperature 0 only, where the output is token-identical to
/// plain decoding), `"off"`, or a pinned draft source: `"lookup"`, `"self"`, `"hier"`, or
/// `{"source": "self", "draft_tokens": 8, "draft_budget": 256}`. Speculation verifies with
/// dense attention over the exact KV, so `fidelity: exact` may use it.
///
/// Canonical form: auto is left out (`JobSpec.speculate` nil), so job files without the field keep
/// the ids they had before it existed.
public enum SpeculationChoice: Codable, Equatable, Sendable {
    case off
    case pinned(SpeculationSettings)

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let word = try? container.decode(String.self), word == "off" {
            self = .off
        } else {
            self = .pinned(try container.decode(SpeculationSettings.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .off: try container.encode("off")
        case .pinned(let s): try container.encode(s)
        }
    }
}

/// A pinned draft source and its parameters (nil: the defaults).
public struct SpeculationSettings: Codable, Equatable, Sendable {
    public var source: DraftSourceKind
    /// Most draft tokens per verification pass (γ).
    public var draftTokens: Int?
    /// self and hier: keys per KV head the self draft's topk attention reads.
    public var draftBudget: Int?

    public static let defaultDraftTokens = 8
    public static let defaultDraftBudget = 256

    public init(source: DraftSourceKind, draftTokens: Int? = nil, draftBudget: Int? = nil) {
        self.source = source
        self.draftTokens = draftTokens
        self.draftBudget = draftBudget
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case source
        case draftTokens = "draft_tokens", draftBudget = "draft_budget"
    }
}

extension JobSpec {
    static let speculationFieldNames = SpeculationSettings.CodingKeys.allCases.map(\.rawValue).sorted()

    /// `speculate`: nil for auto (absent or "auto").
    static func speculation(_ fields: JobFields) throws -> SpeculationChoice? {
        let sources = DraftSourceKind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        let expected = "\"auto\", \"off\", one of \(sources), or an object such as {\"source\": \"lookup\", \"draft_tokens\": 8}"
        switch fields.object["speculate"] {
        case nil, .string("auto"):
            return nil
        case .string("off"):
            return .off
        case .string(let word):
            guard let kind = DraftSourceKind(rawValue: word) else { throw fields.invalid("speculate", expected: expected, found: "\"\(word)\"") }
            return .pinned(SpeculationSettings(source: kind))
        case .object(let object):
            let inner = JobFields(file: fields.file, object: object, prefix: "speculate.")
            try inner.rejectUnknown(allowed: speculationFieldNames)
            guard let kind = try inner.choice("source", DraftSourceKind.self) else {
                throw inner.invalid("source", expected: inner.oneOf(DraftSourceKind.self), found: nil)
            }
            var settings = SpeculationSettings(source: kind)
            settings.draftTokens = try inner.integer("draft_tokens", in: 1...64)
            settings.draftBudget = try inner.integer("draft_budget", in: 1...65536, only: kind != .lookup, with: "self or hier")
            return .pinned(settings)
        case let other?:
            throw fields.invalid("speculate", expected: expected, found: other.brief)
        }
    }
}
