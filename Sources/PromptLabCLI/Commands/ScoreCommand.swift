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
            Either run prompt versions on a dataset (--prompt, repeatable; --provider NAME[:MODEL], \
            repeatable; --repeat K), through the relabel pipeline with its cache, fixtures and rate \
            limits, or score existing outputs without calling a model (--relabeled FILE, \
            repeatable: relabeled JSONL or EMO-SUPERB's CSV with a reason column). One column per \
            prompt × provider; with two or more columns, each is compared with the first (paired \
            bootstrap intervals, exact McNemar p, Holm when more than two). Metric definitions: \
            REFERENCE.md section 3 (every threshold tolerates 1e-9); the JSON format is documented in the docs' ScoringReference article.
            """)

    @OptionGroup var dataset: DatasetOptions

    @Option(name: .customLong("relabeled"), help: ArgumentHelp("An existing output to score (repeatable).", valueName: "file"))
    var relabeled: [String] = []

    @Option(name: .customLong("prompt"), help: ArgumentHelp("Prompt version to run (repeatable); with --relabeled: the version the outputs were made with (its decimals give 'unchanged (as shown)', its example the echo rate; default: the version named in the records).", valueName: "version|file"))
    var prompts: [String] = []

    @OptionGroup var directories: PromptDirectoryOptions

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
        guard !relabeled.isEmpty || !prompts.isEmpty else { throw ValidationError("give --relabeled FILE (score outputs) or --prompt VERSION (run and score)") }
        if !relabeled.isEmpty && !providers.isEmpty { throw ValidationError("--provider runs prompts; with --relabeled nothing is run") }
        if `repeat` < 1 { throw ValidationError("--repeat must be 1 or more") }
        if !relabeled.isEmpty && prompts.count > 1 { throw ValidationError("with --relabeled, give at most one --prompt (the version the outputs were made with)") }
        let columns = relabeled.isEmpty ? prompts.count * max(1, providers.count) : relabeled.count
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
        try outputs.finish(Scoring.report(dataset: dataset.dataset, columns: columns, warnings: data.warnings))
    }

    /// Runs every prompt version × provider (`--repeat` times) through the relabel runner and
    /// scores the outputs: one column each.
    func runPromptVersions(_ data: ScoringDataset) async throws -> [ScoreReport.Column] {
        let arms = try (providers.isEmpty ? [ProviderSpec(.fixture)] : providers).map { spec throws -> PromptRuns.Arm in
            .init(stack: try connection.stack(provider: spec.provider, model: spec.model), label: spec.label)
        }
        // validate() makes sure there is a prompt version when nothing is given to score.
        let versions = try prompts.map { try directories.library.resolve($0) }
        let settings = RelabelConfiguration(prompt: versions[0], model: "", temperature: sampling.temperature, seed: sampling.seed,
                                            maxTokens: sampling.maxTokens, policy: policyOptions.policy, reaskRounds: sampling.reask)
        var runs = PromptRuns(dataset: dataset.dataset, format: dataset.format, limit: slice.limit, prompts: versions, arms: arms,
                              repeats: `repeat`, settings: settings, chunkSize: slice.itemsPerRequest, outputFolder: outDir)
        runs.concurrency = sampling.concurrency
        runs.mapping = try dataset.columns.mapping()
        if let prices { runs.prices = try PriceTable.load(prices) }
        let quiet = self.quiet
        return try await runs.run(registry: PromptLabCLI.registry, data: data) { line in
            if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
    }
}
