/// GPT-2's byte-level alphabet (`bytes_to_unicode` in openai/gpt-2 `encoder.py`): every byte is
/// shown as one printable code point so that BPE vocabularies can be stored as text. Bytes that
/// are printable Latin-1 (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) stand for themselves; the other 68 bytes,
/// in increasing order, map to U+0100, U+0101, … (so the space 0x20 is `Ġ` U+0120 and the
/// newline 0x0A is `Ċ` U+010A). Vocabulary tokens and merges of a `gpt2` model are in this
/// alphabet; text is converted to it byte by byte before the merges run.
enum ByteLevel {
    /// The code point that stands for each byte.
    static let codePointForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// The UTF-8 encoding of `codePointForByte[b]`, one to two bytes per byte.
    static let encodedByte: [[UInt8]] = codePointForByte.map { Array(String(Unicode.Scalar($0)!).utf8) }

    /// Inverse of `codePointForByte`, indexed by code point (< 324).
    private static let byteForCodePoint: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (byte, cp) in codePointForByte.enumerated() { table[Int(cp)] = Int16(byte) }
        return table
    }()

    static func byte(forCodePoint cp: UInt32) -> UInt8? {
        guard cp < UInt32(byteForCodePoint.count), byteForCodePoint[Int(cp)] >= 0 else { return nil }
        return UInt8(byteForCodePoint[Int(cp)])
    }

    /// Appends the byte-level text of `bytes` (what llama.cpp looks up in the vocabulary).
    static func encode(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8]) {
        for b in bytes { out.append(contentsOf: encodedByte[Int(b)]) }
    }

    /// The bytes a byte-level token stands for. A code point outside the alphabet is written as
    /// llama.cpp's `llama_decode_text` writes it: `[UNK_BYTE_0x<utf-8 hex>` + the whole token + `]`.
    static func decode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if let b = byte(forCodePoint: scalar.value) {
                out.append(b)
            } else {
                let hex = String(scalar).utf8.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
                out.append(contentsOf: Array("[UNK_BYTE_0x\(hex)\(text)]".utf8))
            }
        }
        return out
    }
}
