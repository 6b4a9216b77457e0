import ArgumentParser
import Foundation
import LLMKit

/// `promptlab import`: per-annotator labels to the project JSONL.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn per-annotator label rows (MSP-Podcast style CSV) into the project JSONL.",
        discussion: """
            One CSV row per annotator answer: the utterance id, the annotator id (optional), the \
            primary emotion (a name or MSP-Podcast code: A S D C F N U H, O for Other, X for no \
            agreement; 'Other-<text>' carries typed text) and the typed description (optional). \
            Each utterance becomes one item with its votes in row order, its typed texts as \
            descriptions, and the vote shares as reference ('Other' and 'X' excluded). Map the \
            column names with the options below.
            """)

    @Argument(help: ArgumentHelp("The annotations CSV.", valueName: "file"))
    var annotations: String

    @Option(help: ArgumentHelp("Output JSONL.", valueName: "file"))
    var out: String

    @Option(help: "Column with the utterance id.")
    var utteranceColumn = "utterance"

    @Option(help: "Column with the annotator id ('' when there is none).")
    var annotatorColumn = "annotator"

    @Option(help: "Column with the primary emotion.")
    var labelColumn = "primary"

    @Option(help: "Column with the typed description ('' when there is none).")
    var textColumn = "other_text"

    @Flag(help: "Replace an existing --out.")
    var overwrite = false

    func run() throws {
        if FileManager.default.fileExists(atPath: out) && !overwrite {
            throw ValidationError("\(out) exists; pass --overwrite to replace it")
        }
        var importer = AnnotationImport()
        importer.utteranceColumn = utteranceColumn
        importer.annotatorColumn = annotatorColumn.isEmpty ? nil : annotatorColumn
        importer.labelColumn = labelColumn
        importer.textColumn = textColumn.isEmpty ? nil : textColumn
        try FileChecks.requireDistinct(output: out, from: [annotations])
        let result = try importer.read(path: annotations)
        try FileChecks.createFolder(for: out)
        let writer = try AtomicFileWriter(path: out)
        for item in result.items { try writer.writeLine(item.json.description) }
        try writer.commit()
        print("\(result.rows) rows, \(result.items.count) items written to \(out)")
        if !result.withoutEmotionVotes.isEmpty {
            print("left out (no vote for any of the 8 emotions): \(result.withoutEmotionVotes.prefix(10).joined(separator: ", "))\(result.withoutEmotionVotes.count > 10 ? ", ..." : "") (\(result.withoutEmotionVotes.count))")
        }
    }
}
