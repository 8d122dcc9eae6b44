/// The token table of a GGUF vocabulary as llama.cpp's `llama_vocab` holds it: token texts (as
/// stored, byte-level alphabet for BPE, `▁` for spaces in SentencePiece), scores, attributes from
/// `tokenizer.ggml.token_type`, the special token ids, and the flags that change encoding and
/// decoding. Texts are compared as bytes, never as Swift `String`s (which compare canonically
/// equivalent texts equal: "é" and "e\u{301}" are two tokens of some vocabularies).
struct Vocabulary: Sendable {
    enum Kind: Sendable {
        /// `tokenizer.ggml.model = gpt2`: byte-level BPE with merges and a pre-tokenizer.
        case bytePairs
        /// `tokenizer.ggml.model = llama`: SentencePiece BPE by token scores, byte fallback `<0xNN>`.
        case sentencePiece
    }

    let kind: Kind
    /// Token texts by id, as stored in the GGUF (an empty text reads `[EMPTY_<id>]`, as in llama.cpp).
    let texts: [[UInt8]]
    let scores: [Float]
    let attributes: [TokenAttributes]
    /// Text → id; when two tokens share a text, the later id wins (llama.cpp's `token_to_id`).
    let idsByText: [ByteString: Int32]
    let special: SpecialTokens
    let addsBOS: Bool
    let addsEOS: Bool
    /// `add_space_prefix`: SentencePiece prefixes a space to text after a special token (or at the
    /// start), and decoding drops one leading space of the first piece.
    let addsSpacePrefix: Bool
    /// SentencePiece only: no token has `▁` right after another character, so words merge independently.
    let sentencePieceWordsAreIndependent: Bool
    /// The pre-tokenizer's selections (BPE only).
    let configuration: PreTokenizer.Configuration?
    /// Control, user-defined and unknown tokens: the ones written in text that become single
    /// tokens. Longest text first (ties by id), the order in which llama.cpp splits them out.
    let splittableSpecialIDs: [Int32]
    /// Each token's bytes when decoded with special tokens rendered (llama.cpp's piece cache).
    let pieces: [[UInt8]]

    var count: Int { texts.count }

    func id(of text: [UInt8]) -> Int32? { idsByText[ByteString(text)] }
    func id(of text: ArraySlice<UInt8>) -> Int32? { idsByText[ByteString(text)] }

    func contains(_ id: Int32) -> Bool { id >= 0 && Int(id) < texts.count }

    /// llama.cpp's `byte_to_token` for SentencePiece: the `<0xNN>` token, else the byte as text.
    func byteToken(_ byte: UInt8) -> Int32? {
        let hex = Array("0123456789ABCDEF".utf8)
        return id(of: [0x3C, 0x30, 0x78, hex[Int(byte >> 4)], hex[Int(byte & 15)], 0x3E]) ?? id(of: [byte])
    }
}

/// llama.cpp's `llama_token_attr`, from `tokenizer.ggml.token_type` and adjusted by name.
struct TokenAttributes: OptionSet, Sendable {
    let rawValue: UInt16
    static let unknown = TokenAttributes(rawValue: 1 << 0)
    static let unused = TokenAttributes(rawValue: 1 << 1)
    static let normal = TokenAttributes(rawValue: 1 << 2)
    static let control = TokenAttributes(rawValue: 1 << 3)
    static let userDefined = TokenAttributes(rawValue: 1 << 4)
    static let byte = TokenAttributes(rawValue: 1 << 5)
    /// Whitespace left of the token is dropped when it is split out of text.
    static let leftStrip = TokenAttributes(rawValue: 1 << 7)
    /// Whitespace right of the token is dropped when it is split out of text.
    static let rightStrip = TokenAttributes(rawValue: 1 << 8)

    /// Tokens hidden when decoding without special tokens.
    static let hiddenUnlessSpecial: TokenAttributes = [.unknown, .control]

    /// GGUF token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte; other values undefined.
    init(tokenType: Int32) {
        switch tokenType {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = []
        }
    }

    init(rawValue: UInt16) { self.rawValue = rawValue }
}

/// The ids of the tokens with a role, and the set that ends generation.
struct SpecialTokens: Sendable, Equatable {
    var bos: Int32?
    var eos: Int32?
    var eot: Int32?
    var eom: Int32?
    var unknown: Int32?
    var separator: Int32?
    var padding: Int32?
    var mask: Int32?
    var fimPrefix: Int32?
    var fimSuffix: Int32?
    var fimMiddle: Int32?
    var fimPad: Int32?
    var fimRepository: Int32?
    var fimSeparator: Int32?
    /// llama.cpp's `special_eog_ids`: eos, eot, eom, FIM pad/repo/separator and tokens named like an end of turn.
    var endOfGeneration: Set<Int32> = []
}

/// Bytes as a dictionary key, hashed in one call over the buffer. A slice, so that looking up
/// part of a text allocates nothing.
struct ByteString: Hashable, Sendable {
    let bytes: ArraySlice<UInt8>
    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }
    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (a: ByteString, b: ByteString) -> Bool { a.bytes.elementsEqual(b.bytes) }
}
