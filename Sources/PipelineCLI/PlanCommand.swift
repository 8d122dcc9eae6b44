import ArgumentParser

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan", abstract: "Not implemented yet.")

    func run() async throws { try notImplemented("pipeline plan") }
}
