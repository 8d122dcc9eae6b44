// swift-tools-version:6.1
// `pipeline`: batch LLM inference over long documents on CPU. Targets and their order follow
// docs/architecture.md; dependencies point down only:
//   CKernels, CLZ4 → GGUF → Tensor → KVCache → Attention → Tokenizer → Model → Store → Planner → Evaluation, Pipeline → pipeline
// PostgresStore (Store's second backend, on PostgresNIO) sits beside Store and is used by the CLI
// only, so the engine's targets and their tests never link SwiftNIO.
// Grammar (JSON Schema → byte automaton → token masks over byte strings) depends on nothing: it
// sees tokens only as bytes, so Pipeline wires it to the tokenizer and the decode loop.
import PackageDescription

// Release builds of the engine's hot loops (Tensor, KVCache, Attention, Model) must let SIMD code
// reach memory bandwidth: no exclusivity or overflow checks (-Ounchecked), whole-module
// optimisation so generic SIMD code specialises. Everything that reads user input or keeps state
// (GGUF, Tokenizer, Planner, Store, Pipeline, the CLI) keeps Swift's checks (-O): there a broken
// invariant traps instead of becoming undefined behaviour.
let hotSwiftSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]
let swiftSettings: [SwiftSetting] = [
    .unsafeFlags(["-wmo"], .when(configuration: .release)),
]
// The C kernels are always optimised, also in debug builds (tests run them on real models).
// ISA-specific code is selected per function with target attributes and runtime dispatch, so the
// binary runs on any x86-64 (and builds on other architectures with the portable fallback).
let kernelCSettings: [CSetting] = [
    .unsafeFlags(["-O3", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wno-unused-function"]),
]

let package = Package(
    name: "pipeline",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pipeline", targets: ["PipelineCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .target(name: "CKernels", cSettings: kernelCSettings),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .target(name: "GGUF", swiftSettings: swiftSettings),
        .target(name: "Tensor", dependencies: ["GGUF", "CKernels"], swiftSettings: hotSwiftSettings),
        .target(name: "KVCache", dependencies: ["Tensor", "CKernels", "CLZ4"], swiftSettings: hotSwiftSettings),
        .target(name: "Attention", dependencies: ["KVCache", "Tensor", "CKernels"], swiftSettings: hotSwiftSettings),
        .target(name: "Tokenizer", dependencies: ["GGUF", .product(name: "Collections", package: "swift-collections")],
                swiftSettings: swiftSettings),
        .target(name: "Model", dependencies: ["GGUF", "Tensor", "KVCache", "Attention", "Tokenizer", "CKernels"],
                swiftSettings: hotSwiftSettings),
        .target(name: "Planner", dependencies: ["Model", "KVCache", "Attention", "Tensor", "Store"], swiftSettings: swiftSettings),
        .target(name: "Store", dependencies: [.product(name: "GRDB", package: "GRDB.swift")], swiftSettings: swiftSettings),
        .target(name: "PostgresStore", dependencies: ["Store", .product(name: "PostgresNIO", package: "postgres-nio")],
                swiftSettings: swiftSettings),
        // Measurement apart from decision: the machine probe, the fidelity harness and calibration,
        // the engine benchmarks. Planner stays arithmetic over what they record.
        .target(name: "Evaluation", dependencies: ["Planner", "Model", "Store", "KVCache", "Attention", "Tensor", "CKernels"],
                swiftSettings: swiftSettings),
        // Optimised in debug builds too: the token-mask walk is a hot loop the real-model tests run.
        .target(name: "Grammar", swiftSettings: swiftSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "Pipeline", dependencies: ["Store", "Planner", "Model", "Tokenizer", "KVCache", "Attention", "GGUF", "Grammar"],
                swiftSettings: swiftSettings),
        .executableTarget(name: "PipelineCLI", dependencies: [
            "Pipeline", "Evaluation", "Grammar", "Store", "PostgresStore", "Planner", "Model", "Tokenizer", "KVCache", "Attention", "Tensor", "GGUF",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swiftSettings),

        .target(name: "TestSupport", dependencies: ["GGUF", "Tensor", "CKernels"], path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "GGUF", "CKernels", "TestSupport"], exclude: ["Fixtures"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "GGUF", "TestSupport"], exclude: ["Fixtures"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "KVCacheTests", dependencies: ["KVCache", "Tensor", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "AttentionTests", dependencies: ["Attention", "KVCache", "Tensor", "TestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Evaluation", "Tokenizer", "GGUF", "Tensor", "KVCache", "Attention", "Planner", "TestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "PlannerTests", dependencies: ["Planner", "Evaluation", "Store", "Model", "KVCache", "Attention", "Tensor", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "StoreTests", dependencies: ["Store", "PostgresStore", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "GrammarTests", dependencies: ["Grammar", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Evaluation", "Planner", "Attention", "KVCache", "Store", "Model", "Grammar", "TestSupport"],
                    swiftSettings: swiftSettings),
    ],
    swiftLanguageModes: [.v6]
)
