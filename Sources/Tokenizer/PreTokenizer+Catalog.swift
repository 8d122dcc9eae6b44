/// The `tokenizer.ggml.pre` values this package implements, with what llama.cpp's
/// `llama_vocab::impl::load` sets for each (pre-tokenizer regexes, `clean_spaces`,
/// `ignore_merges`, default `add_bos`). A missing key or `default` selects llama.cpp's default
/// regexes (it warns that quality will be degraded); any other name — including the ones llama.cpp
/// knows but this package does not implement (gpt-4o, tekken, kimi-k2, bloom, …) — is an error,
/// as an unknown name is in llama.cpp: guessing a pre-tokenizer silently changes the token ids.
extension PreTokenizer {
    static func configuration(named name: String?) -> Configuration? {
        guard let name, !name.isEmpty else { return Configuration(preTokenizer: .llamaDefault) }
        switch name {
        case "default":
            return Configuration(preTokenizer: .llamaDefault)
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
            return Configuration(preTokenizer: .llama3, ignoresMerges: true, addsBOS: true)
        case "dbrx", "smaug-bpe":
            return Configuration(preTokenizer: .llama3)
        case "chatglm-bpe":
            return Configuration(preTokenizer: .llama3, hasNoBOS: true)
        case "glm4", "glm5":
            return Configuration(preTokenizer: .llama3, ignoresMerges: true, hasNoBOS: true)
        case "deepseek-llm":
            return Configuration(preTokenizer: .deepseekLLM, cleansSpaces: false)
        case "deepseek-coder":
            return Configuration(preTokenizer: .deepseekCoder, cleansSpaces: false)
        case "falcon":
            return Configuration(preTokenizer: .falcon)
        case "gpt-2", "phi-2", "gigachat", "a.x-4.0", "mellum", "mpt", "olmo", "jais", "exaone4":
            return Configuration(preTokenizer: .gpt2)
        case "trillion", "granite-docling":
            return Configuration(preTokenizer: .gpt2, cleansSpaces: false)
        case "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2":
            return Configuration(preTokenizer: .starcoder)
        case "smollm", "command-r":
            return Configuration(preTokenizer: .starcoder, cleansSpaces: false)
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2":
            return Configuration(preTokenizer: .qwen2, cleansSpaces: false)
        case "stablelm2", "megrez":
            return Configuration(preTokenizer: .qwen2)
        case "qwen35":
            return Configuration(preTokenizer: .qwen35, cleansSpaces: false)
        default:
            return nil
        }
    }

    /// llama.cpp's fallback: `[\p{P}\$\+<=>\^~\|]+`, the GPT-2 regex, `\p{N}+`, `[0-9][0-9][0-9]`.
    static let llamaDefault = PreTokenizer(name: "default", rules: [
        .runs(prefix: nil, body: .flags(.punctuation, extra: Array("$+<=>^~|".unicodeScalars.map(\.value)))),
        .scanner(.gpt2),
        .runs(prefix: nil, body: .number),
        .asciiDigitTriples,
    ])
    static let gpt2 = PreTokenizer(name: "gpt2", rules: [.scanner(.gpt2)])
    /// StarCoder, SmolLM, Refact, Command-R: every digit alone, then the GPT-2 regex.
    static let starcoder = PreTokenizer(name: "starcoder", rules: [.isolate(.number), .scanner(.gpt2)])
    static let falcon = PreTokenizer(name: "falcon", rules: [
        .runs(prefix: nil, body: .flags(.punctuation, extra: Array("$+<=>^~|`".unicodeScalars.map(\.value)))),
        .scanner(.gpt2),
        .asciiDigitTriples,
    ])
    static let llama3 = PreTokenizer(name: "llama3", rules: [.scanner(.llama3)])
    static let qwen2 = PreTokenizer(name: "qwen2", rules: [.scanner(.qwen2)])
    static let qwen35 = PreTokenizer(name: "qwen35", rules: [.scanner(.qwen35)])

