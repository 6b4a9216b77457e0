public import ArgumentParser
import Foundation
public import LLMKit
public import Providers

/// Where prompt versions are found.
struct PromptDirectoryOptions: ParsableArguments {
    @Option(name: .customLong("prompts-dir"), help: ArgumentHelp(
        "Folder of prompt versions (*.prompt, *.txt).",
        discussion: "Default: $PROMPTLAB_PROMPTS_DIR, else ./prompts, else the prompts folder of the checkout promptlab was built in."))
    var promptsDirectory: String?

    var library: PromptLibrary {
        if let promptsDirectory { return PromptLibrary(directories: [URL(fileURLWithPath: promptsDirectory)]) }
        var dirs: [URL] = []
        if let env = ProcessInfo.processInfo.environment["PROMPTLAB_PROMPTS_DIR"], !env.isEmpty { dirs.append(URL(fileURLWithPath: env)) }
        dirs.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("prompts"))
        if let checkout = Locations.checkout(containing: "prompts/paper-reason.prompt") { dirs.append(checkout.appendingPathComponent("prompts")) }
        var seen: Set<String> = []
        return PromptLibrary(directories: dirs.filter { seen.insert($0.standardizedFileURL.path).inserted })
    }
}

/// One prompt version chosen by name or path.
struct PromptOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Prompt version: a name from the prompts folder (paper-reason, paper-no-reason), name@hash, or a file path.", valueName: "version|file"))
    var prompt: String = "paper-reason"

    @OptionGroup var directories: PromptDirectoryOptions

    func load() throws -> PromptVersion { try directories.library.resolve(prompt) }
}

/// A dataset file and its format.
struct DatasetOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Dataset file: project JSONL or EMO-SUPERB CSV.", valueName: "file"))
    var dataset: String

    @Option(name: .long, help: "Dataset format (default: from the extension: .csv is csv, .jsonl jsonl).")
    var format: DatasetFormat?
}

extension DatasetFormat: ExpressibleByArgument {}

/// How much of a dataset, in what batches.
struct SliceOptions: ParsableArguments {
    @Option(help: "Items per request (default: the prompt version's batch size, 30 in the paper).")
    var batchSize: Int?

    @Option(help: "Use only the first N items of the dataset.")
    var limit: Int?

    func validate() throws {
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be 1 or more") }
        if let limit, limit < 1 { throw ValidationError("--limit must be 1 or more") }
    }
}

/// The renormalisation policy for values whose sum is not 1.
struct PolicyOptions: ParsableArguments {
    @Option(name: .long, help: "Largest |sum - 1| renormalised silently.")
    var tolerance: Double = RenormalizationPolicy.default.tolerance

    @Option(name: .customLong("sum-off"), help: "Beyond the tolerance: flag (renormalise and mark) or reject.")
    var outOfTolerance: RenormalizationPolicy.OutOfTolerance = .flag

    func validate() throws {
        guard tolerance.isFinite, tolerance >= 0 else { throw ValidationError("--tolerance must be a number >= 0") }
    }

    var policy: RenormalizationPolicy { RenormalizationPolicy(tolerance: tolerance, outOfTolerance: outOfTolerance) }
}

extension RenormalizationPolicy.OutOfTolerance: ExpressibleByArgument {}
extension RecordMode: ExpressibleByArgument {}
extension LabelExport.Variant: ExpressibleByArgument {}
