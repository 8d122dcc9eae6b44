// Job-file validation: every error names the file, the field and what was expected (job file reference in README.md).
import Attention
import Foundation
import Grammar
import KVCache
import Planner
import Tensor

extension JobSpec {
    /// `prompt_options` is derived from prompts written as objects, never written itself.
    static let fieldNames = CodingKeys.allCases.filter { $0 != .promptOptions }.map(\.rawValue).sorted()

    /// Parses and validates a job file's bytes; `file` is only used to name it in errors.
    public static func parse(_ data: Data, file: String) throws -> JobSpec {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw PipelineError.jobFileNotJSON(file: file, detail: Self.describe(error))
        }
        guard case .object(let object) = root else {
            throw PipelineError.jobFileNotJSON(file: file, detail: "the top level is \(root.brief), not an object")
        }
        if let duplicate = JSONDuplicateKeys.first(in: data) {
            throw PipelineError.invalidJobField(file: file, field: duplicate, expected: "each field given once",
                                                found: "the field a second time")
        }
        let fields = JobFields(file: file, object: object, prefix: "")
        try fields.rejectUnknown(allowed: fieldNames)
        var spec = JobSpec(
            name: try fields.name("name"),
            documents: try fields.strings("documents", what: "path or glob pattern"),
            prompts: [])
        spec.maxNewTokens = try fields.integer("max_new_tokens", in: 1...8192) ?? defaultMaxNewTokens
        spec.temperature = try fields.number("temperature", in: 0...10) ?? 0
        spec.seed = try fields.integer("seed", in: 0...Int.max) ?? 0
        spec.fidelity = try fields.choice("fidelity", Fidelity.self) ?? .high
        spec.strategy = try strategy(fields)
        if case .pinned(let mix) = spec.strategy, mix.activations != .f32, spec.fidelity == .exact {
            throw PipelineError.invalidJobField(file: file, field: "strategy.activations",
                                                expected: "f32 with fidelity \"exact\" (the exact path multiplies fp32 activations)",
                                                found: mix.activations.rawValue)
        }
        spec.memoryBudgetMB = try fields.integer("memory_budget_mb", in: 16...1_048_576) ?? defaultMemoryBudgetMB
        spec.model = try fields.optionalString("model", expected: "a path to a GGUF file, relative to the job file")
        spec.overflow = try fields.choice("overflow", OverflowPolicy.self) ?? .fail
        spec.responseFormat = try fields.responseFormat("response_format")
        try parsePrompts(fields, into: &spec)
        spec.speculate = try speculation(fields)
        if spec.fidelity == .exact, case .pinned(let mix) = spec.strategy, !mix.isExact {
            // Pinning an approximation would silently break the promise `exact` makes.
            throw PipelineError.invalidJobField(
                file: file, field: "strategy", expected: "dense attention over f16 KV (or \"auto\") with \"fidelity\": \"exact\"",
                found: "\(mix.label), which is an approximation; ask for \"fidelity\": \"high\" or \"fast\" to pin it")
        }
        return spec
    }

    private static func strategy(_ fields: JobFields) throws -> StrategyChoice {
        let expected = "\"auto\" or an object such as {\"attention\": \"lsh\", \"kv\": \"int4\"}"
        switch fields.object["strategy"] {
        case nil, .string("auto"):
            return .auto
        case .object(let object):
            let inner = JobFields(file: fields.file, object: object, prefix: "strategy.")
            try inner.rejectUnknown(allowed: StrategyMix.fieldNames)
            guard let kind = try inner.choice("attention", AttentionConfiguration.Kind.self) else {
                throw inner.invalid("attention", expected: inner.oneOf(AttentionConfiguration.Kind.self), found: nil)
            }
            var attention = AttentionConfiguration(kind)
            // In the table's order: top_k before k_prime, whose range starts at top_k.
            for parameter in AttentionConfiguration.parameters {
                let applies = parameter.appliesTo.contains(kind)
                let with = parameter.appliesTo.map(\.rawValue).sorted().joined(separator: " or ")
                guard let value = try inner.integer(parameter.name, in: parameter.range(in: attention), only: applies, with: with) else { continue }
                // `set` applies the configuration's own rules (k′ follows top_k at 4k until given).
                do { try attention.set(parameter.name, value) } catch {
                    throw inner.invalid(parameter.name, expected: "\(error)", found: String(value))
                }
            }
            var mix = StrategyMix(attention: attention, kv: try inner.choice("kv", KVFormat.self) ?? .f16)
            if let a = try inner.choice("activations", ActivationFormat.self) {
                guard a.isImplemented else { throw inner.invalid("activations", expected: "\"f32\" or \"q8\" (bf16 is not implemented)", found: a.rawValue) }
                mix.activations = a
            }
            return .pinned(mix)
        case let other?:
            throw fields.invalid("strategy", expected: expected, found: other.brief)
        }
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? context.debugDescription
        default:
            return "\(error)"
        }
    }
}

