import ArgumentParser

struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Not implemented yet.")

    func run() async throws { try notImplemented("pipeline tokenize") }
}
