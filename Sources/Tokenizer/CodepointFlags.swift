/// Unicode character classes of one code point, as the pre-tokenizer regexes use them:
/// `\p{L}`, `\p{N}`, `\p{P}`, `\p{S}`, `\p{M}`, `\p{Z}`, `\p{C}` from the General_Category, and
/// `\s` from the White_Space property — the same partition as llama.cpp's `unicode_cpt_flags`
/// (generated from UnicodeData.txt, whitespace = the 25 White_Space code points). The data comes
/// from the Swift standard library's Unicode tables; the BMP is answered from a precomputed table.
///
/// llama.cpp's table is of Unicode 15.1 while the standard library knows later versions, so code
/// points assigned after 15.1 count as unassigned here (`Unicode.Scalar.Properties.age`); with
/// that, all 0x110000 code points classify as in llama.cpp (checked against its unicode-data.cpp).
struct CodepointFlags: OptionSet, Sendable {
    let rawValue: UInt16

    static let undefined = CodepointFlags(rawValue: 1 << 0)   // Cn: unassigned
    static let number = CodepointFlags(rawValue: 1 << 1)      // \p{N}
    static let letter = CodepointFlags(rawValue: 1 << 2)      // \p{L}
    static let separator = CodepointFlags(rawValue: 1 << 3)   // \p{Z}
    static let mark = CodepointFlags(rawValue: 1 << 4)        // \p{M}
    static let punctuation = CodepointFlags(rawValue: 1 << 5) // \p{P}
    static let symbol = CodepointFlags(rawValue: 1 << 6)      // \p{S}
    static let control = CodepointFlags(rawValue: 1 << 7)     // \p{C}: Cc, Cf, Co, Cs
    static let whitespace = CodepointFlags(rawValue: 1 << 8)  // \s

    /// The flags of `codePoint`; invalid code points (surrogates, > U+10FFFF) are `undefined`.
    @inline(__always)
    static func of(_ codePoint: UInt32) -> CodepointFlags {
        if codePoint < 0x10000 { return basicMultilingualPlane[Int(codePoint)] }
        return computed(codePoint)
    }

    /// U+0000…U+FFFF, computed once (a few milliseconds) on first use.
    private static let basicMultilingualPlane: [CodepointFlags] = (0..<0x10000).map { computed(UInt32($0)) }

    /// The Unicode version of llama.cpp's `unicode-data.cpp`.
    static let unicodeVersion = (major: 15, minor: 1)

    private static func computed(_ codePoint: UInt32) -> CodepointFlags {
        if (0xD800...0xDFFF).contains(codePoint) { return .control } // surrogates: Cs
        guard let scalar = Unicode.Scalar(codePoint) else { return .undefined }
        let properties = scalar.properties
        guard let age = properties.age, (age.major, age.minor) <= unicodeVersion else { return .undefined }
        var flags: CodepointFlags
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: flags = .letter
        case .nonspacingMark, .spacingMark, .enclosingMark: flags = .mark
        case .decimalNumber, .letterNumber, .otherNumber: flags = .number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: flags = .punctuation
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: flags = .symbol
        case .spaceSeparator, .lineSeparator, .paragraphSeparator: flags = .separator
        case .control, .format, .surrogate, .privateUse: flags = .control
        case .unassigned: flags = .undefined
        @unknown default: flags = .undefined
        }
        if properties.isWhitespace { flags.insert(.whitespace) }
        return flags
    }
}
