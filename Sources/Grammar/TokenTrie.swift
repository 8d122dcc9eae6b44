/// The vocabulary's token byte strings as a trie, flattened: node k's children are the edges
/// `edgeStart[k] ..< edgeStart[k + 1]` (bytes ascending), and the tokens spelled exactly by the
/// path to node k are `tokens[tokenStart[k] ..< tokenStart[k + 1]]`. Walking it with the
/// automaton's state visits each shared prefix once, and stops at the first byte the grammar
/// refuses, which prunes whole subtrees (the idea of llama.cpp's and LLGuidance's token tries).
public struct TokenTrie: Sendable {
    var edgeStart: [Int32] = []
    var edgeByte: [UInt8] = []
    var edgeTarget: [Int32] = []
    var tokenStart: [Int32] = []
    var tokens: [Int32] = []
    /// The longest token, in bytes: a walk never reads further than this.
    public let maxTokenBytes: Int
    public let vocabularySize: Int
    public var nodeCount: Int { tokenStart.count - 1 }

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
    }
}
