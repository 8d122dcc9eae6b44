// JSON Schema subset → grammar nodes (`GrammarNode`). The subset is what OpenAI's strict
// structured outputs accept, less references:
//   type: object (properties, required, additionalProperties false), array (items, minItems,
//   maxItems), string (maxLength), number, integer, boolean, null, or an array of these types;
//   enum and const (any JSON values, spelled as compact JSON); anyOf; nesting; title and
//   description (ignored). An object without "properties" is any JSON object.
// Anything else is refused with the keyword's path, so a schema is never silently weakened.

public enum SchemaCompiler {
    static let keywords = ["$schema", "additionalProperties", "anyOf", "const", "description", "enum", "items", "maxItems",
                           "maxLength", "minItems", "properties", "required", "title", "type"]
    static let types = ["array", "boolean", "integer", "null", "number", "object", "string"]

    public static func compile(_ schema: JSONValue, path: String) throws(GrammarError) -> Grammar {
        var builder = Builder()
        let anyString = builder.add(.string(maxLength: Int(Int32.max)))
        let anyValue = builder.reserve()
        let alternatives = [builder.add(.anyObject), builder.add(.anyArray), anyString, builder.add(.number(integer: false)),
                            builder.add(.literal(Array("true".utf8))), builder.add(.literal(Array("false".utf8))),
                            builder.add(.literal(Array("null".utf8)))]
        builder.nodes[anyValue] = .anyOf(alternatives)
        builder.anyValue = anyValue
        builder.anyString = anyString
        let root = try builder.compile(schema, path: path)
        return Grammar(nodes: builder.nodes, root: root, anyValue: anyValue, anyString: anyString)
    }

    struct Builder {
        var nodes: [GrammarNode] = []
        var anyValue = 0, anyString = 0

        mutating func add(_ node: GrammarNode) -> Int {
            nodes.append(node)
            return nodes.count - 1
        }

        mutating func reserve() -> Int { add(.anyOf([])) }

        mutating func compile(_ schema: JSONValue, path: String) throws(GrammarError) -> Int {
            guard case .object(let s) = schema else {
                throw .invalid(path: path, expected: "a schema object", found: schema.brief)
            }
            if let key = s.keys.sorted().first(where: { !keywords.contains($0) }) {
                throw .unsupportedKeyword(path: path + "." + key, keyword: key, supported: keywords)
            }
            if s["const"] != nil && s["enum"] != nil {
                throw .invalid(path: path + ".enum", expected: "enum or const, not both", found: s["enum"]!.brief)
            }
            if let value = s["const"] { return try literals([value], schema: s, path: path + ".const") }
            if let value = s["enum"] {
                guard case .array(let values) = value, !values.isEmpty else {
                    throw .invalid(path: path + ".enum", expected: "a non-empty array of values", found: value.brief)
                }
                return try literals(values, schema: s, path: path + ".enum")
            }
            if let value = s["anyOf"] {
                guard case .array(let branches) = value, !branches.isEmpty else {
                    throw .invalid(path: path + ".anyOf", expected: "a non-empty array of schemas", found: value.brief)
                }
                if let other = s.keys.sorted().first(where: { !["anyOf", "title", "description", "$schema"].contains($0) }) {
                    throw .invalid(path: path + "." + other, expected: "nothing beside anyOf (put it inside each branch)", found: s[other]!.brief)
                }
                var ids: [Int] = []
                for (i, branch) in branches.enumerated() { ids.append(try compile(branch, path: path + ".anyOf[\(i)]")) }
                return add(.anyOf(ids))
            }
            let typeNames = try types(s, path: path)
            guard let typeNames else {
                if let key = s.keys.sorted().first(where: { !["title", "description", "$schema"].contains($0) }) {
                    throw .invalid(path: path + ".type", expected: "a type beside \"\(key)\"", found: nil)
                }
                return anyValue
            }
            for key in s.keys.sorted() where !allowed(key, for: typeNames) {
                throw .invalid(path: path + "." + key, expected: "no \(key) for type \(typeNames.joined(separator: "/"))", found: s[key]!.brief)
            }
            var ids: [Int] = []
            for name in typeNames { ids.append(try typed(name, s, path: path)) }
            return ids.count == 1 ? ids[0] : add(.anyOf(ids))
        }

        func allowed(_ key: String, for typeNames: [String]) -> Bool {
            switch key {
            case "properties", "required", "additionalProperties": return typeNames.contains("object")
            case "items", "minItems", "maxItems": return typeNames.contains("array")
            case "maxLength": return typeNames.contains("string")
            default: return true
            }
        }

        /// `type` as a list of names; nil when absent.
        func types(_ s: [String: JSONValue], path: String) throws(GrammarError) -> [String]? {
            let expected = "one of " + SchemaCompiler.types.map { "\"\($0)\"" }.joined(separator: ", ") + ", or an array of them"
            switch s["type"] {
            case nil: return nil
            case .string(let name)? where SchemaCompiler.types.contains(name): return [name]
            case .array(let items)? where !items.isEmpty:
                var names: [String] = []
                for item in items {
                    guard case .string(let name) = item, SchemaCompiler.types.contains(name), !names.contains(name) else {
                        throw .invalid(path: path + ".type", expected: expected, found: item.brief)
                    }
                    names.append(name)
                }
                return names
            case let other?: throw .invalid(path: path + ".type", expected: expected, found: other.brief)
            }
        }

