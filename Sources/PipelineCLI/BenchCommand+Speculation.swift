import Evaluation
import Foundation
import KVCache
import Model
import Tokenizer

/// `pipeline bench --speculate SOURCES --documents …`: speculative against plain dense decoding
/// per document × prompt type at each depth (SpeculativeBenchmark), outputs checked identical;
/// `--verification-cost`: the cost of a row-exact pass of γ + 1 rows against one decode step.
extension BenchCommand {
    /// Prompt types the speculative bench asks about every document.
    static let speculationPrompts: [(String, String)] = [
        ("summarize", "Summarize the document in three sentences."),
        ("list", "List the three most important obligations or warnings the document gives its reader."),
        ("explain", "Explain what this document is for and who should read it."),
    ]

    func runSpeculation(context: ForwardContext, format: KVFormat) throws {
        let model = context.model
        let tokenizer = try Tokenizer(gguf: model.file)
        var bench = SpeculativeBenchmark(context: context, format: format)
        bench.repetitions = repetitions
        bench.maxDraftTokens = speculationOptions.draftTokens
        let depthList = try parseList(depths, name: "--depths").filter { $0 > 0 }
        if verificationCost {
            let filler = try documents.first.map { tokenizer.encode(try readTextFile($0), addSpecial: false, parseSpecial: false) } ?? []
            for d in depthList.isEmpty ? [0] : [0] + depthList {
                for row in try bench.verificationCost(depth: d, rowCounts: [1, 2, 3, 5, 9], filler: filler.isEmpty ? [1, 2, 3] : filler) {
                    if json { try printJSON(row) } else {
                        print(String(format: "verify %d rows @d%d: %.2f× one decode step (%.2f ms vs %.2f ms)", row.rows, row.depth,
                                     row.relativeCost, 1000 * row.passSeconds, 1000 * row.stepSeconds))
                    }
                    fflush(nil)
                }
            }
            return
        }
        guard !documents.isEmpty || specCases != nil else {
            throw CLIFailure(.usage, "--speculate needs --documents or --spec-cases (acceptance depends on content, not random tokens)")
        }
        let names = speculationOptions.sourceNames.filter { $0 != "off" }
        let sources = names.map { name in (name, { speculationOptions.makeSource(name, model: model, pool: context.pool)! }) }
        func report(_ c: SpeculativeBenchmark.Case) throws {
            for row in try bench.run(c, generateTokens: genTokens, sources: sources, isEnd: tokenizer.isEndOfGeneration) {
                if json { try printJSON(row) } else {
                    print(String(format: "%-40@ d%-5d %-6@ %7.2f tok/s  %.2f×  acceptance %5.1f%%  %.2f per pass  %3d tokens  %@",
                                 row.test as NSString, row.depth, row.source as NSString, row.tokensPerSecond, row.speedup,
                                 100 * row.acceptanceRate, row.meanAcceptedLength, row.generatedTokens,
                                 (row.identical ? "identical" : "DIFFERENT") as NSString))
                }
                fflush(nil)
                if !row.identical { throw CLIFailure(.software, "\(row.test) \(row.source): speculative output differs from plain decoding") }
            }
        }
        // Rendered prompts ([{"name", "prompt"}], the needle files' format) as they are.
        if let specCases {
            struct Entry: Decodable { let name: String; let prompt: String }
            let entries: [Entry]
            do { entries = try JSONDecoder().decode([Entry].self, from: Data(try readTextFile(specCases).utf8)) } catch let e as CLIFailure { throw e } catch {
                throw CLIFailure(.dataError, "\(specCases): not a JSON list of {name, prompt}: \(error)")
            }
            for e in entries {
                let ids = tokenizer.encode(e.prompt, addSpecial: true, parseSpecial: true)
                guard ids.count + genTokens <= model.config.contextLength, !ids.isEmpty else {
                    throw CLIFailure(.dataError, "\(specCases): case \(e.name) has \(ids.count) tokens; with --gen-tokens \(genTokens) beyond the context")
                }
                try report(SpeculativeBenchmark.Case(name: e.name, tokens: ids))
            }
        }
        let template = tokenizer.chatTemplate
        for path in documents {
            let documentIDs = tokenizer.encode(try readTextFile(path), addSpecial: false, parseSpecial: false)
            for depth in depthList.isEmpty ? [documentIDs.count] : depthList {
                let kept = tokenizer.decode(Array(documentIDs.prefix(depth)))
                for (kind, prompt) in Self.speculationPrompts {
                    let text = template.render([ChatMessage(role: "user", content: kept + "\n\n" + prompt)], addGenerationPrompt: true)
                    let ids = Array(tokenizer.encode(text, addSpecial: true, parseSpecial: true).suffix(model.config.contextLength - genTokens))
                    try report(SpeculativeBenchmark.Case(name: "\((path as NSString).lastPathComponent) \(kind)", tokens: ids))
                }
            }
        }
    }
}
