import Foundation

/// What the grammar allows at one decode step: the tokens that keep the answer a valid prefix,
/// whether it may end here, and the bytes it forces next (one legal byte at a time, up to a
/// choice; empty when the next byte is free).
public struct StepPlan: Sendable {
    /// Token ids in ascending order (never control or end-of-generation tokens).
    public let allowed: [Int32]
    public let endAllowed: Bool
    public let forced: [UInt8]
}

/// Per-step token masks for one grammar over one vocabulary. A mask is found by walking the
/// token trie with the automaton's state (`GrammarMachine.feed` per trie edge); inside a string,
/// where nearly every token is legal, the walk runs the string lexer on two integers instead, so
/// the common case costs one pass over the trie without allocating. Plans are cached by state,
/// with counters that cannot matter within one token's bytes folded together (a string's length
/// far from its maxLength, an array's items beyond minItems when unbounded, an object's emitted
/// properties beyond one): a state seen before costs a dictionary look-up.
///
/// Inside a string the mask splits in two. The tokens that stay inside depend only on the string
/// lexer's state and the code points the string may still take: the trie keeps them per lexer
/// state with the code points each adds (`TokenTrie.tokensInside`), shared by every grammar over
/// the vocabulary, and a step takes those within its budget. The tokens that close the string are
/// found by a walk that enters only trie nodes with a quote below them. A schema's first answer
/// then costs no full trie walk.
public final class TokenMasker: @unchecked Sendable {
    public let machine: GrammarMachine
    public let trie: TokenTrie
    private let lock = NSLock()
    private var cache: [GrammarState: StepPlan] = [:]
    static let cacheLimit = 20_000
    static let maxForcedBytes = 64

    public init(grammar: Grammar, trie: TokenTrie) {
        machine = GrammarMachine(grammar)
        self.trie = trie
    }

    public func plan(for state: GrammarState) -> StepPlan {
        let key = normalized(state)
        lock.lock()
        if let plan = cache[key] { lock.unlock(); return plan }
        lock.unlock()
        let plan = StepPlan(allowed: allowedTokens(key), endAllowed: machine.isComplete(key), forced: forcedBytes(key))
        lock.lock()
        if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[key] = plan
        lock.unlock()
        return plan
    }

    public var cachedStateCount: Int { lock.withLock { cache.count } }

    /// The bytes with exactly one legal continuation from `state`, in a row.
    func forcedBytes(_ state: GrammarState) -> [UInt8] {
        var state = state, bytes: [UInt8] = []
        while bytes.count < Self.maxForcedBytes, !machine.isComplete(state) {
            // One stack inside a literal (a key, an enum value): its next byte, without probing.
            if state.stacks.count == 1, let top = state.stacks[0].last, top.node >= 0,
               case .literal(let literal) = machine.grammar.nodes[Int(top.node)] {
                let b = literal[Int(top.state)]
                bytes.append(b)
                state = machine.feed(state, CollectionOfOne(b))
                continue
            }
            var only: (UInt8, GrammarState)?
            for b in 0...255 as ClosedRange<UInt8> {
                let next = machine.feed(state, CollectionOfOne(b))
                guard !next.isDead else { continue }
                if only != nil { return bytes }
                only = (b, next)
            }
            guard let (b, next) = only else { return bytes }
            bytes.append(b)
            state = next
        }
        return bytes
    }

    func normalized(_ state: GrammarState) -> GrammarState {
        let window = Int32(trie.maxTokenBytes + 1)
        let stacks = state.stacks.map { stack in
            stack.map { frame -> GrammarFrame in
                guard frame.node >= 0 else { return frame }
                var f = frame
                switch machine.grammar.nodes[Int(frame.node)] {
                case .string(let maxLength):
                    let m = Int32(maxLength)
                    f.count = m - frame.count > window ? max(0, m - window) : frame.count
                case .array(_, let minItems, let maxItems) where maxItems == Int(Int32.max):
                    f.count = min(frame.count, Int32(minItems))
                case .object: f.count = min(frame.count, 1)
                case .anyArray, .anyObject: f.count = 0
                default: break
                }
                return f
            }
        }
        return GrammarState(stacks: stacks.count > 1 ? GrammarMachine.unique(stacks) : stacks)
    }

