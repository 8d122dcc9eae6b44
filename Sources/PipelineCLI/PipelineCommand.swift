import ArgumentParser

/// `pipeline`: batch LLM inference over long documents, on CPU. The executable holds CLI code
/// only: argument parsing, output formatting and exit codes (see ExitStatus.swift).
@main
struct PipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Run language models over batches of long documents, offline, on CPU.",
        discussion: """
        Exit codes: 0 ok, 64 usage, 65 bad input data, 66 missing input, 70 internal error,
        75 temporary failure (for example a busy store).
        """,
        subcommands: [
            SubmitCommand.self, RunCommand.self, StatusCommand.self, ResultsCommand.self, PlanCommand.self,
            GenerateCommand.self, BenchCommand.self, TokenizeCommand.self, PerplexityCommand.self,
            CalibrateCommand.self, EvalCommand.self, ReportCommand.self, StoreCommand.self,
        ]
    )
}
