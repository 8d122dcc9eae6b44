// Byte-level lexers of JSON strings and numbers (RFC 8259 §6, §7), as small state machines the
// grammar machine and the token mask's fast path share. Strings are checked to be valid UTF-8
// (no overlong forms, no surrogates) and to hold at most `maxLength` code points.

/// String states: 0 before the opening quote; 1 in content; 2 after `\`; 3…6 inside `\uXXXX`
/// (3 + hex digits read); 11…13 one to three UTF-8 continuation bytes due; 20…23 the restricted
/// second byte after E0, ED, F0, F4.
enum StringLexer {
    enum Step: Equatable { case reject, next(state: Int32, count: Int32), close }

    @inline(__always)
    static func step(_ state: Int32, _ count: Int32, maxLength: Int32, _ b: UInt8) -> Step {
        switch state {
        case 0: return b == 0x22 ? .next(state: 1, count: 0) : .reject
        case 1:
            if b == 0x22 { return .close }
            if b < 0x20 { return .reject }
            guard count < maxLength else { return .reject }
            let c = count + 1
            switch b {
            case 0x5C: return .next(state: 2, count: c)
            case 0x00..<0x80: return .next(state: 1, count: c)
            case 0xC2...0xDF: return .next(state: 11, count: c)
            case 0xE0: return .next(state: 20, count: c)
            case 0xED: return .next(state: 21, count: c)
            case 0xE1...0xEF: return .next(state: 12, count: c)
            case 0xF0: return .next(state: 22, count: c)
            case 0xF1...0xF3: return .next(state: 13, count: c)
            case 0xF4: return .next(state: 23, count: c)
            default: return .reject
            }
        case 2:
            switch b {
            case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: return .next(state: 1, count: count)
            case 0x75: return .next(state: 3, count: count)
            default: return .reject
            }
        case 3...6:
            let hex = (0x30...0x39).contains(b) || (0x41...0x46).contains(b) || (0x61...0x66).contains(b)
            return hex ? .next(state: state == 6 ? 1 : state + 1, count: count) : .reject
        case 11: return (0x80...0xBF).contains(b) ? .next(state: 1, count: count) : .reject
        case 12: return (0x80...0xBF).contains(b) ? .next(state: 11, count: count) : .reject
        case 13: return (0x80...0xBF).contains(b) ? .next(state: 12, count: count) : .reject
        case 20: return (0xA0...0xBF).contains(b) ? .next(state: 11, count: count) : .reject
        case 21: return (0x80...0x9F).contains(b) ? .next(state: 11, count: count) : .reject
        case 22: return (0x90...0xBF).contains(b) ? .next(state: 12, count: count) : .reject
        case 23: return (0x80...0x8F).contains(b) ? .next(state: 12, count: count) : .reject
        default: return .reject
        }
    }
}

/// Number states: 0 start; 1 after `-`; 2 after a leading `0`; 3 integer digits; 4 after `.`;
/// 5 fraction digits; 6 after `e`; 7 after the exponent's sign; 8 exponent digits. Accepting: 2,
/// 3, 5, 8. `count` is the digits of the current part, capped so that every answer parses as a
/// double exactly enough: 15 integer digits, 9 fraction digits, 2 exponent digits.
enum NumberLexer {
    static let integerDigits: Int32 = 15, fractionDigits: Int32 = 9, exponentDigits: Int32 = 2

    @inline(__always)
    static func isAccepting(_ state: Int32) -> Bool { state == 2 || state == 3 || state == 5 || state == 8 }

    @inline(__always)
    static func step(_ state: Int32, _ count: Int32, integer: Bool, _ b: UInt8) -> (state: Int32, count: Int32)? {
        let digit = b >= 0x30 && b <= 0x39
        let exponent = !integer && (b == 0x65 || b == 0x45)
        switch state {
        case 0: return b == 0x2D ? (1, 0) : b == 0x30 ? (2, 1) : digit ? (3, 1) : nil
        case 1: return b == 0x30 ? (2, 1) : digit ? (3, 1) : nil
        case 2: return !integer && b == 0x2E ? (4, 0) : exponent ? (6, 0) : nil
        case 3:
            if digit { return count < integerDigits ? (3, count + 1) : nil }
            return !integer && b == 0x2E ? (4, 0) : exponent ? (6, 0) : nil
        case 4: return digit ? (5, 1) : nil
        case 5:
            if digit { return count < fractionDigits ? (5, count + 1) : nil }
            return exponent ? (6, 0) : nil
        case 6: return b == 0x2B || b == 0x2D ? (7, 0) : digit ? (8, 1) : nil
        case 7: return digit ? (8, 1) : nil
        case 8: return digit && count < exponentDigits ? (8, count + 1) : nil
        default: return nil
        }
    }
}
