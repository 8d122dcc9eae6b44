import Foundation
import Testing
@testable import Grammar

@Suite struct SchemaCompilerTests {
    static func format(_ text: String) throws -> JSONValue { try JSONValue.parse(Data(text.utf8)) }

    static func parse(_ text: String) throws(GrammarError) -> ResponseFormat? {
        let value: JSONValue
        do { value = try format(text) } catch { fatalError("fixture is not JSON: \(text)") }
        return try ResponseFormat.parse(value, path: "response_format")
    }

    static func schema(_ s: String) -> String { #"{"type": "json_schema", "json_schema": {"name": "t", "strict": true, "schema": \#(s)}}"# }

    @Test(arguments: [
        (#"{"type": "object", "properties": {"a": {"type": "string", "pattern": "x"}}}"#,
         "response_format.json_schema.schema.properties.a.pattern"),
        (#"{"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": true}"#,
         "response_format.json_schema.schema.additionalProperties"),
        (#"{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]}"#,
         "response_format.json_schema.schema.required[0]"),
        (#"{"type": "array", "items": {"type": "integer"}, "minItems": 3, "maxItems": 2}"#,
         "response_format.json_schema.schema.maxItems"),
        (#"{"type": "string", "enum": ["a", 3]}"#, "response_format.json_schema.schema.enum[1]"),
        (#"{"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "date"}]}}"#,
         "response_format.json_schema.schema.items.anyOf[1].type"),
        (#"{"type": "string", "maxLength": -1}"#, "response_format.json_schema.schema.maxLength"),
        (#"{"type": "integer", "maxLength": 3}"#, "response_format.json_schema.schema.maxLength"),
        (##"{"$ref": "#/$defs/x"}"##, "response_format.json_schema.schema.$ref"),
    ])
    func refusedSchemasNameTheirPath(schema: String, path: String) {
        #expect(throws: GrammarError.self) { try Self.parse(Self.schema(schema)) }
        do { _ = try Self.parse(Self.schema(schema)) } catch { #expect(error.path == path) }
    }

    @Test func formatsOutsideTheSchema() throws {
        #expect(try Self.parse(#"{"type": "text"}"#) == nil)
        #expect(try Self.parse(#"{"type": "json_object"}"#) == .jsonObject)
        do { _ = try Self.parse(#"{"type": "xml"}"#); Issue.record("accepted xml") } catch { #expect(error.path == "response_format.type") }
        do { _ = try Self.parse(#"{"type": "json_schema", "json_schema": {"schema": {}}}"#); Issue.record("accepted no name") } catch {
            #expect(error.path == "response_format.json_schema.name")
        }
    }

    @Test func roundTripKeepsTheFormat() throws {
        let parsed = try #require(try Self.parse(Self.schema(#"{"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}"#)))
        let data = try JSONEncoder().encode(parsed)
        #expect(try JSONDecoder().decode(ResponseFormat.self, from: data) == parsed)
    }

    /// Whole answers the automaton must accept and refuse.
    @Test func machineAcceptsExactlyTheSchemasAnswers() throws {
        let schema = #"{"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}, "n": {"type": "integer"},"#
            + #""tags": {"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 1, "maxItems": 2},"#
            + #""x": {"anyOf": [{"type": "number"}, {"type": "null"}]}}, "required": ["name", "n"], "additionalProperties": false}"#
        let grammar = try #require(try Self.parse(Self.schema(schema))).grammar()
        let machine = GrammarMachine(grammar)
        func accepts(_ text: String) -> Bool {
            let s = machine.feed(machine.initial, Array(text.utf8))
            return !s.isDead && machine.isComplete(s)
        }
        // Order: required in their order, then optional ones sorted by name.
        #expect(accepts(#"{"name":"ab","n":-12}"#))
        #expect(accepts(#"{"name":"h\u00e9\"","n":0,"tags":["a","b"],"x":1.5e3}"#))
        #expect(accepts(#"{"name":"é","n":7,"x":null}"#))
        #expect(!accepts(#"{"name":"abcdef","n":1}"#), "maxLength")
        #expect(!accepts(#"{"n":1,"name":"a"}"#), "order")
        #expect(!accepts(#"{"name":"a"}"#), "required")
        #expect(!accepts(#"{"name":"a","n":1.5}"#), "integer")
        #expect(!accepts(#"{"name":"a","n":01}"#), "leading zero")
        #expect(!accepts(#"{"name":"a","n":1,"tags":[]}"#), "minItems")
        #expect(!accepts(#"{"name":"a","n":1,"tags":["a","a","a"]}"#), "maxItems")
        #expect(!accepts(#"{"name":"a","n":1,"zz":1}"#), "additional")
        #expect(!accepts(#"{"name":"a","n":1,}"#), "trailing comma")
        #expect(!accepts("{\"name\":\"\u{1}\",\"n\":1}"), "control character")
        #expect(machine.feed(machine.initial, [0x7B, 0x22, 0xFF]).isDead, "invalid UTF-8")
    }
}
