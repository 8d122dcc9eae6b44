// The grammar as a pushdown automaton over bytes. A state is a set of stacks (several while an
// `anyOf`, or a choice between optional object keys, is undecided); each stack holds a document
// frame at the bottom (node -1: 0 before the value, 1 after it) and one frame per open node
// above it. A frame whose node is complete is popped at once (literal, string, object, array),
// except a number, which ends only when the next byte cannot continue it.
//
// Object frame states, for n properties: 0 before `{`; A(i) = 1 + i between properties, the next
// candidate being i; C(i) = 2 + n + i after a comma; K(j) = 3 + 2n + j key j open; W(j) = 3 + 3n
// + j before value j; V(j) = 3 + 4n + j value j open. Array: 0 before `[`, 1 after it, 2 item
// open, 3 after an item, 4 after a comma. Generic object: 0 `{`, 1 after it, 2 key open, 3 before
// `:`, 4 before the value, 5 value open, 6 after it, 7 after a comma. Generic array as array.

public struct GrammarState: Hashable, Sendable {
    public var stacks: [[GrammarFrame]]
    public var isDead: Bool { stacks.isEmpty }
}

public struct GrammarMachine: Sendable {
    public let grammar: Grammar
    static let document: Int32 = -1

    public init(_ grammar: Grammar) { self.grammar = grammar }

    public var initial: GrammarState { GrammarState(stacks: [[GrammarFrame(node: Self.document, state: 0, count: 0)]]) }

    /// The state after `bytes`; dead (no stacks) when they cannot continue a valid answer.
    public func feed(_ state: GrammarState, _ bytes: some Sequence<UInt8>) -> GrammarState {
        var stacks = state.stacks
        for b in bytes {
            var out: [[GrammarFrame]] = []
            for stack in stacks { consume(stack, b, &out) }
            stacks = out.count > 1 ? Self.unique(out) : out
            if stacks.isEmpty { break }
        }
        return GrammarState(stacks: stacks)
    }

    /// Whether the bytes so far are a complete answer (end of generation allowed).
    public func isComplete(_ state: GrammarState) -> Bool {
        state.stacks.contains { stack in
            var stack = stack
            while let top = stack.last, top.node >= 0, case .number = grammar.nodes[Int(top.node)], NumberLexer.isAccepting(top.state) {
                finish(&stack)
            }
            return stack.count == 1 && stack[0].state == 1
        }
    }

    /// Whether nothing can follow (complete, and no stack is still open).
    public func isClosed(_ state: GrammarState) -> Bool {
        state.stacks.allSatisfy { $0.count == 1 && $0[0].state == 1 }
    }

    static func unique(_ stacks: [[GrammarFrame]]) -> [[GrammarFrame]] {
        Array(Set(stacks)).sorted { a, b in
            for (x, y) in zip(a, b) where x != y {
                return (x.node, x.state, x.count) < (y.node, y.state, y.count)
            }
            return a.count < b.count
        }
    }

