/// Finds the end-of-turn, FIM and end-of-generation tokens by their text, as llama.cpp does
/// (llama-vocab.cpp, "auto-detect special tokens by text"): GGUF files rarely carry `eot` or FIM
/// ids, so `<|im_end|>`, `<|eot_id|>`, `<|endoftext|>`, … are recognised by name, marked control
/// (which makes them splittable from text) and collected into the end-of-generation set.
/// llama.cpp walks an unordered map, so when several candidates of one role exist which one it
/// takes is unspecified; here the lowest id wins.
extension Vocabulary {
    private static let endOfTurnNames = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>",
        "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
    ]
    private static let endOfMessageNames = ["<|eom_id|>"]
    private static let fimPrefixNames = [
        "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>",
    ]
    private static let fimSuffixNames = [
        "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>",
    ]
    private static let fimMiddleNames = [
        "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>",
    ]
    private static let fimPadNames = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]
    private static let fimRepositoryNames = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]
    private static let fimSeparatorNames = ["<|file_sep|>"]
    private static let endOfGenerationNames: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
        "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
        "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
    ]
    /// gpt-oss renders these even when special tokens are hidden.
    private static let alwaysRenderedNames = ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]

    static func detectSpecialTokens(_ special: inout SpecialTokens, attributes: inout [TokenAttributes],
                                    texts: [[UInt8]], idsByText: [ByteString: Int32]) {
        func id(_ name: String) -> Int32? { idsByText[ByteString(Array(name.utf8))] }
        func markControl(_ id: Int32) { attributes[Int(id)].insert(.control) }

        let roles: [([String], WritableKeyPath<SpecialTokens, Int32?>)] = [
            (endOfTurnNames, \.eot), (endOfMessageNames, \.eom), (fimPrefixNames, \.fimPrefix),
            (fimSuffixNames, \.fimSuffix), (fimMiddleNames, \.fimMiddle), (fimPadNames, \.fimPad),
            (fimRepositoryNames, \.fimRepository), (fimSeparatorNames, \.fimSeparator),
        ]
        for (names, path) in roles where special[keyPath: path] == nil {
            if let found = names.compactMap(id).min() {
                special[keyPath: path] = found
                markControl(found)
            }
        }

        var eog = Set([special.fimPad, special.fimRepository, special.fimSeparator].compactMap { $0 })
        for name in endOfGenerationNames {
            guard let found = id(name) else { continue }
            eog.insert(found)
            markControl(found)
        }
        for name in alwaysRenderedNames {
            if let found = id(name) { attributes[Int(found)] = .userDefined }
        }
        eog.formUnion([special.eos, special.eot, special.eom].compactMap { $0 })

        // o200k_harmony and solar-open: `<|end|>` is not an end of generation when `<|return|>`
        // and `<|call|>` (or `<|calls|>` and `<|flush|>`) are.
        func hasEOG(_ name: String) -> Bool { id(name).map(eog.contains) ?? false }
        let hasCall = hasEOG("<|call|>") || hasEOG("<|calls|>")
        if let end = id("<|end|>"), eog.contains(end), hasCall && (hasEOG("<|return|>") || hasEOG("<|flush|>")) {
            eog.remove(end)
            attributes[Int(end)] = .userDefined
        }
        // Gemma 4 and PLaMo have a normal `</s>`.
        if let s = id("</s>"), eog.contains(s), hasEOG("<|tool_response>") || hasEOG("<|plamo:eos|>") {
            eog.remove(s)
            attributes[Int(s)] = .normal
        }
        special.endOfGeneration = eog
    }
}
