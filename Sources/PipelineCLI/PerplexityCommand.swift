import ArgumentParser

struct PerplexityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "perplexity", abstract: "Not implemented yet.")

    func run() async throws { try notImplemented("pipeline perplexity") }
}