    func consume(_ stack: [GrammarFrame], _ b: UInt8, _ out: inout [[GrammarFrame]]) {
        var stack = stack
        let last = stack.count - 1
        let top = stack[last]
        guard top.node >= 0 else {
            if top.state == 0 {
                stack[last].state = 1
                start(grammar.root, stack, b, &out)
            }
            return
        }
        switch grammar.nodes[Int(top.node)] {
        case .literal(let bytes):
            guard bytes[Int(top.state)] == b else { return }
            if Int(top.state) + 1 == bytes.count { finish(&stack) } else { stack[last].state += 1 }
            out.append(stack)
        case .string(let maxLength):
            switch StringLexer.step(top.state, top.count, maxLength: Int32(maxLength), b) {
            case .reject: return
            case .close: finish(&stack)
            case let .next(state, count): stack[last].state = state; stack[last].count = count
            }
            out.append(stack)
        case .number(let integer):
            if let (state, count) = NumberLexer.step(top.state, top.count, integer: integer, b) {
                stack[last].state = state
                stack[last].count = count
                out.append(stack)
            } else if NumberLexer.isAccepting(top.state) {
                finish(&stack)
                consume(stack, b, &out)
            }
        case .object(let properties):
            objectStep(&stack, properties, b, &out)
        case .array(let item, let minItems, let maxItems):
            switch (top.state, b) {
            case (0, 0x5B): stack[last].state = 1; out.append(stack)
            case (1, 0x5D) where minItems == 0, (3, 0x5D) where Int(top.count) >= minItems: finish(&stack); out.append(stack)
            case (3, 0x2C) where Int(top.count) < maxItems: stack[last].state = 4; out.append(stack)
            case (1, _) where maxItems > 0, (4, _): stack[last].state = 2; start(item, stack, b, &out)
            default: return
            }
        case .anyArray:
            switch (top.state, b) {
            case (0, 0x5B): stack[last].state = 1; out.append(stack)
            case (1, 0x5D), (3, 0x5D): finish(&stack); out.append(stack)
            case (3, 0x2C): stack[last].state = 4; out.append(stack)
            case (1, _), (4, _): stack[last].state = 2; start(grammar.anyValue, stack, b, &out)
            default: return
            }
        case .anyObject:
            switch (top.state, b) {
            case (0, 0x7B): stack[last].state = 1; out.append(stack)
            case (1, 0x7D), (6, 0x7D): finish(&stack); out.append(stack)
            case (3, 0x3A): stack[last].state = 4; out.append(stack)
            case (6, 0x2C): stack[last].state = 7; out.append(stack)
            case (1, _), (7, _): stack[last].state = 2; start(grammar.anyString, stack, b, &out)
            case (4, _): stack[last].state = 5; start(grammar.anyValue, stack, b, &out)
            default: return
            }
        case .anyOf:
            preconditionFailure("anyOf nodes are expanded when started, never stacked")
        }
    }

    /// Opens `node` above `stack` and feeds it `b` (every branch of an anyOf).
    func start(_ node: Int, _ stack: [GrammarFrame], _ b: UInt8, _ out: inout [[GrammarFrame]]) {
        guard stack.count < Grammar.maxDepth else { return }
        if case .anyOf(let branches) = grammar.nodes[node] {
            for branch in branches { start(branch, stack, b, &out) }
            return
        }
        var stack = stack
        stack.append(GrammarFrame(node: Int32(node), state: 0, count: 0))
        consume(stack, b, &out)
    }

    /// Pops the completed top frame and moves its parent past it.
    func finish(_ stack: inout [GrammarFrame]) {
        stack.removeLast()
        let last = stack.count - 1
        let parent = stack[last]
        guard parent.node >= 0 else { return }
        switch grammar.nodes[Int(parent.node)] {
        case .object(let properties):
            let n = Int32(properties.count)
            if parent.state >= 3 + 4 * n {
                stack[last].state = 1 + (parent.state - 3 - 4 * n) + 1
                stack[last].count = parent.count + 1
            } else {
                stack[last].state = parent.state + n
            }
        case .array, .anyArray:
            stack[last].state = 3
            stack[last].count = parent.count + 1
        case .anyObject:
            stack[last].state = parent.state == 2 ? 3 : 6
        default:
            preconditionFailure("only containers have children")
        }
    }

    private func objectStep(_ stack: inout [GrammarFrame], _ properties: [GrammarNode.Property], _ b: UInt8,
                            _ out: inout [[GrammarFrame]]) {
        let last = stack.count - 1
        let (state, count) = (Int(stack[last].state), stack[last].count)
        let n = properties.count
        func canClose(_ i: Int) -> Bool { !properties[i...].contains { $0.required } }
        func startKey(_ i: Int) {
            for j in i..<n {
                var s = stack
                s[last].state = Int32(3 + 2 * n + j)
                start(properties[j].key, s, b, &out)
                if properties[j].required { break }
            }
        }
        switch state {
        case 0:
            if b == 0x7B { stack[last].state = 1; out.append(stack) }
        case 1...(1 + n):
            let i = state - 1
            if b == 0x7D, canClose(i) {
                finish(&stack)
                out.append(stack)
            } else if count > 0 {
                if b == 0x2C, i < n { stack[last].state = Int32(2 + n + i); out.append(stack) }
            } else if i < n {
                startKey(i)
            }
        case (2 + n)...(2 + 2 * n):
            if state - 2 - n < n { startKey(state - 2 - n) }
        case (3 + 3 * n)..<(3 + 4 * n):
            let j = state - 3 - 3 * n
            stack[last].state = Int32(3 + 4 * n + j)
            start(properties[j].value, stack, b, &out)
        default:
            return
        }
    }
}