    /// CJK ideographs, U+0800…U+4E00 and Hangul, as DeepSeek writes `[一-龥ࠀ-一가-퟿]`.
    private static let deepseekCJK = CharacterClass.ranges([0x4E00...0x9FA5, 0x0800...0x4E00, 0xAC00...0xD7FF])

    static let deepseekCoder = PreTokenizer(name: "deepseek-coder", rules: [
        .isolate(.newline),
        .runs(prefix: .whitespace, body: .flags(.letter)),
        .runs(prefix: .whitespace, body: .flags(.punctuation)),
        .runs(prefix: nil, body: deepseekCJK),
        .isolate(.number),
    ])

    /// DeepSeek LLM: `[\r\n]`, `\s?[<cased letters>]+`, `\s?[<ASCII and fullwidth punctuation>]+`,
    /// `\s+$`, `[一-龥ࠀ-一가-퟿]+`, `\p{N}+`. The letter class is the one of DeepSeek's tokenizer.json.
    static let deepseekLLM = PreTokenizer(name: "deepseek-llm", rules: [
        .isolate(.newline),
        .runs(prefix: .whitespace, body: .ranges([
            0x41...0x5A, 0x61...0x7A, 0xB5...0xB5, 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x1BA, 0x1BC...0x1BF,
            0x1C4...0x293, 0x295...0x2AF, 0x370...0x373, 0x376...0x377, 0x37B...0x37D, 0x37F...0x37F,
            0x386...0x386, 0x388...0x38A, 0x38C...0x38C, 0x38E...0x3A1, 0x3A3...0x3F5, 0x3F7...0x481,
            0x48A...0x52F, 0x531...0x556, 0x10A0...0x10C5, 0x13A0...0x13F5, 0x13F8...0x13FD,
            0x1C90...0x1CBA, 0x1CBD...0x1CBF, 0x1D00...0x1D2B, 0x1D6B...0x1D77, 0x1D79...0x1D9A,
            0x1E00...0x1F15, 0x1F18...0x1F1D, 0x1F20...0x1F45, 0x1F48...0x1F4D, 0x1F50...0x1F57,
            0x1F59...0x1F59, 0x1F5B...0x1F5B, 0x1F5D...0x1F5D, 0x1F5F...0x1F7D, 0x1F80...0x1FB4,
            0x1FB6...0x1FBC, 0x1FBE...0x1FBE, 0x1FC2...0x1FC4, 0x1FC6...0x1FCC, 0x1FD0...0x1FD3,
            0x1FD6...0x1FDB, 0x1FE0...0x1FEC, 0x1FF2...0x1FF4, 0x1FF6...0x1FFC, 0x2102...0x2102,
            0x2107...0x2107, 0x210A...0x2113, 0x2115...0x2115, 0x2119...0x211D, 0x2124...0x2124,
            0x2126...0x2126, 0x2128...0x2128, 0x212A...0x212D, 0x212F...0x2134, 0x2139...0x2139,
            0x213C...0x213F, 0x2145...0x2149, 0x214E...0x214E, 0x2183...0x2184, 0x2C00...0x2C7B,
            0x2C7E...0x2CE4, 0x2CEB...0x2CEE, 0x2CF2...0x2CF3, 0xA640...0xA66D, 0xA680...0xA69B,
            0xA722...0xA76F, 0xA771...0xA787, 0xA78B...0xA78E, 0xAB70...0xABBF, 0xFB00...0xFB06,
            0xFB13...0xFB17, 0xFF21...0xFF3A, 0xFF41...0xFF5A, 0x10400...0x1044F, 0x104B0...0x104D3,
            0x104D8...0x104FB, 0x10C80...0x10CB2, 0x10CC0...0x10CF2, 0x118A0...0x118DF, 0x1E900...0x1E943,
        ])),
        .runs(prefix: .whitespace, body: .ranges([
            0x21...0x2F, 0x3A...0x7E, 0xFF01...0xFF0F, 0xFF1A...0xFF5E, 0x2018...0x201F, 0x3000...0x3002,
        ])),
        .trailingWhitespace,
        .runs(prefix: nil, body: deepseekCJK),
        .runs(prefix: nil, body: .number),
    ])
}
