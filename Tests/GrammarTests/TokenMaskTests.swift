import Foundation
import Testing
@testable import Grammar
import TestSupport

/// The mask over a synthetic vocabulary whose tokens span several grammar symbols: every token
/// allowed keeps a valid prefix, every token refused would break it, forced bytes are the only
/// legal ones, and random walks through allowed tokens end in answers that `jsonschema` accepts.
@Suite struct TokenMaskTests {
    static let vocabulary: [[UInt8]] = {
        var texts = (0x20...0x7E).map { [UInt8($0)] }
        texts += ["{\"", "\":", "\",", "\"}", "\":\"", "true", "false", "null", "null,", "\"},{\"", "],\"", "\"]", "[{\"", "12", "3.5",
                  "e+", "abc", " the", "\\n", "\\u00", "é", "ça", "\":[", "}]", "}}", "0,", "1}", "name", "\"name\":\"", "a\"",
                  "tags", "\"tags\":[\"", "\",\"", "-1", ".0", "\"}]}", "xyz\","].map { Array($0.utf8) }
        texts += [[0xC3], [0xA9], [0xE2, 0x82], [0xAC], [0xFF]]
        return texts
    }()
    static let trie = TokenTrie(pieces: vocabulary.map { Optional($0) })

    static let schemas: [String] = [
        #"{"type": "object", "properties": {"name": {"type": "string", "maxLength": 8}, "n": {"type": "integer"}}, "required": ["name", "n"], "additionalProperties": false}"#,
        #"{"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string", "maxLength": 4}, "minItems": 1, "maxItems": 3}, "ok": {"type": "boolean"}}, "required": ["tags"], "additionalProperties": false}"#,
        #"{"type": "array", "items": {"type": "object", "properties": {"v": {"anyOf": [{"type": "number"}, {"type": "null"}]}, "k": {"enum": ["a", "b c", 3]}}, "required": ["k"], "additionalProperties": false}, "maxItems": 3}"#,
        #"{"type": "object"}"#,
        #"{"anyOf": [{"type": "object", "properties": {"a": {"const": "x"}}, "required": ["a"]}, {"type": "object", "properties": {"b": {"type": "number"}}, "required": ["b"]}]}"#,
        #"{"type": "object", "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}, "additionalProperties": false}"#,
    ]

    @Test func masksAreExactAndWalksValidate() throws {
        var seeded = SplitMix(seed: 7)
        var lines: [String] = []
        var finished = 0, walks = 0
        for schema in Self.schemas {
            let grammar = try #require(try ResponseFormat.parse(try JSONValue.parse(Data(SchemaCompilerTests.schema(schema).utf8)), path: "rf")).grammar()
            let masker = TokenMasker(grammar: grammar, trie: Self.trie)
            let machine = masker.machine
            for _ in 0..<12 {
                walks += 1
                var decoder = ConstrainedDecoder(masker: masker)
                var output: [UInt8] = []
                var ended = false
                for step in 0..<200 {
                    let plan = decoder.plan()
                    let allowed = Set(plan.allowed)
                    for (id, bytes) in Self.vocabulary.enumerated() {
                        let live = !machine.feed(decoder.state, bytes).isDead
                        #expect(live == allowed.contains(Int32(id)), "token \(String(decoding: bytes, as: UTF8.self)) after \(String(decoding: output, as: UTF8.self))")
                    }
                    #expect(plan.endAllowed == decoder.isComplete)
                    if let first = plan.forced.first {
                        let legal = (0...255).filter { !machine.feed(decoder.state, [UInt8($0)]).isDead }
                        #expect(legal == [Int(first)])
                        let forcedOK = decoder.accept(plan.forced)
                        #expect(forcedOK)
                        output += plan.forced
                        if decoder.isClosed { ended = true; break }
                        continue
                    }
                    if plan.endAllowed && (plan.allowed.isEmpty || seeded.next() % 3 == 0) { ended = true; break }
                    // Late in the walk, prefer bytes that close things.
                    let closers = ["\"", "}", "]", "0", "null"].compactMap { c in Self.vocabulary.firstIndex(of: Array(c.utf8)) }
                        .map(Int32.init).filter(allowed.contains)
                    let pick = step > 30 && !closers.isEmpty ? closers[0] : plan.allowed[Int(seeded.next() % UInt64(plan.allowed.count))]
                    let pickedOK = decoder.accept(Self.vocabulary[Int(pick)])
                    #expect(pickedOK)
                    output += Self.vocabulary[Int(pick)]
                }
                if ended {
                    finished += 1
                    let line: [String: Any] = ["schema": try JSONSerialization.jsonObject(with: Data(schema.utf8)),
                                               "output": String(decoding: output, as: UTF8.self), "finish_reason": "stop"]
                    lines.append(String(decoding: try JSONSerialization.data(withJSONObject: line), as: UTF8.self))
                }
            }
        }
        #expect(finished >= walks * 9 / 10, "\(finished) of \(walks) walks ended")
        if ProcessInfo.processInfo.environment["GRAMMAR_DEBUG"] != nil { print(lines.prefix(40).joined(separator: "\n")) }
        let report = try PythonScript.validateJSONOutputs(lines: lines)
        #expect(report.status == 0, "\(report.output)")
        #expect(report.output.contains("\(lines.count) passed, 0 failed"), "\(report.output)")
    }
}

struct SplitMix {
    var x: UInt64
    init(seed: UInt64) { x = seed }
    mutating func next() -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
