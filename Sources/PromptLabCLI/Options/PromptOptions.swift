public import ArgumentParser
import Foundation
public import LLMKit
public import Providers

/// Where the user's own prompt versions are found (the bundled ones are built in).
struct PromptDirectoryOptions: ParsableArguments {
    @Option(name: .customLong("prompts-dir"), help: ArgumentHelp(
        "A folder of your own prompt versions (*.prompt, *.txt), searched before the built-in ones.",
        discussion: "Default: $PROMPTLAB_PROMPTS_DIR (folders separated by ':'), if set."))
    var promptsDirectory: String?

    var library: PromptLibrary {
        var folders: [String] = []
        if let promptsDirectory { folders.append(promptsDirectory) }
        if let env = ProcessInfo.processInfo.environment["PROMPTLAB_PROMPTS_DIR"] {
            folders += env.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        return PromptLibrary(directories: folders.map { URL(fileURLWithPath: $0) })
    }
}

/// One prompt version chosen by name or path.
struct PromptOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Prompt version: a built-in name (see 'promptlab prompts'), name@hash, or a file path (default: paper-reason; with --method logprob, logprob-fewshot).", valueName: "version|file"))
    var prompt: String?

    @OptionGroup var directories: PromptDirectoryOptions

    /// The version given, else `fallback`.
    func load(default fallback: String = "paper-reason") throws -> PromptVersion { try directories.library.resolve(prompt ?? fallback) }

    /// The prompt's file, when it was given as one (an input the output must not replace).
    var file: String? { prompt.flatMap { $0.contains("/") || FileManager.default.fileExists(atPath: $0) ? $0 : nil } }
}

/// A dataset file and its format.
struct DatasetOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Dataset file: project JSONL, EMO-SUPERB CSV, or your own table (CSV, TSV, JSONL) with a column mapping; 'sample' is the bundled sample (72 items).", valueName: "file"))
    var dataset: String

    @Option(name: .long, help: "Dataset format (default: from the extension: .csv is csv, .jsonl jsonl).")
    var format: DatasetFormat?

    /// `--dataset sample` names the bundled sample, unless the current folder has a file of that name.
    mutating func validate() throws {
        guard dataset == "sample", !FileManager.default.fileExists(atPath: dataset) else { return }
        guard let sample = Locations.bundledSample() else {
            throw ValidationError("--dataset sample: the bundled sample (\(Locations.sampleRelative)) is not beside this promptlab (install it with 'make install', or give the file's path)")
        }
        dataset = sample
    }

    /// Your own vote table's column mapping (see MappingOptions).
    @OptionGroup(title: "Your own table (a column mapping)") var columns: MappingOptions
}

extension DatasetFormat: ExpressibleByArgument {}

/// How much of a dataset, and how many items per request.
struct SliceOptions: ParsableArguments {
    @OptionGroup var items: ItemsPerRequestOptions

    @Option(parsing: .unconditional, help: "Use only the first N items of the dataset.")
    var limit: Int?

    func validate() throws {
        try Check.range(limit, "--limit", 1...Int(Int32.max))
    }

    /// `--items-per-request` (or its old name `--batch-size`); `nil`: the prompt version's.
    var itemsPerRequest: Int? { items.value }
}

/// The renormalisation policy for values whose sum is not 1.
struct PolicyOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Largest |sum - 1| renormalised silently, 0 to 1.")
    var tolerance: Double = RenormalizationPolicy.default.tolerance

    @Option(name: .customLong("sum-off"), help: "Beyond the tolerance: flag (renormalise and mark) or reject.")
    var outOfTolerance: RenormalizationPolicy.OutOfTolerance = .flag

    func validate() throws {
        try Check.range(tolerance, "--tolerance", 0...1)
    }

    var policy: RenormalizationPolicy { RenormalizationPolicy(tolerance: tolerance, outOfTolerance: outOfTolerance) }
}

/// Range checks for numeric options, with one line naming the option and the range.
enum Check {
    static func range<T: Comparable & CustomStringConvertible>(_ value: T?, _ name: String, _ range: ClosedRange<T>) throws {
        guard let value else { return }
        guard range.contains(value) else { throw ValidationError("\(name) must be from \(range.lowerBound) to \(range.upperBound), not \(value)") }
    }

    static func range(_ value: Double?, _ name: String, _ range: ClosedRange<Double>) throws {
        guard let value else { return }
        guard value.isFinite, range.contains(value) else {
            throw ValidationError("\(name) must be a number from \(range.lowerBound) to \(range.upperBound), not \(value)")
        }
    }
}

extension RenormalizationPolicy.OutOfTolerance: ExpressibleByArgument {}
extension RecordMode: ExpressibleByArgument {}
extension LabelExport.Variant: ExpressibleByArgument {}
extension ColumnMapping.VoteScale: ExpressibleByArgument {}
