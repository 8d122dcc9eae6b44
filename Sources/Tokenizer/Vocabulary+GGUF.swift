/// Builds a `Vocabulary` from GGUF metadata the way llama.cpp's `llama_vocab::impl::load` does:
/// model and pre-tokenizer first (they set the defaults), then tokens, scores and types, special
/// token ids (defaults, then keys), `add_bos`/`add_eos`/`add_space_prefix`, the name-based
/// attribute fixes, the list of splittable special tokens and the piece of every token.
extension Vocabulary {
    init(metadata: TokenizerMetadata) throws(TokenizerError) {
        typealias Key = TokenizerMetadata.Key
        guard let modelName = try metadata.string(Key.model) else { throw .missingKey(Key.model) }
        switch modelName {
        case "gpt2": kind = .bytePairs
        case "llama": kind = .sentencePiece
        default: throw .unsupportedModel(modelName)
        }
        if kind == .bytePairs {
            let pre = try metadata.string(Key.pre)
            guard let c = PreTokenizer.configuration(named: pre) else { throw .unsupportedPreTokenizer(pre ?? "") }
            configuration = c
        } else {
            configuration = nil
        }

        guard let tokenStrings = try metadata.strings(Key.tokens) else { throw .missingKey(Key.tokens) }
        guard !tokenStrings.isEmpty else { throw .emptyVocabulary }
        let count = tokenStrings.count
        scores = try metadata.perToken(Key.scores, count: count, expected: "array of float32 or int32") { a -> [Float]? in
            switch a {
            case let .float32(xs): xs
            case let .int32(xs): xs.map(Float.init)
            default: nil
            }
        } ?? [Float](repeating: 0, count: count)
        let types = try metadata.perToken(Key.tokenType, count: count, expected: "array of int32") { a -> [Int32]? in
            if case let .int32(xs) = a { xs } else { nil }
        }

        var texts: [[UInt8]] = []
        var idsByText: [ByteString: Int32] = [:]
        texts.reserveCapacity(count)
        idsByText.reserveCapacity(count)
        for (i, s) in tokenStrings.enumerated() {
            let text = s.isEmpty ? Array("[EMPTY_\(i)]".utf8) : Array(s.utf8)
            texts.append(text)
            idsByText[ByteString(text)] = Int32(i)
        }
        self.texts = texts
        self.idsByText = idsByText
        sentencePieceWordsAreIndependent = kind == .sentencePiece && !SentencePieceEncoder.mergesCrossWordStarts(texts)
        var attributes = types.map { $0.prefix(count).map(TokenAttributes.init(tokenType:)) }
            ?? [TokenAttributes](repeating: .normal, count: count)

        addsSpacePrefix = try metadata.bool(Key.addSpacePrefix) ?? (kind == .sentencePiece)
        addsBOS = try metadata.bool(Key.addBOS) ?? (kind == .sentencePiece || configuration?.addsBOS == true)
        addsEOS = try metadata.bool(Key.addEOS) ?? false

        var special = try SpecialTokens(kind: kind, count: count, hasNoBOS: configuration?.hasNoBOS == true, metadata: metadata)
        Self.detectSpecialTokens(&special, attributes: &attributes, texts: texts, idsByText: idsByText)
        self.special = special

        // Splittable special tokens, longest first. llama.cpp sorts with an unstable sort; ties
        // are broken by id here, which only matters for two equally long overlapping tokens.
        let splittable: [Int] = (0..<count).filter { !attributes[$0].isDisjoint(with: [.control, .userDefined, .unknown]) }
        splittableSpecialIDs = splittable.sorted { (a: Int, b: Int) -> Bool in
            texts[a].count != texts[b].count ? texts[a].count > texts[b].count : a < b
        }.map { Int32($0) }

        let kind = kind
        pieces = (0..<count).map { Self.piece(text: texts[$0], attributes: attributes[$0], kind: kind) }

        // Phi-3 strips whitespace right of its special tokens (llama.cpp sets this by model name).
        let generalName = (try? metadata.string(Key.generalName))?.lowercased() ?? ""
        if generalName.contains("phi-3") || generalName.contains("phi3") {
            for id in splittableSpecialIDs { attributes[Int(id)].insert(.rightStrip) }
            if let id = idsByText[ByteString(Array("</s>".utf8))] { attributes[Int(id)].insert(.rightStrip) }
            for text in ["<unk>", "<s>", "<|endoftext|>"] {
                if let id = idsByText[ByteString(Array(text.utf8))] { attributes[Int(id)].remove(.rightStrip) }
            }
        }
        self.attributes = attributes
    }

    /// What token_to_piece(special: true) gives: control, unknown and user-defined tokens as
    /// written; normal tokens decoded (`▁` → space for SentencePiece, byte-level alphabet for
    /// BPE); byte tokens `<0xNN>` as their byte; tokens of other types as nothing.
    static func piece(text: [UInt8], attributes: TokenAttributes, kind: Kind) -> [UInt8] {
        if !attributes.isDisjoint(with: [.unknown, .control, .userDefined]) { return text }
        if attributes.contains(.normal) {
            switch kind {
            case .sentencePiece: return SentencePieceEncoder.unescapeSpaces(text)
            case .bytePairs: return ByteLevel.decode(String(decoding: text, as: UTF8.self))
            }
        }
        if attributes.contains(.byte) {
            // `<0xNN>`: the two hex digits at offset 3, as strtol reads them (0 when malformed).
            guard text.count >= 5, let b = UInt8(String(decoding: text[3..<5], as: UTF8.self), radix: 16) else { return [0] }
            return [b]
        }
        return []
    }
}

extension SpecialTokens {
    /// llama.cpp's defaults per model (an id past the vocabulary is no token), then the
    /// `tokenizer.ggml.*_token_id` keys: -1 (llama.cpp's "no token") clears one; any other id
    /// outside the vocabulary is `specialTokenOutOfRange`, naming the key.
    init(kind: Vocabulary.Kind, count: Int, hasNoBOS: Bool, metadata: TokenizerMetadata) throws(TokenizerError) {
        switch kind {
        case .sentencePiece: (bos, eos, unknown) = (1, 2, 0)
        case .bytePairs: (bos, eos, unknown) = (hasNoBOS ? nil : 11, 11, nil)
        }
        let keyed: [(String, WritableKeyPath<SpecialTokens, Int32?>)] = [
            ("bos", \.bos), ("eos", \.eos), ("eot", \.eot), ("eom", \.eom), ("unknown", \.unknown),
            ("seperator", \.separator), ("padding", \.padding), ("mask", \.mask),
            ("fim_pre", \.fimPrefix), ("fim_suf", \.fimSuffix), ("fim_mid", \.fimMiddle), ("fim_pad", \.fimPad),
            ("fim_rep", \.fimRepository), ("fim_sep", \.fimSeparator),
            ("prefix", \.fimPrefix), ("suffix", \.fimSuffix), ("middle", \.fimMiddle), // deprecated names
        ]
        for (name, path) in keyed {
            if let id = self[keyPath: path], Int(id) >= count { self[keyPath: path] = nil }
            let key = "tokenizer.ggml.\(name)_token_id"
            guard let id = try metadata.int(key) else { continue }
            if id == -1 || id == Int(UInt32.max) { self[keyPath: path] = nil; continue } // llama.cpp's "no token"
            // Any other id outside the vocabulary is refused, never replaced by a default.
            guard id >= 0, id < count else { throw .specialTokenOutOfRange(key: key, id: id, tokenCount: count) }
            self[keyPath: path] = Int32(id)
        }
    }
}
