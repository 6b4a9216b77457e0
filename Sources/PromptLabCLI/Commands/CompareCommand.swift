import ArgumentParser
import Foundation
import LLMKit

/// `promptlab compare A B`: the paired comparison of two existing outputs.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two relabeled outputs on the same items: paired differences, intervals and McNemar tests.",
        discussion: "--items-per-request: the items per request the outputs were made with, for the diversity score (default: the prompt's, else 30).")

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

    /// The items per request the outputs were made with (for the diversity score).
    @OptionGroup var items: ItemsPerRequestOptions

    func validate() throws {
        if !outputs.labels.isEmpty && outputs.labels.count != 2 {
            throw ValidationError("\(outputs.labels.count) --label values for 2 columns: give one per column (a, then b)")
        }
    }

    func run() throws {
        try outputs.check(inputs: [dataset.dataset, a, b, prompt])
        let version = try prompt.map { try directories.library.resolve($0) }
        try outputs.finish(try Scoring.scoreFiles(ScoreFilesRequest(
            dataset: dataset.dataset, files: [a, b], format: dataset.format, mapping: try dataset.columns.mapping(), policy: policyOptions.policy,
            labels: outputs.labels, prompt: version, library: directories.library, chunkSize: items.value)))
    }
}
