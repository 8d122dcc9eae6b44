import ArgumentParser

struct CalibrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "calibrate", abstract: "Not implemented yet.")

    func run() async throws { try notImplemented("pipeline calibrate") }
}
