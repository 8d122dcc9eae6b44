import GGUF

extension SyntheticModel {
    /// A synthetic model that can chat: a byte-level BPE vocabulary (the 256 byte tokens, a few
    /// merges, ChatML's special tokens) and SmolLM2's ChatML template, so the whole pipeline —
    /// tokenizer, template, prefill, decode, detokenize — runs on it.
    public static func chat(seed: UInt64 = 1) -> SyntheticModel {
        var tokens = (0..<256).map { byteLevelCharacter(UInt8($0)) }
        let merges = ["Ġ t", "h e", "Ġt he", "i n", "o r", "e r", "a n", "Ġ a"]
        tokens += merges.map { $0.replacingOccurrences(of: " ", with: "") }
        let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        tokens += specials
        var types = [Int32](repeating: 1, count: tokens.count)
        for i in (tokens.count - specials.count)..<tokens.count { types[i] = 3 } // control
        var m = SyntheticModel()
        m.seed = seed
        m.vocabularySize = tokens.count
        m.extraMetadata = [
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string("smollm")),
            ("tokenizer.ggml.tokens", .array(.string(tokens))),
            ("tokenizer.ggml.token_type", .array(.int32(types))),
            ("tokenizer.ggml.merges", .array(.string(merges))),
            ("tokenizer.ggml.bos_token_id", .uint32(UInt32(tokens.count - 2))),
            ("tokenizer.ggml.eos_token_id", .uint32(UInt32(tokens.count - 1))),
            ("tokenizer.ggml.add_bos_token", .bool(false)),
            ("tokenizer.chat_template", .string(chatMLTemplate)),
        ]
        return m
    }

    /// SmolLM2's template (ChatML with a default system message).
    public static let chatMLTemplate = """
    {% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system
    You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>
    ' }}{% endif %}{{'<|im_start|>' + message['role'] + '
    ' + message['content'] + '<|im_end|>' + '
    '}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant
    ' }}{% endif %}
    """

    /// GPT-2's byte-to-character mapping: printable bytes map to themselves, the rest to 256+n.
    static func byteLevelCharacter(_ b: UInt8) -> String {
        let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
        if printable { return String(Character(Unicode.Scalar(b))) }
        var n = 0
        for x in 0..<Int(b) where !((33...126).contains(x) || (161...172).contains(x) || (174...255).contains(x)) { n += 1 }
        return String(Character(Unicode.Scalar(UInt32(256 + n))!))
    }
}
