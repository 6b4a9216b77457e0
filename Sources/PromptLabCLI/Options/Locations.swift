import Foundation
import Providers

/// Where bundled files are: in the current folder's checkout, in the checkout the executable
/// was built in, or where `make install` put them (`PREFIX/share/llmkit` beside `PREFIX/bin`).
enum Locations {
    /// The bundled recordings of the real Gemma 3 270M model.
    static func bundledRecordings(_ relative: String = "fixtures/recordings/gemma3-270m") -> String {
        bundled(relative) ?? relative
    }

    /// The bundled sample (`--dataset sample`), or `nil` when promptlab finds no copy of it.
    static func bundledSample() -> String? { bundled(sampleRelative) }

    /// Where the bundled sample is in a checkout.
    static let sampleRelative = "fixtures/sample/sample.jsonl"

    /// `relative` (a path under the checkout, `fixtures/...`) in the current folder, in a checkout
    /// above the executable (`.build/<config>/promptlab`), or in `share/llmkit` beside an installed
    /// executable's `bin` folder (`fixtures/` left out); `nil` when none of them has it.
    static func bundled(_ relative: String) -> String? {
        let files = FileManager.default
        let cwd = URL(fileURLWithPath: files.currentDirectoryPath)
        if files.fileExists(atPath: cwd.appendingPathComponent(relative).path) { return cwd.appendingPathComponent(relative).path }
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let installed = relative.hasPrefix("fixtures/") ? String(relative.dropFirst("fixtures/".count)) : relative
        let share = bin.deletingLastPathComponent().appendingPathComponent("share/llmkit").appendingPathComponent(installed)
        if files.fileExists(atPath: share.path) { return share.path }
        var dir = bin
        for _ in 0..<4 {
            dir = dir.deletingLastPathComponent()
            if files.fileExists(atPath: dir.appendingPathComponent(relative).path) { return dir.appendingPathComponent(relative).path }
        }
        return nil
    }

    /// The bundled next-token recordings of the real Gemma 3 270M (`--method logprob`).
    static let logprobRecordings = "fixtures/logprob/gemma3-270m"

    /// `out/<dataset stem>.<prompt>.<provider>.<model>.jsonl` (the model made safe for a file name).
    static func defaultOutput(dataset: String, prompt: String, provider: String, model: String) -> String {
        let stem = URL(fileURLWithPath: dataset).deletingPathExtension().lastPathComponent
        return "out/\(stem).\(prompt).\(provider).\(PromptRuns.safe(model)).jsonl"
    }
}