/// Typed access to one JSON object of a job file, throwing `PipelineError.invalidJobField`.
struct JobFields {
    let file: String
    let object: [String: JSONValue]
    /// Prepended to field names in errors (`strategy.` for the strategy object).
    let prefix: String

    func invalid(_ key: String, expected: String, found: String?) -> PipelineError {
        .invalidJobField(file: file, field: prefix + key, expected: expected, found: found)
    }

    func rejectUnknown(allowed: [String]) throws {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw PipelineError.unknownJobField(file: file, field: prefix + unknown, allowed: allowed)
        }
    }

    func oneOf<Choice: RawRepresentable & CaseIterable>(_: Choice.Type) -> String where Choice.RawValue == String {
        "one of " + Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
    }

    func name(_ key: String) throws -> String {
        let expected = "a name of 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit"
        guard let value = object[key] else { throw invalid(key, expected: expected, found: nil) }
        guard case .string(let name) = value, (1...100).contains(name.count),
              name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }),
              let first = name.unicodeScalars.first, CharacterSet.alphanumerics.contains(first)
        else { throw invalid(key, expected: expected, found: value.brief) }
        return name
    }

    /// A required non-empty array of non-empty strings.
    func strings(_ key: String, what: String) throws -> [String] {
        let expected = "a non-empty array of strings (each a \(what))"
        guard let value = object[key] else { throw invalid(key, expected: expected, found: nil) }
        guard case .array(let items) = value, !items.isEmpty else { throw invalid(key, expected: expected, found: value.brief) }
        return try items.enumerated().map { index, item in
            guard case .string(let text) = item, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw invalid("\(key)[\(index)]", expected: "a non-empty \(what)", found: item.brief)
            }
            return text
        }
    }

    func optionalString(_ key: String, expected: String) throws -> String? {
        switch object[key] {
        case nil, .null: return nil
        case .string(let text) where !text.isEmpty: return text
        case let other?: throw invalid(key, expected: expected, found: other.brief)
        }
    }

    /// An optional integer in `range`; `only` false means the field is not allowed here.
    func integer(_ key: String, in range: ClosedRange<Int>, only allowedHere: Bool = true, with context: String = "") throws -> Int? {
        guard let value = object[key] else { return nil }
        let expected = "an integer from \(range.lowerBound) to \(range.upperBound)"
        guard allowedHere else {
            throw invalid(key, expected: "no \(key) here: it applies only with \"attention\": \(context)", found: value.brief)
        }
        switch value {
        case .integer(let number) where number >= Int64(range.lowerBound) && number <= Int64(range.upperBound):
            return Int(number)
        case .number(let number) where number.rounded() == number && number >= -0x1p63 && number < 0x1p63
                                          && range.contains(Int(number)):
            return Int(number)
        default:
            throw invalid(key, expected: expected, found: value.brief)
        }
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let value = object[key] else { return nil }
        switch value {
        case .integer(let number) where range.contains(Double(number)): return Double(number)
        case .number(let number) where range.contains(number): return number
        default: throw invalid(key, expected: "a number from \(range.lowerBound) to \(range.upperBound)", found: value.brief)
        }
    }

    func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, _ type: Choice.Type) throws -> Choice? where Choice.RawValue == String {
        guard let value = object[key] else { return nil }
        guard case .string(let text) = value, let choice = Choice(rawValue: text) else {
            throw invalid(key, expected: oneOf(type), found: value.brief)
        }
        return choice
    }
}
