import ArgumentParser
import Foundation
import LLMKit
import Providers

/// `promptlab score`: laziness, agreement, validity and cost of prompt versions, side by side.
struct ScoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score prompt versions (laziness, agreement, validity, consistency, cost) side by side.",
        discussion: """
            Either run prompt versions and methods on a dataset (--prompt, repeatable; --method \
            adjust|logprob[:VERSION]|lexicon, repeatable; --provider NAME[:MODEL], repeatable; \
            --repeat K), through the relabel pipeline with its cache, fixtures and rate limits, or \
            score existing outputs without calling a model (--relabeled FILE, repeatable: relabeled \
            JSONL or EMO-SUPERB's CSV with a reason column). One column per method × prompt × \
            provider (adjust runs each --prompt; lexicon runs once, with no model); with two or \
            more columns, each is compared with the first (paired \
            bootstrap intervals, exact McNemar p, Holm when more than two). Metric definitions: \
            REFERENCE.md section 3 (every threshold tolerates 1e-9); the JSON format is documented in the docs' ScoringReference article.
            """)

    @OptionGroup var dataset: DatasetOptions

    @Option(name: .customLong("relabeled"), help: ArgumentHelp("An existing output to score (repeatable).", valueName: "file"))
    var relabeled: [String] = []

    @Option(name: .customLong("prompt"), help: ArgumentHelp("Prompt version to run (repeatable); with --relabeled: the version the outputs were made with (its decimals give 'unchanged (as shown)', its example the echo rate; default: the version named in the records).", valueName: "version|file"))
    var prompts: [String] = []

    @OptionGroup var directories: PromptDirectoryOptions

    @Option(name: .customLong("method"), help: ArgumentHelp("Relabeling method to run (repeatable): adjust (runs each --prompt; the default), logprob[:VERSION] (default version logprob-fewshot) or lexicon (needs --lexicon).", valueName: "method[:version]"))
    var methods: [String] = []

    @OptionGroup var evidence: EvidenceOptions

    @Option(name: .customLong("provider"), help: ArgumentHelp("Provider to run, optionally with its model (repeatable).", valueName: "name[:model]"),
            transform: ProviderSpec.init(parsing:))
    var providers: [ProviderSpec] = []

    @Option(help: "Runs per prompt × provider, for self-consistency (seeds differ when --temperature > 0).")
    var `repeat`: Int = 1

    @OptionGroup var connection: ProviderOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var slice: SliceOptions
    @OptionGroup var policyOptions: PolicyOptions
    @OptionGroup var outputs: ScoreOutputOptions

    @Option(help: ArgumentHelp("A gold relabeling (project JSONL with 'gold' or 'reference', or an EMO-SUPERB CSV).", valueName: "file"))
    var gold: String?

    @Option(help: ArgumentHelp("Folder for the outputs of the runs.", valueName: "dir"))
    var outDir: String = "out/score"

    @Option(help: ArgumentHelp("Prices JSON over the built-in table, for the cost rows (see relabel --prices).", valueName: "file"))
    var prices: String?

    @Flag(help: "No progress lines on stderr.")
    var quiet = false

    func validate() throws {
        guard !relabeled.isEmpty || !prompts.isEmpty || !methods.isEmpty else {
            throw ValidationError("give --relabeled FILE (score outputs), or --prompt VERSION or --method NAME (run and score)")
        }
        if !relabeled.isEmpty && !providers.isEmpty { throw ValidationError("--provider runs prompts; with --relabeled nothing is run") }
        if !relabeled.isEmpty && !methods.isEmpty { throw ValidationError("--method runs a method; with --relabeled nothing is run") }
        if `repeat` < 1 { throw ValidationError("--repeat must be 1 or more") }
        if !relabeled.isEmpty && prompts.count > 1 { throw ValidationError("with --relabeled, give at most one --prompt (the version the outputs were made with)") }
        let runs = try methodRuns()
        if !methods.isEmpty && !runs.contains(where: { $0.method == .adjust }) && !prompts.isEmpty {
            throw ValidationError("--prompt versions run with --method adjust; give logprob its version as --method logprob:VERSION")
        }
        try evidence.check(methods: runs.map(\.method))
        let perProvider = (runs.contains { $0.method == .adjust } ? max(1, prompts.count) : 0) + runs.filter { $0.method == .logprob }.count
        let columns = relabeled.isEmpty ? perProvider * max(1, providers.count) + runs.filter { $0.method == .lexicon }.count : relabeled.count
        if !outputs.labels.isEmpty && outputs.labels.count != columns {
            throw ValidationError("\(outputs.labels.count) --label values for \(columns) columns: give one per column, in column order")
        }
    }

    func run() async throws {
        connection.bootstrapLogging()
        try outputs.check(inputs: [dataset.dataset, gold, prices, connection.fixtures] + relabeled + prompts)
        if !relabeled.isEmpty {
            let prompt = try prompts.first.map { try directories.library.resolve($0) }
            try outputs.finish(try Scoring.scoreFiles(ScoreFilesRequest(
                dataset: dataset.dataset, files: relabeled, format: dataset.format, mapping: try dataset.columns.mapping(), policy: policyOptions.policy, limit: slice.limit,
                gold: gold, labels: outputs.labels, prompt: prompt, library: directories.library, chunkSize: slice.itemsPerRequest)))
            return
        }
        let data = try Scoring.loadDataset(dataset.dataset, format: dataset.format, mapping: try dataset.columns.mapping(), policy: policyOptions.policy, limit: slice.limit, gold: gold)
        var columns = try await runPromptVersions(data)
        try Scoring.relabelColumns(&columns, labels: outputs.labels)
        var report = Scoring.report(dataset: dataset.dataset, columns: columns, warnings: data.warnings)
        report.votes = data.votes
        try outputs.finish(report)
    }

    /// `--method` values: each method with the prompt version it names (`logprob:VERSION`);
    /// none given means the adjustment of the `--prompt` versions.
    func methodRuns() throws -> [(method: MethodID, prompt: String?)] {
        guard !methods.isEmpty else { return [(.adjust, nil)] }
        return try methods.map { text in
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            let method = try MethodOptions.parse(parts.first ?? text)
            if parts.count > 1 && method != .logprob { throw ValidationError("--method \(text): only logprob takes a prompt version (adjust runs each --prompt)") }
            return (method, parts.count > 1 ? parts[1] : nil)
        }
    }

    /// Runs every method × prompt version × provider (`--repeat` times) through the relabel
    /// runner and scores the outputs: one column each.
    func runPromptVersions(_ data: ScoringDataset) async throws -> [ScoreReport.Column] {
        let runsOfMethods = try methodRuns()
        let arms = try (providers.isEmpty ? [ProviderSpec(.fixture)] : providers).map { spec throws -> PromptRuns.Arm in
            var arm = PromptRuns.Arm(stack: try connection.stack(provider: spec.provider, model: spec.model), label: spec.label)
            for run in runsOfMethods {
                guard let recordings = MethodOptions.bundledRecordings(for: run.method) else { continue }
                arm.methodStacks[run.method.name] = try connection.stack(provider: spec.provider, model: spec.model, bundledRecordings: recordings)
            }
            return arm
        }
        let adjusts = runsOfMethods.contains { $0.method == .adjust }
        let versions = adjusts ? try (prompts.isEmpty ? ["paper-reason"] : prompts).map { try directories.library.resolve($0) } : []
        var others: [PromptRuns.MethodRun] = []
        for run in runsOfMethods where run.method != .adjust {
            let version = try directories.library.resolve(run.prompt ?? MethodOptions.defaultPrompt(for: run.method))
            guard let method = try evidence.make(run.method, prompt: version) else { continue }
            let source = URL(fileURLWithPath: evidence.lexicon ?? "none").deletingPathExtension().lastPathComponent
            others.append(.init(method: method, prompt: version, asksModel: run.method != .lexicon, source: source))
        }
        let settings = RelabelConfiguration(prompt: versions.first ?? others[0].prompt, model: "", temperature: sampling.temperature, seed: sampling.seed,
                                            maxTokens: sampling.maxTokens, policy: policyOptions.policy, reaskRounds: sampling.reask)
        var runs = PromptRuns(dataset: dataset.dataset, format: dataset.format, limit: slice.limit, prompts: versions, arms: arms,
                              repeats: `repeat`, settings: settings, chunkSize: slice.itemsPerRequest, outputFolder: outDir)
        runs.methods = others
        runs.concurrency = sampling.concurrency
        runs.mapping = try dataset.columns.mapping()
        if let prices { runs.prices = try PriceTable.load(prices) }
        let quiet = self.quiet
        return try await runs.run(registry: PromptLabCLI.registry, data: data) { line in
            if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
    }
}
