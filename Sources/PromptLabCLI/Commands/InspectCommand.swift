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
            'status', or EMO-SUPERB CSV with 'reason') also report values whose sum is off.
            """)

    @Argument(help: ArgumentHelp("The file to check.", valueName: "file"))
    var file: String

    @Option(help: "File format (default: from the extension).")
    var format: DatasetFormat?

    @OptionGroup var policyOptions: PolicyOptions

    func run() throws {
        let s = try FileSummary.inspect(path: file, format: format, policy: policyOptions.policy)
        var rows: [[String]] = [["file", file], ["kind", "\(s.kind.rawValue) (\(s.format.rawValue))"], ["rows", String(s.rows)]]
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
    }
}