        mutating func typed(_ name: String, _ s: [String: JSONValue], path: String) throws(GrammarError) -> Int {
            switch name {
            case "string":
                let limit = try count(s, "maxLength", path: path) ?? Int(Int32.max)
                return limit == Int(Int32.max) ? anyString : add(.string(maxLength: limit))
            case "number": return add(.number(integer: false))
            case "integer": return add(.number(integer: true))
            case "boolean": return add(.anyOf([add(.literal(Array("true".utf8))), add(.literal(Array("false".utf8)))]))
            case "null": return add(.literal(Array("null".utf8)))
            case "array": return try array(s, path: path)
            default: return try object(s, path: path)
            }
        }

        mutating func array(_ s: [String: JSONValue], path: String) throws(GrammarError) -> Int {
            let minItems = try count(s, "minItems", path: path) ?? 0
            let maxItems = try count(s, "maxItems", path: path) ?? Int(Int32.max)
            guard minItems <= maxItems else {
                throw .invalid(path: path + ".maxItems", expected: "at least minItems (\(minItems))", found: String(maxItems))
            }
            let item = try s["items"].map { v throws(GrammarError) in try compile(v, path: path + ".items") } ?? anyValue
            return add(.array(item: item, minItems: minItems, maxItems: maxItems))
        }

        mutating func object(_ s: [String: JSONValue], path: String) throws(GrammarError) -> Int {
            switch s["additionalProperties"] {
            case nil, .bool(false)?: break
            case let other?:
                throw .invalid(path: path + ".additionalProperties", expected: "false (answers have only the listed properties)", found: other.brief)
            }
            guard let value = s["properties"] else {
                if let required = s["required"] {
                    throw .invalid(path: path + ".required", expected: "no required without properties", found: required.brief)
                }
                return s["additionalProperties"] == nil ? add(.anyObject) : add(.object([]))
            }
            // JSONValue keeps objects as dictionaries: the declared order is read from `required`
            // first, then the remaining names sorted (answers follow this order).
            guard case .object(let properties) = value else {
                throw .invalid(path: path + ".properties", expected: "an object of property schemas", found: value.brief)
            }
            var required: [String] = []
            switch s["required"] {
            case nil: break
            case .array(let names)?:
                for (i, item) in names.enumerated() {
                    guard case .string(let name) = item, properties[name] != nil, !required.contains(name) else {
                        throw .invalid(path: path + ".required[\(i)]", expected: "the name of a property, once", found: item.brief)
                    }
                    required.append(name)
                }
            case let other?: throw .invalid(path: path + ".required", expected: "an array of property names", found: other.brief)
            }
            let order = required + properties.keys.sorted().filter { !required.contains($0) }
            var list: [GrammarNode.Property] = []
            for name in order {
                let key = add(.literal(Array((JSONValue.quoted(name) + ":").utf8)))
                let value = try compile(properties[name]!, path: path + ".properties." + name)
                list.append(.init(key: key, value: value, required: required.contains(name)))
            }
            return add(.object(list))
        }

        func count(_ s: [String: JSONValue], _ key: String, path: String) throws(GrammarError) -> Int? {
            switch s[key] {
            case nil: return nil
            case .integer(let n)? where n >= 0 && n < Int64(Int32.max): return Int(n)
            case let other?: throw .invalid(path: path + "." + key, expected: "an integer from 0 to \(Int32.max - 1)", found: other.brief)
            }
        }

        /// enum / const: the values' compact JSON, each checked against `type` when one is given.
        mutating func literals(_ values: [JSONValue], schema s: [String: JSONValue], path: String) throws(GrammarError) -> Int {
            let typeNames = try types(s, path: String(path.prefix(upTo: path.lastIndex(of: ".")!)))
            var ids: [Int] = []
            for (i, value) in values.enumerated() {
                if let typeNames, !typeNames.contains(where: { Self.matches(value, $0) }) {
                    throw .invalid(path: values.count > 1 || path.hasSuffix("enum") ? path + "[\(i)]" : path,
                                   expected: "a value of type \(typeNames.joined(separator: "/"))", found: value.brief)
                }
                if case .number(let n) = value, !n.isFinite { throw .invalid(path: path, expected: "a finite number", found: value.brief) }
                ids.append(add(.literal(Array(value.compactText.utf8))))
            }
            return ids.count == 1 ? ids[0] : add(.anyOf(ids))
        }

        static func matches(_ value: JSONValue, _ type: String) -> Bool {
            switch (value, type) {
            case (.string, "string"), (.bool, "boolean"), (.null, "null"), (.integer, "integer"), (.integer, "number"),
                 (.number, "number"), (.array, "array"), (.object, "object"): return true
            case (.number(let n), "integer"): return n.rounded() == n
            default: return false
            }
        }
    }
}
