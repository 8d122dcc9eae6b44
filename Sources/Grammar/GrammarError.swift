/// What can be wrong with a response format or its schema, as data. `path` names the place in
/// the `response_format` object (`json_schema.schema.properties.when.type`).
public enum GrammarError: Error, Equatable, Sendable {
    /// A field has a value this subset does not accept: what was expected, what was there.
    case invalid(path: String, expected: String, found: String?)
    /// A JSON Schema keyword outside the supported subset (README, "Structured outputs").
    case unsupportedKeyword(path: String, keyword: String, supported: [String])

    public var path: String {
        switch self {
        case .invalid(let path, _, _), .unsupportedKeyword(let path, _, _): return path
        }
    }
}
