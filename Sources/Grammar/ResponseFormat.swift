/// OpenAI's `response_format`: `{"type": "text"}` (no constraint), `{"type": "json_object"}`
/// (any JSON object) or `{"type": "json_schema", "json_schema": {"name", "schema", "strict"?,
/// "description"?}}`. Parsing validates the schema by compiling it, so a bad schema is refused
/// where it is written (submit), naming its path. Encodes back to the same shape.
public enum ResponseFormat: Codable, Equatable, Hashable, Sendable {
    case jsonObject
    case jsonSchema(name: String, schema: JSONValue, strict: Bool?)

    /// Nil for `{"type": "text"}`. Errors name paths below `path` (the field's own name).
    public static func parse(_ value: JSONValue, path: String) throws(GrammarError) -> ResponseFormat? {
        guard case .object(let object) = value else {
            throw .invalid(path: path, expected: "an object with \"type\"", found: value.brief)
        }
        func reject(unknownIn object: [String: JSONValue], allowed: [String], at path: String) throws(GrammarError) {
            if let key = object.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw .unsupportedKeyword(path: path + "." + key, keyword: key, supported: allowed)
            }
        }
        switch object["type"] {
        case .string("text")?:
            try reject(unknownIn: object, allowed: ["type"], at: path)
            return nil
        case .string("json_object")?:
            try reject(unknownIn: object, allowed: ["type"], at: path)
            return .jsonObject
        case .string("json_schema")?:
            try reject(unknownIn: object, allowed: ["type", "json_schema"], at: path)
            let inner = path + ".json_schema"
            guard case .object(let body)? = object["json_schema"] else {
                throw .invalid(path: inner, expected: "an object with \"name\" and \"schema\"", found: object["json_schema"]?.brief)
            }
            try reject(unknownIn: body, allowed: ["name", "schema", "strict", "description"], at: inner)
            guard case .string(let name)? = body["name"], (1...64).contains(name.count),
                  name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") })
            else { throw .invalid(path: inner + ".name", expected: "1 to 64 letters, digits, '_' or '-'", found: body["name"]?.brief) }
            var strict: Bool?
            switch body["strict"] {
            case nil, .null?: strict = nil
            case .bool(let value)?: strict = value
            case let other?: throw .invalid(path: inner + ".strict", expected: "true or false", found: other.brief)
            }
            if case .string? = body["description"] {} else if let other = body["description"] {
                throw .invalid(path: inner + ".description", expected: "a string", found: other.brief)
            }
            guard let schema = body["schema"] else { throw .invalid(path: inner + ".schema", expected: "a JSON Schema object", found: nil) }
            _ = try SchemaCompiler.compile(schema, path: inner + ".schema")
            return .jsonSchema(name: name, schema: schema, strict: strict)
        case let other:
            throw .invalid(path: path + ".type", expected: "\"text\", \"json_object\" or \"json_schema\"", found: other?.brief)
        }
    }

    /// The grammar answers must follow.
    public func grammar() throws(GrammarError) -> Grammar {
        switch self {
        case .jsonObject: return try SchemaCompiler.compile(.object(["type": .string("object")]), path: "json_object")
        case .jsonSchema(_, let schema, _): return try SchemaCompiler.compile(schema, path: "json_schema.schema")
        }
    }

    enum CodingKeys: String, CodingKey { case type, jsonSchema = "json_schema" }
    enum SchemaKeys: String, CodingKey { case name, schema, strict }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if try container.decode(String.self, forKey: .type) == "json_object" { self = .jsonObject; return }
        let body = try container.nestedContainer(keyedBy: SchemaKeys.self, forKey: .jsonSchema)
        self = .jsonSchema(name: try body.decode(String.self, forKey: .name), schema: try body.decode(JSONValue.self, forKey: .schema),
                           strict: try body.decodeIfPresent(Bool.self, forKey: .strict))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .jsonObject:
            try container.encode("json_object", forKey: .type)
        case .jsonSchema(let name, let schema, let strict):
            try container.encode("json_schema", forKey: .type)
            var body = container.nestedContainer(keyedBy: SchemaKeys.self, forKey: .jsonSchema)
            try body.encode(name, forKey: .name)
            try body.encode(schema, forKey: .schema)
            try body.encodeIfPresent(strict, forKey: .strict)
        }
    }
}
