import ArgumentParser

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "submit", abstract: "Not implemented yet.")

    func run() async throws { try notImplemented("pipeline submit") }
}
