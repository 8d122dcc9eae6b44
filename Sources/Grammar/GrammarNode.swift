/// The compiled form of a JSON Schema subset: a table of nodes the `GrammarMachine` walks with a
/// stack of frames (a pushdown automaton over bytes). Output is compact JSON: no whitespace
/// between tokens, object properties in the schema's `properties` order (optional ones may be
/// left out), keys spelled as written.
public enum GrammarNode: Sendable, Hashable {
    /// Exactly these bytes (a key with its colon, `true`, an enum or const value).
    case literal([UInt8])
    /// A JSON string of at most `maxLength` characters (code points; an escape counts as one).
    case string(maxLength: Int)
    /// A JSON number, or an integer (no fraction, no exponent). Digits are capped (`NumberLexer`).
    case number(integer: Bool)
    /// An object with these properties in this order; nothing else.
    case object([Property])
    case array(item: Int, minItems: Int, maxItems: Int)
    /// One of several nodes; the machine follows all of them until the bytes decide.
    case anyOf([Int])
    /// Any JSON object / array (`{"type": "json_object"}`, or a schema that says only `object`).
    case anyObject
    case anyArray

    public struct Property: Sendable, Hashable {
        /// The literal node spelling `"name":`.
        public var key: Int
        public var value: Int
        public var required: Bool
    }
}

/// One level of the automaton's stack: a node of the grammar and where in it the bytes are.
/// `count` is the characters of a string, the items of an array, the properties of an object
/// emitted so far, or the digits of a number's current part.
public struct GrammarFrame: Sendable, Hashable {
    public var node: Int32
    public var state: Int32
    public var count: Int32
}

/// A compiled grammar: the node table, its root, and the nodes the generic JSON value uses.
public struct Grammar: Sendable, Hashable {
    public var nodes: [GrammarNode]
    public var root: Int
    /// `anyOf` of every JSON value (generic objects and arrays hold these).
    public var anyValue: Int
    /// An unbounded string (generic objects' keys).
    public var anyString: Int
    /// Deepest stack the machine builds (generic JSON nests at most this far).
    public static let maxDepth = 32
}
