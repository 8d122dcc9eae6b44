// Duplicate object keys in JSON text. RFC 8259 leaves them to the reader, and JSONDecoder keeps
// the last one silently; a job file that says `"max_new_tokens"` twice is ambiguous, so submit
// refuses it, naming the field. This scanner reads only the structure (strings, brackets, colons,
// commas) of text that already parsed as JSON.
import Foundation

enum JSONDuplicateKeys {
    /// The dotted path of the first key that occurs twice in one object (`strategy.lsh_k`,
    /// `documents[2].path`), or nil. `text` must be valid JSON.
    static func first(in text: Data) -> String? {
        let bytes = [UInt8](text)
        // One frame per open container: the keys seen (objects only) and the path to it.
        struct Frame { var keys: Set<String>?; var path: String; var index = 0; var pendingKey: String? }
        var stack: [Frame] = []
        var i = 0
        var expectingKey = false
        func childPath(_ frame: Frame) -> String {
            if let key = frame.pendingKey { return frame.path.isEmpty ? key : frame.path + "." + key }
            return frame.path + "[\(frame.index)]"
        }
        while i < bytes.count {
            let byte = bytes[i]
            switch byte {
            case UInt8(ascii: "\""):
                let start = i
                i += 1
                while i < bytes.count && bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                if expectingKey, var frame = stack.popLast() {
                    let raw = Data(bytes[start...min(i, bytes.count - 1)])
                    let key = (try? JSONDecoder().decode(String.self, from: raw)) ?? String(decoding: raw, as: UTF8.self)
                    if frame.keys?.contains(key) == true { return frame.path.isEmpty ? key : frame.path + "." + key }
                    frame.keys?.insert(key)
                    frame.pendingKey = key
                    stack.append(frame)
                    expectingKey = false
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let path = stack.last.map(childPath) ?? ""
                stack.append(Frame(keys: byte == UInt8(ascii: "{") ? [] : nil, path: path))
                expectingKey = byte == UInt8(ascii: "{")
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = stack.popLast()
                expectingKey = false
            case UInt8(ascii: ","):
                if var frame = stack.popLast() {
                    frame.index += 1
                    frame.pendingKey = nil
                    expectingKey = frame.keys != nil
                    stack.append(frame)
                }
            default:
                break
            }
            i += 1
        }
        return nil
    }
}