    func allowedTokens(_ state: GrammarState) -> [Int32] {
        var out: [Int32] = []
        walk(node: 0, state: state, into: &out)
        out.sort()
        return out
    }

    @inline(__always)
    private func appendTokens(at node: Int, into out: inout [Int32]) {
        let range = Int(trie.tokenStart[node])..<Int(trie.tokenStart[node + 1])
        if !range.isEmpty { out.append(contentsOf: trie.tokens[range]) }
    }

    /// One string open on top of a single stack: its lexer state, count and limit.
    private func openString(_ state: GrammarState) -> (sub: Int32, count: Int32, maxLength: Int32)? {
        guard state.stacks.count == 1, let top = state.stacks[0].last, top.node >= 0, top.state != 0,
              case .string(let maxLength) = machine.grammar.nodes[Int(top.node)] else { return nil }
        return (top.state, top.count, Int32(maxLength))
    }

    private func walk(node: Int, state: GrammarState, into out: inout [Int32]) {
        if let s = openString(state) {
            if node == 0 {
                let inside = trie.tokensInside(lexerState: s.sub), budget = s.maxLength - s.count
                for i in inside.tokens.indices where inside.codePoints[i] <= budget { out.append(inside.tokens[i]) }
                walkString(node: node, sub: s.sub, count: s.count, maxLength: s.maxLength, base: state.stacks[0], closingOnly: true, into: &out)
            } else {
                walkString(node: node, sub: s.sub, count: s.count, maxLength: s.maxLength, base: state.stacks[0], into: &out)
            }
            return
        }
        for e in Int(trie.edgeStart[node])..<Int(trie.edgeStart[node + 1]) {
            let next = machine.feed(state, CollectionOfOne(trie.edgeByte[e]))
            guard !next.isDead else { continue }
            let target = Int(trie.edgeTarget[e])
            appendTokens(at: target, into: &out)
            walk(node: target, state: next, into: &out)
        }
    }

    /// The tokens below `node` that keep the open string valid: all of them, or with
    /// `closingOnly` those that close it and continue validly after it (the ones inside come from
    /// the trie's lists), following only edges on a quote or towards one.
    private func walkString(node: Int, sub: Int32, count: Int32, maxLength: Int32, base: [GrammarFrame], closingOnly: Bool = false,
                            into out: inout [Int32]) {
        for e in Int(trie.edgeStart[node])..<Int(trie.edgeStart[node + 1]) {
            let byte = trie.edgeByte[e], target = Int(trie.edgeTarget[e])
            if closingOnly && byte != 0x22 && !trie.quoteBelow[target] { continue }
            switch StringLexer.step(sub, count, maxLength: maxLength, byte) {
            case .reject:
                continue
            case let .next(s, c):
                if !closingOnly { appendTokens(at: target, into: &out) }
                walkString(node: target, sub: s, count: c, maxLength: maxLength, base: base, closingOnly: closingOnly, into: &out)
            case .close:
                closeString(at: target, base: base, into: &out)
            }
        }
    }

    private func closeString(at target: Int, base: [GrammarFrame], into out: inout [Int32]) {
        var stack = base
        machine.finish(&stack)
        appendTokens(at: target, into: &out)
        walk(node: target, state: GrammarState(stacks: [stack]), into: &out)
    }
}

extension StepPlan {
    /// `logits` with every token the plan refuses set to -∞, into `scratch` (resized to fit);
    /// `endTokens` (end of generation) pass only when the answer may end.
    public func mask(_ logits: UnsafeBufferPointer<Float>, endTokens: [Int32], into scratch: inout [Float]) {
        let n = logits.count
        if scratch.count != n { scratch = [Float](repeating: 0, count: n) }
        scratch.withUnsafeMutableBufferPointer { out in
            if allowed.count * 2 < n {
                out.update(repeating: -.infinity)
                for t in allowed { out[Int(t)] = logits[Int(t)] }
            } else {
                // Mostly allowed: copy, then refuse the gaps between allowed ids.
                _ = out.initialize(from: logits)
                var next = 0
                for t in allowed {
                    while next < Int(t) { out[next] = -.infinity; next += 1 }
                    next = Int(t) + 1
                }
                while next < n { out[next] = -.infinity; next += 1 }
            }
            if endAllowed { for t in endTokens where Int(t) < n { out[Int(t)] = logits[Int(t)] } }
        }
    }
}
