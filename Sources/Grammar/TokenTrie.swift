import Foundation

/// The vocabulary's token byte strings as a trie, flattened: node k's children are the edges
/// `edgeStart[k] ..< edgeStart[k + 1]` (bytes ascending), and the tokens spelled exactly by the
/// path to node k are `tokens[tokenStart[k] ..< tokenStart[k + 1]]`. Walking it with the
/// automaton's state visits each shared prefix once, and stops at the first byte the grammar
/// refuses, which prunes whole subtrees (the idea of llama.cpp's and LLGuidance's token tries).
///
/// Two facts about strings are kept with it, because every grammar over the vocabulary shares
/// them: which nodes have a quote below them (`quoteBelow`), and per string lexer state the tokens
/// that stay inside a string with the code points each adds (`tokensInside(lexerState:)`, the
/// content state computed when the trie is built, the rarer ones on first use).
public struct TokenTrie: Sendable {
    var edgeStart: [Int32] = []
    var edgeByte: [UInt8] = []
    var edgeTarget: [Int32] = []
    var tokenStart: [Int32] = []
    var tokens: [Int32] = []
    /// Node k has an edge on `"` in its subtree (edges out of k included).
    var quoteBelow: [Bool] = []
    private let inside = InsideStrings()
    /// The longest token, in bytes: a walk never reads further than this.
    public let maxTokenBytes: Int
    public let vocabularySize: Int
    public var nodeCount: Int { tokenStart.count - 1 }

    /// Tokens that stay inside a string from lexer state `sub` (`StringLexer`), ascending, and
    /// the code points each adds to the string's length.
    struct InsideString: Sendable {
        let tokens: [Int32]
        let codePoints: [Int32]
    }

    private final class InsideStrings: @unchecked Sendable {
        let lock = NSLock()
        var bySubState: [Int32: InsideString] = [:]
    }

    func tokensInside(lexerState sub: Int32) -> InsideString {
        if let known = inside.lock.withLock({ inside.bySubState[sub] }) { return known }
        var found: [Int32] = [], increments: [Int32] = []
        walkInside(node: 0, sub: sub, count: 0, into: &found, increments: &increments)
        let order = found.indices.sorted { found[$0] < found[$1] }
        let entry = InsideString(tokens: order.map { found[$0] }, codePoints: order.map { increments[$0] })
        inside.lock.withLock { inside.bySubState[sub] = entry }
        return entry
    }

    /// Tokens below `node` that stay inside a string (no length limit), with `count` code points
    /// added on the way to `node`.
    private func walkInside(node: Int, sub: Int32, count: Int32, into out: inout [Int32], increments: inout [Int32]) {
        for e in Int(edgeStart[node])..<Int(edgeStart[node + 1]) {
            guard case let .next(s, c) = StringLexer.step(sub, count, maxLength: .max, edgeByte[e]) else { continue }
            let target = Int(edgeTarget[e])
            let range = Int(tokenStart[target])..<Int(tokenStart[target + 1])
            if !range.isEmpty {
                out.append(contentsOf: tokens[range])
                increments.append(contentsOf: repeatElement(c, count: range.count))
            }
            walkInside(node: target, sub: s, count: c, into: &out, increments: &increments)
        }
    }

    /// `pieces[id]`: the token's bytes; nil for tokens the grammar never emits (control tokens,
    /// end of generation: those are handled apart).
    public init(pieces: [[UInt8]?]) {
        vocabularySize = pieces.count
        maxTokenBytes = pieces.map { $0?.count ?? 0 }.max() ?? 0
        // Sorting the byte strings lays the trie out depth-first: each node's children and
        // subtree then follow from a range of the sorted list.
        let order = pieces.indices.filter { pieces[$0].map { !$0.isEmpty } ?? false }
            .sorted { pieces[$0]!.lexicographicallyPrecedes(pieces[$1]!) }
        let sorted = order.map { pieces[$0]! }
        var children: [[(UInt8, Int32)]] = [[]]
        var ends: [[Int32]] = [[]]
        func build(_ node: Int, _ range: Range<Int>, depth: Int) {
            var i = range.lowerBound
            while i < range.upperBound, sorted[i].count == depth {
                ends[node].append(Int32(order[i]))
                i += 1
            }
            while i < range.upperBound {
                let byte = sorted[i][depth]
                var j = i
                while j < range.upperBound, sorted[j][depth] == byte { j += 1 }
                children.append([])
                ends.append([])
                let child = children.count - 1
                children[node].append((byte, Int32(child)))
                build(child, i..<j, depth: depth + 1)
                i = j
            }
        }
        build(0, 0..<sorted.count, depth: 0)
        for node in children.indices {
            edgeStart.append(Int32(edgeByte.count))
            tokenStart.append(Int32(tokens.count))
            for (byte, target) in children[node] {
                edgeByte.append(byte)
                edgeTarget.append(target)
            }
            tokens.append(contentsOf: ends[node])
        }
        edgeStart.append(Int32(edgeByte.count))
        tokenStart.append(Int32(tokens.count))
        // Children are numbered after their parent (depth-first layout): one pass from the last
        // node up settles every subtree.
        quoteBelow = [Bool](repeating: false, count: children.count)
        for node in stride(from: children.count - 1, through: 0, by: -1) {
            quoteBelow[node] = children[node].contains { $0.0 == 0x22 || quoteBelow[Int($0.1)] }
        }
        _ = tokensInside(lexerState: 1) // string content: the state nearly every string step is in
    }
}
