import ArgumentParser

struct ResultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "results", abstract: "Not implemented yet.")

    func run() async throws { try notImplemented("pipeline results") }
}
