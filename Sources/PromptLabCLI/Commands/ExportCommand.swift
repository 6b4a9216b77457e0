import ArgumentParser
import Foundation
import LLMKit

/// `promptlab export`: relabeled outputs to the CSV that SER recipes consume.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write relabeled outputs as EMO-SUPERB's 8-column CSV, optionally label-smoothed.",
        discussion: """
            Layout: ',angry,sad,disgust,contempt,fear,neutral,surprise,happy', then one row per \
            item with its id first. Variants: llm (relabeled items only), replace (every item: \
            the LLM label where relabeled, else the original), add (every original row plus an \
            '<id>@llm' row for each relabeled item), reference (the originals). Smoothing: \
            y' = (1 - eps) * y + eps / 8 (the paper trains with --smoothing 0.05).
            """)

    @Argument(help: ArgumentHelp("Relabeled JSONL (promptlab relabel's output).", valueName: "file"))
    var relabeled: String

    @Option(help: ArgumentHelp("Output CSV.", valueName: "file"))
    var out: String

    @Option(help: "Which labels: llm, replace, add or reference.")
    var variant: LabelExport.Variant = .replace

    @Option(parsing: .unconditional, help: "Label smoothing epsilon (0: none).")
    var smoothing: Double = 0

    @Flag(help: "Replace an existing --out.")
    var overwrite = false

    func validate() throws {
        guard smoothing >= 0 && smoothing <= 1 else { throw ValidationError("--smoothing must be between 0 and 1") }
    }

    func run() throws {
        if FileManager.default.fileExists(atPath: out) && !overwrite {
            throw ValidationError("\(out) exists; pass --overwrite to replace it")
        }
        let (records, rows, superseded) = try LabelExport.export(input: relabeled, output: out, variant: variant, smoothing: smoothing)
        if superseded > 0 {
            FileHandle.standardError.write(Data("promptlab: \(relabeled): \(superseded) earlier lines of ids that have a later line were left out (the last line of each id is exported)\n".utf8))
        }
        print("\(records) records, \(rows) rows (\(variant.rawValue)\(smoothing > 0 ? ", smoothing \(smoothing)" : "")) written to \(out)")
    }
}

