import Pipeline

/// The one place `pipeline run` gets its inference engine: the model-backed executor. Models are
/// loaded on first use (a job's own `model`, else `--model`), so a missing or bad model fails the
/// units that need it with a clear error rather than the whole run.
/// `planning`: the router (`strategy: auto`) and cost model of the run.
func makeDefaultExecutor(modelPath: String, threads: Int?, planning: UnitPlanning, kvDirectory: String) throws -> ModelUnitExecutor {
    ModelUnitExecutor(threads: threads, planning: planning, kvDirectory: kvDirectory)
}
