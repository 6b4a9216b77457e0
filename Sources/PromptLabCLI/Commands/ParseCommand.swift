import ArgumentParser
import Foundation
import LLMKit

/// `promptlab parse`: runs the output contract's parser on a saved answer.
struct ParseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Check a model's answer against the output contract and print one outcome per item.",
        discussion: "Exits 1 when any item failed. Useful to see why an answer was rejected.")

    @Argument(help: ArgumentHelp("File with the model's answer text ('-' for standard input).", valueName: "file"))
    var file: String

    @Option(parsing: .unconditional, help: "Number of items in the request the answer is for.")
    var count: Int

    @Flag(inversion: .prefixedNo, help: "Whether each entry must carry a reason.")
    var reason = true

    @OptionGroup var policyOptions: PolicyOptions

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be 1 or more") }
    }

    func run() throws {
        let text: String
        if file == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("\(file): cannot read the file") }
            text = String(decoding: data, as: UTF8.self)
        }
        let result = ChunkAnswerParser(count: count, expectsReason: reason, policy: policyOptions.policy).parse(text)
        if let e = result.extraction, e.strippedAnything {
            print("extraction: fence=\(e.fence ?? "none") leading=\(e.leadingText.count) chars trailing=\(e.trailingText.count) chars")
        }
        for warning in result.documentWarnings { print("warning: \(warning)") }
        for (i, outcome) in result.outcomes.enumerated() {
            switch outcome {
            case .relabeled(let r):
                print("\(i + 1)\trelabeled\t\(r.adjusted)\(r.sumWasOff ? "\tsum-off" : "")")
            case .failed(let f):
                print("\(i + 1)\tfailed\t\(f)")
            }
        }
        for stray in result.strayEntries { print("stray\t\(stray)") }
        let failed = result.failedPositions.count
        print("\(count - failed) relabeled, \(failed) failed, \(result.strayEntries.count) stray entries")
        if failed > 0 { throw ExitCode(1) }
    }
}
