import Foundation

/// A parsed JSON value, kept as a tree so that validation can say which field is wrong and what it
/// held (JSONDecoder's errors cannot name "what was expected" in the job format's own terms).
enum JSONValue: Decodable, Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// A short rendering for error messages: `"abc"`, `-3`, `true`, `null`, `an array of 2`, `an object`.
    var brief: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return String(value)
        case .integer(let value): return String(value)
        case .number(let value): return String(value)
        case .string(let value):
            let shown = value.count > 60 ? String(value.prefix(57)) + "..." : value
            return "\"\(shown)\""
        case .array(let values): return "an array of \(values.count)"
        case .object: return "an object"
        }
    }
}
