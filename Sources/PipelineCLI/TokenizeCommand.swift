import ArgumentParser
import Foundation
import Tokenizer

/// `pipeline tokenize --model M (--text T | --file F) [--json]`: the token ids of a text, as
/// `llama-tokenize --ids` gives them (special tokens written in the text parsed, BOS/EOS added
/// as the model asks).
struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text.",
        discussion: """
        Special tokens written in the text (such as <|im_start|>) become single tokens; BOS/EOS are \
        added when the model's metadata asks for them. Without --json, prints the ids separated by \
        spaces on one line; with --pieces, one line per token: id and the token's text.
        """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "The text to tokenize.")
    var text: String?

    @Option(name: .long, help: "A UTF-8 file whose whole contents to tokenize.")
    var file: String?

    @Flag(name: .long, help: "Print {\"ids\": [...]}.")
    var json = false

    @Flag(name: .long, help: "Print one token per line with its text.")
    var pieces = false

    func validate() throws {
        guard (text == nil) != (file == nil) else { throw ValidationError("Give exactly one of --text and --file.") }
        guard !(json && pieces) else { throw ValidationError("--json and --pieces cannot be combined.") }
    }

    func run() async throws {
        try await reportingErrors {
            let input = try readInput()
            let tokenizer = try loadTokenizer(modelOptions.modelPath)
            let ids = tokenizer.encode(input)
            if json {
                try printJSON(["ids": ids])
            } else if pieces {
                for id in ids { print("\(id)\t\(Self.display(tokenizer.pieceBytes(id)))") }
            } else {
                print(ids.map(String.init).joined(separator: " "))
            }
        }
    }

    /// A piece as an escaped string literal body, or its bytes in hex when it is not whole UTF-8
    /// (a character split over tokens).
    static func display(_ bytes: [UInt8]) -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else {
            return bytes.map { "\\x" + String($0, radix: 16, uppercase: true) }.joined()
        }
        return String(String(reflecting: s).dropFirst().dropLast())
    }

    private func readInput() throws -> String {
        guard let file else { return text ?? "" }
        guard FileManager.default.fileExists(atPath: file) else { throw CLIFailure(.noInput, "no such file: \(file)") }
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIFailure(.noInput, "cannot read \(file)") }
        guard let s = String(validating: data, as: UTF8.self) else { throw CLIFailure(.dataError, "\(file) is not valid UTF-8") }
        return s
    }
}
