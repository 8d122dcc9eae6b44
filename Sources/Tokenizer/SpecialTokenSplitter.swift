/// Splits text into plain fragments and special tokens written in it, with the result of
/// llama.cpp's `tokenizer_st_partition`: special tokens (control, user-defined, unknown; only
/// user-defined ones when special tokens are not parsed) are taken one after another, longest
/// text first, and each splits every plain fragment at its leftmost non-overlapping occurrences.
/// A token with the left-strip (right-strip) attribute drops the ASCII whitespace before (after) it.
///
/// Instead of searching the text once per special token, one pass over the text with a trie of
/// all special texts finds every occurrence; the token-by-token splitting then only visits them.
struct SpecialTokenSplitter: Sendable {
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    /// Trie over special token texts: node 0 is the root; `children` of a node are scanned linearly.
    private struct Node: Sendable {
        var children: [(byte: UInt8, node: Int32)] = []
        /// Index into `order` of the token whose text ends here, or -1.
        var terminal: Int32 = -1
    }

    private let nodes: [Node]
    /// The root's children by first byte (0 = none), so most text bytes cost one lookup.
    private let rootChild: [Int32]
    /// Splittable special token ids in splitting order (longest text first).
    private let order: [Int32]

    init(vocabulary: Vocabulary) {
        order = vocabulary.splittableSpecialIDs
        var nodes = [Node()]
        for (k, id) in order.enumerated() {
            var node = 0
            for b in vocabulary.texts[Int(id)] {
                if let child = nodes[node].children.first(where: { $0.byte == b }) {
                    node = Int(child.node)
                } else {
                    nodes.append(Node())
                    nodes[node].children.append((b, Int32(nodes.count - 1)))
                    node = nodes.count - 1
                }
            }
            if nodes[node].terminal < 0 { nodes[node].terminal = Int32(k) }
        }
        var rootChild = [Int32](repeating: 0, count: 256)
        for (b, child) in nodes[0].children { rootChild[Int(b)] = child }
        self.nodes = nodes
        self.rootChild = rootChild
    }

    func split(_ text: [UInt8], parseSpecial: Bool, vocabulary: Vocabulary) -> [Fragment] {
        guard !text.isEmpty else { return [] }
        var fragments: [Fragment] = [.text(0..<text.count)]
        guard !order.isEmpty else { return fragments }

        // Every occurrence of every special text, by token (positions ascending).
        var occurrences: [Int: [Int]] = [:]
        for start in text.indices {
            var node = Int(rootChild[Int(text[start])])
            var i = start + 1
            while node != 0 {
                if nodes[node].terminal >= 0 { occurrences[Int(nodes[node].terminal), default: []].append(start) }
                guard i < text.count, let child = nodes[node].children.first(where: { $0.byte == text[i] }) else { break }
                node = Int(child.node)
                i += 1
            }
        }

        for k in occurrences.keys.sorted() {
            let id = order[k]
            let attributes = vocabulary.attributes[Int(id)]
            if !parseSpecial && !attributes.isDisjoint(with: [.control, .unknown]) { continue }
            let length = vocabulary.texts[Int(id)].count
            let positions = occurrences[k]!
            var next = 0
            var result: [Fragment] = []
            for fragment in fragments {
                guard case let .text(range) = fragment else {
                    result.append(fragment)
                    continue
                }
                var cursor = range.lowerBound
                while next < positions.count && positions[next] < cursor { next += 1 }
                while next < positions.count && positions[next] + length <= range.upperBound {
                    let at = positions[next]
                    next += 1
                    guard at >= cursor else { continue } // overlaps the previous occurrence
                    var leftEnd = at
                    if attributes.contains(.leftStrip) {
                        while leftEnd > cursor && Self.isSpace(text[leftEnd - 1]) { leftEnd -= 1 }
                    }
                    if leftEnd > cursor { result.append(.text(cursor..<leftEnd)) }
                    result.append(.token(id))
                    cursor = at + length
                    if attributes.contains(.rightStrip) {
                        while cursor < range.upperBound && Self.isSpace(text[cursor]) { cursor += 1 }
                    }
                }
                if cursor < range.upperBound { result.append(.text(cursor..<range.upperBound)) }
            }
            fragments = result
        }
        return fragments
    }

    /// C `isspace` in the C locale.
    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }
}
