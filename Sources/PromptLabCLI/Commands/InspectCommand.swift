import ArgumentParser
import LLMKit

/// `promptlab inspect`: validates a dataset or output file in one streaming pass.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Check a dataset or relabeled output file and print what it holds.",
        discussion: """
            Reads the whole file once in constant memory. The first bad line stops the check \
            with file, line, field and cause, and exit code 1. Relabeled files (JSONL with \
            'status', or EMO-SUPERB CSV with 'reason') also report values whose sum is off. A \
            table in a layout of its own (CSV, TSV or JSONL whose columns name emotions: Anger, \
            happy, ang, ...) is read by the column mapping inspect proposes, printed as flags \
            to copy into relabel, score or import; give the mapping flags to check a mapping of \
            your own.
            """)

    @Argument(help: ArgumentHelp("The file to check.", valueName: "file"))
    var file: String

    @Option(help: "File format (default: from the extension).")
    var format: DatasetFormat?

    @OptionGroup var policyOptions: PolicyOptions

    @OptionGroup(title: "Your own table (a column mapping)") var columns: MappingOptions

    func run() throws {
        let s = try FileSummary.inspect(path: file, format: format, mapping: try columns.mapping(), policy: policyOptions.policy)
        let layout = s.mapping.map { ColumnMapping.tableFormat(path: file) == .tsv || $0.format == .tsv ? "tsv" : s.format.rawValue } ?? s.format.rawValue
        var rows: [[String]] = [["file", file], ["kind", "\(s.kind.rawValue) (\(layout)\(s.mapping == nil || s.kind != .dataset ? "" : s.proposed ? ", read by the proposed mapping below" : ", read by your mapping"))"],
                                ["rows", String(s.rows)]]
        if let mapping = s.mapping {
            let scale = switch mapping.votes {
            case .counts: "counts (every row is whole numbers of votes)"
            case .proportions: "proportions (every row sums to 1)"
            case .auto: "auto (counts where whole numbers, else proportions)"
            }
            rows.append(["votes", scale])
            if !mapping.keepColumns.isEmpty { rows.append(["carried", mapping.keepColumns.joined(separator: ", ")]) }
        }
        switch s.kind {
        case .dataset:
            rows.append(["with descriptions", String(s.withDescriptions)])
            rows.append(["with gold", String(s.withGold)])
            rows.append(["tied references", "\(s.tiedReferences) (classes within 1e-9 of the maximum)"])
        case .relabeled, .labels:
            rows.append(["relabeled", String(s.relabeled)])
            rows.append(["sum off > \(policyOptions.tolerance)", "\(s.sumOff) (renormalised and flagged)"])
            let failed = s.failedByKind.values.reduce(0, +)
            let detail = s.failedByKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            rows.append(["failed", failed == 0 ? "0" : "\(failed) (\(detail))"])
        }
        print(Table.render(header: ["", ""], rows: rows).split(separator: "\n").dropFirst().joined(separator: "\n"))
        if let mapping = s.mapping, s.proposed, s.kind == .dataset {
            var flags = mapping.arguments
            if let format = mapping.format, format != .tsv { flags += ["--format", format.rawValue] }
            let words = ["promptlab", "relabel", "--dataset", file] + flags
            print("\nThe mapping, as flags for relabel, score and import (check the emotions, then copy):")
            print("  " + words.map(ColumnMapping.shellQuoted).joined(separator: " "))
            print("or as a mapping file (--mapping FILE; YAML or JSON):")
            print("  " + JSONSerializer.string(mapping.json))
        }
    }
}
