// A strategy mix: decode attention (`AttentionConfiguration`, every parameter with its engine
// range) over a KV cache format (KVCache's `KVFormat`). One value serves the job parser, the CLI,
// calibration, the router and the executor (docs/architecture.md, "One unit", step 3).
//
// In a job file a mix is a flat object: `{"attention": "lsh", "kv": "int4", "lsh_k": 12}`. Its
// canonical form (part of the job's identity) names the attention, the KV format and only the
// parameters that differ from the defaults, so spelling out a default does not make a new job.
import Attention
import Foundation
import KVCache

public struct StrategyMix: Hashable, Sendable {
    public var attention: AttentionConfiguration
    public var kv: KVFormat

    public init(attention: AttentionConfiguration, kv: KVFormat = .f16) {
        self.attention = attention
        self.kv = kv
    }

    public init(_ kind: AttentionConfiguration.Kind, kv: KVFormat = .f16) {
        self.init(attention: AttentionConfiguration(kind), kv: kv)
    }

    public static let exact = StrategyMix(.dense, kv: .f16)

    /// Dense attention over f16 KV: the reference every fidelity tier is measured against.
    public var isExact: Bool { attention.kind == .dense && kv == .f16 }

    /// A short label for status and metrics, e.g. `lsh(lsh_k=12)+int4`, `topk+int8`.
    public var label: String { "\(attention.label)+\(kv.rawValue)" }

    /// The mix as calibration rows and routes identify it: the parameters its strategy does not use
    /// at their defaults, so two mixes that run the same strategy are equal keys.
    public var key: StrategyMix { StrategyMix(attention: attention.normalized, kv: kv) }

    /// The key of this mix's measured attention cost in a machine profile: `"<strategy>+<kv>"`,
    /// measured at the default parameters (`pipeline calibrate`).
    public var costKey: String { "\(attention.kind.rawValue)+\(kv.rawValue)" }

    /// The decode-attention strategy (validated configurations only).
    public func makeAttention() -> AttentionStrategy { attention.makeStrategy() }
}

extension StrategyMix: Codable {
    public static let attentionField = "attention", kvField = "kv"
    /// The field names of a strategy object in a job file.
    public static var fieldNames: [String] { ([attentionField, kvField] + AttentionConfiguration.parameters.map(\.name)).sorted() }

    struct Field: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Field.self)
        let kind = try container.decode(AttentionConfiguration.Kind.self, forKey: Field(stringValue: Self.attentionField))
        var attention = AttentionConfiguration(kind)
        for parameter in AttentionConfiguration.parameters {
            guard let value = try container.decodeIfPresent(Int.self, forKey: Field(stringValue: parameter.name)) else { continue }
            do {
                try attention.set(parameter.name, value)
            } catch {
                throw DecodingError.dataCorruptedError(forKey: Field(stringValue: parameter.name), in: container, debugDescription: "\(error)")
            }
        }
        self.init(attention: attention,
                  kv: try container.decodeIfPresent(KVFormat.self, forKey: Field(stringValue: Self.kvField)) ?? .f16)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Field.self)
        try container.encode(attention.kind, forKey: Field(stringValue: Self.attentionField))
        try container.encode(kv, forKey: Field(stringValue: Self.kvField))
        for (name, value) in attention.nonDefaultParameters { try container.encode(value, forKey: Field(stringValue: name)) }
    }
}

extension StrategyMix {
    /// The parameters of a calibration row as stored (`parametersJSON`): the non-default ones,
    /// as in a job file, without attention and kv.
    public var parametersJSON: String {
        let object = Dictionary(uniqueKeysWithValues: attention.nonDefaultParameters.map { ($0.name, $0.value) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(object)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// The mix a calibration row measured; nil for rows this build cannot read (another strategy,
    /// or parameters stored in an older form), which the router then ignores.
    public init?(strategy: String, parametersJSON: String, kv: String) {
        guard let kind = AttentionConfiguration.Kind(rawValue: strategy), let format = KVFormat(rawValue: kv),
              let parameters = try? JSONDecoder().decode([String: Int].self, from: Data(parametersJSON.utf8))
        else { return nil }
        var attention = AttentionConfiguration(kind)
        for parameter in AttentionConfiguration.parameters(of: kind) {
            guard let value = parameters[parameter.name] else { continue }
            guard (try? attention.set(parameter.name, value)) != nil else { return nil }
        }
        guard parameters.keys.allSatisfy({ name in AttentionConfiguration.parameters(of: kind).contains { $0.name == name } }),
              (try? attention.validate()) != nil
        else { return nil }
        self.init(attention: attention, kv: format)
    }
}
