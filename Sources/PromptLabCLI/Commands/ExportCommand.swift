import ArgumentParser
import Foundation
import LLMKit

/// `promptlab export`: relabeled outputs to the CSV that SER recipes consume.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write relabeled outputs as a CSV table under your own column names, optionally label-smoothed.",
        discussion: """
            Columns: your id column (named), the columns you carried (--keep-columns), the 8 \
            emotions under your names (the column mapping the run was made with; canonical \
            names with --canonical-names or when there was no mapping), then reason, method \
            (adjust, logprob, lexicon; 'reference' for a row holding the original) and prompt \
            (the prompt version). --labels-only writes EMO-SUPERB's 8-column layout that SER \
            recipes read instead: ',angry,...,happy', the id first. An export with no row is \
            an error (nothing is written). Variants: llm (relabeled items only), replace (every item: \
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

    @Flag(help: "Name the columns id, angry, ..., happy instead of your own names.")
    var canonicalNames = false

    @Flag(help: "EMO-SUPERB's 8-column layout (',angry,...,happy', the id first) and nothing else.")
    var labelsOnly = false

    @Flag(help: "Replace an existing --out.")
    var overwrite = false

    func validate() throws {
        guard smoothing >= 0 && smoothing <= 1 else { throw ValidationError("--smoothing must be between 0 and 1") }
        if canonicalNames && labelsOnly { throw ValidationError("--labels-only always uses the canonical names; leave out --canonical-names") }
    }

    func run() throws {
        if FileManager.default.fileExists(atPath: out) && !overwrite {
            throw ValidationError("\(out) exists; pass --overwrite to replace it")
        }
        let (records, rows, superseded) = try LabelExport.export(input: relabeled, output: out, variant: variant, smoothing: smoothing,
                                                                columns: LabelExport.Columns(labelsOnly: labelsOnly, canonicalNames: canonicalNames))
        if superseded > 0 {
            FileHandle.standardError.write(Data("promptlab: \(relabeled): \(superseded) earlier lines of ids that have a later line were left out (the last line of each id is exported)\n".utf8))
        }
        print("\(records) records, \(rows) rows (\(variant.rawValue)\(smoothing > 0 ? ", smoothing \(smoothing)" : "")) written to \(out)")
    }
}

