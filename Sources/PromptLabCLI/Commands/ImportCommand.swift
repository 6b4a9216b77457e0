import ArgumentParser
import Foundation
import LLMKit

/// `promptlab import`: per-annotator labels to the project JSONL.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn per-annotator label rows (MSP-Podcast style CSV), or your own vote table by a column mapping, into the project JSONL.",
        discussion: """
            One CSV row per annotator answer: the utterance id, the annotator id (optional), the \
            primary emotion (a name or MSP-Podcast code: A S D C F N U H, O for Other, X for no \
            agreement; 'Other-<text>' carries typed text) and the typed description (optional). \
            Each utterance becomes one item with its votes in row order, its typed texts as \
            descriptions, and the vote shares as reference ('Other' and 'X' excluded). Map the \
            column names with the options below. With a column mapping (--id-column, \
            --emotion-columns, ... or --mapping FILE) the file is a vote table instead (CSV, TSV \
            or JSONL, one row per utterance): each row becomes one item, its carried columns \
            kept under 'keep'.
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

    @OptionGroup(title: "Your own vote table (a column mapping)") var columns: MappingOptions

    @Flag(help: "Replace an existing --out.")
    var overwrite = false

    func run() throws {
        if FileManager.default.fileExists(atPath: out) && !overwrite {
            throw ValidationError("\(out) exists; pass --overwrite to replace it")
        }
        if let mapping = try columns.mapping() {
            try FileChecks.requireDistinct(output: out, from: [annotations])
            let reader = try DatasetReader(path: annotations, mapping: mapping)
            try FileChecks.createFolder(for: out)
            let writer = try AtomicFileWriter(path: out)
            var count = 0
            var ids: [String: Int] = [:]
            while let item = try reader.next() {
                if let earlier = ids.updateValue(reader.lastLine, forKey: item.id) {
                    throw DatasetError(file: annotations, line: reader.lastLine, field: mapping.idColumn, reason: "id '\(item.id)' appears on lines \(earlier) and \(reader.lastLine); every item needs its own id")
                }
                try writer.writeLine(item.json.description)
                count += 1
            }
            guard count > 0 else { throw DatasetError(file: annotations, reason: "the table has no rows") }
            try writer.commit()
            print("\(count) rows, \(count) items written to \(out) (votes: \(mapping.votes.rawValue))")
            return
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
