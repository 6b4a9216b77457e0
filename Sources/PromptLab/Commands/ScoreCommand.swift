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
            REFERENCE.md section 3 (every threshold tolerates 1e-9); the JSON format is documented in the README.
            """)

    @OptionGroup var dataset: DatasetOptions

    @Option(name: .customLong("relabeled"), help: ArgumentHelp("An existing output to score (repeatable).", valueName: "file"))
    var relabeled: [String] = []

    @Option(name: .customLong("prompt"), help: ArgumentHelp("Prompt version to run (repeatable); with --relabeled: the version the outputs were made with (its decimals give 'unchanged (as shown)', its example the echo rate; default: the version named in the records).", valueName: "version|file"))
    var prompts: [String] = []

    @OptionGroup var directories: PromptDirectoryOptions

    @Option(name: .customLong("provider"), help: ArgumentHelp("Provider to run, optionally with its model (repeatable).", valueName: "name[:model]"))
    var providers: [String] = []

    @Option(help: "Runs per prompt × provider, for self-consistency (seeds differ when --temperature > 0).")
    var `repeat`: Int = 1

    @OptionGroup var ask: RunOptions
    @OptionGroup var slice: SliceOptions
    @OptionGroup var policyOptions: PolicyOptions
    @OptionGroup var outputs: ScoreOutputOptions

    @Option(help: ArgumentHelp("A gold relabeling (project JSONL with 'gold' or 'reference', or an EMO-SUPERB CSV).", valueName: "file"))
    var gold: String?

    @Option(help: ArgumentHelp("Folder for the outputs of the runs.", valueName: "dir"))
    var outDir: String = "out/score"

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
        ask.bootstrapLogging()
        if !relabeled.isEmpty {
            let prompt = try prompts.first.map { try directories.library.resolve($0) }
            try outputs.finish(try Scoring.scoreFiles(ScoreFilesRequest(
                dataset: dataset.dataset, files: relabeled, format: dataset.format, policy: policyOptions.policy, limit: slice.limit,
                gold: gold, labels: outputs.labels, prompt: prompt, library: directories.library, batchSize: slice.batchSize)))
            return
        }
        let data = try Scoring.loadDataset(dataset.dataset, format: dataset.format, policy: policyOptions.policy, limit: slice.limit, gold: gold)
        var columns = try await runPromptVersions(data)
        try Scoring.relabelColumns(&columns, labels: outputs.labels)
        try outputs.finish(Scoring.report(dataset: dataset.dataset, columns: columns, warnings: data.warnings))
    }

    /// Runs every prompt version × provider (`--repeat` times) through the relabel pipeline and
    /// scores the outputs: one column each. Kept apart from the scoring so the run can change
    /// without touching it.
    func runPromptVersions(_ data: ScoringDataset) async throws -> [ScoreReport.Column] {
        var columns: [ScoreReport.Column] = []
        let versions = try prompts.map { try directories.library.resolve($0) }
        for spec in providers.isEmpty ? ["fixture"] : providers {
            let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
            var options = ask
            if parts.count == 2 { options.model = parts[1] }
            let (client, capabilities) = try await options.client(provider: parts[0])
            for version in versions {
                var runs: [[ScoredItem]] = []
                var cost = CostInput(requests: 0, attempts: 0, usage: TokenUsage(), latencies: [])
                for k in 0..<`repeat` {
                    let seed = options.temperature > 0 ? options.seed + k : options.seed
                    let configuration = options.configuration(prompt: version, capabilities: capabilities, batchSize: slice.batchSize, policy: policyOptions.policy, seed: seed)
                    let stem = URL(fileURLWithPath: dataset.dataset).deletingPathExtension().lastPathComponent
                    let out = "\(outDir)/\(stem).\(version.name).\(parts[0])\(parts.count == 2 ? "-" + parts[1] : "").run\(k + 1).jsonl"
                    try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
                    let journal = try RelabelJournal(path: out, mode: .fresh(overwrite: true), prompt: version.id, provider: parts[0], model: options.model)
                    let reader = try DatasetReader(path: dataset.dataset, format: dataset.format, policy: policyOptions.policy)
                    if !quiet { FileHandle.standardError.write(Data("running \(version.id) on \(parts[0]) (\(options.model)), run \(k + 1) of \(`repeat`) -> \(out)\n".utf8)) }
                    let outcome = try await RelabelRunner.run(pipeline: RelabelPipeline(client: client, configuration: configuration), reader: reader,
                                                              journal: journal, limit: slice.limit, quiet: true)
                    if k == 0 {
                        cost = CostInput(requests: outcome.summary.requests, attempts: outcome.summary.attempts, usage: outcome.summary.usage, latencies: outcome.summary.latencies)
                    }
                    runs.append(try Scoring.loadColumn(out, dataset: data, policy: policyOptions.policy).items)
                }
                let label = "\(version.name) · \(parts[0])\(parts.count == 2 ? " " + parts[1] : "")"
                columns.append(Scoring.column(label: label, items: runs[0], prompt: version, batchSize: slice.batchSize ?? version.batchSize,
                                              repeats: runs.count > 1 ? runs.map { $0.map(\.adjusted) } : [], cost: cost))
            }
        }
        return columns
    }
}

/// `promptlab compare A B`: the paired comparison of two existing outputs.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two relabeled outputs on the same items: paired differences, intervals and McNemar tests.")

    @Argument(help: ArgumentHelp("Baseline output (relabeled JSONL or EMO-SUPERB reason CSV).", valueName: "a"))
    var a: String

    @Argument(help: ArgumentHelp("Output compared with the baseline.", valueName: "b"))
    var b: String

    @OptionGroup var dataset: DatasetOptions
    @OptionGroup var policyOptions: PolicyOptions
    @OptionGroup var outputs: ScoreOutputOptions

    @Option(name: .customLong("prompt"), help: ArgumentHelp("The prompt version both outputs were made with (for 'unchanged (as shown)' and the echo rate; default: the version named in the records).", valueName: "version|file"))
    var prompt: String?

    @OptionGroup var directories: PromptDirectoryOptions

    @Option(help: "Items per batch in the outputs (for the diversity score; default: the prompt's, else 30).")
    var batchSize: Int?

    func validate() throws {
        if !outputs.labels.isEmpty && outputs.labels.count != 2 {
            throw ValidationError("\(outputs.labels.count) --label values for 2 columns: give one per column (a, then b)")
        }
    }

    func run() throws {
        let version = try prompt.map { try directories.library.resolve($0) }
        try outputs.finish(try Scoring.scoreFiles(ScoreFilesRequest(
            dataset: dataset.dataset, files: [a, b], format: dataset.format, policy: policyOptions.policy,
            labels: outputs.labels, prompt: version, library: directories.library, batchSize: batchSize)))
    }
}

/// Where scores go, the column labels, and the thresholds that fail the command.
struct ScoreOutputOptions: ParsableArguments {
    @Option(name: .customLong("label"), help: ArgumentHelp("A column's label (repeatable, one per column, in column order).", valueName: "name"))
    var labels: [String] = []

    @Option(help: ArgumentHelp("Write the scores as JSON (format llmkit-score/2).", valueName: "file"))
    var json: String?

    @Option(help: ArgumentHelp("Write every metric as long CSV: column,metric,value,low,high,n.", valueName: "file"))
    var csv: String?

    @Option(help: ArgumentHelp("Write the point values as a wide CSV (one row per metric, one column per scored column).", valueName: "file"))
    var csvWide: String?

    @Option(help: ArgumentHelp("Write a self-contained HTML report with charts.", valueName: "file"))
    var html: String?

    @Option(help: ArgumentHelp("Write the tables as Markdown.", valueName: "file"))
    var markdown: String?

    @Option(help: ArgumentHelp("Exit 1 when a column's METRIC is below VALUE (repeatable), e.g. macro_f1=0.6; METRIC is a key of the score JSON.", valueName: "metric=value"))
    var failUnder: [String] = []

    @Option(help: ArgumentHelp("Exit 1 when a column's METRIC is above VALUE (repeatable), e.g. unchanged.as_shown=0.5.", valueName: "metric=value"))
    var failOver: [String] = []

    func validate() throws { _ = try thresholds() }

    func thresholds() throws -> [ScoreThreshold] {
        do {
            return try failUnder.map { try ScoreThreshold(parsing: $0, direction: .under) } + failOver.map { try ScoreThreshold(parsing: $0, direction: .over) }
        } catch let error as ScoringError {
            throw ValidationError(error.message)
        }
    }

    /// Prints the warnings and the table, writes the files, and exits 1 when a threshold is crossed.
    func finish(_ report: ScoreReport) throws {
        let stderr = FileHandle.standardError
        for warning in report.warnings { stderr.write(Data("warning: \(warning)\n".utf8)) }
        FileHandle.standardOutput.write(Data((report.text + "\n").utf8))
        let written = try report.write(.init(json: json, csv: csv, csvWide: csvWide, markdown: markdown, html: html))
        for path in written { stderr.write(Data("wrote \(path)\n".utf8)) }
        let outcome = ScoreThreshold.check(try thresholds(), on: report)
        for line in outcome.unchecked { stderr.write(Data("warning: \(line)\n".utf8)) }
        if !outcome.passed {
            stderr.write(Data(("threshold failed: " + outcome.failures.joined(separator: "; ") + "\n").utf8))
            throw ExitCode(1)
        }
    }
}
