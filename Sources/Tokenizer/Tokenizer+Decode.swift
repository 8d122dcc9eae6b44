/// Ids → text, as llama.cpp's `llama_detokenize`: the pieces of the tokens concatenated, the
/// first piece without one leading space when the vocabulary adds a space prefix, and — for
/// vocabularies with `clean_spaces` — the space before `?!.,`, around a lone `'` and before
/// `'s 'm 're 've` removed (the three passes of `llama_vocab::impl::detokenize`).
extension Tokenizer {
    /// The text of `ids`. With `skipSpecial`, control and unknown tokens are left out, and a
    /// BOS first / EOS last that the model adds itself are dropped. Invalid UTF-8 (a character
    /// cut between tokens) reads as U+FFFD; use `decodeBytes` to keep bytes exact.
    public func decode(_ ids: [Int32], skipSpecial: Bool = false) -> String {
        String(decoding: decodeBytes(ids, skipSpecial: skipSpecial), as: UTF8.self)
    }

    public func decodeBytes(_ ids: [Int32], skipSpecial: Bool = false) -> [UInt8] {
        var ids = ids[...]
        var dropLeadingSpace = vocabulary.addsSpacePrefix
        if skipSpecial && vocabulary.addsBOS, let bos = vocabulary.special.bos, ids.first == bos {
            dropLeadingSpace = false
            ids = ids.dropFirst()
        }
        if skipSpecial && vocabulary.addsEOS, let eos = vocabulary.special.eos, ids.last == eos {
            ids = ids.dropLast()
        }
        var out: [UInt8] = []
        for id in ids {
            var piece = pieceBytes(id)[...]
            if skipSpecial && isControl(id) { piece = [] }
            if dropLeadingSpace && piece.first == 0x20 { piece = piece.dropFirst() }
            dropLeadingSpace = false
            out.append(contentsOf: piece)
        }
        if vocabulary.configuration?.cleansSpaces == true { out = Self.cleanSpaces(out) }
        return out
    }

    /// The bytes of one token with special tokens rendered as written, for streaming output: a
    /// UTF-8 character may be split over several tokens, so concatenate bytes before decoding.
    /// Empty for an id outside the vocabulary.
    public func pieceBytes(_ id: Int32) -> [UInt8] {
        vocabulary.contains(id) ? vocabulary.pieces[Int(id)] : []
    }

    /// llama.cpp's `clean_up_tokenization_spaces` passes, on bytes.
    static func cleanSpaces(_ text: [UInt8]) -> [UInt8] {
        let space: UInt8 = 0x20, apostrophe: UInt8 = 0x27
        guard text.count > 1 else { return text }
        // 1. " ?", " !", " .", " ," lose the space.
        var pass1: [UInt8] = [text[0]]
        for i in 1..<text.count {
            let x = text[i]
            if text[i - 1] == space && (x == 0x3F || x == 0x21 || x == 0x2E || x == 0x2C) { pass1.removeLast() }
            pass1.append(x)
        }
        // 2. " ' " becomes "'". The space after is blanked in place, so it no longer counts as a
        //    space before the next character.
        var source = pass1
        var pass2: [UInt8] = [source[0]]
        var i = 1
        while i < source.count {
            let x = source[i]
            if x == apostrophe && i + 1 < source.count && source[i - 1] == space && source[i + 1] == space {
                pass2.removeLast()
                i += 1
                source[i] = 0
            }
            pass2.append(x)
            i += 1
        }
        // 3. " 's", " 'm", " 're", " 've" lose the space (" 't", " 'd", " 'll" keep it).
        var pass3: [UInt8] = [pass2[0]]
        for i in 1..<pass2.count {
            let x = pass2[i]
            if pass2[i - 1] == space && x == apostrophe && i + 1 < pass2.count {
                let x1 = pass2[i + 1]
                if x1 == 0x73 || x1 == 0x6D { // s m
                    pass3.removeLast()
                } else if x1 != 0x74 && x1 != 0x64, i + 2 < pass2.count { // not t d
                    let x2 = pass2[i + 2]
                    if (x1 == 0x72 || x1 == 0x76) && x2 == 0x65 { pass3.removeLast() } // re ve
                }
            }
            pass3.append(x)
        }
        return pass3
    }
}
