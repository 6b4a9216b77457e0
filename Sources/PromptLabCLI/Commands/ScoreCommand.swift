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
            REFERENCE.md section 3; the JSON format is documented in the README.
            """)

    @OptionGroup var dataset: DatasetOptions

    @Option(name: .customLong("relabeled"), help: ArgumentHelp("An existing output to score (repeatable).", valueName: "file"))
    var relabeled: [String] = []

    @Option(name: .customLong("prompt"), help: ArgumentHelp("Prompt version to run (repeatable); with --relabeled: the version whose example the echo rate uses.", valueName: "version|file"))
    var prompts: [String] = []

    @OptionGroup var directories: PromptDirectoryOptions

    @Option(name: .customLong("provider"), help: ArgumentHelp("Provider to run, optionally with its model (repeatable).", valueName: "name[:model]"))
    var providers: [String] = []

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

    @Flag(help: "No progress lines on stderr.")
    var quiet = false

    func validate() throws {
        guard !relabeled.isEmpty || !prompts.isEmpty else { throw ValidationError("give --relabeled FILE (score outputs) or --prompt VERSION (run and score)") }
        if !relabeled.isEmpty && !providers.isEmpty { throw ValidationError("--provider runs prompts; with --relabeled nothing is run") }
        if `repeat` < 1 { throw ValidationError("--repeat must be 1 or more") }
        if !relabeled.isEmpty && prompts.count > 1 { throw ValidationError("with --relabeled, give at most one --prompt (for the echo rate)") }
    }

    func run() async throws {
        connection.bootstrapLogging()
        let items = try Scoring.loadDataset(dataset.dataset, format: dataset.format, policy: policyOptions.policy, limit: slice.limit, gold: gold)
        var columns: [ScoreReport.Column] = []
        let batchSize = slice.batchSize ?? PromptVersion.defaultBatchSize
        if !relabeled.isEmpty {
            let example = try prompts.first.map { try directories.library.resolve($0) }?.exampleDistribution
            for file in relabeled {
                let scored = try Scoring.loadColumn(file, items: items, policy: policyOptions.policy)
                let echo = example ?? Scoring.exampleFromRecords(file, library: directories.library)
                let label = URL(fileURLWithPath: file).lastPathComponent
                columns.append(.init(card: Scorecard.score(label: label, items: scored, example: echo, batchSize: batchSize), items: scored))
            }
        } else {
            columns = try await runColumns(items: items)
        }
        try Scoring.finish(columns: columns, dataset: dataset.dataset, outputs: outputs)
    }

    /// Runs every prompt version on every provider (`--repeat` times) and scores the runs.
    func runColumns(items: [DatasetItem]) async throws -> [ScoreReport.Column] {
        let versions = try prompts.map { try directories.library.resolve($0) }
        var columns: [ScoreReport.Column] = []
        for spec in providers.isEmpty ? ["fixture"] : providers {
            let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
            let prepared = try await connection.stack(provider: parts[0], model: parts.count == 2 ? parts[1] : nil).make(registry: PromptLabCLI.registry)
            let runner = RelabelRunner(client: prepared.client)
            for version in versions {
                var runs: [[ScoredItem]] = []
                var cost = CostInput(requests: 0, attempts: 0, usage: TokenUsage(), latencies: [])
                for k in 0..<`repeat` {
                    let seed = sampling.temperature > 0 ? sampling.seed + k : sampling.seed
                    let configuration = sampling.configuration(prompt: version, prepared: prepared, batchSize: slice.batchSize, policy: policyOptions.policy, seed: seed)
                    let stem = URL(fileURLWithPath: dataset.dataset).deletingPathExtension().lastPathComponent
                    let out = "\(outDir)/\(stem).\(version.name).\(parts[0]).\(prepared.model).run\(k + 1).jsonl"
                    if !quiet { FileHandle.standardError.write(Data("running \(version.id) on \(parts[0]) (\(prepared.model)), run \(k + 1) of \(`repeat`) -> \(out)\n".utf8)) }
                    let report = try await runner.run(RelabelJob(dataset: dataset.dataset, format: dataset.format, output: out, mode: .fresh(overwrite: true),
                                                                 limit: slice.limit, configuration: configuration, baseURL: prepared.baseURL))
                    if k == 0 {
                        let s = report.summary
                        cost = CostInput(requests: s.requests, attempts: s.attempts, usage: s.usage, latencies: s.latencies)
                    }
                    runs.append(try Scoring.loadColumn(out, items: items, policy: policyOptions.policy))
                }
                let label = "\(version.name) · \(parts[0])\(parts.count == 2 ? " " + parts[1] : "")"
                let card = Scorecard.score(label: label, items: runs[0], example: version.exampleDistribution, batchSize: slice.batchSize ?? version.batchSize,
                                           repeats: runs.count > 1 ? runs.map { $0.map(\.adjusted) } : [], cost: cost)
                columns.append(.init(card: card, items: runs[0]))
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

    @Option(help: "Items per batch in the outputs (for the diversity score).")
    var batchSize: Int = PromptVersion.defaultBatchSize

    func run() throws {
        let items = try Scoring.loadDataset(dataset.dataset, format: dataset.format, policy: policyOptions.policy, limit: nil, gold: nil)
        let columns = try [a, b].map { file -> ScoreReport.Column in
            let scored = try Scoring.loadColumn(file, items: items, policy: policyOptions.policy)
            return .init(card: Scorecard.score(label: URL(fileURLWithPath: file).lastPathComponent, items: scored, example: nil, batchSize: batchSize), items: scored)
        }
        try Scoring.finish(columns: columns, dataset: dataset.dataset, outputs: outputs)
    }
}

/// Where scores go, and the thresholds that fail the command.
struct ScoreOutputOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Write the scores as JSON (format llmkit-score/1).", valueName: "file"))
    var json: String?

    @Option(help: ArgumentHelp("Write the point values as CSV.", valueName: "file"))
    var csv: String?

    @Option(help: ArgumentHelp("Write a self-contained HTML report with charts.", valueName: "file"))
    var html: String?

    @Option(help: ArgumentHelp("Write the tables as Markdown.", valueName: "file"))
    var markdown: String?

    @Option(help: ArgumentHelp("Exit 1 when a column's METRIC is below VALUE (repeatable), e.g. macro_f1=0.6.", valueName: "metric=value"))
    var failUnder: [String] = []

    @Option(help: ArgumentHelp("Exit 1 when a column's METRIC is above VALUE (repeatable), e.g. unchanged_0.01=0.5.", valueName: "metric=value"))
    var failOver: [String] = []

    func validate() throws {
        for rule in failUnder + failOver { _ = try Scoring.parseRule(rule) }
    }
}

/// Loading columns and writing reports, shared by `score` and `compare`.
enum Scoring {
    /// The metrics `--fail-under`/`--fail-over` know, by their JSON names.
    static let metrics: [String: @Sendable (Scorecard) -> Double?] = [
        "items": { Double($0.items) }, "relabeled": { $0.relabeled.value }, "valid": { $0.valid.value },
        "unchanged_1e-06": { $0.unchanged[0].value }, "unchanged_0.01": { $0.unchanged[1].value }, "unchanged_0.05": { $0.unchanged[2].value },
        "argmax_unchanged": { $0.argmaxUnchanged.value }, "mean_total_variation": { $0.meanTotalVariation.value },
        "argmax_agreement": { $0.agreement.argmaxAgreement.value }, "mean_js_divergence": { $0.agreement.meanJSDivergence.value },
        "mean_js_distance": { $0.agreement.meanJSDistance.value }, "macro_f1": { $0.agreement.macroF1.value },
        "echo_rate": { $0.echoRate?.value }, "diversity": { $0.diversity.value },
    ]

    static func parseRule(_ rule: String) throws -> (String, Double) {
        let parts = rule.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, metrics[parts[0]] != nil, let value = Double(parts[1]) else {
            throw ValidationError("'\(rule)' is not METRIC=VALUE with a known metric (\(metrics.keys.sorted().joined(separator: ", ")))")
        }
        return (parts[0], value)
    }

    static func loadDataset(_ path: String, format: DatasetFormat?, policy: RenormalizationPolicy, limit: Int?, gold: String?) throws -> [DatasetItem] {
        let reader = try DatasetReader(path: path, format: format, policy: policy)
        var items: [DatasetItem] = []
        while let item = try reader.next() {
            if let limit, items.count >= limit { break }
            items.append(item)
        }
        var seen = Set<String>()
        for item in items where !seen.insert(item.id).inserted {
            throw DatasetError(file: path, field: "id", reason: "id '\(item.id)' appears twice; scores need one item per id")
        }
        if let gold {
            let index = Dictionary(uniqueKeysWithValues: items.enumerated().map { ($1.id, $0) })
            if DatasetFormat.detect(path: gold) == .emoSuperbCSV {
                let reader = try EmoSuperbCSVReader(path: gold)
                while let row = try reader.nextRow() {
                    guard let i = index[row.id] else { continue }
                    do { items[i].gold = try EmotionDistribution.normalizing(row.values, policy: policy).distribution } catch {
                        throw DatasetError(file: gold, line: row.line, field: "gold", reason: error.description)
                    }
                }
            } else {
                let reader = try DatasetReader(path: gold, format: .jsonl, policy: policy)
                while let item = try reader.next() { if let i = index[item.id] { items[i].gold = item.gold ?? item.reference } }
            }
        }
        return items
    }

    /// A column aligned with `items`: relabeled JSONL records, or rows of an EMO-SUPERB CSV with
    /// a reason column. Items the file lacks count as failed (`missing_from_output`).
    static func loadColumn(_ path: String, items: [DatasetItem], policy: RenormalizationPolicy) throws -> [ScoredItem] {
        let index = Dictionary(uniqueKeysWithValues: items.enumerated().map { ($1.id, $0) })
        var scored = items.map { ScoredItem(id: $0.id, descriptions: $0.descriptions, reference: $0.reference, gold: $0.gold, adjusted: nil, failure: "missing_from_output") }
        if DatasetFormat.detect(path: path) == .emoSuperbCSV {
            let reader = try EmoSuperbCSVReader(path: path)
            while let row = try reader.nextRow() {
                guard let i = index[row.id] else { continue }
                scored[i].reason = row.text
                do {
                    let normalized = try EmotionDistribution.normalizing(row.values, policy: policy)
                    scored[i].adjusted = normalized.distribution
                    scored[i].sumOff = normalized.sumWasOff
                    scored[i].failure = nil
                } catch {
                    scored[i].failure = BatchResponseParser.failure(for: error).kind.name
                }
            }
        } else {
            let reader = try RelabeledRecordReader(path: path, policy: policy)
            while let record = try reader.next() {
                guard let i = index[record.id] else { continue }
                switch record.outcome {
                case .relabeled(let r):
                    scored[i].adjusted = r.adjusted
                    scored[i].sumOff = r.sumWasOff
                    scored[i].reason = r.reason
                    scored[i].failure = nil
                case .failed(let f):
                    scored[i].adjusted = nil
                    scored[i].failure = f.kind.name
                }
            }
        }
        return scored
    }

    /// The example of the prompt version named in the file's first record, when that version is in the library.
    static func exampleFromRecords(_ path: String, library: PromptLibrary) -> EmotionDistribution? {
        guard DatasetFormat.detect(path: path) != .emoSuperbCSV, let reader = try? RelabeledRecordReader(path: path),
              let record = try? reader.next(), let version = try? library.resolve(record.promptVersion) else { return nil }
        return version.exampleDistribution
    }

    static func finish(columns: [ScoreReport.Column], dataset: String, outputs: ScoreOutputOptions) throws {
        var comparisons: [Comparison] = []
        if columns.count >= 2 {
            for column in columns.dropFirst() {
                comparisons.append(Comparison.compare(columns[0].items, labelA: columns[0].card.label, column.items, labelB: column.card.label))
            }
            if columns.count > 2 { Comparison.holmAdjust(&comparisons) }
        }
        let report = ScoreReport(dataset: dataset, columns: columns, comparisons: comparisons)
        print(report.text)
        func write(_ path: String?, _ text: @autoclosure () -> String) throws {
            guard let path else { return }
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
            let writer = try AtomicFileWriter(path: path)
            try writer.writeLine(text())
            try writer.commit()
            FileHandle.standardError.write(Data("wrote \(path)\n".utf8))
        }
        try write(outputs.json, JSONSerializer.string(report.json, style: .pretty))
        try write(outputs.csv, report.csv)
        try write(outputs.markdown, report.markdown)
        try write(outputs.html, report.html)
        var failed: [String] = []
        for (rules, under) in [(outputs.failUnder, true), (outputs.failOver, false)] {
            for rule in rules {
                let (metric, threshold) = try parseRule(rule)
                for column in columns {
                    guard let value = metrics[metric]?(column.card), !value.isNaN else { continue }
                    if under ? value < threshold : value > threshold {
                        failed.append("\(column.card.label): \(metric) = \(LabelExport.formatValue(value)) is \(under ? "below" : "above") \(LabelExport.formatValue(threshold))")
                    }
                }
            }
        }
        if !failed.isEmpty {
            FileHandle.standardError.write(Data(("threshold failed: " + failed.joined(separator: "; ") + "\n").utf8))
            throw ExitCode(1)
        }
    }
}
