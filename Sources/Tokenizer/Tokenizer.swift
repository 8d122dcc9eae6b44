import GGUF

/// Text ↔ token ids for a GGUF model, producing the ids llama.cpp produces (`llama_tokenize`,
/// `llama_detokenize`). Two vocabulary kinds: byte-level BPE (`tokenizer.ggml.model = gpt2`,
/// pre-tokenizers in `PreTokenizer+Catalog.swift`) and SentencePiece (`llama`).
///
/// Encoding: special tokens written in the text are split out first (`SpecialTokenSplitter`);
/// each plain fragment is then pre-tokenized into words and merged by BPE, or space-escaped and
/// merged by SentencePiece; BOS/EOS are added as `add_bos_token`/`add_eos_token` say.
/// Immutable after `init`, so one instance serves any number of threads.
public final class Tokenizer: Sendable {
    let vocabulary: Vocabulary
    let bytePairs: BytePairEncoder?
    let splitter: SpecialTokenSplitter
    public let chatTemplate: ChatTemplate

    public init(gguf: GGUFFile) throws(TokenizerError) {
        let metadata = TokenizerMetadata(values: gguf.metadata)
        let vocabulary = try Vocabulary(metadata: metadata)
        if vocabulary.kind == .bytePairs {
            guard let merges = try metadata.strings(TokenizerMetadata.Key.merges) else {
                throw .missingKey(TokenizerMetadata.Key.merges)
            }
            bytePairs = try BytePairEncoder(vocabulary: vocabulary, merges: merges,
                                            ignoresMerges: vocabulary.configuration?.ignoresMerges == true)
        } else {
            bytePairs = nil
        }
        self.vocabulary = vocabulary
        splitter = SpecialTokenSplitter(vocabulary: vocabulary)
        chatTemplate = ChatTemplate(jinjaSource: try metadata.string(TokenizerMetadata.Key.chatTemplate))
    }

    /// Opens the GGUF at `path` (throws `GGUFError` if it cannot be read) and reads its vocabulary.
    public convenience init(path: String) throws {
        try self.init(gguf: GGUFFile(path: path))
    }

    public var vocabularySize: Int { vocabulary.count }
    public var bosID: Int32? { vocabulary.special.bos }
    public var eosID: Int32? { vocabulary.special.eos }
    /// The end-of-turn token (`<|im_end|>`, `<|eot_id|>`, …) if the vocabulary has one.
    public var eotID: Int32? { vocabulary.special.eot }
    /// Whether `encode(_:addSpecial: true)` starts with BOS / ends with EOS.
    public var addsBOS: Bool { vocabulary.addsBOS && vocabulary.special.bos != nil }
    public var addsEOS: Bool { vocabulary.addsEOS && vocabulary.special.eos != nil }

    /// Whether generation should stop at `id`: EOS, end of turn, end of message, FIM pad/repo/separator
    /// and tokens named like an end of turn (llama.cpp's `llama_vocab_is_eog`).
    public func isEndOfGeneration(_ id: Int32) -> Bool {
        vocabulary.special.endOfGeneration.contains(id)
    }

    /// Whether `id` is a control or unknown token: the tokens `decode(_:skipSpecial: true)` leaves out.
    public func isControl(_ id: Int32) -> Bool {
        vocabulary.contains(id) && !vocabulary.attributes[Int(id)].isDisjoint(with: TokenAttributes.hiddenUnlessSpecial)
    }

    /// The ids of `text`. `addSpecial` adds BOS/EOS as the model asks; `parseSpecial` turns
    /// control tokens written in the text (`<|im_start|>`) into single tokens — user-defined
    /// tokens are always split out, as in llama.cpp.
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = true) -> [Int32] {
        let bytes = Array(text.utf8)
        var out: [Int32] = []
        out.reserveCapacity(bytes.count / 3 + 2)
        if addSpecial && vocabulary.addsBOS, let bos = vocabulary.special.bos { out.append(bos) }
        let fragments = splitter.split(bytes, parseSpecial: parseSpecial, vocabulary: vocabulary)
        if let bytePairs {
            var scratch = BytePairEncoder.Scratch()
            for fragment in fragments {
                switch fragment {
                case let .token(id): out.append(id)
                case let .text(range): encodeBytePairs(bytes[range], bytePairs, &scratch, into: &out)
                }
            }
        } else {
            var scratch = SentencePieceEncoder.Scratch()
            var text: [UInt8] = []
            var afterSpecial = true // a space is prefixed at the start and after every special token
            for fragment in fragments {
                switch fragment {
                case let .token(id):
                    out.append(id)
                    afterSpecial = true
                case let .text(range):
                    text.removeAll(keepingCapacity: true)
                    if vocabulary.addsSpacePrefix && afterSpecial { text.append(contentsOf: SentencePieceEncoder.escapedSpace) }
                    SentencePieceEncoder.escapeSpaces(bytes[range], into: &text)
                    SentencePieceEncoder.encode(text, vocabulary: vocabulary, scratch: &scratch, into: &out)
                    afterSpecial = false
                }
            }
        }
        if addSpecial && vocabulary.addsEOS, let eos = vocabulary.special.eos { out.append(eos) }
        return out
    }

    /// Pre-tokenizes one plain fragment into words and merges each.
    private func encodeBytePairs(_ bytes: ArraySlice<UInt8>, _ bytePairs: BytePairEncoder,
                                 _ scratch: inout BytePairEncoder.Scratch, into out: inout [Int32]) {
        // Code points with their byte offsets (`offsets[i]` is where code point i starts).
        var cps: [UInt32] = []
        var offsets: [Int] = []
        cps.reserveCapacity(bytes.count)
        offsets.reserveCapacity(bytes.count + 1)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            offsets.append(i)
            let (cp, length) = Self.decodeUTF8(bytes, at: i)
            cps.append(cp)
            i += length
        }
        offsets.append(bytes.endIndex)
        let flags = cps.map(CodepointFlags.of)
        guard let preTokenizer = vocabulary.configuration?.preTokenizer else { return }
        var start = 0
        for end in preTokenizer.split(cps, flags) {
            bytePairs.encode(word: bytes[offsets[start]..<offsets[end]], vocabulary: vocabulary, scratch: &scratch, into: &out)
            start = end
        }
    }

    /// One code point of well-formed UTF-8 (Swift strings always are) and its length in bytes.
    @inline(__always)
    private static func decodeUTF8(_ b: ArraySlice<UInt8>, at i: Int) -> (UInt32, Int) {
        let b0 = UInt32(b[i])
        switch SentencePieceEncoder.utf8Length(leadByte: b[i]) {
        case 2 where i + 1 < b.endIndex:
            return ((b0 & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F), 2)
        case 3 where i + 2 < b.endIndex:
            return ((b0 & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F), 3)
        case 4 where i + 3 < b.endIndex:
            return ((b0 & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12 | UInt32(b[i + 2] & 0x3F) << 6 | UInt32(b[i + 3] & 0x3F), 4)
        default:
            return (b0 < 0x80 ? b0 : 0xFFFD, 1)
        }
    }
}
