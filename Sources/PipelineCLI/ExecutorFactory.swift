import Pipeline

/// The one place `pipeline run` gets its inference engine. The engine targets (Model, KVCache,
/// Attention, Tokenizer) are not wired in yet: until a `UnitExecutor` over them is returned here,
/// this throws `engineUnavailable` (exit 70) before any unit is leased. `run` never records an
/// output that a model did not compute. `modelPath` is the default model (`--model`); a job's own
/// `model` arrives in `UnitWork.modelPath`.
func makeDefaultExecutor(modelPath: String, threads: Int?) throws -> any UnitExecutor {
    throw PipelineError.engineUnavailable(modelPath: modelPath,
                                          reason: "no inference engine is wired into this build yet")
}
