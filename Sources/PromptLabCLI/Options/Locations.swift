import Foundation
import Providers

/// Where bundled files are, relative to the checkout promptlab was built in.
enum Locations {
    /// The bundled recordings of the real Gemma 3 270M model: in the current folder's
    /// checkout, else in the checkout the executable was built in (`.build/<config>/promptlab`).
    static func bundledRecordings(_ relative: String = "fixtures/recordings/gemma3-270m") -> String {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        if FileManager.default.fileExists(atPath: cwd.appendingPathComponent(relative).path) { return cwd.appendingPathComponent(relative).path }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            dir = dir.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent(relative).path) { return dir.appendingPathComponent(relative).path }
        }
        return relative
    }

    /// The bundled next-token recordings of the real Gemma 3 270M (`--method logprob`).
    static let logprobRecordings = "fixtures/logprob/gemma3-270m"

    /// `out/<dataset stem>.<prompt>.<provider>.<model>.jsonl` (the model made safe for a file name).
    static func defaultOutput(dataset: String, prompt: String, provider: String, model: String) -> String {
        let stem = URL(fileURLWithPath: dataset).deletingPathExtension().lastPathComponent
        return "out/\(stem).\(prompt).\(provider).\(PromptRuns.safe(model)).jsonl"
    }
}
