import ArgumentParser
import Foundation
import LLMKit
import Providers

/// `promptlab relabel`: relabels a dataset with a provider and writes one JSON line per item.
struct RelabelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relabel",
        abstract: "Relabel a dataset with an LLM and write one JSON line per item.",
        discussion: """
            With no --provider, answers are replayed from the bundled recordings of the real \
            Gemma 3 270M model (provider 'fixture'): no server, no network. Use --provider \
            llamacpp for a running llama-server, --provider openai for OpenAI or any \
            OpenAI-compatible server, and --record DIR to record answers. Each finished batch is \
            appended to --out and synced to disk: an interrupted run (Ctrl-C, a crash, a kill) \
            continues with --resume and never pays twice for a finished item. An existing --out \
            is never replaced without --overwrite. Exit status 1 when no item could be \
            relabeled, 130 when interrupted.
            """)

    @OptionGroup var dataset: DatasetOptions
    @OptionGroup var prompt: PromptOptions

    @Option(help: "Provider name (see 'promptlab providers').")
    var provider: String = "fixture"

    @OptionGroup var ask: RunOptions

    @OptionGroup var slice: SliceOptions

    @Option(help: ArgumentHelp("Output file (relabeled JSONL). Default: out/<dataset>.<prompt>.<provider>.jsonl", valueName: "file"))
    var out: String?

    @Option(help: ArgumentHelp("Also write the summary as JSON to this file.", valueName: "file"))
    var summaryJSON: String?

    @OptionGroup var policyOptions: PolicyOptions

    @Flag(help: "Continue an interrupted run: skip the ids already in --out (a torn last line is dropped).")
    var resume = false

    @Flag(help: "With --resume: ask again for the items that failed (their old lines are replaced).")
    var retryFailed = false

    @Flag(help: "With --resume: accept an output made with another prompt version, provider or model.")
    var forceResume = false

    @Flag(help: "Replace an existing --out instead of refusing.")
    var overwrite = false

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    func validate() throws {
        if ask.record != nil && provider == "fixture" { throw ValidationError("--record needs a live provider (--provider llamacpp or openai)") }
        if resume && overwrite { throw ValidationError("--resume and --overwrite contradict each other") }
        if (retryFailed || forceResume) && !resume { throw ValidationError("--retry-failed and --force-resume go with --resume") }
    }

    func run() async throws {
        ask.bootstrapLogging()
        let version = try prompt.load()
        let (client, capabilities) = try await ask.client(provider: provider)
        let configuration = ask.configuration(prompt: version, capabilities: capabilities, batchSize: slice.batchSize, policy: policyOptions.policy)
        let reader = try DatasetReader(path: dataset.dataset, format: dataset.format, policy: policyOptions.policy)
        let outPath = out ?? Locations.defaultOutput(dataset: dataset.dataset, prompt: version.name, provider: provider)
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: outPath).deletingLastPathComponent(), withIntermediateDirectories: true)
        let journal = try RelabelJournal(path: outPath, mode: resume ? .resume(retryFailed: retryFailed, allowMismatch: forceResume) : .fresh(overwrite: overwrite),
                                         prompt: version.id, provider: provider, model: ask.model)
        if resume && !quiet {
            let torn = journal.resumed.droppedTornLine ? "; a torn last line was dropped" : ""
            FileHandle.standardError.write(Data("resuming \(outPath): \(journal.resumed.done.count) items done, \(journal.resumed.retrying) failed items to ask again\(torn)\n".utf8))
        }
        let outcome = try await RelabelRunner.run(pipeline: RelabelPipeline(client: client, configuration: configuration), reader: reader,
                                                  journal: journal, limit: slice.limit, quiet: quiet)
        let summary = outcome.summary
        print(SummaryReport.render(summary, prompt: version.id, provider: provider, model: ask.model, seconds: outcome.seconds, output: outPath))
        if let summaryJSON {
            let writer = try AtomicFileWriter(path: summaryJSON)
            try writer.writeLine(JSONSerializer.string(summary.json(seconds: outcome.seconds, output: outPath, prompt: version.id, provider: provider, model: ask.model), style: .pretty))
            try writer.commit()
        }
        if summary.relabeled == 0 { throw ExitCode(1) }
    }
}

/// The summary table printed after a run.
enum SummaryReport {
    static func render(_ s: RelabelSummary, prompt: String, provider: String, model: String, seconds: Double, output: String) -> String {
        func rate(_ n: Int, of d: Int) -> String { d == 0 ? "n/a" : String(format: "%.1f%%", 100 * Double(n) / Double(d)) }
        let failed = s.failedByKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let rows: [[String]] = [
            ["prompt", prompt], ["provider", "\(provider) (\(model))"],
            ["items", String(s.items)],
            ["relabeled", "\(s.relabeled) (\(rate(s.relabeled, of: s.items)))"],
            ["failed", s.failed == 0 ? "0" : "\(s.failed) (\(failed))"],
            ["provider errors", s.providerErrors.isEmpty ? "none" : s.providerErrors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + " (items)"],
            ["unchanged", "\(rate(s.unchangedExact, of: s.relabeled)) exact, \(rate(s.unchangedWithin001, of: s.relabeled)) within 0.01 (of relabeled)"],
            ["sum off", "\(s.sumOff) renormalised and flagged"],
            ["requests", "\(s.requests) (\(s.attempts) HTTP attempts, \(s.cacheHits) from the cache; \(s.reasked) items re-asked, \(s.strayEntries) stray entries, \(s.answersWithStrippedText) answers with text around the JSON)"],
            ["tokens", "\(s.usage.promptTokens) prompt (\(s.usage.cachedTokens) cached), \(s.usage.completionTokens) completion; \(s.items == 0 ? "n/a" : String(format: "%.0f", Double(s.usage.totalTokens) / Double(s.items))) per item"],
            ["wall time", String(format: "%.1f s", seconds)],
            ["output", output],
        ]
        return Table.render(header: ["", ""], rows: rows).split(separator: "\n").dropFirst().joined(separator: "\n")
    }
}
